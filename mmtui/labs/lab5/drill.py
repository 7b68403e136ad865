"""The failover drill: load through the accelerator, the primary broken on purpose, measured,
restored, measured again.

What it reports:
- RTO: from the break to the moment the success rate is back (see mmtui.load.recovery), and the
  likes that failed meanwhile;
- RPO: the likes acknowledged by then that the secondary's replica did not hold at the moment
  Global Accelerator declared the primary unhealthy (the failover), counted from both tables,
  and how long replication took to catch up;
- the timeline: break, health change, first like served elsewhere, recovery, restore, the
  primary healthy again, its first like served again.
Whatever happens (an error, Ctrl-C), what the drill broke is restored before it returns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmtui.engine.tasks import TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab4.reads import required_accelerator
from mmtui.labs.lab5.reads import groups_now, primary_services, set_dials
from mmtui.labs.lab5.steps.failover import primary_health, reopen_ingress
from mmtui.load.answers import per_second, summarise
from mmtui.load.generator import LoadGenerator
from mmtui.load.recovery import recovery

BreakKind = Literal["tasks", "network"]
POLL = 0.25
"""Seconds between looks at the load's answers (memory) during the drill."""
STOP_EVERY = 1.0
"""Seconds between looks at AWS (the endpoint's health) while waiting for a change."""
CATCH_UP_LIMIT = 120.0
"""How long the drill waits for the secondary's replica to catch up after the failover."""


@dataclass(frozen=True)
class DrillOptions:
    break_kind: BreakKind = "tasks"
    rate: float = 10.0
    duration: float = 120.0
    """Seconds of load in all: a sixth before the break, half after it, the rest after the
    restore."""

    @property
    def warmup(self) -> float:
        return max(2.0, self.duration / 6)

    @property
    def outage(self) -> float:
        return max(3.0, self.duration / 2)

    @property
    def failback(self) -> float:
        return max(2.0, self.duration - self.warmup - self.outage)


@dataclass
class Event:
    at: float
    """Seconds since the load started."""
    what: str


@dataclass
class DrillReport:
    options: dict[str, Any]
    primary: str
    secondary: str
    events: list[Event] = field(default_factory=list)
    broken_at: float | None = None
    failover_at: float | None = None
    """When Global Accelerator reported the primary endpoint unhealthy."""
    restored_at: float | None = None
    healthy_again_at: float | None = None
    rto_seconds: float | None = None
    failed_during_outage: int = 0
    threshold: float = 0.0
    baseline: float = 0.0
    first_served_elsewhere: float | None = None
    first_served_home_again: float | None = None
    likes_acknowledged_at_failover: int = 0
    likes_in_secondary_at_failover: int = 0
    likes_lost_at_failover: int = 0
    replication_caught_up_after: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


class Drill:
    def __init__(
        self,
        ctx: TaskContext,
        options: DrillOptions,
        on_event: Callable[[Event], None] = lambda _e: None,
        on_second: Callable[[Any], None] = lambda _s: None,
    ) -> None:
        self.ctx = ctx
        self.options = options
        self.on_event = on_event
        self.on_second = on_second
        self.report = DrillReport(
            {"break": options.break_kind, "rate": options.rate, "duration": options.duration},
            ctx.primary_region,
            ctx.secondary_region,
        )
        self.generator: LoadGenerator | None = None
        self._undo: Callable[[], str] | None = None
        self._shown = 0

    # ------------------------------------------------------------------ running

    def run(self) -> DrillReport:
        ctx = self.ctx
        accelerator = required_accelerator(ctx)
        dials = self._require_ready()
        table, mysfit = ctx.param("table"), ctx.param("mysfit")
        # Active-passive for the drill: every like on the primary until it breaks (Global
        # Accelerator fails over whatever the dials say). Only one region writes at a time, so
        # the likes counted in the secondary measure replication, not two regions' increments
        # overwriting each other (a global table's last writer wins).
        changed = set_dials(ctx, 100.0, 0.0)
        if changed:
            self._note(f"dials: {changed.removeprefix('set the dials: ')} for the drill")
        try:
            self._wait_for_deployed(str(accelerator["AcceleratorArn"]))
            self._drill(accelerator, table, mysfit)
        finally:
            put_back = set_dials(ctx, dials[ctx.primary_region], dials[ctx.secondary_region])
            if put_back:
                self._note(f"dials back as they were: {put_back.removeprefix('set the dials: ')}")
        return self._finish()

    def _drill(self, accelerator: dict[str, Any], table: str, mysfit: str) -> None:
        ctx, options = self.ctx, self.options
        likes_before = self._settled_likes(table, mysfit)
        self.generator = LoadGenerator(
            str(accelerator["DnsName"]), dict(ctx.checks.connection.resolve), options.rate, mysfit
        )
        self.generator.start()
        try:
            try:
                self._until(options.warmup)
                self._break()
                self._watch_outage(table, mysfit, likes_before)
            finally:
                # Always: the drill never leaves the primary broken, on an error or Ctrl-C.
                self._restore()
            self._watch_failback()
        finally:
            self.generator.stop()

    def _note(self, line: str) -> None:
        self.ctx.log(line)

    def _wait_for_deployed(self, arn: str) -> None:
        """A dial change is applied once the accelerator is deployed again."""
        from mmtui.labs.lab5.steps.dials import wait_until_deployed

        wait_until_deployed(self.ctx, arn)

    def _elapsed(self) -> float:
        assert self.generator is not None
        return self.generator.elapsed()

    def _event(self, what: str) -> float:
        at = self._elapsed()
        event = Event(round(at, 2), what)
        self.report.events.append(event)
        self.on_event(event)
        return at

    def _until(self, at: float, stop: Callable[[], bool] = lambda: False) -> None:
        """Show the seconds as they complete until `at`, or until `stop()` (an AWS read, so
        asked at most once a second: a drill must not be throttled by its own polling)."""
        asked = -STOP_EVERY
        while self._elapsed() < at:
            if self._elapsed() - asked >= STOP_EVERY:
                asked = self._elapsed()
                if stop():
                    break
            self._show_seconds()
            time.sleep(POLL)
        self._show_seconds()

    def _show_seconds(self) -> None:
        assert self.generator is not None
        done = int(self._elapsed() - 1)
        if done <= self._shown:
            return
        seconds = per_second(self.generator.snapshot(), until=done)
        for second in seconds[self._shown : done]:
            self.on_second(second)
        self._shown = max(self._shown, min(done, len(seconds)))

    # ------------------------------------------------------------------ steps

    def _require_ready(self) -> dict[str, float]:
        """Both groups there with healthy endpoints; their dials as found (to put back)."""
        groups = groups_now(self.ctx)
        dials = {}
        for region in (self.ctx.primary_region, self.ctx.secondary_region):
            group = groups.get(region)
            if group is None:
                raise MmtuiError(
                    f"the accelerator has no endpoint group for {region}: finish Lab 4 first",
                    ExitCode.CHECK_FAILED,
                )
            dials[region] = float(group.get("TrafficDialPercentage", 100.0))
            states = primary_health(groups, region)
            if not states or any(state != "HEALTHY" for state in states):
                raise MmtuiError(
                    f"the {region} endpoint is {', '.join(states) or 'missing'}: the drill starts "
                    "from both regions healthy (Lab 5's checkpoint restores the primary)",
                    ExitCode.CHECK_FAILED,
                )
        return dials

    def _break(self) -> None:
        ctx = self.ctx
        if self.options.break_kind == "tasks":
            cluster, names = primary_services(ctx)
            ecs = ctx.client("ecs", ctx.primary_region)
            before = {
                s["serviceName"]: int(s.get("desiredCount", 0))
                for s in ecs.describe_services(cluster=cluster, services=names)["services"]
            }

            def undo_tasks() -> str:
                for name, count in before.items():
                    ecs.update_service(cluster=cluster, service=name, desiredCount=max(count, 1))
                return f"{', '.join(before)} back to their tasks"

            self._undo = undo_tasks
            for name in before:
                ecs.update_service(cluster=cluster, service=name, desiredCount=0)
            what = f"break: {', '.join(before)} set to 0 tasks"
        else:
            from mmtui.labs.lab5.facts import narrowed
            from mmtui.labs.lab5.steps.failover import set_ingress, tasks_ingress

            found = tasks_ingress(ctx)
            if found is None:
                raise MmtuiError(
                    f"{ctx.param('primary_stack')} names no security group or VPC",
                    ExitCode.CHECK_FAILED,
                )
            group_id, cidr, _group = found
            self._undo = lambda: reopen_ingress(ctx) or "the security group already let the VPC in"
            set_ingress(ctx, group_id, cidr, allow=False)
            set_ingress(ctx, group_id, narrowed(cidr), allow=True)
            what = f"break: {group_id} narrowed from {cidr} to {narrowed(cidr)}"
        self.report.broken_at = self._event(what)

    def _watch_outage(self, table: str, mysfit: str, likes_before: int) -> None:
        ctx, report = self.ctx, self.report
        assert report.broken_at is not None
        end = report.broken_at + self.options.outage

        def unhealthy() -> bool:
            states = primary_health(groups_now(ctx), ctx.primary_region)
            return bool(states) and all(state == "UNHEALTHY" for state in states)

        self._until(end, stop=unhealthy)
        if self._elapsed() >= end:
            self._event("the accelerator never reported the primary unhealthy")
            return
        report.failover_at = self._event(
            f"failover: the {ctx.primary_region} endpoint is UNHEALTHY"
        )
        assert self.generator is not None
        acknowledged = sum(a.ok for a in self.generator.snapshot())
        present = self._likes(ctx.secondary_region, table, mysfit) - likes_before
        report.likes_acknowledged_at_failover = acknowledged
        report.likes_in_secondary_at_failover = present
        report.likes_lost_at_failover = max(0, acknowledged - present)
        # How long replication takes to hold every like acknowledged at the failover.
        started = time.monotonic()
        while time.monotonic() - started < CATCH_UP_LIMIT:
            if self._likes(ctx.secondary_region, table, mysfit) - likes_before >= acknowledged:
                report.replication_caught_up_after = round(time.monotonic() - started, 2)
                break
            self._show_seconds()
            time.sleep(POLL)
        self._until(end)

    def _restore(self) -> None:
        if self._undo is None:
            return
        undo, self._undo = self._undo, None
        done = undo()
        self.report.restored_at = self._event(f"restore: {done}")

    def _watch_failback(self) -> None:
        ctx = self.ctx
        restored = self.report.restored_at or self._elapsed()
        end = restored + self.options.failback

        def healthy() -> bool:
            states = primary_health(groups_now(ctx), ctx.primary_region)
            return bool(states) and all(state == "HEALTHY" for state in states)

        self._until(end, stop=healthy)
        if self._elapsed() < end:
            self.report.healthy_again_at = self._event(
                f"failback: the {ctx.primary_region} endpoint is HEALTHY"
            )
        self._until(end)

    def _settled_likes(self, table: str, mysfit: str) -> int:
        """The mysfit's likes once both replicas agree: likes written just before the drill
        (two regions writing at once, last writer wins) may still be settling, and a count taken
        meanwhile would make the drill's RPO wrong by their difference."""
        ctx = self.ctx

        def both() -> tuple[int, int]:
            return (
                self._likes(ctx.primary_region, table, mysfit),
                self._likes(ctx.secondary_region, table, mysfit),
            )

        seen: list[tuple[int, int]] = []

        def settled() -> bool:
            seen.append(both())
            # The same in both regions, twice in a row.
            return len(seen) >= 2 and seen[-1] == seen[-2] and seen[-1][0] == seen[-1][1]

        ctx.wait(
            f"the likes of {mysfit} to agree in both regions",
            settled,
            lambda: (
                f"{ctx.primary_region} {seen[-1][0]}, {ctx.secondary_region} {seen[-1][1]}"
                if seen
                else ""
            ),
            cadence=2.0,
            timeout=CATCH_UP_LIMIT,
        )
        return seen[-1][1]

    def _likes(self, region: str, table: str, mysfit: str) -> int:
        item = (
            self.ctx.client("dynamodb", region)
            .get_item(TableName=table, Key={"MysfitId": {"S": mysfit}}, ConsistentRead=True)
            .get("Item", {})
        )
        return int(item.get("Likes", {}).get("N", "0"))

    # ------------------------------------------------------------------ report

    def _finish(self) -> DrillReport:
        report = self.report
        answers = self.generator.snapshot() if self.generator is not None else []
        until = self._elapsed() if self.generator is not None else 0.0
        if report.broken_at is not None:
            found = recovery(answers, report.broken_at, report.primary, until=until)
            report.baseline, report.threshold = round(found.baseline, 3), round(found.threshold, 3)
            report.rto_seconds = found.rto(report.broken_at)
            report.failed_during_outage = found.failed
            report.first_served_elsewhere = found.first_elsewhere
        if report.restored_at is not None:
            home = [
                a.at
                for a in answers
                if a.at >= report.restored_at and a.ok and a.region == report.primary
            ]
            report.first_served_home_again = min(home) if home else None
        report.summary = summarise(answers, until).as_dict()
        report.seconds = [
            {
                "t": s.start,
                "sent": s.sent,
                "ok": s.ok,
                "failed": s.failed,
                "by_region": dict(s.by_region),
            }
            for s in per_second(answers, until=until)
        ]
        return report


def save(report: DrillReport, folder: Path) -> Path:
    """Write the report as JSON in `folder` (atomically); its path."""
    from mmtui.files import write_atomically

    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = folder / f"failover-{stamp}.json"
    write_atomically(path, report.to_json().encode())
    return path
