"""Running checks: each in its own thread, results as they come, a result per check.

Checks of every selected step run concurrently, across regions: a whole-lab check takes about
as long as its slowest check, not the sum of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import wait
from dataclasses import dataclass
from typing import Any

from mmtui.background import DaemonPool
from mmtui.content.model import Check, Step
from mmtui.content.render import render
from mmtui.engine.context import CheckContext
from mmtui.engine.results import CheckResult, Status, StepResult
from mmtui.target.readonly import WriteRefused

PREREQUISITES_ID = "prerequisites"
NOT_BUILT = "NotBuilt"
OUT_OF_TIME = "Timeout"
MAX_WORKERS = 48
"""Checks mostly wait on AWS (a few calls each, some chained through shared facts), so every
check of a lab (the largest has 42) starts at once: a check queued behind others waits for
them whole, and with 80 ms a call 16 threads left the whole-lab check at 1.8 times its slowest
check where 48 bring it to 1.05 (benchmarks/check_concurrency.py). The calls in flight stay
few (35 for those 42 checks: facts are shared) and within a client's connection pool."""
ROUND_BUDGET = 60.0
"""Seconds a round of checks may take. A check reads a few times, each read bounded by the
checks' timeouts (target/clients.py); past this the AWS it talks to is not answering."""

ResultSink = Callable[[str, CheckResult], None]
"""Called with (step id, result) as each check finishes, from the checking thread."""


@dataclass(frozen=True)
class CheckUnit:
    step_id: str
    check: Check


class Checker:
    """A builder of results for one check: `check.passed(...)`, `check.failed(...)`, ...

    The check's Python gives only its judgement (what it expected, what it saw, why); its
    title, region and the command that shows what it looked at come from the content."""

    def __init__(self, ctx: CheckContext, check: Check) -> None:
        self.ctx = ctx
        self.check = check
        self.region = ctx.region(check.region)

    def command(self) -> str:
        """The content's read-only command with the names known by now: the parameters, and
        the facts this round has fetched (placeholders for the others)."""
        return render(self.check.command, self.ctx.names(), f"the command of {self.check.name}")

    def _result(
        self,
        status: Status,
        expected: str,
        observed: str,
        message: str,
        error_code: str | None = None,
    ) -> CheckResult:
        return CheckResult(
            self.check.name,
            self.check.title,
            self.region,
            status,
            expected,
            observed,
            message,
            self.command(),
            error_code,
        )

    def passed(self, expected: str, observed: str, message: str) -> CheckResult:
        return self._result(Status.PASS, expected, observed, message)

    def failed(self, expected: str, observed: str, message: str) -> CheckResult:
        return self._result(Status.FAIL, expected, observed, message)

    def pending(self, expected: str, observed: str, message: str) -> CheckResult:
        return self._result(Status.PENDING, expected, observed, message)

    def errored(self, message: str, code: str | None = None) -> CheckResult:
        return self._result(Status.ERROR, "", "", message, code)


def run_one(ctx: CheckContext, check: Check) -> CheckResult:
    """One check, never raising for AWS trouble (that is an ERROR result); a check that tries
    to write raises WriteRefused, loudly, because that is a bug in mmtui."""
    from botocore.exceptions import BotoCoreError, ClientError

    checker = Checker(ctx, check)
    started = time.perf_counter()
    judge = ctx.lab.checks.get(check.name).run if check.name in ctx.lab.checks else None
    if judge is None:
        result = checker.errored("this check is not built yet in this version of mmtui", NOT_BUILT)
    else:
        try:
            result = judge(checker)
        except WriteRefused:
            raise
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            result = checker.errored(f"AWS answered {code}: {error.get('Message', exc)}", code)
        except BotoCoreError as exc:
            result = checker.errored(f"could not reach AWS: {exc}", "NetworkError")
    return _timed(result, time.perf_counter() - started)


def _out_of_time(ctx: CheckContext, check: Check, budget: float, thread: int | None) -> CheckResult:
    from mmtui.target.calls import IN_FLIGHT

    waiting = IN_FLIGHT.of_thread(thread) if thread is not None else []
    what = f"; still waiting for {waiting[0].describe()}" if waiting else ""
    result = Checker(ctx, check).errored(
        f"AWS did not answer within {budget:.0f} s{what}", OUT_OF_TIME
    )
    return _timed(result, budget)


def _timed(result: CheckResult, seconds: float) -> CheckResult:
    from dataclasses import replace

    return replace(result, seconds=seconds)


def plan(ctx: CheckContext, steps: list[Step], prerequisites: bool) -> list[CheckUnit]:
    units: list[CheckUnit] = []
    if prerequisites:
        units += [CheckUnit(PREREQUISITES_ID, check) for check in ctx.content.lab.prerequisites]
    for step in steps:
        units += [CheckUnit(step.id, check) for check in step.checks]
    return units


def run_checks(
    ctx: CheckContext,
    steps: list[Step],
    *,
    prerequisites: bool = True,
    sink: ResultSink | None = None,
    workers: int = MAX_WORKERS,
    budget: float = ROUND_BUDGET,
    first: int = 0,
) -> list[StepResult]:
    """Run the checks of `steps` (and the lab's prerequisites) concurrently, started in their
    order from the `first`-th on (wrapping round; the results are in their order whatever it
    is): a fleet begins each target at another check.

    The round takes at most `budget` seconds: a check still waiting for AWS then is an ERROR
    that names the call it waits for, and its thread is left to give up on its own (it is a
    daemon: it never holds up quitting)."""
    units = plan(ctx, steps, prerequisites)
    results: dict[int, CheckResult] = {}
    threads: dict[int, int] = {}
    lock = threading.Lock()
    over = threading.Event()

    def work(index: int, unit: CheckUnit) -> None:
        threads[index] = threading.get_ident()
        result = run_one(ctx, unit.check)
        with lock:
            if over.is_set():
                return  # the round has ended without it: its answer is not part of it
            results[index] = result
        if sink is not None:
            sink(unit.step_id, result)

    pool = DaemonPool(workers, name="mmtui-check")
    try:
        order = list(enumerate(units))
        if order:
            shift = first % len(order)
            order = order[shift:] + order[:shift]
        futures = [pool.submit(work, index, unit) for index, unit in order]
        finished, _late = wait(futures, timeout=budget)
        with lock:
            over.set()
        for future in futures:
            if future in finished:
                future.result()  # re-raises WriteRefused and bugs, loudly
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for index, unit in enumerate(units):
        if index not in results:
            result = _out_of_time(ctx, unit.check, budget, threads.get(index))
            results[index] = result
            if sink is not None:
                sink(unit.step_id, result)

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
