"""The two service pipelines as several steps read them: their names (from the primary
stack's outputs) and their last runs.
"""

from __future__ import annotations

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import TaskContext
from mmtui.labs.lab3.aws import facts
from mmtui.labs.lab3.facts import service_pipelines


def last_runs(check: Checker, pipelines: dict[str, str], expected: str, advice: str) -> CheckResult:
    """Pass when every pipeline's last run succeeded; pending while one runs."""
    states = {name: facts(check).last_run(name, check.region) for name in pipelines.values()}
    observed = ", ".join(f"{n}: {s}" for n, s in states.items()) or "no pipelines"
    (
        f"aws codepipeline get-pipeline-state --name {pipelines.get('core', '')} "
        f"--region {check.region}"
    )
    if states and all(s == "Succeeded" for s in states.values()):
        return check.passed(expected, observed, "Both pipelines last succeeded.")
    # Stopping ends as Stopped: not a verdict yet. Stopped and Superseded are final (a run
    # someone stopped, or one a newer run replaced before it finished): not a success.
    if any(s in ("InProgress", "Stopping") for s in states.values()):
        return check.pending(expected, observed, "A pipeline is running; wait for it.")
    return check.failed(expected, observed, f"A pipeline's last run did not succeed; {advice}.")


def pipeline_names(ctx: TaskContext) -> dict[str, str]:
    """{"Core": name, "Like": name}: the service pipelines, keyed as the stack outputs are."""
    found = service_pipelines(
        ctx.client("codepipeline", ctx.primary_region), ctx.param("primary_stack")
    )
    return {kind.title(): name for kind, name in found.items()}
