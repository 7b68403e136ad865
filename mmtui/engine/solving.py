"""A solve that tells the truth: a step is "done" only when its own checks pass afterwards.

The CLI (`mmtui solve`, `--through`), the guide's solve and `mmtui fleet solve` all solve a
step through `solve_step`: run the step's actions, then run the step's checks on fresh facts.
Whether the step is "already done" is decided by those checks (what AWS and the remote
repositories show), never by whether the actions found something to change: a solve that
changed nothing while the checks still fail says so, with the checks' messages.

Steps may build on earlier ones (`requires:` in lab.yaml). Solving a step whose required steps
fail leaves it failing; `unmet_requirements` finds that out first so callers can warn.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmtui.content.model import Lab, Step
from mmtui.engine.context import CheckContext
from mmtui.engine.results import CheckResult, Status, StepResult
from mmtui.engine.tasks import TaskContext, run_actions, step_actions
from mmtui.target.spec import TargetSpec


@dataclass(frozen=True)
class SolveOutcome:
    """What one step's solve changed, and what its checks say afterwards."""

    step: Step
    changed: list[str]
    result: StepResult

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def passed(self) -> bool:
        return self.status == Status.PASS

    @property
    def unfinished(self) -> list[CheckResult]:
        """The step's checks that do not pass (fail, pending or could not look)."""
        return [check for check in self.result.checks if check.status != Status.PASS]

    def summary(self) -> str:
        """One line: done, already done, or what is still missing and why."""
        if self.passed:
            return "done" if self.changed else "already done, nothing changed"
        did = "solved" if self.changed else "nothing more mmtui can change"
        if self.status == Status.PENDING:
            return f"{did}; pending: AWS is still converging, check again in a moment"
        if self.status == Status.ERROR:
            return f"{did}; its checks could not look, so it is not known to be done"
        failing = sum(check.status == Status.FAIL for check in self.result.checks)
        return f"{did}, but {failing} of its checks still fail: not done"

    def details(self) -> list[str]:
        """A line per unfinished check: its status and its message."""
        return [f"{check.status.value}: {check.message}" for check in self.unfinished]


def step_result(checks: CheckContext, step: Step) -> StepResult:
    """The step's checks, on fresh facts (a solve has just changed what they would cache)."""
    from mmtui.engine.checks import run_checks

    return run_checks(checks.fresh(), [step], prerequisites=False)[0]


def solve_step(context: TaskContext, step: Step, spec: TargetSpec | None = None) -> SolveOutcome:
    """Run `step`'s solve, then its checks; the outcome says whether it is done. An AWS error
    stops it in one line naming the action (with the fix for `spec`'s credentials)."""
    changed = run_actions(step_actions(context, step, "solve"), context.log, spec)
    return SolveOutcome(step, changed, step_result(context.checks, step))


def required_steps(lab: Lab, step: Step) -> list[Step]:
    wanted = set(step.requires)
    return [candidate for candidate in lab.steps if candidate.id in wanted]


def unmet_requirements(checks: CheckContext, step: Step) -> list[StepResult]:
    """The steps `step` requires whose checks do not pass now (empty: go ahead)."""
    from mmtui.engine.checks import run_checks

    required = required_steps(checks.content.lab, step)
    if not required:
        return []
    results = run_checks(checks.fresh(), required, prerequisites=False)
    return [result for result in results if result.status != Status.PASS]


def dependant_steps(lab: Lab, step: Step) -> list[Step]:
    """The steps that build on `step`, directly or through another step, in lab order."""
    found: set[str] = set()
    grew = True
    while grew:
        grew = False
        for candidate in lab.steps:
            if candidate.id not in found and ({step.id} | found) & set(candidate.requires):
                found.add(candidate.id)
                grew = True
    return [candidate for candidate in lab.steps if candidate.id in found]


def reset_warning(context: TaskContext, step: Step) -> str | None:
    """What resetting `step` alone does to the steps built on it that are (partly) done, that
    is, whose own reset would remove something: they keep pointing at what this reset removes.
    None when no such step has anything done."""
    done = [d for d in dependant_steps(context.checks.content.lab, step) if _made(context, d)]
    if not done:
        return None
    names = ", ".join(step_label(d.number, d.id) for d in done)
    label = step_label(step.number, step.id)
    return (
        f"{names} build{'s' if len(done) == 1 else ''} on {label} and "
        f"{'is' if len(done) == 1 else 'are'} done at least in part: after this reset "
        f"{'it points' if len(done) == 1 else 'they point'} at what it removes, and "
        f"{'fails' if len(done) == 1 else 'fail'} until {step.id} and then "
        f"{'it' if len(done) == 1 else 'they'} are solved again (`mmtui solve --through "
        f"{done[-1].id}` does them in order)."
    )


def _made(context: TaskContext, step: Step) -> bool:
    """Whether `step`'s reset would remove something now. A plan that cannot be made here (no
    workspace for step 4, a policy that grants only this reset) says nothing: a warning is
    worth no failure of the reset it comes with."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mmtui.exitcodes import MmtuiError

    try:
        return any(action.changes for action in step_actions(context, step, "reset"))
    except (MmtuiError, ClientError, BotoCoreError):
        return False


def step_label(number: int | None, step_id: str) -> str:
    return f"step {number} ({step_id})" if number is not None else step_id


def requirement_warning(step: Step, unmet: list[StepResult]) -> str:
    """What will happen when `step` is solved now: it stays failing until `unmet` pass."""
    needed = ", ".join(step_label(result.number, result.id) for result in unmet)
    # The first reason of each step is enough to see why; the step's screen has the rest.
    reasons = "; ".join(
        next(c.message for c in result.checks if c.status != Status.PASS).rstrip(".")
        for result in unmet
    )
    label = step_label(step.number, step.id)
    return (
        f"{label} builds on {needed}, whose checks do not pass ({reasons}). Solving "
        f"{step.id} now does its own part, but its checks will keep failing until {needed} "
        f"pass{'es' if len(unmet) == 1 else ''}: solve {needed} first, then {step.id} again "
        f"(`mmtui solve --through {step.id}` does them in order)."
    )
