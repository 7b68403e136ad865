"""Lab 5's live traffic for the guide: likes through the accelerator, the dials and the endpoint
health of each region, and the failover drill."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmtui.engine.context import CheckContext
from mmtui.engine.plugin import Traffic
from mmtui.engine.tasks import TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab4.accelerator import (
    GA_REGION,
    accelerators_named,
    groups_of,
    listeners_of,
    workshop_listener,
)


def live_traffic(ctx: CheckContext, tasks: TaskContext) -> Traffic:
    primary, secondary = ctx.primary_region, ctx.secondary_region
    ga = ctx.client("globalaccelerator", GA_REGION)

    def accelerator() -> dict[str, Any]:
        found = accelerators_named(ga, ctx.param("accelerator"))
        if len(found) != 1:
            raise MmtuiError(
                f"there is {'no' if not found else 'more than one'} accelerator named "
                f"{ctx.param('accelerator')}: Lab 4 makes one",
                ExitCode.CHECK_FAILED,
            )
        return found[0]

    def start(rate: float) -> Any:
        from mmtui.load.generator import LoadGenerator

        generator = LoadGenerator(
            str(accelerator()["DnsName"]),
            dict(ctx.connection.resolve),
            rate,
            ctx.param("mysfit"),
        )
        generator.start()
        return generator

    def status() -> list[tuple[str, str, str]]:
        listener = workshop_listener(listeners_of(ga, str(accelerator()["AcceleratorArn"])))
        groups = (
            {}
            if listener is None
            else {
                str(g["EndpointGroupRegion"]): g
                for g in groups_of(ga, str(listener["ListenerArn"]))
            }
        )
        rows = []
        for region in (primary, secondary):
            group = groups.get(region)
            if group is None:
                rows.append((region, "no group", "—"))
                continue
            states = [
                str(e.get("HealthState", "INITIAL")) for e in group.get("EndpointDescriptions", [])
            ]
            dial = f"{float(group.get('TrafficDialPercentage', 100.0)):g}%"
            rows.append((region, dial, ", ".join(states) or "no endpoint"))
        return rows

    def drill(
        rate: float,
        duration: float,
        on_event: Callable[[Any], None],
        on_second: Callable[[Any], None],
    ) -> Any:
        from mmtui.labs.lab5.drill import Drill, DrillOptions, save
        from mmtui.paths import state_dir

        report = Drill(tasks, DrillOptions(rate=rate, duration=duration), on_event, on_second).run()
        save(report, state_dir() / "drills")
        return report

    return Traffic((primary, secondary), start, status, drill)
