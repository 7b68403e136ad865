"""What the sandbox keeps of each account's accelerators (saved with the sandbox's state).

Saved states name these classes by this module's path: keep them here, and give any field
added later a default, so that a state saved before still loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Endpoint:
    endpoint_id: str
    """A load balancer's ARN (the only endpoint kind the sandbox serves)."""
    weight: int = 128
    client_ip_preservation: bool = True


@dataclass
class EndpointGroup:
    arn: str
    region: str
    endpoints: list[Endpoint] = field(default_factory=list)
    dial: float = 100.0
    health_check_port: int = 80
    health_check_protocol: str = "TCP"
    health_check_path: str | None = None
    health_check_interval: int = 30
    threshold: int = 3
    port_overrides: list[dict[str, int]] = field(default_factory=list)


@dataclass
class Listener:
    arn: str
    port_ranges: list[tuple[int, int]]
    protocol: str = "TCP"
    client_affinity: str = "NONE"
    groups: dict[str, EndpointGroup] = field(default_factory=dict)
    """Endpoint group ARN → group, in creation order."""

    def ports(self) -> list[int]:
        return [port for start, end in self.port_ranges for port in range(start, end + 1)]


@dataclass
class Accelerator:
    arn: str
    name: str
    ip_address_type: str
    enabled: bool
    ip_sets: list[dict[str, Any]]
    dns_name: str
    dual_stack_dns_name: str | None
    created: float
    modified: float
    deployed_at: float
    """When the latest change is deployed (wall clock): IN_PROGRESS until then."""
    listeners: dict[str, Listener] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    disabling: bool = False
    """The latest change disabled it: until it is deployed, the accelerator still serves and
    cannot be deleted."""
    routes: list[tuple[float, Any]] = field(default_factory=list)
    """(time it takes effect, routing.Route) of the configurations it serves: the data plane
    keeps the one deployed last, as Global Accelerator keeps routing with the previous
    configuration while a change is IN_PROGRESS."""

    def status(self, now: float) -> str:
        return "IN_PROGRESS" if now < self.deployed_at else "DEPLOYED"


@dataclass
class State:
    accelerators: dict[str, dict[str, Accelerator]] = field(default_factory=dict)
    """Account → accelerator ARN → accelerator, in creation order."""
    tokens: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(account, operation, idempotency token) → the ARN that call created."""
    ports: dict[str, int] = field(default_factory=dict)
    """Accelerator ARN → its loopback port, kept so its URL survives a restart."""
    health: dict[tuple[str, str], str] = field(default_factory=dict)
    """(endpoint group ARN, endpoint id) → its health when saved: a restart does not send
    every endpoint back to INITIAL (a real accelerator's checks never stopped)."""

    def of(self, account: str) -> dict[str, Accelerator]:
        return self.accelerators.setdefault(account, {})
