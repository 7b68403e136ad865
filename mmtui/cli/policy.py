"""`mmtui policy`: the least-privilege IAM policy for checking, solving or resetting a lab."""

from __future__ import annotations

import click

from mmtui.cli.choice import lab_option, not_built, resolve_lab
from mmtui.exitcodes import MmtuiError


@click.command()
@click.argument("mode", type=click.Choice(["check", "solve", "reset", "cleanup"]), default="check")
@lab_option
@click.option(
    "--primary-region",
    default="us-west-2",
    show_default=True,
    metavar="REGION",
    help="Region of Labs 0-2.",
)
@click.option(
    "--secondary-region",
    default="us-east-1",
    show_default=True,
    metavar="REGION",
    help="Region to replicate into.",
)
def policy(mode: str, lab_id: str | None, primary_region: str, secondary_region: str) -> None:
    """Print the least-privilege IAM policy (JSON) for checking, solving or resetting a lab,
    or for `mmtui cleanup` (the whole workshop; --lab does not apply).

    `check` is read-only (the checks' and the guide's reads); `solve` and `reset` add what each
    step's task calls and what AWS requires of the caller for the work it starts (CloudFormation
    creates the template's resources as the caller). Every statement is bounded to the lab's
    two regions with `aws:RequestedRegion`, except IAM's, which is global.
    """
    import json

    from mmtui.engine.permissions import lab_policy
    from mmtui.target.regions import pair_problem, validate_region

    primary_region = validate_region(primary_region, "--primary-region")
    secondary_region = validate_region(secondary_region, "--secondary-region")
    problem = pair_problem(
        primary_region, secondary_region, "--primary-region", "--secondary-region"
    )
    if problem is not None:
        raise MmtuiError(problem)
    if mode == "cleanup":
        from mmtui.labs.cleanup.permissions import cleanup_policy

        click.echo(json.dumps(cleanup_policy([primary_region, secondary_region]), indent=2))
        return
    lab, content = resolve_lab(lab_id)
    declared = lab.permissions
    if declared is None:
        not_built("policy", f"lab {content.lab.id} declares no permissions yet")
    document = lab_policy(
        mode,  # type: ignore[arg-type]
        content.lab,
        declared,
        [primary_region, secondary_region],
    )
    click.echo(json.dumps(document, indent=2))
