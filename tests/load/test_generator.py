"""mmtui's load generator against the sandbox's primary site: a steady rate, each like's status,
latency and serving region, and the likes really written."""

from __future__ import annotations

import pytest

from mmtui.load.answers import Answer, per_second, summarise
from mmtui.load.generator import GRETTA, LoadGenerator
from mmtui.sandbox.core.server import Sandbox

PRIMARY_SITE = "alb-mm-multi-region-1.us-west-2.elb.amazonaws.com"


def likes(sandbox: Sandbox) -> int:
    item = sandbox.client("dynamodb", "us-west-2").get_item(
        TableName="mm-ddbtable", Key={"MysfitId": {"S": GRETTA}}
    )["Item"]
    return int(item["Likes"]["N"])


def test_likes_at_a_steady_rate_each_with_its_region(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")  # every like succeeds
    before = likes(sandbox)
    generator = LoadGenerator(PRIMARY_SITE, sandbox.resolve_map(), rate=40)
    answers = generator.run_for(1.5)
    # Paced by the clock's schedule: the likes were due every 25 ms from 0, none skipped and
    # none doubled, whenever a busy machine let each thread run (no wall-time assertion).
    assert generator.stopped_at is not None
    assert answers and [round(a.at * 40) for a in answers] == list(range(len(answers)))
    assert all(a.at <= generator.stopped_at for a in answers)
    assert all(a.status == 200 and a.region == "us-west-2" for a in answers)
    assert likes(sandbox) - before == len(answers)
    summary = summarise(answers, 1.5)
    assert summary.by_region == {"us-west-2": len(answers)} and summary.failed == 0
    first = per_second(answers)[0]
    assert first.sent == min(40, len(answers)) and first.success_rate == 1.0


def test_chaos_mode_errors_are_failed_answers_with_their_status(sandbox: Sandbox) -> None:
    """The primary Like service runs with chaos mode on (about 30% 500s and 30% 404s)."""
    answers = LoadGenerator(PRIMARY_SITE, sandbox.resolve_map(), rate=50).run_for(2.0)
    statuses = {a.status for a in answers}
    assert {200, 404, 500} <= statuses
    assert 0.2 < sum(not a.ok for a in answers) / len(answers) < 0.9


def test_nothing_answering_is_recorded_as_failures_at_the_same_rate() -> None:
    """A closed port: every like fails fast, and the sending keeps its pace."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    generator = LoadGenerator("down.example", {"down.example": f"http://127.0.0.1:{port}"}, rate=20)
    answers = generator.run_for(1.0)
    assert answers and [round(a.at * 20) for a in answers] == list(range(len(answers)))
    assert all(a.status is None and a.region is None and a.error for a in answers)
    assert summarise(answers, 1.0).statuses == {"no answer": len(answers)}


def test_per_second_keeps_empty_seconds() -> None:
    answers = [Answer(0.2, 200, 0.01, "us-west-2"), Answer(2.5, None, 5.0, None, "timeout")]
    seconds = per_second(answers)
    assert [s.sent for s in seconds] == [1, 0, 1]
    assert seconds[1].success_rate == 1.0 and seconds[2].success_rate == 0.0
