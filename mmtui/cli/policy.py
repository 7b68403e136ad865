"""`mmtui policy`: the least-privilege IAM policy for checking, solving or resetting a lab, or
for one of the commands that act on the whole workshop (`cleanup`, Lab 5's `load` and
`drill`)."""

from __future__ import annotations

from typing import Any

import click

from mmtui.cli.choice import lab_option, not_built, resolve_lab
from mmtui.exitcodes import MmtuiError


@click.command()
@click.argument(
    "mode",
    type=click.Choice(["check", "solve", "reset", "cleanup", "load", "drill"]),
    default="check",
)
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
    """Print the least-privilege IAM policy (JSON) that MODE needs.

    \b
    MODE:
    check    the lab's checks and the guide's reads (read-only; the default)
    solve    check, and what each step's solve calls
    reset    check, and what each step's reset calls
    cleanup  `mmtui cleanup` (the whole workshop)
    load     `mmtui load` (Lab 5's likes through the accelerator)
    drill    `mmtui drill failover` (Lab 5's outage rehearsal, either --break)

    `solve`, `reset` and `cleanup` add what AWS requires of the caller for the work their calls
    start (CloudFormation creates and deletes the template's resources as the caller). --lab
    picks the lab of check, solve and reset only. Every statement is bounded to the two regions
    with `aws:RequestedRegion`, except those of the global services: IAM, and Global
    Accelerator, whose API is served from us-west-2 whatever the lab's regions.
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
    regions = [primary_region, secondary_region]
    if mode in WHOLE_COMMANDS:
        if lab_id is not None:
            raise MmtuiError(
                f"--lab does not apply to `mmtui policy {mode}`: it covers "
                f"{WHOLE_COMMANDS[mode]}, not one lab's steps"
            )
        click.echo(json.dumps(whole_command_policy(mode, regions), indent=2))
        return
    lab, content = resolve_lab(lab_id)
    declared = lab.permissions
    if declared is None:
        not_built("policy", f"lab {content.lab.id} declares no permissions yet")
    document = lab_policy(
        mode,  # type: ignore[arg-type]
        content.lab,
        declared,
        regions,
    )
    click.echo(json.dumps(document, indent=2))


WHOLE_COMMANDS = {
    "cleanup": "`mmtui cleanup` of the whole workshop",
    "load": "Lab 5's `mmtui load`",
    "drill": "Lab 5's `mmtui drill failover`",
}
"""The modes that cover one command rather than a lab's checks or steps, with what each covers."""


def whole_command_policy(mode: str, regions: list[str]) -> dict[str, Any]:
    if mode == "cleanup":
        from mmtui.labs.cleanup.permissions import cleanup_policy

        return cleanup_policy(regions)
    from mmtui.labs.lab5.command_permissions import command_policy

    return command_policy(mode, regions)  # type: ignore[arg-type]
