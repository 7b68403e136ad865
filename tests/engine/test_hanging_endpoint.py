"""An AWS that accepts connections and never answers (red-team K6b): a round of checks ends
within its budget, each unfinished check an `error` naming the call it waited for, never a
false pass or fail; and nothing waits for the stuck threads afterwards."""

from __future__ import annotations

import threading

import mmtui.labs
from mmtui.engine.checks import OUT_OF_TIME, run_checks
from mmtui.engine.context import CheckContext
from mmtui.engine.results import Status
from mmtui.target.calls import IN_FLIGHT
from mmtui.target.clients import CHECK_ATTEMPTS, ClientFactory
from mmtui.target.connection import Connection
from mmtui.target.spec import TargetFlags, resolve_target
from tests.hanging import hanging_endpoint


def test_a_round_against_a_hanging_endpoint_ends_with_honest_errors() -> None:
    with hanging_endpoint() as url:
        spec = resolve_target(TargetFlags(endpoint_url=url), env={})
        factory = ClientFactory(spec, endpoint_url=url, credentials=("AKIDEXAMPLE", "secret"))
        lab, content = mmtui.labs.load("3")
        ctx = CheckContext(Connection(spec, factory), content, lab)
        seen: list[str] = []
        steps = run_checks(
            ctx, [content.step("data-tier")], sink=lambda _step, r: seen.append(r.id), budget=1.5
        )
        checks = [check for step in steps for check in step.checks]
        names = [c.name for c in content.lab.every_check() if c.name.startswith(("prereq", "data"))]
        assert sorted(c.id for c in checks) == sorted(names)
        assert sorted(seen) == sorted(names)  # every check reported, once
        assert {c.status for c in checks} == {Status.ERROR}
        assert {c.error_code for c in checks} == {OUT_OF_TIME}
        waiting = [c for c in checks if "still waiting for" in c.message]
        # The checks that had started name their call: a service, an operation and a region.
        assert waiting, [c.message for c in checks]
        assert all(
            c.message.startswith("AWS did not answer within 2 s; still waiting for ")
            and " in us-" in c.message
            for c in waiting
        )
        stuck = [t for t in threading.enumerate() if t.name.startswith("mmtui-check")]
        assert stuck and all(t.daemon for t in stuck)  # left behind, never waited for
    # The endpoint closed every connection: the calls end, and nothing stays in flight.
    for thread in stuck:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in stuck)
    assert not [c for c in IN_FLIGHT.slow(after=0) if c[0].service == "dynamodb"]


def test_checks_retry_within_the_sdks_standard_limit() -> None:
    spec = resolve_target(TargetFlags(endpoint_url="http://127.0.0.1:9"), env={})
    factory = ClientFactory(spec, endpoint_url="http://127.0.0.1:9", credentials=("a", "b"))
    check_client = factory.client("dynamodb", "us-west-2", read_only=True)
    task_client = factory.client("dynamodb", "us-west-2")
    assert check_client.meta.config.retries["total_max_attempts"] == CHECK_ATTEMPTS == 3
    assert check_client.meta.config.read_timeout < task_client.meta.config.read_timeout
