"""AWS Global Accelerator in the sandbox: its API (moto has none) and accelerators that route.

- Control plane (control.py): every `globalaccelerator` call is answered here, in us-west-2
  only as on AWS; an operation the sandbox does not implement gets an honest NotImplemented.
- Health (health.py): each endpoint group probes its load balancers through
  `LoadBalancers.target_health`, every interval times the time scale.
- Data plane (data_plane.py): an enabled, deployed accelerator with a TCP listener gets a
  loopback port; `resolve_map()` publishes `<DnsName> → http://127.0.0.1:<port>` (sandbox.env's
  MMTUI_RESOLVE), and each connection goes to a healthy endpoint by dial and weight
  (routing.py).

One background thread probes health and notices changes being deployed (the status and the
served configuration follow wall-clock times kept in the state, so nothing else is timed).
The data plane and the worker read only `_published`, a snapshot rebuilt under the sandbox
lock after each change: neither ever takes the sandbox lock, and the health probes (which may
reach the sandbox over HTTP) are made with no lock held.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mmtui.sandbox.behaviours.global_accelerator import messages as msg
from mmtui.sandbox.behaviours.global_accelerator.control import ControlPlane
from mmtui.sandbox.behaviours.global_accelerator.data_plane import DataPlane, ServedCounts
from mmtui.sandbox.behaviours.global_accelerator.health import HealthBook
from mmtui.sandbox.behaviours.global_accelerator.model import (
    Accelerator,
    Endpoint,
    EndpointGroup,
    Listener,
    State,
)
from mmtui.sandbox.behaviours.global_accelerator.routing import Route, effective, route_of
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, aws_error, not_available
from mmtui.sandbox.core.timing import scale_of, seconds

if TYPE_CHECKING:
    from mmtui.sandbox.behaviours.load_balancers import LoadBalancers
    from mmtui.sandbox.core.server import Sandbox

SERVICE = "globalaccelerator"
IDLE_WAKE = 5.0
"""The worker's longest sleep when nothing is due (seconds)."""


@dataclass(frozen=True)
class Published:
    """What the data plane and the worker know of one accelerator."""

    account: str
    dns: str
    routes: tuple[tuple[float, Route], ...]


class GlobalAccelerator(Extension):
    name = "global_accelerator"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.state = State()
        note = sandbox.notes.append
        self.scale = scale_of(sandbox.options, note)
        self._wakeup = threading.Event()
        self.book = HealthBook(self._judge, self.scale, self._wakeup.set)
        self.control = ControlPlane(
            lambda: self.state,
            self.book.state,
            seconds("accelerator_deploy", self.scale, note),
            seconds("accelerator_update", self.scale, note),
        )
        self.data_plane = DataPlane(
            self._route_for, self._address_of, self.book.healthy, self._nearest_first
        )
        self.started = False
        self._published: dict[str, Published] = {}
        self._endpoint_dns: dict[str, str] = {}
        """Load balancer ARN → its DNS name, for every endpoint of every accelerator."""
        self._sync_lock = threading.Lock()
        self._closed = threading.Event()
        self._worker: threading.Thread | None = None

    # -------------------------------------------------------------- timings (tests tune them)

    @property
    def accelerator_deploy_seconds(self) -> float:
        return self.control.deploy_seconds

    @accelerator_deploy_seconds.setter
    def accelerator_deploy_seconds(self, value: float) -> None:
        self.control.deploy_seconds = value

    @property
    def accelerator_update_seconds(self) -> float:
        return self.control.update_seconds

    @accelerator_update_seconds.setter
    def accelerator_update_seconds(self, value: float) -> None:
        self.control.update_seconds = value

    @property
    def health_check_scale(self) -> float:
        """The time scale of health checks (the sandbox's, unless a test sets one)."""
        return self.book.scale

    @health_check_scale.setter
    def health_check_scale(self, value: float) -> None:
        self.book.scale = value

    @property
    def served(self) -> ServedCounts:
        """How many connections each endpoint was given (tests read it)."""
        return self.data_plane.served

    # -------------------------------------------------------------- requests

    def before(self, request: AwsRequest) -> AwsResponse | None:
        if request.service != SERVICE:
            return None
        if request.region != msg.HOME_REGION:
            return msg.wrong_region(request)
        try:
            body = request.json()
        except ValueError:
            return aws_error(
                request, 400, "SerializationException", "the request body is not JSON", "json"
            )
        try:
            answer = self.control.call(request.operation, request.account, body)
        except msg.GaError as error:
            return error.answer(request)
        if answer is None:
            return not_available(request)
        if request.may_write:
            self._publish()
        return AwsResponse(
            200, json.dumps(answer).encode(), {"Content-Type": "application/x-amz-json-1.1"}
        )

    # -------------------------------------------------------------- persistence

    def get_state(self) -> Any:
        with self._sync_lock:
            ports = dict(self.state.ports)
        return replace(self.state, ports=ports, health=self.book.states())

    def set_state(self, state: Any) -> None:
        self.state = state if isinstance(state, State) else State()
        self.book.load(dict(getattr(self.state, "health", None) or {}))
        self.served.clear()
        self._publish()

    def export_account(self, account: str) -> Any:
        return {
            "account": account,
            "accelerators": self.state.accelerators.get(account, {}),
            "tokens": {k: v for k, v in self.state.tokens.items() if k[0] == account},
        }

    def import_account(self, account: str, data: Any) -> None:
        # The image is the account's whole state: what it held before goes.
        self.state.accelerators.pop(account, None)
        for key in [key for key in self.state.tokens if key[0] == account]:
            del self.state.tokens[key]
        if not isinstance(data, dict) or not data.get("accelerators"):
            self._publish()
            return
        old = str(data.get("account", account))
        accelerators = {
            _rehomed(arn, old, account): _rehome(accelerator, old, account)
            for arn, accelerator in dict(data["accelerators"]).items()
        }
        self.state.accelerators[account] = accelerators
        for (_, operation, token), arn in dict(data.get("tokens", {})).items():
            self.state.tokens[(account, operation, token)] = _rehomed(arn, old, account)
        self._publish()

    def drop_account(self, account: str) -> None:
        self.state.accelerators.pop(account, None)
        for key in [key for key in self.state.tokens if key[0] == account]:
            del self.state.tokens[key]
        self._publish()

    # -------------------------------------------------------------- life cycle

    def on_start(self) -> None:
        self.started = True
        self._closed.clear()
        self._worker = threading.Thread(
            target=self._work, name="mmtui-global-accelerator-health", daemon=True
        )
        self._worker.start()
        self._sync_servers()

    def close(self) -> None:
        self.started = False
        self._closed.set()
        self._wakeup.set()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.join(timeout=5)
        self.data_plane.stop()

    def resolve_map(self) -> dict[str, str]:
        published = self._published
        return {
            published[arn].dns: f"http://127.0.0.1:{port}"
            for arn, port in sorted(self.data_plane.serving().items())
            if arn in published
        }

    # -------------------------------------------------------------- what the others read

    def _publish(self) -> None:
        """Rebuild the snapshot the data plane and the worker read (sandbox lock held)."""
        published: dict[str, Published] = {}
        wanted: set[str] = set()
        for account, accelerators in self.state.accelerators.items():
            for arn, accelerator in accelerators.items():
                if not accelerator.routes:  # a state saved by hand, or imported: route it
                    accelerator.routes.append((accelerator.deployed_at, route_of(accelerator)))
                published[arn] = Published(account, accelerator.dns_name, tuple(accelerator.routes))
                for _, route in accelerator.routes:
                    wanted |= {e.endpoint_id for g in route.groups for e in g.endpoints}
        self._endpoint_dns = _dns_names(wanted)
        self._published = published
        self._wakeup.set()
        if self.started:
            self._sync_servers()

    def _route_for(self, arn: str) -> Route | None:
        published = self._published.get(arn)
        return effective(published.routes, time.time()) if published is not None else None

    def _address_of(self, endpoint_id: str) -> tuple[str, int] | None:
        dns = self._endpoint_dns.get(endpoint_id)
        balancers = self._load_balancers()
        url = balancers.resolve_map().get(dns or "") if balancers is not None else None
        if url is None:
            return None
        parts = urlsplit(url)
        return (parts.hostname or "127.0.0.1", parts.port or 80)

    def _nearest_first(self) -> list[str]:
        options = self.sandbox.options
        return [options.primary_region, options.secondary_region]

    def _load_balancers(self) -> LoadBalancers | None:
        from mmtui.sandbox.behaviours.load_balancers import LoadBalancers

        try:
            return self.sandbox.extension(LoadBalancers)
        except LookupError:
            return None

    def _judge(self, arn: str) -> str:
        balancers = self._load_balancers()
        if balancers is None:
            return "unhealthy"
        try:
            return balancers.target_health(arn)
        except Exception:  # noqa: BLE001  (the sandbox is stopping or restoring: learn nothing)
            return "initial"

    # -------------------------------------------------------------- background work

    def _sync_servers(self) -> None:
        """Serve every accelerator whose deployed configuration serves, and only those."""
        now = time.time()
        published = self._published
        wanted = {
            arn
            for arn, one in published.items()
            if (route := effective(one.routes, now)) is not None and route.serves
        }
        with self._sync_lock:
            serving = self.data_plane.serving()
            for arn in set(serving) - wanted:
                self.data_plane.close(arn)
            for arn in wanted - set(serving):
                self.state.ports[arn] = self.data_plane.open(arn, self.state.ports.get(arn, 0))
            for arn in [arn for arn in self.state.ports if arn not in published]:
                del self.state.ports[arn]  # deleted: its port is free for anyone
            changed = set(serving) != wanted
        if changed:
            # A deploy that completes in the background gives a port: the next save keeps it.
            self.sandbox.mark_dirty()
            self.sandbox.env_changed()

    def _work(self) -> None:
        while not self._closed.is_set():
            self._wakeup.clear()
            now = time.time()
            published = self._published
            groups = [g for one in published.values() for g in one.routes[-1][1].groups]
            next_probe = self.book.probe_due(groups, now)
            self._sync_servers()
            upcoming = [since for one in published.values() for since, _ in one.routes]
            wake = min([next_probe, now + IDLE_WAKE, *(t for t in upcoming if t > now)])
            self._wakeup.wait(max(0.02, wake - time.time()))


def _dns_names(arns: set[str]) -> dict[str, str]:
    """Load balancer ARN → DNS name, for those of `arns` moto has (sandbox lock held)."""
    if not arns:
        return {}
    from moto.elbv2.models import elbv2_backends

    found: dict[str, str] = {}
    for regions in list(elbv2_backends.values()):
        for backend in list(regions.values()):
            for arn, balancer in list(backend.load_balancers.items()):
                if arn in arns:
                    found[arn] = balancer.dns_name
    return found


def _rehomed(arn: str, old: str, new: str) -> str:
    return arn.replace(f":{old}:", f":{new}:")


def _rehome(accelerator: Accelerator, old: str, new: str) -> Accelerator:
    """An accelerator of an account image, as the account it is installed in owns it."""
    listeners = {}
    for listener in accelerator.listeners.values():
        groups = {}
        for group in listener.groups.values():
            endpoints = [
                replace(e, endpoint_id=_rehomed(e.endpoint_id, old, new)) for e in group.endpoints
            ]
            moved: EndpointGroup = replace(
                group, arn=_rehomed(group.arn, old, new), endpoints=endpoints
            )
            groups[moved.arn] = moved
        moved_listener: Listener = replace(
            listener, arn=_rehomed(listener.arn, old, new), groups=groups
        )
        listeners[moved_listener.arn] = moved_listener
    result = replace(
        accelerator, arn=_rehomed(accelerator.arn, old, new), listeners=listeners, routes=[]
    )
    result.routes.append((result.deployed_at, route_of(result)))
    return result


__all__ = ["Endpoint", "GlobalAccelerator"]
