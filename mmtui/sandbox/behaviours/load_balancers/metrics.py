"""The CloudWatch metrics an Application Load Balancer publishes as traffic flows through it.

Each site counts its requests per minute; `flush` hands what was counted to moto's CloudWatch
backend of the load balancer's own account and region, in `AWS/ApplicationELB` with the
`LoadBalancer` dimension, as ELB does (it reports only metrics that have data). The datums of
one minute may arrive in several flushes; CloudWatch's statistics add them up (Sum,
SampleCount) as it does the data points of one period.

Metrics follow AWS's definitions: RequestCount counts only requests for which the load
balancer chose a target (a 503 for want of targets is not one of them, but a 504 from an
unreachable target is); HTTPCode_Target_* count the targets' answers, HTTPCode_ELB_* the load
balancer's own; TargetResponseTime is the seconds from sending to a target until its answer
began, for the requests a target answered.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mmtui.sandbox.behaviours.load_balancers.topology import Balancer

NAMESPACE = "AWS/ApplicationELB"


@dataclass
class Statistic:
    """A minute's data points of one metric (all equal to 1 for a count)."""

    samples: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, value: float) -> None:
        self.samples += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)


Key = tuple[str, str, str, int]
"""(account, region, load balancer full name, minute since the epoch)."""


class Meter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counted: dict[Key, dict[str, Statistic]] = defaultdict(dict)
        self.generation = 0
        """Counts once each `drop`: counts taken before one are not published after it."""

    def record(
        self,
        balancer: Balancer,
        status: int,
        *,
        by_target: bool,
        target_chosen: bool,
        response_seconds: float | None = None,
        at: float,
    ) -> None:
        """One request answered with `status`, by a target (`by_target`) or by the load
        balancer itself."""
        names: list[tuple[str, float]] = []
        if target_chosen:
            names.append(("RequestCount", 1.0))
        if by_target:
            names.append((f"HTTPCode_Target_{status // 100}XX_Count", 1.0))
            if response_seconds is not None:
                names.append(("TargetResponseTime", response_seconds))
        else:
            names.append((f"HTTPCode_ELB_{status // 100}XX_Count", 1.0))
            if status in (500, 502, 503, 504):
                names.append((f"HTTPCode_ELB_{status}_Count", 1.0))
        key = (balancer.account, balancer.region, balancer.full_name, int(at // 60))
        with self._lock:
            counted = self._counted[key]
            for name, value in names:
                counted.setdefault(name, Statistic()).add(value)

    def drop(self) -> None:
        """Forget what was not flushed (the state it belonged to was replaced)."""
        with self._lock:
            self._counted.clear()
            self.generation += 1

    def drop_account(self, account: str) -> None:
        """Forget what was counted for `account` (it is deleted)."""
        with self._lock:
            for key in [key for key in self._counted if key[0] == account]:
                del self._counted[key]

    def take(self) -> tuple[int, dict[Key, dict[str, Statistic]]]:
        """What was counted since the last take, and the generation it belongs to."""
        with self._lock:
            taken, self._counted = dict(self._counted), defaultdict(dict)
            return self.generation, taken


def publish(taken: dict[Key, dict[str, Statistic]]) -> None:
    """Put the counted minutes into moto's CloudWatch backends: call with the sandbox lock
    held (the datums go straight into the backend, the path no caller can take: a customer's
    PutMetricData into an `AWS/` namespace is refused, api.py)."""
    from moto.cloudwatch.models import cloudwatch_backends

    for (account, region, full_name, minute), statistics in taken.items():
        # moto keeps naive UTC datetimes (its utcnow()); GetMetricData compares with them.
        stamp = datetime.fromtimestamp(minute * 60, tz=UTC).replace(tzinfo=None)
        data: list[dict[str, Any]] = [
            {
                "MetricName": name,
                "Dimensions": [{"Name": "LoadBalancer", "Value": full_name}],
                "Timestamp": stamp,
                "Unit": "Seconds" if name == "TargetResponseTime" else "Count",
                "StatisticValues": {
                    "SampleCount": float(statistic.samples),
                    "Sum": statistic.total,
                    "Minimum": statistic.low,
                    "Maximum": statistic.high,
                },
            }
            for name, statistic in sorted(statistics.items())
            if statistic.samples
        ]
        if data:
            cloudwatch_backends[account][region].put_metric_data(NAMESPACE, data)
