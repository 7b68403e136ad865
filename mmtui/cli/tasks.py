"""`mmtui solve` and `mmtui reset`: plan and run a step's tasks on the target (the steps a
solve covers are shared with `mmtui fleet solve`)."""

from __future__ import annotations

import sys
from typing import Any

import click

from mmtui.cli.choice import STEP_HELP, lab_option, not_built, resolve_common, resolve_step
from mmtui.cli_options import target_options
from mmtui.exitcodes import ExitCode, MmtuiError


@click.command()
@target_options
@lab_option
@click.option("--step", "step_text", metavar="S", help=f"Solve only {STEP_HELP}.")
@click.option(
    "--through",
    "through_text",
    metavar="S",
    help="Solve every step up to and including S (catch me up).",
)
def solve(step_text: str | None, through_text: str | None, **kwargs: Any) -> None:
    """Do a step (or every step through S) for the attendee. Safe to run twice.

    Then checks the solved steps and exits as `mmtui check` would.
    """
    _, _, content = resolve_common(dict(kwargs))
    run_tasks(kwargs, "solve", solve_steps(content, step_text, through_text), False, True)


def solve_steps(content: Any, step_text: str | None, through_text: str | None) -> list[Any]:
    """The steps a solve covers: one (--step), all up to one (--through), or all."""
    if step_text is not None and through_text is not None:
        raise click.UsageError("give --step or --through, not both")
    step = resolve_step(content, step_text)
    through = resolve_step(content, through_text, "--through")
    steps = list(content.lab.steps)
    if step is not None:
        return [step]
    if through is not None:
        return steps[: steps.index(through) + 1]
    return steps


def run_tasks(
    kwargs: dict[str, Any], kind: str, steps: list[Any], dry_run: bool, yes: bool
) -> None:
    """Plan and run the solve or reset tasks of `steps`; shared by `solve` and `reset`."""
    from mmtui.engine.context import CheckContext
    from mmtui.engine.report import exit_code, print_tables
    from mmtui.engine.tasks import TaskContext, run_actions, step_actions
    from mmtui.target.connect import connect
    from mmtui.target.errors import translated
    from mmtui.target.identity import fetch_identity

    spec, lab, content = resolve_common(kwargs)
    named = [(step, getattr(step.automated, kind)) for step in steps]
    named = [(step, name) for step, name in named if name is not None]
    unbuilt = [step.id for step, name in named if not lab.tasks.get(name).implemented]
    if unbuilt:
        not_built(kind, f"the {kind} of {', '.join(unbuilt)} is still being written")

    def log(line: str) -> None:
        click.echo(line, err=True)

    def plan_of(context: TaskContext) -> list[tuple[Any, Any]]:
        return [(step, a) for step, _ in named for a in step_actions(context, step, kind)]

    with connect(spec) as connection, translated(kind, spec):
        fetch_identity(connection.factory)
        checks = CheckContext.for_target(connection, content, lab)
        context = TaskContext(checks, log=log)
        if kind == "reset":
            plan = plan_of(context)
            if not any(action.changes for _, action in plan):
                click.echo("nothing to reset: the lab has created nothing here")
                for step, action in plan:  # what is left alone, and why
                    click.echo(f"  {step.id}: {action.describe()}")
                sys.exit(ExitCode.OK)
            click.echo("plan:")
            for step, action in plan:
                click.echo(f"  {step.id}: {action.describe()}")
            if len(named) == 1:  # one step: the steps built on it are left pointing at it
                from mmtui.engine.solving import reset_warning

                warning = reset_warning(context, named[0][0])
                if warning:
                    click.echo(f"warning: {warning}", err=True)
            if dry_run:
                sys.exit(ExitCode.OK)
            if not yes and not click.confirm("reset these?", default=False):
                raise MmtuiError("nothing was changed (pass --yes to reset without asking)")
            run_actions([action for _, action in plan], log, spec)
            # Plan again: whatever a reset would still do is left over, and is said so.
            left = [(step, action) for step, action in plan_of(context) if action.changes]
            if left:
                click.echo("left over (reset again, or remove by hand):")
                for step, action in left:
                    click.echo(f"  {step.id}: {action.describe()}")
                sys.exit(ExitCode.CHECK_FAILED)
            click.echo("reset done")
            sys.exit(ExitCode.OK)
        results = solve_and_check(context, [step for step, _ in named], spec)
    from rich.console import Console

    print_tables(results, Console(stderr=True))
    sys.exit(exit_code(results))


def solve_and_check(context: Any, steps: list[Any], spec: Any = None) -> list[Any]:
    """Solve each step in order, warning first on stderr when a step it requires fails; a
    step is reported `done` only when its checks pass afterwards, otherwise with what still
    fails. Returns the steps' check results (the exit code is theirs)."""
    from mmtui.engine.solving import requirement_warning, solve_step, unmet_requirements

    results = []
    for step in steps:
        unmet = unmet_requirements(context.checks, step)
        if unmet:
            click.echo(f"warning: {requirement_warning(step, unmet)}", err=True)
        outcome = solve_step(context, step, spec)
        click.echo(f"{step.id}: {outcome.summary()}")
        for line in outcome.details():
            click.echo(f"  {line}")
        results.append(outcome.result)
    return results


@click.command()
@target_options
@lab_option
@click.option("--step", "step_text", metavar="S", help=f"Reset only {STEP_HELP}.")
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(step_text: str | None, dry_run: bool, yes: bool, **kwargs: Any) -> None:
    """Undo what the lab created (one step, or the whole lab), after showing the plan.

    The whole lab is reset in the lab's dependency order (last step first, unless the lab says
    otherwise). Only what the lab creates is touched.
    """
    _, lab, content = resolve_common(dict(kwargs))
    step = resolve_step(content, step_text)
    steps = [step] if step is not None else lab.reset_order(list(content.lab.steps))
    run_tasks(kwargs, "reset", steps, dry_run=dry_run, yes=yes)
