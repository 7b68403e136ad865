"""Solves and resets: tasks that change AWS, with what they will do shown first.

A task is a registered function that, given a TaskContext, returns a list of Actions: each says
what it will change, where, and does it when run. `solve` runs a step's actions at once (each
action checks first and does nothing when its part is already done, so a second solve changes
nothing). `reset` shows the plan, and runs it only when confirmed; its actions tolerate what is
already gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mmtui.engine.context import CheckContext

if TYPE_CHECKING:
    from mmtui.content.model import Step
    from mmtui.target.spec import TargetSpec

LogSink = Callable[[str], None]


@dataclass
class Action:
    region: str
    resource: str
    verb: str
    """What will happen, in a few words: "create", "delete", "add stage", ..."""
    run: Callable[[], str] = field(repr=False, default=lambda: "")
    """Does it; returns what it did ("" when there was nothing to do)."""
    changes: bool = True
    """False for a line of the plan that only tells (a resource left alone, and why): it
    changes nothing, so a reset that still plans it has nothing left over."""

    def describe(self) -> str:
        return f"{self.verb} {self.resource} ({self.region})"


THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "LimitExceededException",
    }
)
"""Error codes meaning "ask less often" (botocore's standard retry mode treats them so): during
a wait they slow the poll down instead of failing it."""

CLOUDFORMATION_CADENCE = 30.0
DYNAMODB_CADENCE = 20.0
ECS_CADENCE = 15.0
"""The poll interval of the SDK's own waiters (botocore's waiter models): a long wait settles on
these, so a wait of an hour costs AWS about a hundred calls, not thousands."""

MAX_THROTTLED_INTERVAL = 120.0
BACKOFF = 1.25
"""Each poll waits this much longer than the one before (up to the cadence): a step that AWS
finishes in seconds is seen at once, one that takes half an hour is polled every 20-30 s
after the first two minutes."""


def is_throttling(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    return exc.response.get("Error", {}).get("Code") in THROTTLING_CODES


@dataclass
class TaskContext:
    """What a task receives: read-write clients, the lab's names, live facts, a log."""

    checks: CheckContext
    log: LogSink = lambda _line: None
    poll_seconds: float = 0.5
    """The first poll of a wait comes this soon; later ones back off to the wait's cadence."""
    timeout_seconds: float = 3600.0
    """How long a wait lasts at most: AWS's own waiters give a stack an hour, and a replica
    or a pipeline run can take as long."""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    """Injectable, so that a test runs a long wait without waiting for real."""

    @property
    def primary_region(self) -> str:
        return self.checks.primary_region

    @property
    def secondary_region(self) -> str:
        return self.checks.secondary_region

    def client(self, service: str, region: str) -> Any:
        return self.checks.connection.factory.client(service, region)

    def param(self, name: str) -> str:
        return self.checks.param(name)

    def wait(
        self,
        what: str,
        done: Callable[[], bool],
        progress: Callable[[], str] | None = None,
        *,
        failed: Callable[[], str | None] | None = None,
        cadence: float = CLOUDFORMATION_CADENCE,
        timeout: float | None = None,
    ) -> None:
        """Poll `done` until it is true, as a patient operator would.

        `progress`, when given, describes the state being waited on (a replica's status, a
        pipeline's stages); each time the description changes it is logged, so the attendee
        watches AWS converge instead of a silent wait. `failed`, when given, returns the reason
        when AWS has reached a state the wait can never leave (CREATION_FAILED, DELETE_FAILED,
        ...): the wait ends at once with that reason. Polls start after `poll_seconds` and back
        off to `cadence` (the SDK waiter's interval for the service); AWS throttling the polls
        makes them slower, not fatal. MmtuiError (exit 4) after `timeout` (default
        `timeout_seconds`), saying that AWS carries on and a second run picks it up.
        """
        from mmtui.exitcodes import ExitCode, MmtuiError

        self.log(f"waiting for {what}")
        started = self.clock()
        deadline = started + (self.timeout_seconds if timeout is None else timeout)
        interval = max(self.poll_seconds, 0.0)
        cadence = max(cadence, interval)
        last = ""
        throttled = False
        while True:
            try:
                if progress is not None:
                    now = progress()
                    if now and now != last:
                        self.log(f"  {now}")
                        last = now
                reason = failed() if failed is not None else None
                if reason:
                    raise MmtuiError(f"{what} failed: {reason}", ExitCode.AWS_ERROR)
                if done():
                    return
                pause = min(interval, cadence)
                interval = min(interval * BACKOFF, cadence)
            except Exception as exc:
                if not is_throttling(exc):
                    raise
                if not throttled:
                    self.log("  AWS is throttling these calls: polling less often")
                    throttled = True
                interval = min(max(interval, 1.0) * 2, MAX_THROTTLED_INTERVAL)
                pause = interval
            left = deadline - self.clock()
            if left <= 0:
                minutes = (self.clock() - started) / 60
                raise MmtuiError(
                    f"gave up waiting for {what} after {minutes:.0f} min; AWS carries on: run the "
                    "same command again later to pick it up from where AWS is",
                    ExitCode.AWS_ERROR,
                )
            self.sleep(min(pause, left))  # one last look at the deadline


def run_actions(actions: list[Action], log: LogSink, spec: TargetSpec | None = None) -> list[str]:
    """Run actions in order; returns what was done (empty: nothing needed doing).

    An AWS or network error stops the run as an MmtuiError naming the action (exit 3 or 4, one
    line, with the fix for credentials of `spec` when there is one)."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.target.errors import translated

    done: list[str] = []
    for index, action in enumerate(actions):
        try:
            with translated(action.describe(), spec):
                outcome = action.run()
        except MmtuiError as exc:
            # Stopped part-way: say what is in place and what is not, so nobody has to guess
            # whether to undo anything (nothing: a second run starts from what AWS shows). The
            # same error, its cause kept: the guide reads AWS's code from it.
            left = actions[index + 1 :]
            after_fix = exc.exit_code != ExitCode.AWS_ERROR  # denied, or refused by mmtui
            exc.args = (f"{str(exc).rstrip('.')}.{stopped_at(done, left, after_fix)}",)
            raise
        if outcome:
            log(f"{action.region}: {outcome}")
            done.append(outcome)
    return done


def stopped_at(done: list[str], left: list[Action], after_fix: bool = False) -> str:
    """What a task that stopped on an error had done and had still to do, in a few words.
    `after_fix`: the error needs the user first (a denied call, a clone mmtui will not touch),
    so a rerun is for after that, not at once."""
    parts = [f" Done before it: {'; '.join(done)}." if done else " Nothing was changed before it."]
    if left:
        parts.append(f" Not started: {'; '.join(action.describe() for action in left)}.")
    again = "Once that is fixed, run it again" if after_fix else "Run it again"
    parts.append(f" {again}: it continues from what AWS shows.")
    return "".join(parts)


def step_actions(context: TaskContext, step: Step, kind: str) -> list[Action]:
    """The actions of a step's solve or reset task now (empty: the step has no such task)."""
    from mmtui.exitcodes import MmtuiError
    from mmtui.gitops.repository import aws_identity_for_git

    name = getattr(step.automated, kind)
    if name is None:
        return []
    task = context.checks.lab.tasks.get(name).run
    if task is None:
        raise MmtuiError(f"the {kind} of {step.id} is not built yet")
    # git (a lab's clones and pushes) signs as the target, never as whatever the user's
    # environment names: while the task plans (it may clone) and while each action runs, on
    # whichever thread runs it.
    identity = git_identity(context)
    with aws_identity_for_git(identity):
        found: list[Action] = task(context)
    return [replace(action, run=_as_target(identity, action.run)) for action in found]


def git_identity(context: TaskContext) -> Callable[[], dict[str, str | None]]:
    """The AWS_* variables git signs with as the target (its primary region's repositories):
    for `aws_identity_for_git` around any git call to the remote outside a task's actions."""
    from mmtui.gitops.repository import target_git_identity

    return target_git_identity(context.checks.connection.factory, context.primary_region)


def _as_target(
    identity: Callable[[], dict[str, str | None]], run: Callable[[], str]
) -> Callable[[], str]:
    from mmtui.gitops.repository import aws_identity_for_git

    def run_as_target() -> str:
        with aws_identity_for_git(identity):
            return run()

    return run_as_target
