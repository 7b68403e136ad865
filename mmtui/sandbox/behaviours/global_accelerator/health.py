"""Endpoint health as Global Accelerator's checks see it: probed every interval, changed after
`ThresholdCount` consecutive opposite results.

For a load balancer endpoint, Global Accelerator relies on the load balancer's own view of its
targets: a probe asks `LoadBalancers.target_health(arn)`. The interval is the group's
`HealthCheckIntervalSeconds` times the sandbox's time scale, with a small floor so a fast
rehearsal does not spin.

At scale 0 the state follows the latest judgement at once (no threshold), and nothing is
probed on a schedule (a room of accounts would keep the sandbox busy judging): an endpoint is
judged when someone asks and its judgement is older than `INSTANT_MAX_AGE`. The data plane
judges it there and then (it holds no lock); a description, answered under the sandbox lock,
shows the latest judgement and asks the worker for a new one (as on AWS, a new endpoint is
INITIAL at first).

The book never holds the sandbox lock: probes call the load balancers' extension, which may
reach the sandbox over HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mmtui.sandbox.behaviours.global_accelerator.routing import GroupRoute

INITIAL, HEALTHY, UNHEALTHY = "INITIAL", "HEALTHY", "UNHEALTHY"
MIN_INTERVAL = 0.5
"""The shortest probe interval when the time scale is above 0 (seconds)."""
INSTANT_MAX_AGE = 0.25
"""At time scale 0: how old a judgement may be before it is made again (seconds)."""
UNHEALTHY_REASON = "Health checks failed"
IDLE_CHECK = 1.0
"""When nothing is due: how soon to look again (a new group, a changed time scale)."""

Judge = Callable[[str], str]
"""A load balancer ARN → "healthy", "unhealthy" or "initial" (LoadBalancers.target_health)."""


@dataclass
class Probe:
    state: str = INITIAL
    streak: int = 0
    """Consecutive results pointing to `leaning` (away from `state`)."""
    leaning: str = INITIAL
    judged_at: float = 0.0
    next_at: float = 0.0


class HealthBook:
    def __init__(self, judge: Judge, scale: float, on_ask: Callable[[], None] = lambda: None):
        self.judge = judge
        self.scale = scale
        self.on_ask = on_ask
        """Told when, at scale 0, a stale judgement was asked for (wakes the worker)."""
        self._lock = threading.Lock()
        self._probes: dict[tuple[str, str], Probe] = {}
        self._asked: set[tuple[str, str]] = set()

    def state(self, group_arn: str, endpoint_id: str) -> str:
        key = (group_arn, endpoint_id)
        with self._lock:
            probe = self._probes.get(key)
            ask = self.scale == 0 and (
                probe is None or time.time() - probe.judged_at > INSTANT_MAX_AGE
            )
            if ask:
                self._asked.add(key)
        if ask:
            self.on_ask()
        return probe.state if probe is not None else INITIAL

    def healthy(self, group_arn: str, endpoint_id: str) -> bool:
        """Whether the data plane may send to it (at scale 0, judged now if stale)."""
        if self.scale == 0:
            with self._lock:
                probe = self._probes.get((group_arn, endpoint_id))
                stale = probe is None or time.time() - probe.judged_at > INSTANT_MAX_AGE
            if stale:
                result = self.judge(endpoint_id)
                self._record(group_arn, endpoint_id, 1, result, 0.0, time.time())
        return self.state(group_arn, endpoint_id) == HEALTHY

    def interval(self, group: GroupRoute) -> float:
        if self.scale == 0:
            return INSTANT_MAX_AGE
        return max(MIN_INTERVAL, group.interval * self.scale)

    def probe_due(self, groups: Iterable[GroupRoute], now: float) -> float:
        """Probe every endpoint whose check is due; returns when the next one is."""
        groups = list(groups)
        wanted = {(g.arn, e.endpoint_id) for g in groups for e in g.endpoints}
        with self._lock:
            for key in [key for key in self._probes if key not in wanted]:
                del self._probes[key]
            asked, self._asked = self._asked, set()
            due = [
                (group, endpoint.endpoint_id)
                for group in groups
                for endpoint in group.endpoints
                if (
                    (group.arn, endpoint.endpoint_id) in asked
                    if self.scale == 0
                    else self._probes.setdefault((group.arn, endpoint.endpoint_id), Probe()).next_at
                    <= now
                )
            ]
        for group, endpoint_id in due:
            result = self.judge(endpoint_id)  # outside every lock: it may do HTTP
            threshold = 1 if self.scale == 0 else group.threshold
            self._record(group.arn, endpoint_id, threshold, result, self.interval(group), now)
        if self.scale == 0:
            return now + IDLE_CHECK  # nothing scheduled: woken when asked
        with self._lock:
            pending = [probe.next_at for probe in self._probes.values()]
        return min(pending, default=now + IDLE_CHECK)

    def _record(
        self,
        group_arn: str,
        endpoint_id: str,
        threshold: int,
        result: str,
        interval: float,
        now: float,
    ) -> None:
        with self._lock:
            probe = self._probes.setdefault((group_arn, endpoint_id), Probe())
            probe.judged_at = now
            probe.next_at = now + interval
            verdict = {"healthy": HEALTHY, "unhealthy": UNHEALTHY}.get(result)
            if verdict is None:
                return  # the load balancer has not judged its targets yet: nothing learnt
            if verdict == probe.state:
                probe.streak, probe.leaning = 0, probe.state
                return
            probe.streak = probe.streak + 1 if verdict == probe.leaning else 1
            probe.leaning = verdict
            if probe.streak >= threshold:
                probe.state, probe.streak = verdict, 0

    def clear(self) -> None:
        with self._lock:
            self._probes.clear()

    def states(self) -> dict[tuple[str, str], str]:
        """(group ARN, endpoint id) → state, of every endpoint judged (for saving)."""
        with self._lock:
            return {key: probe.state for key, probe in self._probes.items()}

    def load(self, states: dict[tuple[str, str], str]) -> None:
        """Start again from saved states (each probed again at once)."""
        with self._lock:
            self._probes = {key: Probe(state=state, leaning=state) for key, state in states.items()}
