"""An AWS that is slow, busy and faulty on purpose, so rehearsals meet what events meet.

Off unless asked for. Three knobs, each per service (or per operation) and all drawn from one
seeded random source, so a run can be repeated:

- latency: every call waits a time around a mean (uniform within ± the jitter) before it is
  served, outside the sandbox's lock, as a far-away endpoint would make it wait;
- rate limits: calls per second per operation (and account, region), answered past the limit
  with the throttling error that service really answers with (which SDKs retry);
- faults: a fraction of calls answered 500 or 503, their connection reset, or held past the
  client's read timeout before any answer.

`describe()` is the one-line account of what is simulated, shown at start and written to
sandbox.env (MMTUI_SANDBOX_REALISM) so that a rehearsal says what it rehearsed.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, aws_error

FaultKind = Literal["500", "503", "reset", "timeout"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "503", "reset", "timeout")
TIMEOUT_HOLD = 35.0
"""Seconds a `timeout` fault holds a call: past the read timeouts of mmtui (10 s for checks,
30 s for tasks) and of the AWS CLI's default (60 s is its limit; 35 s is past the SDKs' usual
retry budget for one attempt)."""


class RealismError(ValueError):
    """A realism setting that cannot be read; its message names the setting."""


@dataclass(frozen=True)
class Scope:
    """Which calls a setting applies to: every call, one service's, or one operation's."""

    service: str = ""
    operation: str = ""

    def matches(self, request: AwsRequest) -> bool:
        if self.service and self.service != request.service:
            return False
        return not self.operation or self.operation == request.operation

    def __str__(self) -> str:
        if not self.service:
            return "all"
        return f"{self.service}:{self.operation}" if self.operation else self.service


@dataclass(frozen=True)
class Latency:
    mean: float
    """Seconds."""
    jitter: float = 0.0
    scope: Scope = Scope()

    def __str__(self) -> str:
        jitter = f"±{self.jitter * 1000:.0f}" if self.jitter else ""
        return f"{self.mean * 1000:.0f}{jitter} ms ({self.scope})"


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    scope: Scope

    def __str__(self) -> str:
        return f"{self.per_second:g}/s ({self.scope})"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    fraction: float
    scope: Scope = Scope()

    def __str__(self) -> str:
        return f"{self.kind} for {self.fraction:.0%} ({self.scope})"


AWS_RATES: tuple[RateLimit, ...] = (
    # Observed or documented control-plane rates (per account and region), the ones the lab's
    # calls meet: CloudFormation's describe calls, CodePipeline's reads, X-Ray's groups,
    # CloudWatch's dashboards and STS.
    RateLimit(10, Scope("cloudformation", "DescribeStacks")),
    RateLimit(10, Scope("cloudformation", "DescribeStackEvents")),
    RateLimit(5, Scope("codepipeline", "GetPipelineState")),
    RateLimit(5, Scope("codepipeline", "GetPipeline")),
    RateLimit(5, Scope("xray", "GetGroups")),
    RateLimit(5, Scope("monitoring", "GetDashboard")),
    RateLimit(20, Scope("ecs", "DescribeServices")),
    RateLimit(20, Scope("sts", "GetCallerIdentity")),
)


@dataclass
class Realism:
    latencies: list[Latency] = field(default_factory=list)
    rate_limits: list[RateLimit] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    seed: int | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _buckets: dict[tuple[str, str, str, str], tuple[float, float]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    @property
    def active(self) -> bool:
        return bool(self.latencies or self.rate_limits or self.faults)

    def describe(self) -> str:
        if not self.active:
            return "off"
        parts = []
        if self.latencies:
            parts.append("latency " + ", ".join(map(str, self.latencies)))
        if self.rate_limits:
            parts.append("rate limits " + ", ".join(map(str, self.rate_limits)))
        if self.faults:
            parts.append("faults " + ", ".join(map(str, self.faults)))
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        return "; ".join(parts)

    # ------------------------------------------------------------------ per request

    def delay(self, request: AwsRequest) -> None:
        """Wait as the endpoint would (the most specific matching latency applies)."""
        chosen = _most_specific(self.latencies, request)
        if chosen is None:
            return
        with self._lock:
            spread = self._random.uniform(-chosen.jitter, chosen.jitter)
        self.sleep(max(0.0, chosen.mean + spread))

    def throttled(self, request: AwsRequest) -> AwsResponse | None:
        """The service's throttling answer when the call is over its rate, else None."""
        limit = _most_specific(self.rate_limits, request)
        if limit is None:
            return None
        # Per caller (its access key stands for its account: the account itself is read under
        # the sandbox's lock, which a throttled call must not wait for), region and operation.
        key = (request.access_key, request.region, request.service, request.operation)
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (limit.per_second, now))
            # A bucket of one second's calls, refilled continuously: bursts up to the rate.
            tokens = min(limit.per_second, tokens + (now - last) * limit.per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
        return throttling_error(request)

    def fault(self, request: AwsRequest) -> FaultKind | None:
        """The fault this call meets, if any (each matching setting draws on its own)."""
        for fault in self.faults:
            if fault.scope.matches(request):
                with self._lock:
                    hit = self._random.random() < fault.fraction
                if hit:
                    return fault.kind
        return None


S = TypeVar("S", Latency, RateLimit)


def _most_specific(items: list[S], request: AwsRequest) -> S | None:
    matching = [item for item in items if item.scope.matches(request)]
    if not matching:
        return None
    return max(matching, key=lambda item: (bool(item.scope.service), bool(item.scope.operation)))


def throttling_error(request: AwsRequest) -> AwsResponse:
    """What each service answers a caller over its rate: the code, status and wire format
    that service uses (every one of them retried by the SDKs' standard mode)."""
    service = request.service
    if service == "s3":
        return aws_error(request, 503, "SlowDown", "Please reduce your request rate.")
    if service == "xray":
        return aws_error(request, 429, "ThrottledException", "Rate exceeded")
    if request.protocol == "query":
        return aws_error(request, 400, "Throttling", "Rate exceeded")
    return aws_error(request, 400, "ThrottlingException", "Rate exceeded")


def fault_error(request: AwsRequest, kind: FaultKind) -> AwsResponse:
    if kind == "503":
        return aws_error(request, 503, "ServiceUnavailable", "Service is unavailable")
    return aws_error(request, 500, "InternalFailure", "We encountered an internal error")


# ---------------------------------------------------------------------- reading settings

_DURATION = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>ms|s)?$")
_SCOPE = re.compile(r"^(?P<service>[a-z0-9-]+)(?::(?P<operation>[A-Za-z0-9]+))?$")


def _seconds(text: str, what: str) -> float:
    found = _DURATION.match(text.strip())
    if found is None:
        raise RealismError(f"{what}: {text!r} is not a duration (say 80ms or 0.2s)")
    number = float(found["number"])
    return number if found["unit"] == "s" else number / 1000


def _scope(text: str, what: str) -> Scope:
    found = _SCOPE.match(text.strip())
    if found is None:
        raise RealismError(
            f"{what}: {text!r} is not a service or service:Operation (say dynamodb or "
            "dynamodb:DescribeTable)"
        )
    return Scope(found["service"], found["operation"] or "")


def parse_latency(text: str) -> Latency:
    """`80ms`, `80ms~40ms` (with jitter), either with `@service[:Operation]`."""
    what = "--latency"
    value, _, where = text.partition("@")
    mean, _, jitter = value.partition("~")
    return Latency(
        _seconds(mean, what),
        _seconds(jitter, what) if jitter else 0.0,
        _scope(where, what) if where else Scope(),
    )


def parse_rate_limit(text: str) -> list[RateLimit]:
    """`aws` (the rates in AWS_RATES), or `N@service[:Operation]` calls per second."""
    what = "--rate-limit"
    if text.strip() == "aws":
        return list(AWS_RATES)
    rate, _, where = text.partition("@")
    try:
        per_second = float(rate)
    except ValueError:
        raise RealismError(
            f"{what}: {rate!r} is not a number of calls per second (say 5@codepipeline, or aws)"
        ) from None
    if per_second <= 0 or not where:
        raise RealismError(f"{what}: say a positive rate and where, as 5@codepipeline")
    return [RateLimit(per_second, _scope(where, what))]


def parse_fault(text: str) -> Fault:
    """`KIND:FRACTION` (503:0.05, or 503:5%), either with `@service[:Operation]`."""
    what = "--fault"
    value, _, where = text.partition("@")
    kind, _, amount = value.partition(":")
    if kind not in FAULT_KINDS:
        raise RealismError(f"{what}: {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    try:
        fraction = float(amount.rstrip("%")) / (100 if amount.endswith("%") else 1)
    except ValueError:
        raise RealismError(
            f"{what}: {amount!r} is not a fraction (say 503:0.05 or 503:5%)"
        ) from None
    if not 0 < fraction <= 1:
        raise RealismError(f"{what}: the fraction must be above 0 and at most 1 (or 100%)")
    chosen: FaultKind = next(k for k in FAULT_KINDS if k == kind)
    return Fault(chosen, fraction, _scope(where, what) if where else Scope())
