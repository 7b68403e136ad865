"""`mmtui lint`: validate lab content against what the installed labs register."""

from __future__ import annotations

import sys
from typing import Any

import click

from mmtui.exitcodes import ExitCode


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=None))
def lint(paths: tuple[str, ...]) -> None:
    """Validate lab content and print each problem as file:line: message.

    With no PATH, the content mmtui ships is checked. A PATH may be a folder with workshop.yaml
    or lab.yaml, or one of those files. Exit 0 when clean, 2 on any problem.
    """
    from pathlib import Path

    from mmtui.content.lint import lint_default, lint_paths

    known = installed_registrations()
    problems = lint_paths([Path(p) for p in paths], known) if paths else lint_default(known)
    for problem in problems:
        click.echo(problem.format())
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", err=True)
        sys.exit(ExitCode.USAGE)
    click.echo("lab content is clean", err=True)


def installed_registrations() -> dict[str, Any]:
    """Installed lab id → what its code registers, for `mmtui lint` (content knows no lab)."""
    import mmtui.labs
    from mmtui.content.lint import Known

    known = {}
    for lab_id in mmtui.labs.lab_ids():
        lab = mmtui.labs.get(lab_id)
        tasks = {task.name: task.kind for task in lab.tasks}
        known[lab_id] = Known(frozenset(check.name for check in lab.checks), tasks)
    return known
