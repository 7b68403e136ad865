"""Solves and resets of Lab 3, as registered tasks (see mmtui/engine/tasks.py).

Each solve action looks before it acts and does nothing when its part is done, so solving twice
changes nothing. Each reset plans from what exists now and touches only what the lab creates.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any

from mmtui.engine.checks import describe
from mmtui.engine.tasks import Action, TaskContext, git_identity
from mmtui.labs.lab3.catalog import TASKS
from mmtui.labs.lab3.codepipeline import _pipelines
from mmtui.labs.lab3.dashboards import expand_rows
from mmtui.labs.lab3.facts import DASHBOARD_MISSING, xray_groups
from mmtui.labs.lab3.stacks import _outputs, _stack
from mmtui.labs.lab3.xray import XRAY_GROUPS, _normalise

if TYPE_CHECKING:
    from mmtui.gitops.repository import FileChange


def _groups(ctx: TaskContext) -> dict[str, str]:
    return xray_groups(ctx.client("xray", ctx.secondary_region))


def _dashboard_body(ctx: TaskContext) -> dict[str, Any] | None:
    """The lab dashboard's body, None when there is no such dashboard."""
    from botocore.exceptions import ClientError

    try:
        text = ctx.client("cloudwatch", ctx.primary_region).get_dashboard(
            DashboardName=ctx.param("dashboard")
        )["DashboardBody"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in DASHBOARD_MISSING:
            return None
        raise
    body: dict[str, Any] = json.loads(text)
    return body


# What step 5 adds, by content: these metrics of the secondary region. Any other metric (an
# attendee's own SQS widget in the secondary region, the primary's lines) is not the lab's.
LAB_METRICS = {
    "AWS/ApplicationELB": (
        "RequestCount",
        "HTTPCode_Target_2XX_Count",
        "HTTPCode_Target_4XX_Count",
        "HTTPCode_Target_5XX_Count",
    ),
    "AWS/ECS": ("CPUUtilization", "MemoryUtilization"),
    "AWS/X-Ray": ("ApproximateTraceCount",),
}


def is_lab_metric(
    values: list[Any],
    options: dict[str, Any],
    widget_region: str,
    region: str,
    outputs: dict[str, str],
) -> bool:
    """Whether an (expanded) metric row is one step 5 adds: the secondary load balancer's
    requests and codes, the secondary services' CPU and memory, the X-Ray groups' metric, all
    read in `region`. When the secondary stack's outputs are known, the load balancer and
    cluster must be its own."""
    if len(values) < 2 or str(options.get("region", widget_region)) != region:
        return False
    namespace, name = str(values[0]), str(values[1])
    if name not in LAB_METRICS.get(namespace, ()):
        return False
    pairs = values[2:]
    dimensions = {str(pairs[i]): str(pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)}
    if namespace == "AWS/X-Ray":
        return dimensions.get("GroupName") in XRAY_GROUPS
    key, own = (
        ("LoadBalancer", outputs.get("LoadBalancerFullName"))
        if namespace == "AWS/ApplicationELB"
        else ("ClusterName", outputs.get("EcsClusterName"))
    )
    return key in dimensions and (not own or dimensions[key] == own)


def without_lab_metrics(
    body: dict[str, Any], region: str, default_region: str, outputs: dict[str, str]
) -> tuple[dict[str, Any], list[str], int]:
    """The body with step 5's metrics taken out: a widget holding only those goes, a widget
    that also holds others keeps them (written out in full, since a shorthand may have pointed
    at a removed row). Returns the new body, the titles of the widgets removed and how many
    metrics were taken out of kept widgets."""
    kept: list[Any] = []
    removed: list[str] = []
    inside = 0
    for widget in body.get("widgets", []):
        properties = widget.get("properties", {}) if isinstance(widget, dict) else {}
        rows = properties.get("metrics") if isinstance(properties, dict) else None
        if not isinstance(rows, list) or not rows:
            kept.append(widget)
            continue
        widget_region = str(properties.get("region", default_region))
        expanded = list(expand_rows(rows))
        lab = [is_lab_metric(v, o, widget_region, region, outputs) for v, o in expanded]
        if not any(lab):
            kept.append(widget)
        elif all(lab) and len(expanded) == len(rows):
            removed.append(str(properties.get("title") or "untitled widget"))
        else:
            # Rows that are not metrics (math expressions) are kept as they were.
            others = [r for r in rows if not (isinstance(r, list) and _has_metric(r))]
            remaining = [
                [*values, options] if options else values
                for (values, options), is_lab in zip(expanded, lab, strict=True)
                if not is_lab
            ]
            inside += sum(lab)
            kept.append({**widget, "properties": {**properties, "metrics": remaining + others}})
    return {**body, "widgets": kept}, removed, inside


def _has_metric(row: list[Any]) -> bool:
    return bool(row[:-1] if row and isinstance(row[-1], dict) else row)


def secondary_widgets(region: str, outputs: dict[str, str]) -> list[dict[str, Any]]:
    """The secondary region's widgets, each metric labelled with its region."""
    alb, cluster = outputs["LoadBalancerFullName"], outputs["EcsClusterName"]
    here = {"region": region}

    def labelled(text: str) -> dict[str, str]:
        return {**here, "label": f"{region} {text}"}

    return [
        {
            "type": "metric",
            "x": 0,
            "y": 18,
            "width": 12,
            "height": 6,
            "properties": {
                "title": f"{region} ALB Requests Per Minute",
                "view": "timeSeries",
                "stacked": True,
                "region": region,
                "stat": "Sum",
                "period": 60,
                "metrics": [
                    ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb, labelled("ALB")]
                ],
            },
        },
        {
            "type": "metric",
            "x": 12,
            "y": 18,
            "width": 12,
            "height": 6,
            "properties": {
                "title": f"{region} ALB HTTP Responses",
                "view": "timeSeries",
                "region": region,
                "stat": "Sum",
                "period": 60,
                "metrics": [
                    [
                        "AWS/ApplicationELB",
                        f"HTTPCode_Target_{code}_Count",
                        "LoadBalancer",
                        alb,
                        labelled(code),
                    ]
                    for code in ("2XX", "4XX", "5XX")
                ],
            },
        },
        *[
            {
                "type": "metric",
                "x": 6 * index,
                "y": 24,
                "width": 6,
                "height": 6,
                "properties": {
                    "title": f"{region} {kind} Service Metrics",
                    "view": "singleValue",
                    "region": region,
                    "stat": "Average",
                    "period": 60,
                    "metrics": [
                        [
                            "AWS/ECS",
                            "CPUUtilization",
                            "ServiceName",
                            outputs[f"{kind}EcsServiceName"],
                            "ClusterName",
                            cluster,
                            here,
                        ],
                        [
                            "AWS/ECS",
                            "MemoryUtilization",
                            "ServiceName",
                            outputs[f"{kind}EcsServiceName"],
                            "ClusterName",
                            cluster,
                            here,
                        ],
                    ],
                },
            }
            for index, kind in enumerate(("Core", "Like"))
        ],
        {
            "type": "metric",
            "x": 12,
            "y": 24,
            "width": 12,
            "height": 6,
            "properties": {
                "title": f"{region} X-Ray Errors and Faults",
                "view": "timeSeries",
                "stacked": True,
                "region": region,
                "stat": "Sum",
                "period": 300,
                "metrics": [
                    [
                        "AWS/X-Ray",
                        "ApproximateTraceCount",
                        "GroupName",
                        "like-service-errors-faults",
                        labelled("errors and faults"),
                    ]
                ],
            },
        },
    ]


@TASKS.implement("dashboard.solve")
def solve_dashboard(ctx: TaskContext) -> list[Action]:
    region, name = ctx.secondary_region, ctx.param("dashboard")
    xray = ctx.client("xray", region)
    actions = []
    for group, expression in XRAY_GROUPS.items():

        def ensure(group: str = group, expression: str = expression) -> str:
            from botocore.exceptions import ClientError

            current = _groups(ctx).get(group)
            if current is None:
                try:
                    xray.create_group(GroupName=group, FilterExpression=expression)
                    return f"created the X-Ray group {group}"
                except ClientError:
                    # "Group ... already exists": a retried create that AWS had applied, or
                    # another solve at the same time; what it holds is judged below.
                    current = _groups(ctx).get(group)
                    if current is None:
                        raise
            if _normalise(current) != _normalise(expression):
                xray.update_group(GroupName=group, FilterExpression=expression)
                return f"corrected the filter of the X-Ray group {group}"
            return ""

        actions.append(Action(region, f"X-Ray group {group}", "create", ensure))

    def widgets() -> str:
        from mmtui.exitcodes import ExitCode, MmtuiError

        outputs = _outputs(_stack(ctx, "secondary"))
        if "LoadBalancerFullName" not in outputs:
            raise MmtuiError(
                f"the dashboard needs {ctx.param('secondary_stack')} (step 1) first",
                ExitCode.CHECK_FAILED,
            )
        body = _dashboard_body(ctx)
        if body is None:
            raise MmtuiError(
                f"there is no dashboard {name} in {ctx.primary_region} (Lab 2 makes it)",
                ExitCode.CHECK_FAILED,
            )
        stripped, _, _ = without_lab_metrics(body, region, ctx.primary_region, outputs)
        wanted = {**stripped, "widgets": stripped["widgets"] + secondary_widgets(region, outputs)}
        if wanted == body:
            return ""
        ctx.client("cloudwatch", ctx.primary_region).put_dashboard(
            DashboardName=name, DashboardBody=json.dumps(wanted)
        )
        return f"added {region}'s widgets to {name}"

    actions.append(
        Action(ctx.primary_region, f"dashboard {name}", f"add {region}'s widgets", widgets)
    )
    return actions


@TASKS.implement("dashboard.reset")
def reset_dashboard(ctx: TaskContext) -> list[Action]:
    region, name = ctx.secondary_region, ctx.param("dashboard")
    existing = _groups(ctx)
    actions = [
        Action(region, f"X-Ray group {group}", "delete", partial(_delete_group, ctx, group))
        for group in XRAY_GROUPS
        if group in existing
    ]
    outputs = _outputs(_stack(ctx, "secondary"))
    body = _dashboard_body(ctx)
    if (
        body is not None
        and without_lab_metrics(body, region, ctx.primary_region, outputs)[0] != body
    ):

        def remove() -> str:
            current = _dashboard_body(ctx)
            if current is None:
                return ""
            wanted, widgets, inside = without_lab_metrics(
                current, region, ctx.primary_region, outputs
            )
            if wanted == current:
                return ""
            ctx.client("cloudwatch", ctx.primary_region).put_dashboard(
                DashboardName=name, DashboardBody=json.dumps(wanted)
            )
            parts = []
            if widgets:
                parts.append(f"the widgets {describe(widgets)}")
            if inside:
                parts.append(
                    f"{inside} {region} metric{'s' if inside > 1 else ''} from other widgets"
                )
            return f"removed {' and '.join(parts)} from {name}"

        actions.append(
            Action(ctx.primary_region, f"dashboard {name}", f"remove {region}'s metrics", remove)
        )
    return actions


def _delete_group(ctx: TaskContext, group: str) -> str:
    from botocore.exceptions import ClientError

    try:
        ctx.client("xray", ctx.secondary_region).delete_group(GroupName=group)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidRequestException":
            return ""  # already gone
        raise
    return f"deleted the X-Ray group {group}"


BUILDSPEC = "buildspec_prod.yml"


RUNNING = ("InProgress", "Stopping")


def _latest_execution(ctx: TaskContext, pipeline: str) -> dict[str, Any] | None:
    runs = (
        ctx.client("codepipeline", ctx.primary_region)
        .list_pipeline_executions(pipelineName=pipeline, maxResults=1)
        .get("pipelineExecutionSummaries", [])
    )
    return dict(runs[0]) if runs else None


def _execution_of(ctx: TaskContext, pipeline: str, commit: str) -> dict[str, Any] | None:
    """The newest run of `pipeline` whose source is `commit` (None: none has read it yet; a
    run's source revisions appear once its Source action has run)."""
    runs = (
        ctx.client("codepipeline", ctx.primary_region)
        .list_pipeline_executions(pipelineName=pipeline, maxResults=20)
        .get("pipelineExecutionSummaries", [])
    )
    for run in runs:
        if any(r.get("revisionId") == commit for r in run.get("sourceRevisions") or []):
            return dict(run)
    return None


def _stages(ctx: TaskContext, pipeline: str, execution: str | None = None) -> str:
    """One line of the pipeline's stages, for the live log: the status each stage has in
    `execution` (a stage that run has not reached yet shows `-`, not an older run's status)."""
    state = ctx.client("codepipeline", ctx.primary_region).get_pipeline_state(name=pipeline)
    parts = []
    for stage in state.get("stageStates", []):
        latest = stage.get("latestExecution") or {}
        same = execution is None or latest.get("pipelineExecutionId") == execution
        parts.append(f"{stage['stageName']} {latest.get('status', '-') if same else '-'}")
    return f"{pipeline}: " + " → ".join(parts)


def _source_action(ctx: TaskContext, pipeline: str) -> dict[str, str]:
    """The configuration of the pipeline's CodeCommit source action (RepositoryName, BranchName)."""
    definition = ctx.client("codepipeline", ctx.primary_region).get_pipeline(name=pipeline)[
        "pipeline"
    ]
    for stage in definition["stages"]:
        for action in stage["actions"]:
            if action["actionTypeId"]["provider"] == "CodeCommit":
                return {k: str(v) for k, v in action["configuration"].items()}
    raise KeyError(pipeline)


def _source_repository(ctx: TaskContext, pipeline: str) -> str:
    """The repository the pipeline builds; refused when it builds another branch than the one
    mmtui pushes to."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.gitops.repository import BRANCH

    source = _source_action(ctx, pipeline)
    branch = source.get("BranchName", BRANCH)
    if branch != BRANCH:
        raise MmtuiError(
            f"{pipeline} builds branch {branch} of {source['RepositoryName']}; "
            f"step 4 pushes to {BRANCH}: change the buildspec there by hand",
            ExitCode.USAGE,
        )
    return source["RepositoryName"]


def _clone(ctx: TaskContext, repository: str) -> Any:
    """The attendee's clone of `repository`, checked to be a clone of it, and fetched."""
    from mmtui.exitcodes import MmtuiError
    from mmtui.gitops.repository import fetch, open_clone, refuse_other_origin

    workspace = ctx.checks.connection.workspace
    if workspace is None:
        raise MmtuiError(
            "step 4 edits your clones of the service repositories: give "
            "--workspace DIR (or set MMTUI_WORKSPACE)"
        )
    metadata = ctx.client("codecommit", ctx.primary_region).get_repository(
        repositoryName=repository
    )["repositoryMetadata"]
    urls = [str(metadata.get(k) or "") for k in ("cloneUrlHttp", "cloneUrlSsh")]
    repo = open_clone(workspace, repository, urls[0])
    refuse_other_origin(repo, repository, urls)
    fetch(repo)
    return repo


def _build_image(ctx: TaskContext, pipeline: str) -> str | None:
    """The image of the CodeBuild project the pipeline's build action runs (None: no such
    action or project)."""
    definition = ctx.client("codepipeline", ctx.primary_region).get_pipeline(name=pipeline)[
        "pipeline"
    ]
    projects = [
        str(a["configuration"]["ProjectName"])
        for s in definition["stages"]
        for a in s["actions"]
        if a["actionTypeId"]["provider"] == "CodeBuild" and "ProjectName" in a["configuration"]
    ]
    if not projects:
        return None
    found = ctx.client("codebuild", ctx.primary_region).batch_get_projects(names=projects[:1])
    for project in found.get("projects", []):
        return str((project.get("environment") or {}).get("image") or "") or None
    return None


def _deploys_to(ctx: TaskContext, pipeline: str, region: str) -> bool:
    """The pipeline has an action running in `region` (the stage step 3 adds, by any name)."""
    definition = ctx.client("codepipeline", ctx.primary_region).get_pipeline(name=pipeline)[
        "pipeline"
    ]
    return any(
        (a.get("region") or ctx.primary_region) == region
        for s in definition["stages"]
        for a in s["actions"]
    )


def _run_status(ctx: TaskContext, pipeline: str, execution: str) -> str:
    return str(
        ctx.client("codepipeline", ctx.primary_region)
        .get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution)[
            "pipelineExecution"
        ]
        .get("status", "")
    )


def _deployed_everywhere(ctx: TaskContext, pipeline: str, head: str, runs: dict[str, str]) -> str:
    """Whether the pipeline's stage in the secondary region last deployed `head`, the remote's
    commit; if not, a run that does is started (or the one under way is noted in `runs`,
    pipeline → execution, to follow). Returns what was done.

    This finishes a step solved out of order: the buildspec pushed before step 3 added the
    cross-region stage is done on the remote, yet nothing was ever deployed there. A deploy
    that predates the secondary stack (step 1 reset and solved again since) went to services
    and registries that no longer exist: the new ones run the template's placeholder image, so
    that deploy does not count either."""
    client = ctx.client("codepipeline", ctx.primary_region)
    secondary = ctx.secondary_region
    created = (_stack(ctx, "secondary") or {}).get("CreationTime")
    definition = client.get_pipeline(name=pipeline)["pipeline"]
    stages = {
        s["name"]
        for s in definition["stages"]
        if any((a.get("region") or ctx.primary_region) == secondary for a in s["actions"])
    }
    if not stages:
        return ""  # no stage deploys there (step 3): a run would change nothing
    latest = _latest_execution(ctx, pipeline) or {}
    if latest.get("status") in RUNNING and any(
        r.get("revisionId") == head for r in latest.get("sourceRevisions") or []
    ):
        runs[pipeline] = str(latest["pipelineExecutionId"])
        return ""
    state = client.get_pipeline_state(name=pipeline)
    done = True
    for stage in state.get("stageStates", []):
        if stage["stageName"] not in stages:
            continue
        last = stage.get("latestExecution") or {}
        if created is not None and any(
            (a.get("latestExecution") or {}).get("lastStatusChange", created) < created
            for a in stage.get("actionStates", [])
        ):
            done = False  # deployed to the secondary stack step 1 has replaced since
            continue
        revisions = (
            client.get_pipeline_execution(
                pipelineName=pipeline, pipelineExecutionId=last["pipelineExecutionId"]
            )["pipelineExecution"].get("artifactRevisions", [])
            if last.get("status") == "Succeeded"
            else []
        )
        done = done and any(r.get("revisionId") == head for r in revisions)
    if done:
        return ""
    runs[pipeline] = str(client.start_pipeline_execution(name=pipeline)["pipelineExecutionId"])
    return f"started {pipeline} again: its last run did not deploy {head[:8]} to {secondary}"


def _follow_runs(ctx: TaskContext, runs: dict[str, str]) -> None:
    """Wait for runs known by their execution id (pipeline → execution); fail if one fails."""
    from mmtui.exitcodes import ExitCode, MmtuiError

    for pipeline, execution in runs.items():

        def over(pipeline: str = pipeline, execution: str = execution) -> bool:
            return _run_status(ctx, pipeline, execution) not in RUNNING

        ctx.wait(
            f"{pipeline} to build and deploy", over, partial(_stages, ctx, pipeline, execution)
        )
        status = _run_status(ctx, pipeline, execution)
        if status != "Succeeded":
            raise MmtuiError(
                f"{pipeline} ended {status}; `aws codepipeline get-pipeline-state --name "
                f"{pipeline}` shows why",
                ExitCode.CHECK_FAILED,
            )


def _follow(ctx: TaskContext, pushed: dict[str, str], must_succeed: bool = True) -> None:
    """Wait for the run of each pipeline that builds the commit we pushed (pipeline → commit):
    not merely "a new run", which may be someone else's, or never come."""
    from mmtui.exitcodes import ExitCode, MmtuiError

    for pipeline, commit in pushed.items():

        def finished(pipeline: str = pipeline, commit: str = commit) -> bool:
            run = _execution_of(ctx, pipeline, commit)
            return run is not None and run.get("status") not in RUNNING

        def progress(pipeline: str = pipeline, commit: str = commit) -> str:
            run = _execution_of(ctx, pipeline, commit)
            if run is None:
                return f"{pipeline}: waiting for a run of {commit[:8]} to start"
            return _stages(ctx, pipeline, str(run.get("pipelineExecutionId")))

        ctx.wait(f"{pipeline} to build and deploy {commit[:8]}", finished, progress)
        status = (_execution_of(ctx, pipeline, commit) or {}).get("status")
        if status != "Succeeded":
            message = (
                f"{pipeline} ended {status} for {commit[:8]}; `aws codepipeline "
                f"get-pipeline-state --name {pipeline}` shows why"
            )
            if must_succeed:
                raise MmtuiError(message, ExitCode.CHECK_FAILED)
            ctx.log(message)


def _buildspec_change(ctx: TaskContext, kind: str, repository: str) -> FileChange:
    """What the finished buildspec would change on the remote master of `repository` (the
    attendee's clone is fetched first; its own state is not what the pipeline builds).

    A buildspec on the remote that already does all step 4 asks (finished by hand, or by the
    workshop's own script) and logs in the way the build image can is left as it is."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.gitops.build_images import login_style, unsupported_logins
    from mmtui.gitops.buildspecs import SERVICES, BuildspecValues, render_buildspec
    from mmtui.gitops.repository import FileChange, remote_text
    from mmtui.labs.lab3.buildspec import missing_pieces

    primary = _outputs(_stack(ctx, "primary"))
    secondary = _outputs(_stack(ctx, "secondary"))
    if f"Secondary{kind}ServiceEcrRepo" not in secondary:
        raise MmtuiError(
            f"the buildspecs need {ctx.param('secondary_stack')} (step 1) first",
            ExitCode.CHECK_FAILED,
        )
    repo = _clone(ctx, repository)
    current = remote_text(repo, BUILDSPEC)
    pipeline = _pipelines(ctx)[kind]
    image = _build_image(ctx, pipeline)
    secondary_uri = secondary[f"Secondary{kind}ServiceEcrRepo"]
    container = SERVICES[kind.lower()]
    if not missing_pieces(
        current, container, secondary_uri, ctx.secondary_region
    ) and not unsupported_logins(image, current):
        return FileChange(repo, BUILDSPEC, current, current)
    values = BuildspecValues(
        primary[f"{kind}ServiceEcrRepo"],
        secondary_uri,
        ctx.secondary_region,
        login_style(image, current),
    )
    return FileChange(repo, BUILDSPEC, current, render_buildspec(kind.lower(), values))


def buildspec_changes(ctx: TaskContext) -> list[tuple[str, FileChange]]:
    """Step 4's changes, before anything is committed: (repository, change) per service.

    The guide shows these diffs and asks before the solve commits and pushes them. The clones
    are fetched from the remote, so git signs as the target here too, like the solve's own
    actions (`step_actions`)."""
    from mmtui.gitops.repository import aws_identity_for_git

    changes = []
    with aws_identity_for_git(git_identity(ctx)):
        for kind, pipeline in sorted(_pipelines(ctx).items()):
            repository = _source_repository(ctx, pipeline)
            changes.append((repository, _buildspec_change(ctx, kind, repository)))
    return changes


def _outcome(ctx: TaskContext, pipelines: list[str]) -> str:
    """What the followed runs did, as it is: both regions only where a stage deploys there."""
    primary, secondary = ctx.primary_region, ctx.secondary_region
    names = " and ".join(pipelines)
    if all(_deploys_to(ctx, p, secondary) for p in pipelines):
        return f"{names} built, pushed to the registries of both regions and deployed to both"
    return (
        f"{names} built and pushed to the registries of both regions, but deployed only in "
        f"{primary}: no stage deploys to {secondary} yet (step 3)"
    )


@TASKS.implement("build_artifacts.solve")
def solve_build_artifacts(ctx: TaskContext) -> list[Action]:
    from mmtui.gitops.repository import commit_and_push, remote_head

    pipelines = _pipelines(ctx)
    pushed: dict[str, str] = {}
    released: dict[str, str] = {}
    actions = []
    for kind, pipeline in sorted(pipelines.items()):
        repository = _source_repository(ctx, pipeline)

        def push(kind: str = kind, pipeline: str = pipeline, repository: str = repository) -> str:
            change = _buildspec_change(ctx, kind, repository)
            if not change.needed:
                return _deployed_everywhere(ctx, pipeline, remote_head(change.repo), released)
            if not _deploys_to(ctx, pipeline, ctx.secondary_region):
                ctx.log(
                    f"{pipeline} has no stage deploying to {ctx.secondary_region} (step 3 is "
                    f"not done): its run will push the image to both registries and deploy it "
                    f"only in {ctx.primary_region}"
                )
            for line in change.diff().splitlines():
                ctx.log(f"  {line}")
            commit = commit_and_push(
                change, f"Updating {kind.lower()} buildspec for multi-region deploy"
            )
            if not commit:  # the remote already had it: no push, so no run of ours to wait for
                return _deployed_everywhere(ctx, pipeline, remote_head(change.repo), released)
            pushed[pipeline] = commit
            return f"pushed {commit[:8]} to {repository} (master)"

        actions.append(
            Action(
                ctx.primary_region,
                f"{BUILDSPEC} of {repository}",
                "commit and push the finished",
                push,
            )
        )

    def follow() -> str:
        if not pushed and not released:
            return ""
        _follow(ctx, pushed)
        _follow_runs(ctx, released)
        return _outcome(ctx, sorted({*pushed, *released}))

    actions.append(Action(ctx.primary_region, "the pipelines", "follow until deployed", follow))
    return actions


def _primary_only_version(repo: Any, region: str) -> tuple[str, str] | None:
    """(commit, text) of the newest buildspec on the remote's master that pushes nothing to
    `region`'s registries: what the repository held before step 4 (by mmtui or by hand)."""
    from mmtui.gitops.repository import remote_versions
    from mmtui.labs.lab3.buildspec import pushes_to_region

    for commit, text in remote_versions(repo, BUILDSPEC):
        if text and not pushes_to_region(text, region):
            return commit, text
    return None


@TASKS.implement("build_artifacts.reset")
def reset_build_artifacts(ctx: TaskContext) -> list[Action]:
    """Judged from the remote: a buildspec on master that pushes to the secondary registries
    (mmtui's or finished by hand) goes back to its newest version that does not, with a new
    commit, so the primary pipeline still builds once step 1's reset deletes those registries."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.gitops.repository import FileChange, commit_and_push, remote_text
    from mmtui.labs.lab3.buildspec import pushes_to_region

    secondary = ctx.secondary_region
    actions = []
    pushed: dict[str, str] = {}
    for _kind, pipeline in sorted(_pipelines(ctx).items()):
        repository = _source_repository(ctx, pipeline)
        repo = _clone(ctx, repository)
        if not pushes_to_region(remote_text(repo, BUILDSPEC), secondary):
            continue
        found = _primary_only_version(repo, secondary)
        if found is None:
            raise MmtuiError(
                f"{BUILDSPEC} of {repository} has pushed to {secondary} in every version on "
                f"master; mmtui has nothing to go back to: remove the {secondary} lines by hand",
                ExitCode.USAGE,
            )
        origin, text = found

        def revert(
            repo: Any = repo,
            repository: str = repository,
            pipeline: str = pipeline,
            origin: str = origin,
            text: str = text,
        ) -> str:
            change = FileChange(repo, BUILDSPEC, remote_text(repo, BUILDSPEC), text)
            commit = commit_and_push(
                change,
                f"Revert {BUILDSPEC} to {origin[:8]}: push images to {ctx.primary_region} only",
            )
            if not commit:
                return ""
            pushed[pipeline] = commit
            return f"reverted {BUILDSPEC} of {repository} to {origin[:8]} (pushed {commit[:8]})"

        actions.append(
            Action(
                ctx.primary_region,
                f"{BUILDSPEC} of {repository} to {origin[:8]}, which pushes to "
                f"{ctx.primary_region} only",
                "revert",
                revert,
            )
        )
    if actions:
        # The revert is a push: the pipelines run again; wait so the lab ends at rest.
        def follow() -> str:
            _follow(ctx, pushed, must_succeed=False)
            return ""

        actions.append(Action(ctx.primary_region, "the pipelines", "follow the rebuild of", follow))
    return actions
