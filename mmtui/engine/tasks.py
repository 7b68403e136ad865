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

LogSink = Callable[[str], None]


@dataclass
class Action:
    region: str
    resource: str
    verb: str
    """What will happen, in a few words: "create", "delete", "add stage", ..."""
    run: Callable[[], str] = field(repr=False, default=lambda: "")
    """Does it; returns what it did ("" when there was nothing to do)."""

    def describe(self) -> str:
        return f"{self.verb} {self.resource} ({self.region})"


@dataclass
class TaskContext:
    """What a task receives: read-write clients, the lab's names, live facts, a log."""

    checks: CheckContext
    log: LogSink = lambda _line: None
    poll_seconds: float = 0.5
    timeout_seconds: float = 900.0

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
        self, what: str, done: Callable[[], bool], progress: Callable[[], str] | None = None
    ) -> None:
        """Poll `done` until it is true; MmtuiError on timeout.

        `progress`, when given, describes the state being waited on (a replica's status, a
        pipeline's stages); each time the description changes it is logged, so the attendee
        watches AWS converge instead of a silent wait.
        """
        from mmtui.exitcodes import ExitCode, MmtuiError

        self.log(f"waiting for {what}")
        deadline = time.monotonic() + self.timeout_seconds
        last = ""
        while True:
            if progress is not None:
                now = progress()
                if now and now != last:
                    self.log(f"  {now}")
                    last = now
            if done():
                return
            if time.monotonic() > deadline:
                raise MmtuiError(f"gave up waiting for {what}", ExitCode.AWS_ERROR)
            time.sleep(self.poll_seconds)


def run_actions(actions: list[Action], log: LogSink) -> list[str]:
    """Run actions in order; returns what was done (empty: nothing needed doing)."""
    done: list[str] = []
    for action in actions:
        outcome = action.run()
        if outcome:
            log(f"{action.region}: {outcome}")
            done.append(outcome)
    return done


def step_actions(context: TaskContext, step: Step, kind: str) -> list[Action]:
    """The actions of a step's solve or reset task now (empty: the step has no such task)."""
    from mmtui.engine.registry import TASKS, load_catalogues
    from mmtui.exitcodes import MmtuiError
    from mmtui.gitops.repository import aws_identity_for_git, target_git_identity

    load_catalogues()
    name = getattr(step.automated, kind)
    if name is None:
        return []
    task = TASKS.get(name).run
    if task is None:
        raise MmtuiError(f"the {kind} of {step.id} is not built yet")
    # git (step 4's clones and pushes) signs as the target, never as whatever the user's
    # environment names: while the task plans (it may clone) and while each action runs, on
    # whichever thread runs it.
    identity = target_git_identity(context.checks.connection.factory, context.primary_region)
    with aws_identity_for_git(identity):
        found: list[Action] = task(context)
    return [replace(action, run=_as_target(identity, action.run)) for action in found]


def _as_target(
    identity: Callable[[], dict[str, str | None]], run: Callable[[], str]
) -> Callable[[], str]:
    from mmtui.gitops.repository import aws_identity_for_git

    def run_as_target() -> str:
        with aws_identity_for_git(identity):
            return run()

    return run_as_target
