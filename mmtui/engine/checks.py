"""Running checks: each in its own thread, results as they come, a result per check.

Checks of every selected step run concurrently, across regions: a whole-lab check takes about
as long as its slowest check, not the sum of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mmtui.content.model import Step
from mmtui.engine.context import CheckContext
from mmtui.engine.registry import CheckDecl
from mmtui.engine.results import CheckResult, Status, StepResult
from mmtui.target.readonly import WriteRefused

PREREQUISITES_ID = "prerequisites"
NOT_BUILT = "NotBuilt"
MAX_WORKERS = 8

ResultSink = Callable[[str, CheckResult], None]
"""Called with (step id, result) as each check finishes, from the checking thread."""


@dataclass(frozen=True)
class CheckUnit:
    step_id: str
    decl: CheckDecl


class Checker:
    """A builder of results for one check: `check.passed(...)`, `check.failed(...)`, ..."""

    def __init__(self, ctx: CheckContext, decl: CheckDecl) -> None:
        self.ctx = ctx
        self.decl = decl
        self.region = ctx.region(decl.region)

    def _result(
        self,
        status: Status,
        expected: str,
        observed: str,
        message: str,
        command: str,
        error_code: str | None = None,
    ) -> CheckResult:
        return CheckResult(
            self.decl.name,
            self.decl.title,
            self.region,
            status,
            expected,
            observed,
            message,
            command,
            error_code,
        )

    def passed(self, expected: str, observed: str, message: str, command: str = "") -> CheckResult:
        return self._result(Status.PASS, expected, observed, message, command)

    def failed(self, expected: str, observed: str, message: str, command: str = "") -> CheckResult:
        return self._result(Status.FAIL, expected, observed, message, command)

    def pending(self, expected: str, observed: str, message: str, command: str = "") -> CheckResult:
        return self._result(Status.PENDING, expected, observed, message, command)

    def errored(self, message: str, code: str | None = None, command: str = "") -> CheckResult:
        return self._result(Status.ERROR, "", "", message, command, code)


def run_one(ctx: CheckContext, decl: CheckDecl) -> CheckResult:
    """One check, never raising for AWS trouble (that is an ERROR result); a check that tries
    to write raises WriteRefused, loudly, because that is a bug in mmtui."""
    from botocore.exceptions import BotoCoreError, ClientError

    checker = Checker(ctx, decl)
    started = time.perf_counter()
    if decl.run is None:
        result = checker.errored("this check is not built yet in this version of mmtui", NOT_BUILT)
    else:
        try:
            result = decl.run(checker)
        except WriteRefused:
            raise
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            result = checker.errored(f"AWS answered {code}: {error.get('Message', exc)}", code)
        except BotoCoreError as exc:
            result = checker.errored(f"could not reach AWS: {exc}", "NetworkError")
    return _timed(result, time.perf_counter() - started)


def _timed(result: CheckResult, seconds: float) -> CheckResult:
    from dataclasses import replace

    return replace(result, seconds=seconds)


def plan(ctx: CheckContext, steps: list[Step], prerequisites: bool) -> list[CheckUnit]:
    checks = ctx.lab.checks
    units: list[CheckUnit] = []
    if prerequisites:
        units += [
            CheckUnit(PREREQUISITES_ID, checks.get(name)) for name in ctx.content.lab.prerequisites
        ]
    for step in steps:
        units += [CheckUnit(step.id, checks.get(name)) for name in step.checks]
    return units


def run_checks(
    ctx: CheckContext,
    steps: list[Step],
    *,
    prerequisites: bool = True,
    sink: ResultSink | None = None,
    workers: int = MAX_WORKERS,
) -> list[StepResult]:
    """Run the checks of `steps` (and the lab's prerequisites) concurrently."""
    units = plan(ctx, steps, prerequisites)
    results: dict[int, CheckResult] = {}

    def work(index: int, unit: CheckUnit) -> None:
        result = run_one(ctx, unit.decl)
        results[index] = result
        if sink is not None:
            sink(unit.step_id, result)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmtui-check") as pool:
        futures = [pool.submit(work, index, unit) for index, unit in enumerate(units)]
        for future in futures:
            future.result()  # re-raises WriteRefused and bugs, loudly

    grouped: list[StepResult] = []
    if prerequisites and ctx.content.lab.prerequisites:
        grouped.append(StepResult(PREREQUISITES_ID, None, ctx.lab.prerequisites_title, []))
    grouped += [StepResult(step.id, step.number, step.title, []) for step in steps]
    by_id = {group.id: group for group in grouped}
    for index, unit in enumerate(units):
        by_id[unit.step_id].checks.append(results[index])
    return grouped


def lab_status(steps: list[StepResult]) -> Status:
    from mmtui.engine.results import combine

    return combine([step.status for step in steps])


def describe(value: Any) -> str:
    """A short readable rendering of an observed value."""
    if value is None:
        return "nothing"
    if isinstance(value, str | bytes):
        return str(value)
    if isinstance(value, Iterable):
        return ", ".join(sorted(str(v) for v in value)) or "none"
    return str(value)
