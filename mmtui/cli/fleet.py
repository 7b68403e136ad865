"""`mmtui fleet`: the instructor's commands over many attendee accounts at once."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from mmtui.cli.choice import STEP_HELP, lab_option, not_built, resolve_lab, resolve_step
from mmtui.cli.fleet_progress import fleet_progress
from mmtui.cli.tasks import solve_steps
from mmtui.cli_options import F, require_names_declared
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.fleet import DEFAULT_CHANGE_CONCURRENCY, DEFAULT_CONCURRENCY


@click.group()
def fleet() -> None:
    """Instructor commands over many attendee accounts at once.

    FILE (YAML or CSV) lists the attendees: a `name` each and one way in: `profile`, or
    `role_arn` (or `role_name` with `account_id`) to assume with STS, with `external_id` and
    `source_profile`, or `endpoint_url` (with `access_key_id` and `secret_access_key`, e.g.
    for a sandbox); optional `account_id`, `primary_region`, `secondary_region`, `workspace`,
    and the attendee's own resource names, keyed as the name options of `mmtui target` (without
    their dashes, e.g. `primary_stack`).
    YAML may set room-wide `defaults:` above `attendees:`.

    Every target is worked on concurrently and reported in its own row: one that cannot be
    reached never stops the others. When the file names an `account_id`, a target is worked on
    only if STS says the credentials lead there; `fleet reset` requires it.

    Exit codes: 3 if a target was denied or refused for its account, else 4 if one could not
    be reached (AWS or network error), else 2 if one was refused for its configuration (or a
    reset was not confirmed with --yes), else 1 if a check failed or is pending, else 0. A bad
    targets file is reported as FILE:LINE and exits 2 before any target is touched.
    """


TARGETS_OPTION = click.option(
    "--targets",
    "targets_file",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="YAML or CSV list of attendees and how to reach their accounts.",
)
"""`--targets FILE`, which every fleet command takes."""


def concurrency_option(default: int) -> Callable[[F], F]:
    """`--concurrency N`, with the command's own default."""
    return click.option(
        "--concurrency",
        type=click.IntRange(1, 256),
        default=default,
        show_default=True,
        metavar="N",
        help="Accounts worked on at once.",
    )


def fleet_options(concurrency: int) -> Callable[[F], F]:
    """The options every fleet command shares; `concurrency` is its default --concurrency."""

    def add(fn: F) -> F:
        fn = click.option(
            "--format",
            "output_format",
            type=click.Choice(["table", "json", "csv"]),
            default="table",
            show_default=True,
            help="How to print the results (stdout); progress goes to stderr.",
        )(fn)
        fn = concurrency_option(concurrency)(fn)
        fn = TARGETS_OPTION(fn)
        fn = lab_option(fn)
        return fn

    return add


@fleet.command("check")
@fleet_options(DEFAULT_CONCURRENCY)
@click.option("--step", "step_text", metavar="S", help=f"Check only {STEP_HELP}.")
def fleet_check(step_text: str | None, **kwargs: Any) -> None:
    """Check every account, read-only: a table of attendee x step.

    With no --step the lab's prerequisites are checked too (a column of their own).

    \b
    mmtui fleet check --targets room.yaml
    mmtui fleet check --targets room.csv --concurrency 32 --format csv > room-status.csv
    """
    lab, content = resolve_lab(kwargs.pop("lab_id"))
    step = resolve_step(content, step_text)
    steps = [step] if step is not None else list(content.lab.steps)
    run_fleet(kwargs, lab, content, "check", steps, prerequisites=step is None)


@fleet.command("solve")
@fleet_options(DEFAULT_CHANGE_CONCURRENCY)
@click.option("--step", "step_text", metavar="S", help=f"Solve only {STEP_HELP}.")
@click.option(
    "--through", "through_text", metavar="S", help="Catch attendees up: every step through S."
)
def fleet_solve(step_text: str | None, through_text: str | None, **kwargs: Any) -> None:
    """Catch attendees up: solve steps in every account, then check them.

    Safe to run twice: what is already done is left as it is.
    A cell says `done` when mmtui did something and the step passes now, otherwise the step's
    status. Step 4 commits to each attendee's own clones: FILE's `workspace`, or by default a
    folder per attendee in mmtui's state folder (cloned when missing).

    \b
    mmtui fleet solve --targets room.yaml --through 3
    """
    lab, content = resolve_lab(kwargs.pop("lab_id"))
    run_fleet(kwargs, lab, content, "solve", solve_steps(content, step_text, through_text))


@fleet.command("reset")
@fleet_options(DEFAULT_CHANGE_CONCURRENCY)
@click.option("--step", "step_text", metavar="S", help=f"Reset only {STEP_HELP}.")
@click.option("--dry-run", is_flag=True, help="Show the combined plan and change nothing.")
@click.option("--yes", is_flag=True, help="Required to act: reset as planned.")
def fleet_reset(step_text: str | None, dry_run: bool, yes: bool, **kwargs: Any) -> None:
    """Reset the lab (or one step) in every attendee's account.

    Without --yes it only shows the combined plan, target by target, and changes nothing.
    Every attendee needs an `account_id` in FILE, and a target whose credentials lead to
    another account is refused in its row (the others are reset).

    \b
    mmtui fleet reset --targets room.yaml --dry-run
    mmtui fleet reset --targets room.yaml --yes
    """
    lab, content = resolve_lab(kwargs.pop("lab_id"))
    step = resolve_step(content, step_text)
    steps = [step] if step is not None else lab.reset_order(list(content.lab.steps))
    run_fleet(
        kwargs, lab, content, "reset", steps, act=yes and not dry_run, refuse=not (yes or dry_run)
    )


RoomOpener = Callable[[Any, Any, float], NoReturn]
"""(Watch, history path, seconds between rounds) → runs the live room and exits; handed in by
the composition root (mmtui.cli.root) from mmtui.cli.guide, the one module here that may open
the TUI."""


def watch_command(open_room: RoomOpener) -> click.Command:
    """`mmtui fleet watch`: its options, help and validation here, beside the other fleet
    commands; the screen it opens comes from `open_room`."""

    @click.command("watch")
    @TARGETS_OPTION
    @click.option(
        "--lab",
        "lab_id",
        default=None,
        metavar="ID",
        help="Watch only this lab (default: every lab the workshop guides).",
    )
    @concurrency_option(DEFAULT_CONCURRENCY)
    @click.option(
        "--interval",
        type=click.FloatRange(1, 3600),
        default=30.0,
        show_default=True,
        metavar="S",
        help="Seconds from the end of one round of checks to the start of the next.",
    )
    def fleet_watch(
        targets_file: str, lab_id: str | None, concurrency: int, interval: float
    ) -> None:
        """The live room: a grid of attendees x steps, checked in rounds, with actions.

        Every attendee's steps (of every guided lab, or of --lab) are checked in rounds, at
        most N accounts at once, a round starting only when the last has ended. The header
        counts the attendees at each step, each row says how long they have been on theirs.

        \b
        Keys: r check now · t stuck longest first · e errors only · / find by name
              s solve their current step · c catch them up through the step under the cursor
              x reset the step under the cursor (plan first, then asks; needs account_id)
              o their step as they see it · w export the history (CSV, JSON) · q quit

        The room's history (each round's states) is kept in mmtui's state folder, so time on
        a step survives a restart.

        \b
        mmtui fleet watch --targets room.yaml
        mmtui fleet watch --targets room.yaml --lab 4 --interval 15
        """
        from pathlib import Path

        from mmtui.fleet.room import history_path
        from mmtui.fleet.watch import Watch, WatchedLab

        path = Path(targets_file)
        labs = [WatchedLab(*pair) for pair in resolve_labs(lab_id)]
        attendees = load_attendees(path, [lab.content for lab in labs])
        watch = Watch(labs, attendees, concurrency)
        open_room(watch, history_path(path, [lab.id for lab in labs]), interval)

    return fleet_watch


def resolve_labs(lab_id: str | None) -> list[tuple[Any, Any]]:
    """The lab --lab names (resolved as `fleet check` resolves it), or every guided lab."""
    if lab_id is not None:
        return [resolve_lab(lab_id)]
    import mmtui.labs

    return [resolve_lab(guided) for guided in mmtui.labs.guided_lab_ids()]


def load_attendees(path: Any, contents: list[Any]) -> list[Any]:
    """The targets file's attendees, each one's names checked against every lab's parameters
    (exit 2, naming the entry, before any account is touched)."""
    from mmtui.fleet.targets import load_targets

    attendees = load_targets(path)
    for attendee in attendees:
        for content in contents:
            try:
                require_names_declared(attendee.spec, content)
            except MmtuiError as exc:
                raise MmtuiError(f"{attendee.where}: {attendee.name}: {exc}") from None
    return attendees


def run_fleet(
    kwargs: dict[str, Any],
    lab: Any,
    content: Any,
    command: str,
    steps: list[Any],
    *,
    prerequisites: bool = False,
    act: bool = False,
    refuse: bool = False,
) -> NoReturn:
    """Load the targets, run `command` over them with a progress display, print, exit."""
    from pathlib import Path

    from rich.console import Console

    from mmtui.fleet.output import as_csv, as_json, print_plan, print_table
    from mmtui.fleet.run import Fleet, Job, overall_exit_code

    attendees = load_attendees(Path(kwargs["targets_file"]), [content])
    if command != "check":
        names = [getattr(step.automated, command) for step in steps]
        unbuilt = [n for n in names if n is not None and not lab.tasks.get(n).implemented]
        if unbuilt:
            not_built(f"fleet {command}", f"the tasks {', '.join(unbuilt)} are being written")
    job = Job(command, lab, content, steps, prerequisites=prerequisites, act=act)  # type: ignore[arg-type]
    stderr = Console(stderr=True)
    with fleet_progress(stderr, f"fleet {command}", len(attendees)) as hooks:
        outcomes = Fleet(job, kwargs["concurrency"], hooks).run(attendees)
    code = overall_exit_code(outcomes)
    output_format = kwargs["output_format"]
    if output_format == "json":
        click.echo(as_json(job, outcomes, code))
    elif output_format == "csv":
        click.echo(as_csv(job, outcomes), nl=False)
    else:
        import os

        # Piped into a file or a pager, the table keeps its rows whole rather than 80 columns.
        wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
        console = Console(width=200) if wide else Console()
        if command == "reset" and not act:
            print_plan(outcomes, console)
        print_table(job, outcomes, console)
    planned = sum(1 for o in outcomes if any(step.plan for step in o.steps))
    if refuse and planned == 0:
        # Nothing to confirm: asking for --yes to reset 0 targets, and exiting 2 as for a
        # usage error, would send an instructor looking for a mistake (newcomer walkthrough).
        click.echo("mmtui: nothing to reset on any target; nothing was changed", err=True)
    elif refuse:
        click.echo(
            f"mmtui: nothing was changed: this is the plan; pass --yes to reset "
            f"{planned} target{'s' if planned != 1 else ''} (or --dry-run to only plan)",
            err=True,
        )
        if code not in (ExitCode.CREDENTIALS, ExitCode.AWS_ERROR):
            code = ExitCode.USAGE
    sys.exit(code)
