"""What a failover cost, read from a load run: the recovery time (RTO) and its failed likes.

Recovery is the first moment after the break from which the success rate stays at or above a
threshold for a few seconds running: a single lucky second in the middle of an outage is not a
recovery. The threshold is relative to the success rate before the break (the primary's Like
service may fail some likes on purpose, its "chaos mode"), capped at 95%.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmtui.load.answers import Answer, per_second

SUSTAINED_SECONDS = 3
THRESHOLD_CAP = 0.95
THRESHOLD_SHARE = 0.9
"""Recovered means back to 90% of the rate before the break, at most 95% success."""


@dataclass(frozen=True)
class Recovery:
    baseline: float
    """The success rate before the break."""
    threshold: float
    recovered_at: float | None
    """Seconds since the run started when the success rate was back for good; None: never."""
    failed: int
    """Likes sent from the break until recovery (or the end) that did not succeed."""
    first_elsewhere: float | None
    """When the first like after the break succeeded in another region than before it."""

    def rto(self, broken_at: float) -> float | None:
        return None if self.recovered_at is None else max(0.0, self.recovered_at - broken_at)


def recovery(answers: list[Answer], broken_at: float, home: str, until: float) -> Recovery:
    """The recovery of a run whose primary (`home`) was broken at `broken_at` seconds."""
    before = [a for a in answers if a.at < broken_at]
    baseline = sum(a.ok for a in before) / len(before) if before else 1.0
    threshold = min(THRESHOLD_CAP, THRESHOLD_SHARE * baseline)
    seconds = per_second(answers, until=until)
    start = int(broken_at) + (1 if broken_at > int(broken_at) else 0)
    # The outage shows from the first second below the threshold: until then the break has
    # not reached the users yet (a recovery found before it would measure nothing).
    hurt = next(
        (
            i
            for i in range(start, len(seconds))
            if seconds[i].sent and seconds[i].success_rate < threshold
        ),
        None,
    )
    elsewhere = _first_elsewhere(answers, broken_at, home)
    if hurt is None:
        return Recovery(baseline, threshold, broken_at, 0, elsewhere)
    recovered_at = None
    for index in range(hurt, len(seconds) - SUSTAINED_SECONDS + 1):
        window = seconds[index : index + SUSTAINED_SECONDS]
        if all(s.sent and s.success_rate >= threshold for s in window):
            recovered_at = float(index)
            break
    end = recovered_at if recovered_at is not None else until
    failed = sum(1 for a in answers if broken_at <= a.at < end and not a.ok)
    return Recovery(baseline, threshold, recovered_at, failed, elsewhere)


def _first_elsewhere(answers: list[Answer], broken_at: float, home: str) -> float | None:
    """When the first like after the break succeeded in another region than `home`."""
    found = [a.at for a in answers if a.at >= broken_at and a.ok and a.region not in (home, None)]
    return min(found) if found else None
