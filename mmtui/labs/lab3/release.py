"""Step 4 finished by solving it again: release the pipelines when their last runs are stale.

The buildspecs can be right on the remote while the secondary services still run an old image:
step 4 was solved before step 3 added the cross-region stage (its runs deployed to the primary
only), or step 1 was redone after step 4 (the new secondary services start from the
template's placeholder image). No push is needed then, and none would start a run: the
pipelines are released again, which is what an attendee would do in the console ("Release
change"). What decides it is what AWS shows (the step's own deploy checks), never local state.
"""

from __future__ import annotations

from typing import Any

from mmtui.engine.tasks import TaskContext

DEPLOY_CHECKS = ("build_artifacts.images_in_both_regions", "build_artifacts.deployed_to_secondary")
"""Step 4's checks that only a pipeline run can make pass."""


def stale_deploys(ctx: TaskContext) -> list[str]:
    """The messages of step 4's deploy checks that fail now (pending is not stale: a run is
    still going, and the caller follows it)."""
    from mmtui.engine.checks import run_one
    from mmtui.engine.registry import CHECKS
    from mmtui.engine.results import Status

    checks = ctx.checks.fresh()
    results = [run_one(checks, CHECKS.get(name)) for name in DEPLOY_CHECKS]
    return [result.message for result in results if result.status == Status.FAIL]


def deploys_to(ctx: TaskContext, pipeline: str, region: str) -> bool:
    """The pipeline has an action that runs in `region` (step 3's stage, by any name)."""
    definition = ctx.client("codepipeline", ctx.primary_region).get_pipeline(name=pipeline)
    return any(
        action.get("region") == region
        for stage in definition["pipeline"]["stages"]
        for action in stage["actions"]
    )


def release_stale(
    ctx: TaskContext, pipelines: dict[str, str], latest: Any, pushed: dict[str, str]
) -> None:
    """Start each pipeline again when nothing was pushed and the deploy checks fail; record
    each run started in `pushed` (pipeline → the execution before it) for the caller to follow.

    `latest(pipeline)` is the pipeline's latest execution summary (or None)."""
    if pushed:
        return
    stale = stale_deploys(ctx)
    if not stale:
        return
    region = ctx.secondary_region
    missing = [name for name in sorted(pipelines.values()) if not deploys_to(ctx, name, region)]
    if missing:
        # Releasing would deploy to the primary only again: the stage must come first.
        ctx.log(
            f"not releasing the pipelines: {', '.join(missing)} has no stage deploying to "
            f"{region} yet (step 3)"
        )
        return
    ctx.log(f"the buildspecs are done but the last runs are stale: {'; '.join(stale)}")
    client = ctx.client("codepipeline", ctx.primary_region)
    for name in sorted(pipelines.values()):
        before = (latest(name) or {}).get("pipelineExecutionId", "")
        client.start_pipeline_execution(name=name)
        ctx.log(f"released {name} again")
        pushed[name] = before
