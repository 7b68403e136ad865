"""Waiting like a patient operator (audit D1-D4, W5; red team K5).

The waits' own cadence is proven with an injected clock, so an hour of AWS time takes no time.
Step 2 runs on the sandbox with its timings scaled down, and with mmtui's clock scaled by the
same factor, so that both sides live through the same (short) hour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mmtui.engine.checks import run_checks
from mmtui.engine.steps import find_step
from mmtui.engine.tasks import DYNAMODB_CADENCE, Action, TaskContext, run_actions
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab3.steps import data_tier as data_tier_step
from mmtui.sandbox.behaviours.dynamodb_global import DynamoDBGlobalTables
from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.core.timing import seconds
from tests.engine.test_checks import context

PRIMARY, SECONDARY, TABLE = "us-west-2", "us-east-1", "mm-ddbtable"


@dataclass
class FakeClock:
    """Time that passes only when the code under test sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)
    on_sleep: Callable[[int], None] | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, pause: float) -> None:
        self.sleeps.append(pause)
        self.now += pause
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


@dataclass
class ScaledClock:
    """mmtui's clock running `scale` times faster than real time, like the sandbox's."""

    scale: float

    def clock(self) -> float:
        return time.monotonic() / self.scale

    def sleep(self, pause: float) -> None:
        time.sleep(pause * self.scale)


def fake_context(clock: FakeClock, log: list[str] | None = None) -> TaskContext:
    lines = log if log is not None else []
    return TaskContext(
        None,  # type: ignore[arg-type]  # these waits never call AWS
        log=lines.append,
        clock=clock.clock,
        sleep=clock.sleep,
    )


def gt(sandbox: Sandbox) -> DynamoDBGlobalTables:
    return next(e for e in sandbox.extensions if isinstance(e, DynamoDBGlobalTables))


def finish_replicas(extension: DynamoDBGlobalTables) -> None:
    """AWS is done creating the replicas (an hour later, as far as the waiting code knows)."""
    with extension.lock:
        for group in extension.state.groups:
            for member in group.members.values():
                member.until = min(member.until, time.time())


def task_context(sandbox: Sandbox, log: list[str], **kwargs: Any) -> TaskContext:
    return TaskContext(context(sandbox), log=log.append, **kwargs)


def throttled(operation: str = "DescribeTable") -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation
    )


# ------------------------------------------------------------------ the wait itself


def test_a_long_wait_backs_off_to_the_sdk_waiters_cadence() -> None:
    clock = FakeClock()
    polls: list[float] = []

    def done() -> bool:
        polls.append(clock.now)
        return clock.now - 1000.0 >= 40 * 60  # a replica that takes 40 minutes

    fake_context(clock).wait("a replica", done, cadence=DYNAMODB_CADENCE)

    gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
    assert gaps[0] == 0.5  # the first look comes soon
    assert gaps == sorted(gaps)  # then ever slower...
    assert max(gaps) == DYNAMODB_CADENCE  # ...up to the waiter's interval, never beyond
    assert len(polls) < 40 * 60 / DYNAMODB_CADENCE + 25  # ~3 calls a minute, not 4 a second


def test_a_wait_lasts_an_hour_then_says_aws_carries_on() -> None:
    clock = FakeClock()

    with pytest.raises(MmtuiError) as raised:
        fake_context(clock).wait("a stack", lambda: False)

    assert raised.value.exit_code == ExitCode.AWS_ERROR
    assert clock.now - 1000.0 == pytest.approx(3600.0)
    assert "gave up waiting for a stack after 60 min" in str(raised.value)
    assert "run the same command again" in str(raised.value)


def test_a_terminal_state_ends_the_wait_at_once_with_the_reason() -> None:
    clock = FakeClock()

    with pytest.raises(MmtuiError) as raised:
        fake_context(clock).wait(
            "a stack to be deleted",
            lambda: False,
            failed=lambda: "DELETE_FAILED: the bucket is not empty" if clock.sleeps else None,
        )

    assert str(raised.value) == (
        "a stack to be deleted failed: DELETE_FAILED: the bucket is not empty"
    )
    assert raised.value.exit_code == ExitCode.AWS_ERROR
    assert len(clock.sleeps) == 1


def test_throttling_slows_the_polls_instead_of_failing() -> None:
    clock, log = FakeClock(), []
    answers: list[Any] = [throttled(), throttled(), False, True]

    def done() -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    fake_context(clock, log).wait("a pipeline run", done, cadence=15.0)

    assert answers == []
    assert clock.sleeps[:2] == [2.0, 4.0]  # doubled at each refusal
    assert log.count("  AWS is throttling these calls: polling less often") == 1


def test_an_error_that_is_not_throttling_still_stops_the_wait() -> None:
    def done() -> bool:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "X")

    with pytest.raises(ClientError):
        fake_context(FakeClock()).wait("a table", done)


def test_the_old_call_signature_still_works(sandbox: Sandbox) -> None:
    """step 1 and step 4 call wait(what, done) and wait(what, done, progress)."""
    clock, log = FakeClock(), []
    context_ = fake_context(clock, log)
    context_.wait("one", lambda: bool(clock.sleeps))
    context_.wait("two", lambda: len(clock.sleeps) > 2, lambda: f"{len(clock.sleeps)} sleeps")
    assert log[0] == "waiting for one" and "  1 sleeps" in log


# ------------------------------------------------------------------ step 2 on the sandbox


def test_step_2_waits_out_a_replica_as_slow_as_on_aws(sandbox: Sandbox) -> None:
    """A replica that takes AWS's typical 20 minutes, which is longer than the 15 minutes mmtui
    gave it: the sandbox and mmtui both run 2000 times faster."""
    scale = 1 / 2000
    gt(sandbox).replica_create_seconds = seconds("replica_create", scale)  # 0.6 s
    clock = ScaledClock(scale)
    log: list[str] = []
    ctx = task_context(sandbox, log, clock=clock.clock, sleep=clock.sleep)

    done = run_actions(data_tier_step.solve_data_tier(ctx), log.append)

    assert done == [
        f"enabled the stream of {TABLE} (new and old images)",
        f"added a replica of {TABLE} in {SECONDARY}",
    ]
    assert "  replica in us-east-1: CREATING" in log
    assert data_tier_step._replica_status(ctx) == "ACTIVE"


def test_step_2_retries_the_replica_while_the_stream_is_still_enabling(sandbox: Sandbox) -> None:
    """D4: the table is ACTIVE again before its new stream can feed a replica; DynamoDB refuses
    the replica meanwhile, and the lab promises a retry."""
    gt(sandbox).stream_enable_seconds = 1.5  # UPDATING 1.5 s, then the stream 1.5 s more
    log: list[str] = []
    ctx = task_context(sandbox, log, poll_seconds=0.05, timeout_seconds=60)

    done = run_actions(data_tier_step.solve_data_tier(ctx), log.append)

    assert done[-1] == f"added a replica of {TABLE} in {SECONDARY}"
    assert any("still busy (its stream is enabling): retrying" in line for line in log), log
    assert data_tier_step._replica_status(ctx) == "ACTIVE"


def test_a_failed_replica_ends_the_solve_at_once_with_its_status(sandbox: Sandbox) -> None:
    """D3: CREATION_FAILED is reported when DynamoDB says so, not after an hour of polls."""
    extension = gt(sandbox)
    extension.replica_create_seconds = 3600.0
    clock = FakeClock(
        on_sleep=lambda n: (
            extension.fail_replica(sandbox.account_id, SECONDARY, TABLE, "CREATION_FAILED")
            if n == 1
            else None
        )
    )
    log: list[str] = []
    ctx = task_context(sandbox, log, clock=clock.clock, sleep=clock.sleep)

    with pytest.raises(MmtuiError) as raised:
        run_actions(data_tier_step.solve_data_tier(ctx), log.append)

    assert raised.value.exit_code == ExitCode.AWS_ERROR
    assert "DynamoDB reports the replica CREATION_FAILED" in str(raised.value)
    assert len(clock.sleeps) == 1
    # Solving again says what to do instead of waiting on it.
    with pytest.raises(MmtuiError, match="is CREATION_FAILED: delete it"):
        run_actions(data_tier_step.solve_data_tier(ctx), log.append)


def test_a_solve_interrupted_while_the_replica_is_created_is_picked_up(sandbox: Sandbox) -> None:
    """Item 7: the next solve waits for the replica AWS is making; it does not ask again."""
    extension = gt(sandbox)
    extension.replica_create_seconds = 3600.0
    dynamodb = sandbox.client("dynamodb", PRIMARY)
    dynamodb.update_table(
        TableName=TABLE,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}])
    log: list[str] = []
    clock = FakeClock(on_sleep=lambda n: finish_replicas(extension) if n == 3 else None)
    ctx = task_context(sandbox, log, clock=clock.clock, sleep=clock.sleep)

    done = run_actions(data_tier_step.solve_data_tier(ctx), log.append)

    assert done == []  # nothing asked of AWS: it was already on its way
    assert "  replica in us-east-1: CREATING" in log
    assert data_tier_step._replica_status(ctx) == "ACTIVE"


def test_two_solves_at_once_both_succeed(sandbox: Sandbox) -> None:
    """K5: the other solve enables the stream, then adds the replica, each time just before
    this one does (its log line before each call is where the other gets in)."""
    other = sandbox.client("dynamodb", PRIMARY)
    log: list[str] = []

    def interleave(line: str) -> None:
        log.append(line)
        if line != f"waiting for {TABLE} to be active":
            return
        spec = other.describe_table(TableName=TABLE)["Table"].get("StreamSpecification") or {}
        if not spec.get("StreamEnabled"):
            other.update_table(
                TableName=TABLE,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
        elif "Replicas" not in other.describe_table(TableName=TABLE)["Table"]:
            other.update_table(
                TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}]
            )

    ctx = TaskContext(context(sandbox), log=interleave, poll_seconds=0.05, timeout_seconds=60)
    done = run_actions(data_tier_step.solve_data_tier(ctx), interleave)

    assert done == [f"found the stream of {TABLE} enabled meanwhile (ValidationException)"]
    assert data_tier_step._replica_status(ctx) == "ACTIVE"


def test_the_replica_items_are_pending_while_the_replica_is_created(sandbox: Sandbox) -> None:
    """W5: a replica being created answers reads with ResourceNotFoundException."""
    gt(sandbox).replica_create_seconds = 600.0
    log: list[str] = []
    ctx = task_context(sandbox, log, poll_seconds=0.05, timeout_seconds=60)
    data_tier_step.ensure_stream(ctx)
    data_tier_step.ensure_replica(ctx, SECONDARY, wait=False)

    checks = context(sandbox)
    (result,) = run_checks(checks, [find_step(checks.content.lab, "2")], prerequisites=False)
    by_id = {c.id: c for c in result.checks}

    assert by_id["data_tier.replica_active"].status.value == "pending"
    items = by_id["data_tier.replica_items_match"]
    assert items.status.value == "pending", items.message
    assert items.observed == "replica CREATING"


def test_an_aws_error_in_an_action_is_one_line_of_the_contract() -> None:
    def refuse() -> str:
        raise ClientError(
            {"Error": {"Code": "ExpiredTokenException", "Message": "The token has expired."}},
            "UpdateTable",
        )

    with pytest.raises(MmtuiError) as raised:
        run_actions([Action(PRIMARY, f"table {TABLE}", "enable stream", refuse)], print)

    assert raised.value.exit_code == ExitCode.CREDENTIALS
    assert str(raised.value).startswith(
        f"enable stream table {TABLE} ({PRIMARY}) failed: ExpiredTokenException: The token has "
        "expired.; your credentials have expired: refresh them: `aws sso login`"
    )
