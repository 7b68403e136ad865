"""RTO read from a load run: the outage starts with the first second below the threshold and
ends once the success rate holds above it for three seconds."""

from __future__ import annotations

from mmtui.load.answers import Answer
from mmtui.load.recovery import recovery


def run(pattern: str, rate: int = 10) -> list[Answer]:
    """One character per second: P served by the primary, S by the secondary, x failed,
    h half of each second failed (the other half served by the secondary)."""
    answers = []
    for second, kind in enumerate(pattern):
        for n in range(rate):
            at = second + n / rate
            if kind == "P":
                answers.append(Answer(at, 200, 0.01, "us-west-2"))
            elif kind == "S" or kind == "h" and n % 2:
                answers.append(Answer(at, 200, 0.02, "us-east-1"))
            else:
                answers.append(Answer(at, None, 5.0, None, "timed out"))
    return answers


def test_rto_from_the_break_to_the_sustained_recovery() -> None:
    answers = run("PPPPPxxhhSxSSSSS")
    found = recovery(answers, broken_at=5.0, home="us-west-2", until=16.0)
    assert found.baseline == 1.0 and found.threshold == 0.9
    assert found.recovered_at == 11.0  # second 10 alone does not count: 11-13 hold
    assert found.rto(5.0) == 6.0
    assert found.failed == 10 + 10 + 5 + 5 + 10  # xx, hh, x
    assert found.first_elsewhere == 7.1


def test_a_break_that_never_hurt_has_no_outage() -> None:
    found = recovery(run("PPPPPSSSSS"), broken_at=5.0, home="us-west-2", until=10.0)
    assert found.rto(5.0) == 0.0 and found.failed == 0 and found.first_elsewhere == 5.0


def test_no_recovery_within_the_run() -> None:
    found = recovery(run("PPPPxxxxxx"), broken_at=4.0, home="us-west-2", until=10.0)
    assert found.recovered_at is None and found.rto(4.0) is None and found.failed == 60


def test_the_threshold_follows_a_primary_that_fails_some_likes_on_purpose() -> None:
    """With chaos mode, 40% success before the break: recovered means 36% or more."""
    answers = [
        Answer(s + n / 10, 200 if n < 4 else 500, 0.01, "us-west-2")
        for s in range(5)
        for n in range(10)
    ] + [a for a in run("xxSSS") for a in [Answer(a.at + 5, a.status, a.latency, a.region)]]
    found = recovery(answers, broken_at=5.0, home="us-west-2", until=10.0)
    assert round(found.baseline, 2) == 0.4 and round(found.threshold, 2) == 0.36
    assert found.rto(5.0) == 2.0
