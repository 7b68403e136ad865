"""The command line of DESIGN.md. It is a contract: scripts and tests depend on every name here.

Only click is imported at module level so that `mmtui --help` stays fast; each command imports
what it needs when it runs. Errors a user can act on are `MmtuiError`s, printed as one line on
stderr with the contract's exit code; nothing reaches the terminal as a traceback.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from mmtui import __version__
from mmtui.cli_options import F, require_names_declared, target_flags, target_options
from mmtui.exitcodes import ExitCode, MmtuiError

STEP_HELP = "a step of the lab, by number or id (a wrong one lists them all)"


class DefaultToRun(click.Group):
    """`mmtui` alone, or `mmtui --aws` and friends, mean `mmtui run …`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        wants_group_option = bool(args) and args[0] in ("--help", "-h", "--version")
        if not wants_group_option and (not args or args[0].startswith("-")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def lab_option(fn: F) -> F:
    return click.option(
        "--lab",
        "lab_id",
        default=None,
        metavar="ID",
        help="Which lab of the workshop (default: the lab workshop.yaml guides).",
    )(fn)


def resolve_lab(lab_id: str | None) -> tuple[Any, Any]:
    """The installed lab `--lab` names (by default the workshop's guided lab) and its
    content: (LabPlugin, LabContent). The composition root: nothing below it names a lab."""
    import mmtui.labs

    try:
        return mmtui.labs.load(lab_id or mmtui.labs.default_lab_id())
    except LookupError as exc:
        raise MmtuiError(f"--lab: {exc.args[0]}") from None


def not_built(command: str, what: str) -> NoReturn:
    raise MmtuiError(f"`mmtui {command}` is not built yet in mmtui {__version__}: {what}")


def resolve_common(kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Validate the target and the lab before anything else, so usage errors come first:
    (TargetSpec, LabPlugin, LabContent)."""
    from mmtui.target.spec import resolve_target

    spec = resolve_target(target_flags(kwargs))
    lab, content = resolve_lab(kwargs.pop("lab_id", None))
    require_names_declared(spec, content)
    return spec, lab, content


def resolve_step(content: Any, text: str | None, flag: str = "--step") -> Any:
    if text is None:
        return None
    from mmtui.engine.steps import find_step

    try:
        return find_step(content.lab, text)
    except LookupError as exc:
        raise MmtuiError(f"{flag}: {exc.args[0]}") from None


@click.group(cls=DefaultToRun, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mmtui")
def cli() -> None:
    """mmtui: a terminal guide for the Mythical Mysfits multi-region BC/DR workshop.

    Run `mmtui` to open the guide on the embedded sandbox AWS. With no target option mmtui talks
    to $AWS_ENDPOINT_URL if it is set, and otherwise to the embedded sandbox.

    Exit codes: 0 done or all checks passed; 1 a check failed or is pending; 2 usage, content or
    configuration error; 3 missing credentials or access denied; 4 AWS or network error.
    """


@cli.command()
@target_options
@lab_option
def run(**kwargs: Any) -> None:
    """Open the guide (the default command).

    Today the guide shows the lab's steps with live checks, and each step's instructions and
    hints; the by-hand and automated paths inside the guide are still being written (use
    `mmtui solve` meanwhile).
    """
    spec, lab, content = resolve_common(kwargs)
    from mmtui.guide import Guide
    from mmtui.tui.app import MmtuiApp

    guide = Guide(spec, content, lab)
    code = MmtuiApp(spec, content, guide=guide).run()
    if guide.closing_error is not None:  # e.g. the embedded sandbox could not save its state
        raise guide.closing_error
    sys.exit(code or ExitCode.OK)


@cli.command()
@click.option(
    "--dir",
    "state_dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Where the sandbox keeps its state (default: your user state folder).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    metavar="N",
    help="Port on 127.0.0.1 (default: a free one).",
)
@click.option("--fresh", is_flag=True, help="Start again from the Labs 0-2 baseline.")
@click.option(
    "--time-scale",
    type=click.FloatRange(0, 100),
    default=None,
    metavar="F",
    envvar="MMTUI_SANDBOX_TIME_SCALE",
    help="Take AWS's real durations times F: 1 real time, 0.01 a hundredth, 0 instant "
    "(the default).",
)
def sandbox(state_dir: str | None, port: int, fresh: bool, time_scale: float | None) -> None:
    """Run the embedded AWS in the foreground until Ctrl-C.

    When ready it writes DIR/sandbox.env: `source` it in another terminal and the `aws` CLI,
    `git` and mmtui all talk to the sandbox. The state stays in DIR: stop the sandbox and start
    it again with the same DIR to carry on where you were.
    """
    from pathlib import Path

    from mmtui.paths import default_sandbox_dir
    from mmtui.sandbox.core.foreground import run_foreground
    from mmtui.sandbox.core.server import SandboxOptions

    options = SandboxOptions(
        state_dir=Path(state_dir) if state_dir else default_sandbox_dir(),
        port=port,
        fresh=fresh,
        time_scale=time_scale,
    )
    sys.exit(run_foreground(options, sys.stdout, sys.stderr))


@cli.command()
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


@cli.command()
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


@cli.command()
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


@cli.command()
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


@cli.group()
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


def fleet_options(fn: F) -> F:
    fn = click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "json", "csv"]),
        default="table",
        show_default=True,
        help="How to print the results (stdout); progress goes to stderr.",
    )(fn)
    fn = click.option(
        "--concurrency",
        type=click.IntRange(1, 256),
        default=16,
        show_default=True,
        metavar="N",
        help="Accounts worked on at once.",
    )(fn)
    fn = click.option(
        "--targets",
        "targets_file",
        required=True,
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="YAML or CSV list of attendees and how to reach their accounts.",
    )(fn)
    fn = lab_option(fn)
    return fn


@fleet.command("check")
@fleet_options
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
@fleet_options
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
@fleet_options
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
    from mmtui.fleet.targets import load_targets

    attendees = load_targets(Path(kwargs["targets_file"]))
    for attendee in attendees:
        try:
            require_names_declared(attendee.spec, content)
        except MmtuiError as exc:
            raise MmtuiError(f"{attendee.where}: {attendee.name}: {exc}") from None
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
    if refuse:
        planned = sum(1 for o in outcomes if any(step.plan for step in o.steps))
        click.echo(
            f"mmtui: nothing was changed: this is the plan; pass --yes to reset "
            f"{planned} target{'s' if planned != 1 else ''} (or --dry-run to only plan)",
            err=True,
        )
        if code not in (ExitCode.CREDENTIALS, ExitCode.AWS_ERROR):
            code = ExitCode.USAGE
    sys.exit(code)


def fleet_progress(console: Any, what: str, total: int) -> Any:
    """Hooks that show the run: a progress bar on a terminal, a line per target otherwise."""
    import contextlib
    import threading

    from mmtui.fleet.run import Hooks

    @contextlib.contextmanager
    def lines() -> Any:
        lock = threading.Lock()
        done = [0]

        def finished(outcome: Any) -> None:
            with lock:
                done[0] += 1
                note = f": {outcome.error}" if outcome.error else ""
                click.echo(
                    f"[{done[0]}/{total}] {outcome.attendee.name}: {outcome.state} "
                    f"({outcome.seconds:.1f} s){note}",
                    err=True,
                )

        yield Hooks(finished=finished)

    @contextlib.contextmanager
    def bar() -> Any:
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[last]}", markup=True),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(what, total=total, last="")

            def logged(attendee: Any, line: str) -> None:
                progress.update(task, last=escape(f"{attendee.name}: {line}"[:60]))

            def finished(outcome: Any) -> None:
                progress.update(
                    task, advance=1, last=escape(f"{outcome.attendee.name}: {outcome.state}")
                )

            yield Hooks(logged=logged, finished=finished)

    return bar() if console.is_terminal else lines()


@cli.command()
@click.argument("mode", type=click.Choice(["check", "solve", "reset"]), default="check")
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
    """Print the least-privilege IAM policy (JSON) for checking, solving or resetting a lab.

    `check` is read-only (the checks' and the guide's reads); `solve` and `reset` add what each
    step's task calls and what AWS requires of the caller for the work it starts (CloudFormation
    creates the template's resources as the caller). Every statement is bounded to the lab's
    two regions with `aws:RequestedRegion`, except IAM's, which is global.
    """
    import json

    from mmtui.engine.permissions import lab_policy

    lab, content = resolve_lab(lab_id)
    from mmtui.target.regions import pair_problem, validate_region

    primary_region = validate_region(primary_region, "--primary-region")
    secondary_region = validate_region(secondary_region, "--secondary-region")
    problem = pair_problem(
        primary_region, secondary_region, "--primary-region", "--secondary-region"
    )
    if problem is not None:
        raise MmtuiError(problem)
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


@cli.command()
@target_options
def target(**kwargs: Any) -> None:
    """Show which AWS mmtui talks to: endpoint, account, identity and regions."""
    from mmtui.target.connect import connect
    from mmtui.target.identity import fetch_identity
    from mmtui.target.spec import resolve_target

    spec = resolve_target(target_flags(kwargs))
    names = names_in_use(spec)
    with connect(spec) as connection:
        identity = fetch_identity(connection.factory)
        click.echo(f"target:            {spec.label()}")
        if connection.endpoint_url:
            click.echo(f"endpoint:          {connection.endpoint_url}")
        click.echo(f"account:           {identity.account_id}")
        click.echo(f"identity:          {identity.arn}")
        click.echo(f"primary region:    {spec.primary_region}")
        click.echo(f"secondary region:  {spec.secondary_region}")
        if connection.workspace is not None:
            click.echo(f"workspace:         {connection.workspace}")
    for line in names:
        click.echo(line)


def names_in_use(spec: Any) -> list[str]:
    """Lines of the resource names in use (the default lab's), marking those the user chose."""
    from mmtui.target.names import SETTINGS

    _, content = resolve_lab(None)
    require_names_declared(spec, content)
    values = content.defaults(spec.name_overrides)
    chosen = spec.name_overrides
    lines = []
    for setting in SETTINGS:
        label = f"{setting.parameter.replace('_', ' ')}:"
        mark = "  (chosen)" if setting.parameter in chosen else ""
        lines.append(f"{label:<19}{values[setting.parameter]}{mark}")
    return lines


def add_lab_commands(group: click.Group) -> None:
    """The commands the shipped labs add (a lab's `commands()`), beside mmtui's own."""
    import mmtui.labs

    for lab_id in sorted(mmtui.labs.INSTALLED):
        for command in mmtui.labs.plugin(lab_id).commands():
            group.add_command(command)


add_lab_commands(cli)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run the CLI and turn every failure into a message and an exit code."""
    try:
        cli.main(args=argv, prog_name="mmtui", standalone_mode=False)
    except MmtuiError as exc:
        click.echo(f"mmtui: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort:
        click.echo("mmtui: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("mmtui: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001  (the last line of defence: never a traceback)
        from mmtui.target.errors import aws_error

        # An AWS or network error that no command translated is still not a bug report.
        error = aws_error(exc)
        if error is not None:
            click.echo(f"mmtui: {error}", err=True)
            sys.exit(error.exit_code)
        sys.exit(report_crash(exc))
    sys.exit(ExitCode.OK)


def report_crash(exc: BaseException) -> int:
    """Save the traceback for a bug report and tell the user where it is, in one line."""
    import traceback
    from datetime import UTC, datetime

    from mmtui.paths import state_dir

    text = "".join(traceback.format_exception(exc))
    try:
        folder = state_dir() / "crash"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report = folder / f"crash-{stamp}.txt"
        report.write_text(text, encoding="utf-8")
        where = f"details in {report}"
    except OSError:
        where = "and the report could not be saved"
    click.echo(
        f"mmtui: internal error ({type(exc).__name__}: {exc}); this is a bug in mmtui, {where}",
        err=True,
    )
    return int(ExitCode.USAGE)
