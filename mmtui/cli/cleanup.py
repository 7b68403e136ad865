"""`mmtui cleanup`: remove the whole workshop from the target account, after showing the plan."""

from __future__ import annotations

import sys
from typing import Any

import click

from mmtui.cli_options import target_options
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.cleanup import HELP, NAMES_LAB


@click.command(help=HELP)
@target_options
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--account-id",
    metavar="ID",
    help="Refuse unless the credentials lead to this AWS account (12 digits).",
)
def cleanup(dry_run: bool, yes: bool, account_id: str | None, **kwargs: Any) -> None:
    from mmtui.cli.choice import resolve_common

    if account_id is not None and not (account_id.isdigit() and len(account_id) == 12):
        raise MmtuiError(f"--account-id: {account_id!r} is not a 12-digit AWS account ID")
    spec, _, _ = resolve_common({**kwargs, "lab_id": NAMES_LAB})
    from mmtui.engine.tasks import run_actions
    from mmtui.labs.cleanup.plan import plan, workshop_on
    from mmtui.target.connect import connect
    from mmtui.target.errors import translated
    from mmtui.target.identity import fetch_identity

    def log(line: str) -> None:
        click.echo(line, err=True)

    with connect(spec) as connection, translated("cleanup", spec):
        identity = fetch_identity(connection.factory)
        if account_id is not None and identity.account_id != account_id:
            raise MmtuiError(
                f"refusing to clean up: the credentials lead to account {identity.account_id}, "
                f"not {account_id}; nothing was changed",
                ExitCode.CREDENTIALS,
            )
        workshop = workshop_on(connection, log)
        where = (
            f"account {identity.account_id}, {workshop.primary} and {workshop.secondary}, "
            f"on {spec.label()}"
        )
        sections = plan(workshop)
        actions = [action for section in sections for action in section.actions]
        if not any(action.changes for action in actions):
            click.echo(f"nothing to clean up: no part of the workshop is left ({where})")
            _show(sections)
            sys.exit(ExitCode.OK)
        click.echo(f"plan ({where}):")
        _show(sections)
        if dry_run:
            sys.exit(ExitCode.OK)
        if not yes:
            if not sys.stdin.isatty():
                raise MmtuiError(
                    "refusing to clean up without --yes: there is no terminal to ask on; "
                    "nothing was changed"
                )
            if not click.confirm("remove all of this?", default=False):
                raise MmtuiError("nothing was changed (pass --yes to clean up without asking)")
        # As planned: each action reads AWS again when it runs, and does nothing for what is
        # already gone.
        run_actions([action for action in actions if action.changes], log, spec)
        left = [a for s in plan(workshop) for a in s.actions if a.changes]
        if left:
            click.echo("left over (run `mmtui cleanup` again, or remove by hand):")
            for action in left:
                click.echo(f"  {action.describe()}")
            sys.exit(ExitCode.CHECK_FAILED)
        click.echo("cleanup done: nothing of the workshop is left")
        sys.exit(ExitCode.OK)


def _show(sections: list[Any]) -> None:
    for section in sections:
        click.echo(f"  {section.number}. {section.title}")
        for action in section.actions:
            click.echo(f"     {action.describe()}")
