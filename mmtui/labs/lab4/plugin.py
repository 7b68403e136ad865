"""Lab 4 as a plugin: Global Accelerator in front of both regions. Its modules are imported
only when first needed, so building the command line stays cheap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mmtui.engine.plugin import SiteVisit
from mmtui.labs.common.plugin import PackagedLab

if TYPE_CHECKING:
    from mmtui.engine.context import CheckContext


class Lab4(PackagedLab):
    id = "4"
    package = "mmtui.labs.lab4"
    facts_class = "Lab4Facts"
    prerequisites_title = "Lab 3 done"
    prerequisites_short = "3"
    overview_title = "Lab 4 overview"
    visit_steps = frozenset({"test"})
    form_steps = frozenset({"accelerator", "listener", "endpoint-groups", "endpoints"})

    def open_form(self, step_id: str, ctx: CheckContext) -> Any:
        """The console wizard's page of a step, its choices read from the account."""
        from mmtui.labs.lab4.forms import FORMS

        return FORMS[step_id].load(ctx)

    def visit(self, ctx: CheckContext, resolve: Mapping[str, str]) -> SiteVisit:
        """The site through the accelerator, fetched as a browser would."""
        from mmtui.exitcodes import ExitCode, MmtuiError
        from mmtui.labs.common.site import visit

        accelerator = ctx.facts.accelerator()
        if accelerator is None:
            raise MmtuiError(
                f"there is no accelerator {ctx.param('accelerator')} yet: do step 1 first",
                ExitCode.CHECK_FAILED,
            )
        site = visit(str(accelerator.get("DnsName", "")), dict(resolve))
        if site.status is None:
            text = f"{site.address}\nnothing answers: {site.reason}"
        else:
            text = (
                f"{site.address}\nHTTP {site.status} · {site.title or 'no title'}\n"
                f"Current region: {site.region or 'not shown'}"
            )
        return SiteVisit(text, site.status, site)


LAB = Lab4()
