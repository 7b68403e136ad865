"""`mmtui check`: verify the lab against the target, read-only, and print the results."""

from __future__ import annotations

import sys
from typing import Any

import click

from mmtui.cli.choice import STEP_HELP, lab_option, resolve_common, resolve_step
from mmtui.cli_options import target_options


@click.command()
@target_options
@lab_option
@click.option("--step", "step_text", metavar="S", help=f"Check only {STEP_HELP}.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "junit"]),
    default="table",
    show_default=True,
    help="How to print the results.",
)
def check(step_text: str | None, output_format: str, **kwargs: Any) -> None:
    """Verify the lab against the target, read-only.

    With no --step the lab's prerequisites are checked too. Exit 0 when every check passes,
    1 when one fails or is still pending.
    """
    from mmtui.engine.checks import run_checks
    from mmtui.engine.context import CheckContext
    from mmtui.engine.report import as_json, as_junit, exit_code, print_tables
    from mmtui.target.connect import connect
    from mmtui.target.identity import fetch_identity

    spec, lab, content = resolve_common(kwargs)
    step = resolve_step(content, step_text)
    steps = [step] if step is not None else list(content.lab.steps)
    with connect(spec) as connection:
        identity = fetch_identity(connection.factory)
        context = CheckContext.for_target(connection, content, lab)
        results = run_checks(context, steps, prerequisites=step is None)
    target = {
        "kind": spec.kind,
        "endpoint": connection.endpoint_url,
        "account": identity.account_id,
        "primary_region": spec.primary_region,
        "secondary_region": spec.secondary_region,
    }
    if output_format == "json":
        click.echo(as_json(content.lab.id, target, results))
    elif output_format == "junit":
        click.echo(as_junit(content.lab.id, results), nl=False)
    else:
        from rich.console import Console

        console = Console()
        console.print(
            f"Lab {content.lab.id} on {spec.label()}, account {identity.account_id}, "
            f"{spec.primary_region} → {spec.secondary_region}"
        )
        print_tables(results, console)
    sys.exit(exit_code(results))
