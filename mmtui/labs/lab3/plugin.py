"""Lab 3 as a plugin: what "Preparing for multi-region deployments" gives the engine and the
front ends. It wraps the lab's modules (the catalogue, one module per step under `steps/`, facts,
inventory, site, probe), and imports each only when it is first needed, so that building
the command line (`mmtui --help`) stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from mmtui.engine.plugin import OverviewRow, Preview, SiteVisit
from mmtui.labs.common.plugin import PackagedLab

if TYPE_CHECKING:
    from mmtui.content.model import Step
    from mmtui.engine.context import CheckContext
    from mmtui.engine.tasks import TaskContext


class Lab3(PackagedLab):
    id = "3"
    package = "mmtui.labs.lab3"
    facts_class = "Lab3Facts"
    prerequisites_title = "Labs 0-2 prerequisites"
    prerequisites_short = "0-2"
    overview_title = "Lab 3 overview"
    overview_lead = (
        "Everything the application needs must exist in {secondary_region} too: each row "
        "below is one layer, as it stands now in each region."
    )
    form_steps = frozenset({"data-tier", "pipeline"})
    preview_steps = frozenset({"build-artifacts"})
    visit_steps = frozenset({"checkpoint"})

    def reset_order(self, steps: list[Step]) -> list[Step]:
        """Last step first, except that the pipelines lose their cross-region stage before the
        buildspecs are reverted: the revert's pipeline run then builds for the primary only and
        succeeds, leaving Labs 0-2 as they were."""
        ordered = list(reversed(steps))
        ids = [step.id for step in ordered]
        if "pipeline" in ids and "build-artifacts" in ids:
            pipeline = ordered.pop(ids.index("pipeline"))
            ordered.insert([s.id for s in ordered].index("build-artifacts"), pipeline)
        return ordered

    def inventory(self, ctx: CheckContext, executor: Executor | None = None) -> Any:
        from mmtui.labs.lab3.inventory import take_inventory

        return take_inventory(ctx, executor=executor)

    def overview_rows(self, inventory: Any) -> list[OverviewRow]:
        from mmtui.labs.lab3.picture import rows

        return list(rows(inventory))

    def open_form(self, step_id: str, ctx: CheckContext) -> Any:
        from mmtui.labs.lab3.steps import open_form

        return open_form(step_id, ctx)

    def preview(self, step: Step, ctx: TaskContext) -> Preview:
        """Step 4's buildspec diffs, per service repository, before anything is committed."""
        from mmtui.labs.lab3.steps.build_artifacts import buildspec_changes

        changes: list[tuple[str, Any]] = list(buildspec_changes(ctx))
        needed = [change for _, change in changes if change.needed]
        title = (
            f"buildspec_prod.yml: {len(needed)} to change"
            if needed
            else "Both buildspecs are already finished"
        )
        note = (
            "Only buildspec_prod.yml is committed; the push starts both pipelines, which the "
            "log then follows."
        )
        return Preview(title, changes, note, confirm="Commit and push")

    def visit(self, ctx: CheckContext, resolve: Mapping[str, str]) -> SiteVisit:
        """The secondary site, fetched as an attendee's browser would."""
        from mmtui.exitcodes import ExitCode, MmtuiError
        from mmtui.labs.common.site import visit

        dns = ctx.facts.outputs("secondary").get("SecondaryLoadBalancerDNS", "")
        if not dns:
            raise MmtuiError(
                f"{ctx.param('secondary_stack')} has no load balancer yet: do step 1 first",
                ExitCode.CHECK_FAILED,
            )
        site = visit(dns, dict(resolve))
        if site.status is None:
            text = f"{site.address}\nnothing answers: {site.reason}"
        elif site.status != 200:
            text = (
                f"{site.address}\nHTTP {site.status}: the secondary services do not run the "
                "application's images yet (steps 3 and 4 deploy them)."
            )
        else:
            text = (
                f"{site.address}\nHTTP 200 · {site.title or 'no title'}\n"
                f"Current region: {site.region or 'not shown'}"
            )
        return SiteVisit(text, site.status, site)

    def commands(self) -> list[Any]:
        from mmtui.labs.lab3.commands import probe

        return [probe]


LAB = Lab3()
