"""The AWS calls in flight, so that a slow AWS can be named while it is slow.

Every client mmtui makes reports the start and the end of each of its calls here (botocore's
`before-call` and `after-call` events, which frame a call with all its retries). The guide
shows the calls that have waited long ("waiting on AWS: dynamodb DescribeTable in us-east-1 for
12 s"), and a round of checks that runs out of time says which call each unfinished check was
waiting for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SLOW_AFTER = 3.0
"""Seconds after which a call counts as slow (an answer on a fair network takes well under
one)."""


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    region: str
    thread: int
    """The identity of the thread that made it (`threading.get_ident()`)."""
    started: float

    def describe(self) -> str:
        return f"{self.service} {self.operation} in {self.region}"


class InFlight:
    """The calls started and not yet answered, across every client of the process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[int, Call] = {}

    def watch(self, client: Any) -> None:
        """Follow every call `client` makes from now on."""
        service = str(client.meta.service_model.service_name)
        region = str(client.meta.region_name)

        def started(model: Any, context: dict[str, Any], **_: Any) -> None:
            call = Call(service, str(model.name), region, threading.get_ident(), self._clock())
            with self._lock:
                self._calls[id(context)] = call

        def ended(context: dict[str, Any], **_: Any) -> None:
            with self._lock:
                self._calls.pop(id(context), None)

        events = client.meta.events
        events.register("before-call", started, unique_id=f"mmtui-in-flight-start-{id(self)}")
        events.register("after-call", ended, unique_id=f"mmtui-in-flight-end-{id(self)}")
        events.register("after-call-error", ended, unique_id=f"mmtui-in-flight-error-{id(self)}")

    def slow(self, after: float | None = None) -> list[tuple[Call, float]]:
        """(call, seconds waited) for the calls waiting longer than `after`, longest first."""
        limit = SLOW_AFTER if after is None else after
        now = self._clock()
        with self._lock:
            calls = list(self._calls.values())
        waited = [(call, now - call.started) for call in calls]
        return sorted((w for w in waited if w[1] >= limit), key=lambda w: -w[1])

    def of_thread(self, thread: int) -> list[Call]:
        with self._lock:
            return [call for call in self._calls.values() if call.thread == thread]


IN_FLIGHT = InFlight()
"""The process's calls: one guide or command talks to one target at a time."""


def slow_summary(after: float | None = None, tracker: InFlight | None = None) -> str:
    """One line naming the slowest call and how many more are slow; empty when none is."""
    slow = (tracker or IN_FLIGHT).slow(after)
    if not slow:
        return ""
    call, seconds = slow[0]
    more = f" (and {len(slow) - 1} more)" if len(slow) > 1 else ""
    return f"waiting on AWS: {call.describe()} for {seconds:.0f} s{more}"
