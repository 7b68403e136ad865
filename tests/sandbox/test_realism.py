"""The sandbox as a slow, busy, faulty AWS (issue 15): each knob over HTTP with boto3, as an
SDK meets it, and mmtui's checks staying honest under it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

import mmtui.labs
from mmtui.engine.checks import run_checks
from mmtui.engine.context import CheckContext
from mmtui.engine.results import Status
from mmtui.sandbox.core.realism import (
    AWS_RATES,
    TIMEOUT_HOLD,
    Fault,
    Latency,
    RateLimit,
    Realism,
    RealismError,
    Scope,
    parse_fault,
    parse_latency,
    parse_rate_limit,
)
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.clients import ClientFactory
from mmtui.target.connection import Connection
from mmtui.target.spec import TargetFlags, resolve_target

FROZEN = lambda: 0.0  # noqa: E731  (a clock that never moves: no bucket ever refills)


def once(sandbox: Sandbox, service: str, region: str = "us-west-2") -> Any:
    """A client that tries each call once, so the test sees what the sandbox answered."""
    access_key, secret = sandbox.credentials()
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=sandbox.url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def code_of(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_settings_read_from_the_command_line() -> None:
    assert parse_latency("80ms~40ms@dynamodb") == Latency(0.08, 0.04, Scope("dynamodb"))
    assert parse_latency("0.2s") == Latency(0.2, 0.0, Scope())
    assert parse_rate_limit("5@codepipeline:GetPipeline") == [
        RateLimit(5, Scope("codepipeline", "GetPipeline"))
    ]
    assert parse_rate_limit("aws") == list(AWS_RATES)
    assert parse_fault("503:5%@sts") == Fault("503", 0.05, Scope("sts"))
    assert parse_fault("reset:0.5") == Fault("reset", 0.5, Scope())
    for bad, message in (
        (lambda: parse_latency("fast"), "--latency: 'fast' is not a duration"),
        (lambda: parse_rate_limit("5"), "--rate-limit: say a positive rate and where"),
        (lambda: parse_fault("404:0.1"), "--fault: '404' is not one of 500, 503, reset, timeout"),
        (lambda: parse_fault("503:150%"), "--fault: the fraction must be above 0"),
        (lambda: parse_fault("503:0.1@Not A Service"), "--fault: 'Not A Service' is not a"),
    ):
        with pytest.raises(RealismError, match=message):
            bad()


def test_described_in_one_line_and_in_sandbox_env(sandbox: Sandbox) -> None:
    assert "MMTUI_SANDBOX_REALISM" not in sandbox.env()
    realism = Realism(
        [Latency(0.08, 0.04)], [RateLimit(5, Scope("codepipeline"))], [Fault("503", 0.05)], seed=7
    )
    said = "latency 80±40 ms (all); rate limits 5/s (codepipeline); faults 503 for 5% (all); seed 7"
    assert realism.describe() == said
    with sandbox.simulating(realism):
        assert sandbox.env()["MMTUI_SANDBOX_REALISM"] == said
    assert "MMTUI_SANDBOX_REALISM" not in sandbox.env()


THROTTLING = [
    # (service, a read it serves, what AWS answers past the rate)
    ("dynamodb", "list_tables", ("ThrottlingException", 400)),
    ("cloudformation", "describe_stacks", ("Throttling", 400)),
    ("xray", "get_groups", ("ThrottledException", 429)),
    ("s3", "list_buckets", ("SlowDown", 503)),
    ("codepipeline", "list_pipelines", ("ThrottlingException", 400)),
]


def test_each_service_throttles_with_its_own_error(sandbox: Sandbox) -> None:
    limits = [RateLimit(1, Scope(service)) for service, _, _ in THROTTLING]
    with sandbox.simulating(Realism(rate_limits=limits, clock=FROZEN)):
        for service, read, answer in THROTTLING:
            call = getattr(once(sandbox, service), read)
            call()  # the one call a second
            assert code_of(call) == answer, service
    once(sandbox, "dynamodb").list_tables()  # off again


def test_faults_answer_as_aws_does_and_repeat_from_a_seed(sandbox: Sandbox) -> None:
    with sandbox.simulating(Realism(faults=[Fault("503", 1.0, Scope("xray"))])):
        assert code_of(once(sandbox, "xray").get_groups) == ("ServiceUnavailable", 503)
        once(sandbox, "dynamodb").list_tables()  # other services untouched
    with sandbox.simulating(Realism(faults=[Fault("500", 1.0, Scope("sts", "GetCallerIdentity"))])):
        assert code_of(once(sandbox, "sts").get_caller_identity) == ("InternalFailure", 500)
    reset = Realism(faults=[Fault("reset", 1.0, Scope("sts"))])
    with sandbox.simulating(reset), pytest.raises(BotoCoreError):
        once(sandbox, "sts").get_caller_identity()

    def draws(seed: int) -> list[bool]:
        realism = Realism(faults=[Fault("503", 0.5)], seed=seed)
        with sandbox.simulating(realism):
            outcomes = []
            for _ in range(12):
                try:
                    once(sandbox, "dynamodb").list_tables()
                    outcomes.append(True)
                except ClientError:
                    outcomes.append(False)
            return outcomes

    first = draws(11)
    assert first == draws(11)  # the same seed, the same faults in the same order
    assert True in first and False in first


def test_latency_and_held_calls_wait_as_asked(sandbox: Sandbox) -> None:
    waits: list[float] = []
    realism = Realism(
        latencies=[Latency(0.08, 0.04), Latency(0.3, 0.0, Scope("xray"))],
        faults=[Fault("timeout", 1.0, Scope("dynamodb", "ListTables"))],
        seed=3,
        sleep=waits.append,  # recorded instead of slept: the suite stays fast
    )
    with sandbox.simulating(realism):
        once(sandbox, "sts").get_caller_identity()
        once(sandbox, "xray").get_groups()
        once(sandbox, "dynamodb").list_tables()  # held, then answered (its caller waited)
    general, specific, listed, held = waits
    assert 0.04 <= general <= 0.12
    assert specific == 0.3  # the most specific setting wins
    assert 0.04 <= listed <= 0.12 and held == TIMEOUT_HOLD


def test_checks_under_throttling_are_errors_never_verdicts(sandbox: Sandbox) -> None:
    """Retried within the SDK's limits, then `error` with AWS's code: a throttled check is never
    a false pass or fail."""
    spec = resolve_target(TargetFlags(endpoint_url=sandbox.url), env={})
    factory = ClientFactory(spec, endpoint_url=sandbox.url, credentials=sandbox.credentials())
    lab, content = mmtui.labs.load("3")
    ctx = CheckContext(Connection(spec, factory, resolver=sandbox.resolve_map), content, lab)
    # Under one call a second with a clock that never moves, the bucket never holds a whole
    # call: every DynamoDB read of step 2's checks is throttled, on every retry.
    throttled = Realism(rate_limits=[RateLimit(0.5, Scope("dynamodb"))], clock=FROZEN)
    with sandbox.simulating(throttled):
        (step,) = run_checks(ctx, [content.step("data-tier")], prerequisites=False)
    statuses = {check.id: (check.status, check.error_code) for check in step.checks}
    assert statuses == dict.fromkeys(
        ["data_tier.stream_enabled", "data_tier.replica_active", "data_tier.replica_items_match"],
        (Status.ERROR, "ThrottlingException"),
    )
