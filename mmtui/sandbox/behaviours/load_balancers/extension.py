"""The LoadBalancers extension: a loopback site per ELBv2 load balancer, its targets' health as
an ALB keeps it, DescribeTargetHealth from that health, and its CloudWatch metrics.

One background thread does the extension's own work: at a time scale above 0 it runs the
health checks when they are due (reading moto under the sandbox lock, a few dictionary
lookups, never HTTP), and every few seconds it publishes the metrics counted meanwhile. At a
time scale of 0 the health is judged on demand, from moto's state at that moment, with no
delay: what a site, `target_health` or DescribeTargetHealth is asked is the steady state.

moto names every load balancer `<name>-1.<region>.elb.amazonaws.com`, so the same stack in two
accounts would give two load balancers one DNS name, and the resolve map could not tell them
apart. AWS puts a number of its own in the name; here an attendee account's load balancers get
one derived from the account, region and name (moto_repairs/elbv2_account_dns_names.py).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.behaviours.load_balancers import api, topology
from mmtui.sandbox.behaviours.load_balancers.health import Board, Route
from mmtui.sandbox.behaviours.load_balancers.metrics import Meter, publish
from mmtui.sandbox.behaviours.load_balancers.servers import serve, shut_down
from mmtui.sandbox.behaviours.load_balancers.site import SiteApp
from mmtui.sandbox.behaviours.load_balancers.topology import Balancer
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse
from mmtui.sandbox.core.timing import TYPICAL_SECONDS, scale_of, seconds

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

METRICS_FLUSH_SECONDS = 5.0
"""How often the counted requests are published (ELB itself reports every 60 s)."""
OBSERVE_SECONDS = 1.0
"""At a time scale above 0, how often moto is read for changes no API call here announces
(a stack that creates a service in the background)."""
CONNECT_TIMEOUT = 10.0
"""An ALB's connection timeout to a target, in AWS seconds."""
_ECS_EC2_ELB = ("ecs", "ec2", "elasticloadbalancing")


class LoadBalancers(Extension):
    name = "load_balancers"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.ports: dict[str, int] = {}
        """DNS name → port, kept in the saved state so URLs stay the same across restarts."""
        self.servers: dict[str, Any] = {}
        self.started = False
        self._sync_lock = threading.Lock()
        self.board = Board()
        self.meter = Meter()
        note = sandbox.notes.append
        self._interval = seconds("alb_health_interval", scale_of(sandbox.options, note), note)
        self.metrics_flush_seconds = METRICS_FLUSH_SECONDS
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ timing

    @property
    def health_interval_seconds(self) -> float:
        """How long AWS's typical 10 s health check interval lasts in the sandbox (0: health
        judged on demand). Every load balancer duration is scaled alike."""
        return self._interval

    @health_interval_seconds.setter
    def health_interval_seconds(self, value: float) -> None:
        self._interval = max(0.0, float(value))
        self._wake.set()

    @property
    def factor(self) -> float:
        """The sandbox's seconds per AWS second, for the load balancers."""
        return self._interval / TYPICAL_SECONDS["alb_health_interval"]

    # ------------------------------------------------------------------ extension API

    def before(self, request: AwsRequest) -> AwsResponse | None:
        if request.service == "monitoring" and request.operation == "PutMetricData":
            return api.refuse_reserved_namespace(request)
        if request.service == "elasticloadbalancing" and request.operation == (
            "DescribeTargetHealth"
        ):
            return self._describe_target_health(request)
        return None

    def after(self, request: AwsRequest, response: AwsResponse) -> AwsResponse:
        if not (self.started and request.may_write):
            return response
        if request.service in ("elasticloadbalancing", "cloudformation"):
            self.sync()
        if request.service in _ECS_EC2_ELB and response.status < 300 and self.factor > 0:
            # ECS registers and deregisters a task's targets as it starts or stops it, not at
            # the next health check: follow the change now (the lock is held).
            self._observe((request.account, request.region))
        return response

    def get_state(self) -> Any:
        # Saved with the lock held, before moto's backends: the requests counted since the
        # last flush go into the saved state rather than being lost at a restart.
        self._flush()
        return dict(self.ports)

    def set_state(self, state: Any) -> None:
        self.ports = dict(state or {})
        # Health and unpublished counts belong to the state being replaced.
        self.board.clear()
        self.meter.drop()
        if self.started:
            self.sync()
            self._settle_all()

    def on_start(self) -> None:
        self.started = True
        self.sync()
        self._settle_all()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mmtui-load-balancers", daemon=True)
        self._thread.start()

    def import_account(self, account: str, data: Any) -> None:
        """An account was installed behind moto's API: serve its load balancers, their
        targets running as in the account it is a copy of."""
        if self.started:
            self.sync()
            self._settle_all()

    def drop_account(self, account: str) -> None:
        self.meter.drop_account(account)
        if self.started:
            self.sync()

    def close(self) -> None:
        self.started = False
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._flush()
        shut_down(list(self.servers.values()))
        self.servers.clear()

    def resolve_map(self) -> dict[str, str]:
        return {
            dns: f"http://127.0.0.1:{port}"
            for dns, port in sorted(self.ports.items())
            if dns in self.servers
        }

    # ------------------------------------------------------------------ health

    def target_health(self, arn: str) -> str:
        """The health of load balancer `arn`'s targets as its own health checks see them:
        "healthy" (its default target group, the Core service's, which the workshop's health
        check hits at `/`, has a healthy target), "unhealthy", or "initial" (its targets are
        registering and it was never judged yet). Global Accelerator's endpoints read this,
        as AWS's read an ALB's target health."""
        if self.factor == 0:
            where = _where(arn)
            if where is not None:
                with self.sandbox.lock:
                    self._observe(where)
        return self.board.summary(arn)

    def route(self, balancer: Balancer, path: str) -> Route:
        """Where the load balancer sends a request for `path` (the sites ask)."""
        if self.factor == 0:
            with self.sandbox.lock:
                self._observe((balancer.account, balancer.region))
        return self.board.route(balancer.arn, path)

    def connect_timeout(self) -> None:
        """Wait as an ALB waits for a target that never answers (scaled; ends at close)."""
        self._stopping.wait(CONNECT_TIMEOUT * self.factor)

    def _observe(self, where: tuple[str, str] | None) -> None:
        """Read moto's state (sandbox lock held) into the board."""
        factor = self.factor
        self.board.update(
            topology.views(where), time.monotonic(), factor, settle=factor == 0, where=where
        )

    def _settle_all(self) -> None:
        """The targets of groups not seen yet (all of them when the sandbox starts or its
        state is restored, an added account's) are taken as their checks left them: healthy
        when reachable, as AWS's time went on."""
        factor = self.factor
        with self.sandbox.lock:
            self.board.update(
                topology.views(), time.monotonic(), factor, settle=factor == 0, first=True
            )

    def _describe_target_health(self, request: AwsRequest) -> AwsResponse | None:
        from moto.elbv2.models import elbv2_backends

        arn = (request.form.get("TargetGroupArn") or [""])[0]
        account, region = request.account, request.region
        backend = elbv2_backends[account][region]
        if arn not in backend.target_groups:
            return None  # moto's TargetGroupNotFound
        if self.factor == 0:
            self._observe((account, region))
        descriptions = self.board.describe(arn, api.wanted_targets(request))
        if descriptions is None:
            return None  # not behind a sandbox load balancer: moto's own registrations
        return api.target_health_response(descriptions)

    # ------------------------------------------------------------------ background

    def _run(self) -> None:
        flushed = time.monotonic()
        while not self._stopping.is_set():
            now = time.monotonic()
            if self.factor > 0:
                with self.sandbox.lock:
                    self._observe(None)
            if now >= flushed + self.metrics_flush_seconds:
                self._flush()
                flushed = time.monotonic()
            now = time.monotonic()
            # The period is read each time round: a changed one counts from the last flush.
            wait = min(OBSERVE_SECONDS, flushed + self.metrics_flush_seconds - now)
            due = self.board.next_due() if self.factor > 0 else None
            if due is not None:
                # Each target keeps its own phase: with many, waking for every one would read
                # moto all the time. A tenth of an interval late is within AWS's own jitter.
                wait = min(wait, max(due - now, 0.1 * self._interval))
            self._wake.wait(max(0.005, wait))
            self._wake.clear()

    def _flush(self) -> None:
        generation, taken = self.meter.take()
        if taken:
            with self.sandbox.lock:
                # A restore between the take and the lock replaced the state they belong to.
                if generation == self.meter.generation:
                    publish(taken)

    # ------------------------------------------------------------------ servers

    def sync(self) -> None:
        """Serve every load balancer moto has, and stop serving the deleted ones."""
        with self._sync_lock:
            wanted = {balancer.dns: balancer for balancer in topology.balancers()}
            doomed = [dns for dns in self.servers if dns not in wanted]
            shut_down([self.servers.pop(dns) for dns in doomed])
            for dns in doomed:
                self.ports.pop(dns, None)
            for dns, balancer in wanted.items():
                if dns not in self.servers:
                    server = serve(
                        self.ports.get(dns, 0),
                        SiteApp(self.sandbox, balancer, self),
                        f"mmtui-lb-{dns}",
                    )
                    self.ports[dns] = int(server.server_address[1])
                    self.servers[dns] = server
            self.sandbox.env_changed()


def _where(arn: str) -> tuple[str, str] | None:
    """(account, region) of a load balancer ARN."""
    parts = arn.split(":")
    return (parts[4], parts[3]) if len(parts) > 5 else None
