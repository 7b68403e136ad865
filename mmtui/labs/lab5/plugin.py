"""Lab 5 as a plugin: load through the accelerator, the traffic dials, a failover and its
restore; with mmtui's own load generator (`mmtui load`). Modules load only when needed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mmtui.engine.plugin import LabPlugin, SiteVisit, Traffic
from mmtui.engine.registry import CheckDecl, LabPermissions, Registry, TaskDecl

if TYPE_CHECKING:
    from mmtui.content.loader import LabContent
    from mmtui.engine.context import CheckContext
    from mmtui.engine.tasks import TaskContext


class Lab5(LabPlugin):
    id = "5"
    prerequisites_title = "Lab 4 done"
    prerequisites_short = "4"
    overview_title = "Lab 5 overview"
    visit_steps = frozenset({"failover", "restore"})
    traffic_steps = frozenset({"primary-only", "secondary-only", "split", "failover", "restore"})

    def load_content(self) -> LabContent:
        from mmtui.content.loader import load_guided_lab

        return load_guided_lab(self.id)

    @property
    def checks(self) -> Registry[CheckDecl]:
        import mmtui.labs.lab5.steps  # noqa: F401  (attaches the implementations)
        from mmtui.labs.lab5.catalog import CHECKS

        return CHECKS

    @property
    def tasks(self) -> Registry[TaskDecl]:
        import mmtui.labs.lab5.steps  # noqa: F401  (attaches the implementations)
        from mmtui.labs.lab5.catalog import TASKS

        return TASKS

    @property
    def permissions(self) -> LabPermissions:
        from mmtui.labs.lab5.permissions import PERMISSIONS

        return PERMISSIONS

    def facts(self, ctx: CheckContext) -> Any:
        from mmtui.labs.lab5.facts import Lab5Facts

        return Lab5Facts(ctx)

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
