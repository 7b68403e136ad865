"""A connected target as the engine sees it: clients on an endpoint, and how to reach the load
balancers. Apart from `connect` (which may start the embedded sandbox), so that the engine
can name the type without importing the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmtui.target.clients import ClientFactory
from mmtui.target.spec import TargetSpec


@dataclass
class Connection:
    spec: TargetSpec
    factory: ClientFactory
    resolver: Callable[[], dict[str, str]] = dict
    """Load balancer DNS name → URL that serves it (the sandbox's stand-ins; empty on AWS).
    A callable, read each time: load balancers appear while a session runs (step 1)."""
    workspace: Path | None = None
    sandbox: Any = None
    """The embedded sandbox this command started, if it started one."""

    @property
    def resolve(self) -> dict[str, str]:
        return self.resolver()

    @property
    def endpoint_url(self) -> str | None:
        return self.factory.endpoint_url
