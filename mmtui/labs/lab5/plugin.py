"""Lab 5 as a plugin: load through the accelerator, the traffic dials, a failover and its
restore; with mmtui's own load generator (`mmtui load`). Modules load only when needed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mmtui.engine.plugin import SiteVisit, Traffic
from mmtui.labs.common.plugin import PackagedLab

if TYPE_CHECKING:
    from mmtui.engine.context import CheckContext
    from mmtui.engine.tasks import TaskContext


class Lab5(PackagedLab):
    id = "5"
    package = "mmtui.labs.lab5"
    facts_class = "Lab5Facts"
    prerequisites_title = "Lab 4 done"
    prerequisites_short = "4"
    overview_title = "Lab 5 overview"
    visit_steps = frozenset({"failover", "restore"})
    traffic_steps = frozenset({"primary-only", "secondary-only", "split", "failover", "restore"})

    def visit(self, ctx: CheckContext, resolve: Mapping[str, str]) -> SiteVisit:
        from mmtui.labs.lab4.plugin import LAB as LAB4

        return LAB4.visit(ctx, resolve)

    def traffic(self, ctx: CheckContext, tasks: TaskContext) -> Traffic:
        from mmtui.labs.lab5.traffic import live_traffic

        return live_traffic(ctx, tasks)

    def commands(self) -> list[Any]:
        from mmtui.labs.lab5.commands import drill, load

        return [load, drill]


LAB = Lab5()
