"""Running the engine over every attendee's account at once.

Each target is worked on in its own thread (at most `concurrency` at a time), exactly as
`mmtui check`, `solve` and `reset` would work on it alone: connect, ask STS who we are, then
the same checks and tasks. Whatever goes wrong with one target (no credentials, access denied,
throttling, an endpoint that does not answer, a bug) ends up in that target's outcome and never
stops the others.

The account-id guard: when the targets file names an `account_id`, a target is worked on only
if STS says its credentials lead to that account; `reset` requires the file to name it.
Targets that land in the same account (a shared sandbox, two rows for one account) never run
solves or resets at the same time: they take turns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmtui.content.loader import LabContent
from mmtui.content.model import Step
from mmtui.engine.plugin import LabPlugin
from mmtui.engine.results import CheckResult, Status, StepResult
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.fleet.targets import Attendee, slug
from mmtui.target.pool import ClientPool

Command = Literal["check", "solve", "reset"]
CHECK_WORKERS = 4
"""Checks run at once within one target, at most (each target has its own threads)."""


def check_workers(concurrency: int, targets: int) -> int:
    """Checks run at once within each target: about `concurrency` threads in all. A room of
    more targets than that already keeps every fleet thread busy: a target's checks then run
    one after the other. A few targets get up to CHECK_WORKERS each.

    (Threads no longer cost clients: every thread and target shares them, target/pool.py. With
    CHECK_WORKERS for every target, a room of 50 with 80 ms of latency took 7.2 s rather than
    8.9 s against the sandbox, whose median answer then went from 84 to 191 ms.)"""
    return max(1, min(CHECK_WORKERS, concurrency // max(1, targets)))


# Exit codes from the most to the least pressing, for the whole fleet: a target that could not
# be reached or was refused hides nothing from a script that sees 1 ("every target was reached,
# and some have work left").
PRECEDENCE = (
    ExitCode.CREDENTIALS,
    ExitCode.AWS_ERROR,
    ExitCode.USAGE,
    ExitCode.CHECK_FAILED,
    ExitCode.OK,
)


class Refused(MmtuiError):
    """The target is not worked on: its account is not the one the file names."""


@dataclass
class StepOutcome:
    id: str
    number: int | None
    title: str
    cell: str = ""
    """What the fleet table shows: a check status, or what the solve or reset did."""
    status: Status | None = None
    """The step's check status (check, and solve after solving)."""
    checks: list[CheckResult] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    """What a solve or reset changed, action by action."""
    plan: list[str] = field(default_factory=list)
    """What a reset will do (or, after it ran, what it had planned)."""
    left: list[str] = field(default_factory=list)
    """What a reset could not remove."""


@dataclass
class TargetOutcome:
    attendee: Attendee
    steps: list[StepOutcome] = field(default_factory=list)
    account: str | None = None
    arn: str | None = None
    exit_code: ExitCode = ExitCode.OK
    state: str = "pass"
    """pass, fail, error (could not work on it), refused (account-id guard), planned."""
    error: str | None = None
    workspace: Path | None = None
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def step(self, step_id: str) -> StepOutcome | None:
        return next((s for s in self.steps if s.id == step_id), None)


@dataclass
class Hooks:
    """What the front end hears while the fleet runs (called from worker threads)."""

    started: Callable[[Attendee], None] = lambda _a: None
    logged: Callable[[Attendee, str], None] = lambda _a, _line: None
    finished: Callable[[TargetOutcome], None] = lambda _o: None


@dataclass
class Job:
    command: Command
    lab: LabPlugin
    content: LabContent
    steps: list[Step]
    """In the order they run (reset: dependency order)."""
    prerequisites: bool = False
    """check: also the lab's prerequisites."""
    act: bool = False
    """reset: run the plan (otherwise only plan)."""

    @property
    def columns(self) -> list[tuple[str, int | None, str]]:
        """The steps as the table shows them, in the lab's order."""
        from mmtui.engine.checks import PREREQUISITES_ID

        shown = [(s.id, s.number, s.title) for s in self.content.lab.steps if s in self.steps]
        if self.prerequisites:
            shown.insert(0, (PREREQUISITES_ID, None, self.lab.prerequisites_title))
        return shown


def overall_exit_code(outcomes: list[TargetOutcome]) -> ExitCode:
    codes = {outcome.exit_code for outcome in outcomes}
    return next(code for code in PRECEDENCE if code in codes or code == ExitCode.OK)


def default_workspace(attendee: Attendee, account: str) -> Path:
    """Each attendee's clones in mmtui's state folder, by account and name, so that two
    targets never share (and never push from) one clone."""
    from mmtui.paths import state_dir

    return state_dir() / "fleet" / "workspaces" / account / slug(attendee.name)


class Fleet:
    def __init__(
        self,
        job: Job,
        concurrency: int,
        hooks: Hooks | None = None,
        clients: ClientPool | None = None,
    ) -> None:
        self.job = job
        self.clients = clients or ClientPool()
        """The targets' clients: one per endpoint, service and region, each call signed by its
        own target (target/pool.py); making a client per target cost more than its calls."""
        self.concurrency = concurrency
        self.check_workers = CHECK_WORKERS
        self.hooks = hooks or Hooks()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._positions: dict[int, int] = {}
        """Each attendee's place in the run (by id): where its round of checks begins."""

    def run(self, attendees: list[Attendee]) -> list[TargetOutcome]:
        """Every target's outcome, in the order of the file."""
        # Once, before the threads: loading the lab's registries is not the workers' business.
        self.job.lab.checks, self.job.lab.tasks  # noqa: B018
        self.check_workers = check_workers(self.concurrency, len(attendees))
        self._positions = {id(attendee): place for place, attendee in enumerate(attendees)}
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="mmtui-fleet")
        futures = [pool.submit(self.run_target, attendee) for attendee in attendees]
        try:
            return [future.result() for future in futures]
        except KeyboardInterrupt:
            # Targets not started are not started; those in progress finish what they do
            # (stopping a solve halfway would leave an account harder to reason about).
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=False)

    @contextmanager
    def account_turn(self, endpoint: str | None, account: str) -> Iterator[None]:
        """Solves and resets in one account take turns (checks need not)."""
        if self.job.command == "check":
            yield
            return
        with self._locks_guard:
            lock = self._locks.setdefault((endpoint or "aws", account), threading.Lock())
        with lock:
            yield

    def run_target(self, attendee: Attendee) -> TargetOutcome:
        from botocore.exceptions import BotoCoreError, ClientError

        from mmtui.target.errors import aws_error, describe_client_error

        outcome = TargetOutcome(
            attendee,
            [StepOutcome(sid, number, title) for sid, number, title in self.job.columns],
        )
        started = time.perf_counter()
        self.hooks.started(attendee)
        try:
            self._work(attendee, outcome)
        except Refused as exc:
            outcome.state, outcome.error, outcome.exit_code = "refused", str(exc), exc.exit_code
        except MmtuiError as exc:
            # Messages written for one-target commands name their flag; here it is a file key.
            self._failed(outcome, str(exc).removeprefix("--profile: "), exc.exit_code)
        except ClientError as exc:
            error = describe_client_error(exc, "AWS")
            self._failed(outcome, str(error).removeprefix("AWS failed: "), error.exit_code)
        except BotoCoreError as exc:
            translated = aws_error(exc, "AWS")
            assert translated is not None
            self._failed(outcome, str(translated).removeprefix("AWS: "), translated.exit_code)
        except Exception as exc:  # noqa: BLE001  (one target's bug must not stop the room)
            self._failed(
                outcome,
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in mmtui",
                ExitCode.USAGE,
            )
        outcome.seconds = time.perf_counter() - started
        self.hooks.finished(outcome)
        return outcome

    @staticmethod
    def _failed(outcome: TargetOutcome, message: str, code: ExitCode) -> None:
        outcome.state, outcome.error, outcome.exit_code = "error", message, code

    def _work(self, attendee: Attendee, outcome: TargetOutcome) -> None:
        from mmtui.gitops.repository import aws_identity_for_git
        from mmtui.target.connect import connect
        from mmtui.target.identity import fetch_identity

        with connect(attendee.spec, pool=self.clients) as connection:
            identity = fetch_identity(connection.factory)
            outcome.account, outcome.arn = identity.account_id, identity.arn
            self._guard(attendee, identity.account_id)
            if connection.workspace is None:
                connection.workspace = default_workspace(attendee, identity.account_id)
            outcome.workspace = connection.workspace

            def log(line: str) -> None:
                outcome.log.append(line)
                self.hooks.logged(attendee, line)

            with (
                aws_identity_for_git(git_identity(connection.factory)),
                self.account_turn(connection.endpoint_url, identity.account_id),
            ):
                if self.job.command == "check":
                    self._check(connection, outcome)
                elif self.job.command == "solve":
                    self._solve(connection, outcome, log)
                else:
                    self._reset(connection, outcome, log)

    def _guard(self, attendee: Attendee, actual: str) -> None:
        expected = attendee.account_id
        if expected is None and self.job.command == "reset":
            raise Refused(
                f"the targets file names no account_id for {attendee.name}: fleet reset works "
                "only on accounts the file names (add account_id to their entry)",
                ExitCode.USAGE,
            )
        if expected is not None and expected != actual:
            raise Refused(
                f"the credentials lead to account {actual}, but the targets file says "
                f"{expected}: not touched",
                ExitCode.CREDENTIALS,
            )

    # ------------------------------------------------------------------ commands

    def _checks(
        self, connection: Any, steps: list[Step], prerequisites: bool, attendee: Attendee
    ) -> Any:
        from mmtui.engine.checks import run_checks
        from mmtui.engine.context import CheckContext

        context = CheckContext.for_target(connection, self.job.content, self.job.lab)
        # Each target begins its round at another check: fifty targets that start together
        # would otherwise make the same calls in the same instants (fifty DescribeStacks, then
        # fifty Scans...), one service's worth of work arriving at once, where a mix of calls
        # spreads it (issue 15: the sandbox's 99th percentile answer in a room of fifty fell
        # from 1.82-1.85 to 1.65-1.69 times its median, and the room was no slower).
        return context, run_checks(
            context,
            steps,
            prerequisites=prerequisites,
            workers=self.check_workers,
            first=self.first_check(attendee),
        )

    def first_check(self, attendee: Attendee) -> int:
        """Where `attendee`'s rounds of checks begin: its place in the run."""
        return self._positions.get(id(attendee), 0)

    def _record_checks(self, outcome: TargetOutcome, results: list[StepResult]) -> None:
        from mmtui.engine.report import exit_code

        for result in results:
            step = outcome.step(result.id)
            if step is not None:
                step.status, step.checks = result.status, result.checks
                step.cell = step.cell or result.status.value
        outcome.exit_code = exit_code(results)
        outcome.state = "pass" if outcome.exit_code == ExitCode.OK else "fail"
        if outcome.exit_code not in (ExitCode.OK, ExitCode.CHECK_FAILED):
            outcome.state = "error"
            errors = [c for r in results for c in r.checks if c.status == Status.ERROR]
            outcome.error = f"{len(errors)} check(s) could not look: {errors[0].message}"

    def _check(self, connection: Any, outcome: TargetOutcome) -> None:
        _, results = self._checks(
            connection, self.job.steps, self.job.prerequisites, outcome.attendee
        )
        self._record_checks(outcome, results)

    def _solve(self, connection: Any, outcome: TargetOutcome, log: Callable[[str], None]) -> None:
        from mmtui.engine.context import CheckContext
        from mmtui.engine.solving import solve_step
        from mmtui.engine.tasks import TaskContext

        context = TaskContext(
            CheckContext.for_target(connection, self.job.content, self.job.lab), log=log
        )
        failure: MmtuiError | None = None
        solved: dict[str, StepResult] = {}
        for step in self.job.steps:
            row = outcome.step(step.id)
            assert row is not None
            try:
                done = solve_step(context, step, connection.factory.spec)
            except Exception as exc:
                row.cell = "error"
                failure = as_mmtui_error(exc, f"solving {step.id}")
                break
            # The step's own checks, run right after its solve, decide its cell: `done` only
            # when they pass; otherwise the status, with the checks' messages in the row.
            row.done, solved[step.id] = done.changed, done.result
            if done.changed and done.passed:
                row.cell = "done"
        # Steps not reached (a solve failed) are checked too: the row shows where they stand.
        rest = [step for step in self.job.steps if step.id not in solved]
        _, checked = self._checks(connection, rest, False, outcome.attendee) if rest else (None, [])
        by_id = {result.id: result for result in checked} | solved
        self._record_checks(outcome, [by_id[step.id] for step in self.job.steps])
        if outcome.state == "fail" and outcome.error is None:
            outcome.error = "not done: " + "; ".join(
                f"{step.id}: {check.message}"
                for step in self.job.steps
                for check in by_id[step.id].checks
                if check.status != Status.PASS
            )
        if failure is not None:
            raise failure

    def _reset(self, connection: Any, outcome: TargetOutcome, log: Callable[[str], None]) -> None:
        from mmtui.engine.context import CheckContext
        from mmtui.engine.tasks import TaskContext, run_actions, step_actions

        context = TaskContext(
            CheckContext.for_target(connection, self.job.content, self.job.lab), log=log
        )
        planned = [(step, step_actions(context, step, "reset")) for step in self.job.steps]
        for step, found in planned:
            row = outcome.step(step.id)
            assert row is not None
            row.plan = [action.describe() for action in found]
            changing = sum(action.changes for action in found)
            row.cell = f"{changing} planned" if changing else "nothing"
        if not self.job.act:
            outcome.state = "planned"
            return
        for step, found in planned:
            row = outcome.step(step.id)
            assert row is not None
            try:
                row.done = run_actions(found, log)
            except Exception as exc:
                row.cell = "error"
                raise as_mmtui_error(exc, f"resetting {step.id}") from None
            row.cell = "reset" if found else "nothing"
        # Plan again: whatever a reset would still do is left over, and is said so.
        for step in self.job.steps:
            row = outcome.step(step.id)
            assert row is not None
            row.left = [
                action.describe()
                for action in step_actions(context, step, "reset")
                if action.changes
            ]
            if row.left:
                row.cell = f"left {len(row.left)}"
        if any(row.left for row in outcome.steps):
            outcome.state, outcome.exit_code = "fail", ExitCode.CHECK_FAILED
            outcome.error = "left over: " + "; ".join(a for row in outcome.steps for a in row.left)
        else:
            outcome.state, outcome.exit_code = "pass", ExitCode.OK


def as_mmtui_error(exc: BaseException, doing: str) -> MmtuiError:
    """An exception from a task as a one-line error of the contract's kind."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mmtui.target.errors import aws_error

    if isinstance(exc, MmtuiError):
        return MmtuiError(f"{doing}: {exc}", exc.exit_code)
    if isinstance(exc, (ClientError, BotoCoreError)):
        error = aws_error(exc, doing)
        assert error is not None
        return error
    return MmtuiError(
        f"{doing}: internal error ({type(exc).__name__}: {exc}); this is a bug in mmtui",
        ExitCode.USAGE,
    )


def git_identity(factory: Any) -> Callable[[], dict[str, str | None]]:
    """The AWS_* variables git's CodeCommit credential helper should sign with for this target
    (its own credentials: the role's, current; never the instructor's own): the same as every
    target's (gitops.repository.target_git_identity), the repositories being in the primary
    region."""
    from mmtui.gitops.repository import target_git_identity

    return target_git_identity(factory, factory.spec.primary_region)
