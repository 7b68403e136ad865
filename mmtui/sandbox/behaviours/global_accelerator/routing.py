"""Where Global Accelerator sends a new connection: a group by traffic dial, then a healthy
endpoint by weight, with AWS's failover and fail-open rules.

What AWS documents (Developer Guide: "Adjusting traffic flow with traffic dials", "How failover
works for unhealthy endpoints", "Endpoints for standard accelerators"):

- Traffic goes to the endpoint group nearest the client; a group's dial is the share of the
  traffic directed to it that it accepts, and what it refuses goes on to the next group.
- If the chosen group has no healthy endpoint with a weight above zero, Global Accelerator
  fails over to a healthy weighted endpoint of another group (up to the three nearest),
  ignoring the dials: a group dialled to 0 takes the traffic then.
- If none is found, it fails open: a random endpoint of the nearest group.

The sandbox's client sits in the primary region (the attendee's Cloud9 environment), so that
group is the nearest; the others follow in a fixed order. With every dial at 0 no group
accepts anything and the connection fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mmtui.sandbox.behaviours.global_accelerator.model import Accelerator

FAILOVER_GROUPS = 3
"""How many other groups Global Accelerator tries before failing open."""
SERVED_PORT = 80
"""The listener port the loopback address stands for (the workshop's listener)."""


@dataclass(frozen=True)
class EndpointRoute:
    endpoint_id: str
    weight: int


@dataclass(frozen=True)
class GroupRoute:
    arn: str
    region: str
    dial: float
    endpoints: tuple[EndpointRoute, ...]
    interval: int
    threshold: int


@dataclass(frozen=True)
class Route:
    """What an accelerator serves on its loopback address, as one deployed configuration."""

    enabled: bool
    affinity: str
    groups: tuple[GroupRoute, ...]
    """The groups of its served listener (TCP, port 80 if one covers it); empty: none."""

    @property
    def serves(self) -> bool:
        return self.enabled and bool(self.groups)


def route_of(accelerator: Accelerator) -> Route:
    """The configuration an accelerator serves once its latest change is deployed."""
    tcp = [listener for listener in accelerator.listeners.values() if listener.protocol == "TCP"]
    listener = next((one for one in tcp if SERVED_PORT in one.ports()), tcp[0] if tcp else None)
    if listener is None:
        return Route(accelerator.enabled, "NONE", ())
    groups = tuple(
        GroupRoute(
            group.arn,
            group.region,
            group.dial,
            tuple(EndpointRoute(e.endpoint_id, e.weight) for e in group.endpoints),
            group.health_check_interval,
            group.threshold,
        )
        for group in listener.groups.values()
    )
    return Route(accelerator.enabled, listener.client_affinity, groups)


def effective(routes: Sequence[tuple[float, Route]], now: float) -> Route | None:
    """The configuration deployed last at `now` (None before the first is deployed)."""
    current = None
    for since, route in routes:
        if since <= now:
            current = route
    return current


Health = Callable[[str, str], bool]
"""(group ARN, endpoint id) → whether the endpoint is HEALTHY."""


def choose(
    route: Route, healthy: Health, rng: random.Random, nearest_first: Sequence[str]
) -> tuple[GroupRoute, EndpointRoute] | None:
    """The group and endpoint a new connection goes to, or None when it fails."""
    rank = {region: index for index, region in enumerate(nearest_first)}
    groups = sorted(route.groups, key=lambda g: (rank.get(g.region, len(rank)), g.region))
    dialled = [group for group in groups if group.dial > 0]
    if not dialled:
        return None
    target = dialled[-1]
    for group in dialled[:-1]:
        if rng.random() * 100 < group.dial:
            target = group
            break
    picked = _by_weight(target, healthy, rng)
    if picked is not None:
        return target, picked
    for group in [g for g in groups if g is not target][:FAILOVER_GROUPS]:
        picked = _by_weight(group, healthy, rng)
        if picked is not None:
            return group, picked
    for group in groups:  # fail open
        if group.endpoints:
            return group, rng.choice(group.endpoints)
    return None


def _by_weight(group: GroupRoute, healthy: Health, rng: random.Random) -> EndpointRoute | None:
    candidates = [e for e in group.endpoints if e.weight > 0 and healthy(group.arn, e.endpoint_id)]
    if not candidates:
        return None
    return rng.choices(candidates, weights=[e.weight for e in candidates])[0]
