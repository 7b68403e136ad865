"""Target health as an Application Load Balancer keeps it: targets registered and drained as
ECS runs and stops tasks, health checks every interval, and the state flipping only after the
thresholds' consecutive results.

ECS registers a task in its service's target groups when the task runs and deregisters it when
the task stops: a lowered desired count stops tasks, whose targets drain (no new requests) for
the target group's deregistration delay, then leave the group. A registered target starts
`initial` and is `healthy` after one passing check; a healthy one turns `unhealthy` after
UnhealthyThresholdCount consecutive failures, and back after HealthyThresholdCount passes.
A check that meets a security group that drops its packets fails after the check's timeout
(Target.Timeout).

The board keeps all of it for every load balancer; `update` is given views (topology.py) read
under the sandbox lock and the time, and takes no lock but its own. With `settle` (a time scale
of 0: AWS's minutes skipped), every target is put straight into the state its checks would
reach, and draining targets leave at once.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from mmtui.sandbox.behaviours.load_balancers.topology import Group, Tasks, View

REASONS: dict[str, tuple[str, str]] = {
    "registering": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    "checking": ("Elb.InitialHealthChecking", "Initial health checks in progress"),
    "timeout": ("Target.Timeout", "Request timed out"),
    "failed": ("Target.FailedHealthChecks", "Health checks failed"),
    "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
    "not registered": ("Target.NotRegistered", "Target is not registered to the target group"),
}


@dataclass
class Target:
    id: str
    port: int
    zone: str
    service: str
    task_definition: str
    container: str
    environment: dict[str, str]
    reach: str
    state: str = "initial"
    reason: str | None = "registering"
    passes: int = 0
    failures: int = 0
    next_check: float = 0.0
    pending: tuple[float, str] | None = None
    """A check that meets no answer: its failure lands when its timeout ends."""
    draining_until: float | None = None

    def describe(self, health_check_port: str) -> dict[str, object]:
        code = REASONS.get(self.reason or "")
        return {
            "Target": {"Id": self.id, "Port": self.port, "AvailabilityZone": self.zone},
            "HealthCheckPort": str(self.port)
            if health_check_port == "traffic-port"
            else health_check_port,
            "TargetHealth": {"State": self.state}
            | ({"Reason": code[0], "Description": code[1]} if code else {}),
        }


@dataclass
class GroupHealth:
    group: Group
    targets: list[Target] = field(default_factory=list)
    serial: int = 0
    """How many targets the group has registered (each new task gets a new address)."""


@dataclass(frozen=True)
class Route:
    """Where a request goes: `target` (None: no target to send it to, 503), and whether the
    chosen target can be reached."""

    group: str | None
    target: Target | None


class Board:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.views: dict[str, View] = {}
        """Load balancer ARN → its latest view."""
        self.groups: dict[str, GroupHealth] = {}
        """Target group ARN → its targets (an ARN names its account and region)."""
        self.judged: set[str] = set()
        """Load balancers whose default target group has had a healthy or unhealthy target."""

    def clear(self) -> None:
        with self.lock:
            self.views.clear()
            self.groups.clear()
            self.judged.clear()

    # ------------------------------------------------------------------ updates

    def update(
        self,
        views: Iterable[View],
        now: float,
        factor: float,
        *,
        settle: bool,
        where: tuple[str, str] | None = None,
        first: bool = False,
    ) -> None:
        """Take the load balancers' current views (all of them, or all of one (account,
        region)): register and drain targets, then run the checks that are due. `factor` is
        the sandbox's seconds per AWS second. With `first`, the targets of groups the board
        has not seen yet are taken as settled: they ran before the sandbox started, before
        its state was restored, or in the image an attendee account is copied from."""
        views = list(views)
        with self.lock:
            stale = [
                arn
                for arn, view in self.views.items()
                if where is None or (view.balancer.account, view.balancer.region) == where
            ]
            for arn in stale:
                del self.views[arn]
            for view in views:
                self.views[view.balancer.arn] = view
            live = {group.arn: group for view in self.views.values() for group in view.groups}
            for arn in [arn for arn in self.groups if arn not in live]:
                del self.groups[arn]
            for arn, group in live.items():
                known = arn in self.groups
                health = self.groups.setdefault(arn, GroupHealth(group))
                health.group = group
                _register(health, now, factor, settle or (first and not known))
                _check(health, now, factor, settle)
            for view in self.views.values():
                if self._summary(view) in ("healthy", "unhealthy"):
                    self.judged.add(view.balancer.arn)

    def next_due(self) -> float | None:
        """When something next happens on its own (a check, a timeout, a drain's end)."""
        with self.lock:
            moments = [
                moment
                for health in self.groups.values()
                for target in health.targets
                for moment in (
                    target.draining_until,
                    target.pending[0] if target.pending else None,
                    None if target.draining_until is not None else target.next_check,
                )
                if moment is not None
            ]
        return min(moments) if moments else None

    # ------------------------------------------------------------------ reading

    def route(self, balancer: str, path: str) -> Route:
        """The target an ALB would send a request for `path` to: a healthy one; if the group
        has only unhealthy ones, any of those (an ALB fails open); none while targets are only
        registering or draining, or there are none."""
        with self.lock:
            view = self.views.get(balancer)
            if view is None:
                return Route(None, None)
            arn = view.group_for(path)
            health = self.groups.get(arn or "")
            if health is None:
                return Route(arn, None)
            for state in ("healthy", "unhealthy"):
                chosen = [t for t in health.targets if t.state == state]
                if chosen:
                    return Route(arn, random.choice(chosen))  # noqa: S311  (round robin enough)
            return Route(arn, None)

    def summary(self, balancer: str) -> str:
        """ "healthy" when the default target group has a healthy target; "initial" while it
        has targets none of which was judged yet, and the balancer never was; else
        "unhealthy"."""
        with self.lock:
            view = self.views.get(balancer)
            if view is None:
                return "unhealthy"
            summary = self._summary(view)
            if summary == "initial" and balancer in self.judged:
                return "unhealthy"
            return summary

    def _summary(self, view: View) -> str:
        health = self.groups.get(view.default_group or "")
        if health is None:
            return "unhealthy"
        states = {t.state for t in health.targets}
        if "healthy" in states:
            return "healthy"
        if states and states <= {"initial", "draining"} and "initial" in states:
            return "initial"
        return "unhealthy"

    def describe(
        self, group: str, wanted: list[tuple[str, int | None]]
    ) -> list[dict[str, object]] | None:
        """DescribeTargetHealth's descriptions for a group the board keeps (None: not one of
        them): every target, or those asked for (one not registered is `unused`)."""
        with self.lock:
            health = self.groups.get(group)
            if health is None:
                return None
            port = health.group.health_check_port
            if not wanted:
                return [t.describe(port) for t in health.targets]
            found: list[dict[str, object]] = []
            for target_id, target_port in wanted:
                match = next(
                    (
                        t
                        for t in health.targets
                        if t.id == target_id and target_port in (None, t.port)
                    ),
                    None,
                )
                if match is not None:
                    found.append(match.describe(port))
                    continue
                code = REASONS["not registered"]
                found.append(
                    {
                        "Target": {"Id": target_id, "Port": target_port or 0},
                        "HealthCheckPort": port,
                        "TargetHealth": {
                            "State": "unused",
                            "Reason": code[0],
                            "Description": code[1],
                        },
                    }
                )
            return found


# ---------------------------------------------------------------------- registration


def _register(health: GroupHealth, now: float, factor: float, settle: bool) -> None:
    group = health.group
    live = [t for t in health.targets if t.draining_until is None]
    for tasks in group.tasks:
        mine = [
            t
            for t in live
            if t.service == tasks.service and t.task_definition == tasks.task_definition
        ]
        for target in mine:
            target.reach = tasks.reach
            target.environment = dict(tasks.environment)
        for target in mine[tasks.count :]:
            _drain(target, now, group, factor)
        for _ in range(tasks.count - len(mine)):
            health.targets.append(_new_target(health, tasks, now, group, factor, settle))
    wanted = {(tasks.service, tasks.task_definition) for tasks in group.tasks}
    for target in live:
        if (target.service, target.task_definition) not in wanted:
            _drain(target, now, group, factor)
    health.targets = [
        t
        for t in health.targets
        if t.draining_until is None or (not settle and t.draining_until > now)
    ]


def _drain(target: Target, now: float, group: Group, factor: float) -> None:
    target.state, target.reason = "draining", "draining"
    target.pending = None
    target.draining_until = now + group.deregistration_delay * factor


def _new_target(
    health: GroupHealth, tasks: Tasks, now: float, group: Group, factor: float, settle: bool
) -> Target:
    health.serial += 1
    taken = {t.id for t in health.targets}
    address, zone = _address(tasks, health.serial, taken)
    target = Target(
        id=address,
        port=tasks.port,
        zone=zone,
        service=tasks.service,
        task_definition=tasks.task_definition,
        container=tasks.container,
        environment=dict(tasks.environment),
        reach=tasks.reach,
        next_check=now + group.interval * factor,
    )
    if settle:
        _steady(target)
    return target


def _address(tasks: Tasks, serial: int, taken: set[str]) -> tuple[str, str]:
    """A private address for a new task in one of its service's subnets (AWS keeps the first
    four and the last address of a subnet), stable for the same service and serial."""
    if not tasks.subnets:
        return f"10.255.{serial // 250 % 250}.{serial % 250 + 4}", ""
    cidr, zone = tasks.subnets[serial % len(tasks.subnets)]
    network = ipaddress.ip_network(cidr, strict=False)
    usable = max(1, network.num_addresses - 5)
    seed = int.from_bytes(hashlib.sha256(f"{tasks.service}#{serial}".encode()).digest()[:8], "big")
    for step in range(usable):
        address = str(network.network_address + 4 + (seed + step) % usable)
        if address not in taken:
            return address, zone
    return str(network.network_address + 4), zone


# ---------------------------------------------------------------------- health checks


def _steady(target: Target) -> None:
    """The state its checks reach when nothing changes."""
    target.pending = None
    if target.reach == "ok":
        target.state, target.reason = "healthy", None
        target.passes, target.failures = 0, 0
    else:
        target.state, target.reason = "unhealthy", target.reach
        target.passes = 0


def _check(health: GroupHealth, now: float, factor: float, settle: bool) -> None:
    group = health.group
    interval = group.interval * factor
    for target in health.targets:
        if target.draining_until is not None:
            continue
        if settle:
            _steady(target)
            target.next_check = now + interval
            continue
        if target.pending is not None and target.pending[0] <= now:
            _fail(target, target.pending[1], group)
            target.pending = None
        if target.next_check > now + interval:
            target.next_check = now + interval  # the interval was shortened meanwhile
        if target.next_check > now:
            continue
        if target.reach == "ok":
            _pass(target, group)
        else:
            target.pending = (target.next_check + group.timeout * factor, target.reach)
        target.next_check += interval
        if target.next_check <= now:
            target.next_check = now + interval  # late (a busy machine): no backlog of checks


def _pass(target: Target, group: Group) -> None:
    target.failures = 0
    if target.state == "initial":
        target.state, target.reason = "healthy", None  # one passing check suffices
    elif target.state == "unhealthy":
        target.passes += 1
        if target.passes >= group.healthy_threshold:
            target.state, target.reason, target.passes = "healthy", None, 0


def _fail(target: Target, kind: str, group: Group) -> None:
    target.passes = 0
    target.failures += 1
    if target.state == "unhealthy":
        target.reason = kind
    elif target.failures >= group.unhealthy_threshold:
        target.state, target.reason = "unhealthy", kind
    elif target.state == "initial":
        target.reason = "checking"
