"""What a load run records, and the per-second view of it that charts and drills read."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    """One like sent."""

    at: float
    """Seconds since the run started, when the request was sent."""
    status: int | None
    """The HTTP status; None when no answer came (refused, reset, timed out)."""
    latency: float
    """Seconds until the answer (or the failure)."""
    region: str | None
    """The region whose site served the connection; None when unknown (no answer)."""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Second:
    """The answers to the likes sent during one second of a run."""

    start: float
    sent: int = 0
    ok: int = 0
    failed: int = 0
    by_region: Counter[str] = field(default_factory=Counter)
    """Successful likes per serving region."""
    latencies: list[float] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return self.ok / self.sent if self.sent else 1.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0


def per_second(answers: list[Answer], until: float | None = None) -> list[Second]:
    """The run second by second (seconds with no like sent are kept, empty)."""
    end = until if until is not None else max((a.at for a in answers), default=0.0) + 1e-9
    # Whole seconds that began before `end`: a run of exactly 5 s has seconds 0 to 4.
    seconds = [Second(float(s)) for s in range(max(1, math.ceil(end)))]
    for answer in answers:
        index = int(answer.at)
        if index >= len(seconds):
            continue
        second = seconds[index]
        second.sent += 1
        second.latencies.append(answer.latency)
        if answer.ok:
            second.ok += 1
            second.by_region[answer.region or "?"] += 1
        else:
            second.failed += 1
    return seconds


@dataclass(frozen=True)
class Summary:
    sent: int
    ok: int
    failed: int
    by_region: dict[str, int]
    statuses: dict[str, int]
    median_ms: float
    p99_ms: float
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "ok": self.ok,
            "failed": self.failed,
            "by_region": self.by_region,
            "statuses": self.statuses,
            "median_ms": round(self.median_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "seconds": round(self.seconds, 1),
        }


def summarise(answers: list[Answer], seconds: float) -> Summary:
    latencies = sorted(a.latency for a in answers)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return Summary(
        sent=len(answers),
        ok=sum(a.ok for a in answers),
        failed=sum(not a.ok for a in answers),
        by_region=dict(Counter(a.region or "?" for a in answers if a.ok)),
        statuses=dict(Counter(str(a.status) if a.status else "no answer" for a in answers)),
        median_ms=statistics.median(latencies) * 1000 if latencies else 0.0,
        p99_ms=p99 * 1000,
        seconds=seconds,
    )
