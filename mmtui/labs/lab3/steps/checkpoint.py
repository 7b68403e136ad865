"""The checkpoint: the secondary site answers and names its region. Its solve catches up,
solving the earlier steps that are not done; it creates nothing of its own, so it has no reset.
"""

from __future__ import annotations

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.common.site import visit
from mmtui.labs.lab3.aws import facts
from mmtui.labs.lab3.catalog import CHECKS, TASKS
from mmtui.labs.lab3.stacks import needs_secondary_stack
from mmtui.labs.lab3.steps.build_artifacts import solve_build_artifacts
from mmtui.labs.lab3.steps.data_tier import solve_data_tier
from mmtui.labs.lab3.steps.infrastructure import solve_infrastructure
from mmtui.labs.lab3.steps.pipeline import solve_pipeline

# ---------------------------------------------------------------------- check


@CHECKS.implement("checkpoint.secondary_site")
def secondary_site(check: Checker) -> CheckResult:
    missing = needs_secondary_stack(check, "the secondary site")
    if missing:
        return missing
    dns = facts(check).outputs("secondary").get("SecondaryLoadBalancerDNS", "")
    expected = f'HTTP 200 with "Current region: {check.region}"'
    site = visit(dns, check.ctx.connection.resolve)
    if site.status is None:
        return check.failed(
            expected, site.reason, f"{site.address} does not answer: {site.reason}."
        )
    if site.status != 200:
        return check.failed(
            expected,
            f"HTTP {site.status}",
            f"{site.address} answers {site.status}: the secondary services do not run "
            "the application's images yet (steps 3 and 4 deploy them).",
        )
    shown = site.region or "no region line"
    if shown != check.region:
        return check.failed(expected, shown, f"The page shows {shown}.")
    return check.passed(
        expected, f"Current region: {shown}", f"The secondary site answers from {shown}."
    )


# ---------------------------------------------------------------------- solve


@TASKS.implement("checkpoint.solve")
def solve_checkpoint(ctx: TaskContext) -> list[Action]:
    """Catch up: the checkpoint creates nothing itself; it needs steps 1 to 4 done."""
    return [
        *solve_infrastructure(ctx),
        *solve_data_tier(ctx),
        *solve_pipeline(ctx),
        *solve_build_artifacts(ctx),
    ]
