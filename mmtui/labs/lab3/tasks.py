"""Solves and resets of Lab 3, as registered tasks (see mmtui/engine/tasks.py).

Each solve action looks before it acts and does nothing when its part is done, so solving twice
changes nothing. Each reset plans from what exists now and touches only what the lab creates.
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from mmtui.engine.registry import TASKS
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.lab3.checks import XRAY_GROUPS, _normalise
from mmtui.labs.lab3.facts import service_pipelines, stack_missing

if TYPE_CHECKING:
    from mmtui.gitops.repository import FileChange

CAPABILITIES = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
COMPLETE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


def _stack(ctx: TaskContext, which: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    region = ctx.primary_region if which == "primary" else ctx.secondary_region
    try:
        stacks = ctx.client("cloudformation", region).describe_stacks(
            StackName=ctx.param(f"{which}_stack")
        )["Stacks"]
    except ClientError as exc:
        if stack_missing(exc):
            return None
        raise
    return dict(stacks[0]) if stacks else None


def _outputs(stack: dict[str, Any] | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}


# ---------------------------------------------------------------------- step 1


@TASKS.implement("infrastructure.solve")
def solve_infrastructure(ctx: TaskContext) -> list[Action]:
    name, region = ctx.param("secondary_stack"), ctx.secondary_region

    def deploy() -> str:
        from mmtui.exitcodes import ExitCode, MmtuiError

        current = _stack(ctx, "secondary")
        parameters = {
            p["ParameterKey"]: p.get("ParameterValue")
            for p in (current or {}).get("Parameters", [])
        }
        if (
            current
            and current["StackStatus"] in COMPLETE
            and parameters.get("IsSecondary") == "true"
        ):
            return ""
        # The primary stack's own template: the secondary is built from exactly the same code.
        template = ctx.client("cloudformation", ctx.primary_region).get_template(
            StackName=ctx.param("primary_stack")
        )["TemplateBody"]
        body = template if isinstance(template, str) else json.dumps(template)
        cloudformation = ctx.client("cloudformation", region)
        change_set = cloudformation.create_change_set(
            StackName=name,
            ChangeSetName=f"mmtui-{int(time.time())}",
            ChangeSetType="UPDATE" if current else "CREATE",
            TemplateBody=body,
            Parameters=[{"ParameterKey": "IsSecondary", "ParameterValue": "true"}],
            Capabilities=CAPABILITIES,
        )
        change_set_id = change_set["Id"]

        def created() -> bool:
            status = cloudformation.describe_change_set(ChangeSetName=change_set_id)
            return status["Status"] in ("CREATE_COMPLETE", "FAILED")

        ctx.wait(f"the change set of {name}", created)
        described = cloudformation.describe_change_set(ChangeSetName=change_set_id)
        if described["Status"] == "FAILED":
            if "didn't contain changes" in described.get("StatusReason", ""):
                return ""
            raise MmtuiError(
                f"the change set of {name} failed: {described.get('StatusReason')}",
                ExitCode.AWS_ERROR,
            )
        cloudformation.execute_change_set(ChangeSetName=change_set_id)
        seen: set[str] = set()

        def finished() -> bool:
            for event in reversed(
                cloudformation.describe_stack_events(StackName=name)["StackEvents"]
            ):
                if event["EventId"] not in seen:
                    seen.add(event["EventId"])
                    ctx.log(f"{region}: {event['LogicalResourceId']} {event['ResourceStatus']}")
            status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
            return not status.endswith("_IN_PROGRESS")

        ctx.wait(f"{name} to be deployed", finished)
        status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if status not in COMPLETE:
            raise MmtuiError(f"{name} ended {status}", ExitCode.AWS_ERROR)
        return f"deployed {name} with IsSecondary=true"

    return [Action(region, f"stack {name}", "deploy (IsSecondary=true)", deploy)]


@TASKS.implement("infrastructure.reset")
def reset_infrastructure(ctx: TaskContext) -> list[Action]:
    stack = _stack(ctx, "secondary")
    if stack is None:
        return []
    name, region = ctx.param("secondary_stack"), ctx.secondary_region
    outputs = _outputs(stack)
    actions = []
    for key in ("SecondaryCoreServiceEcrRepo", "SecondaryLikeServiceEcrRepo"):
        repository = outputs.get(key, "").split("/", 1)[-1]
        if repository:
            actions.append(
                Action(
                    region,
                    f"repository {repository}",
                    "empty",
                    partial(_empty_repository, ctx, region, repository),
                )
            )

    def delete() -> str:
        from botocore.exceptions import ClientError

        cloudformation = ctx.client("cloudformation", region)
        cloudformation.delete_stack(StackName=name)

        def gone() -> bool:
            try:
                status = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
            except ClientError as exc:
                if stack_missing(exc):
                    return True
                raise
            return bool(status == "DELETE_COMPLETE")

        ctx.wait(f"{name} to be deleted", gone)
        return f"deleted {name}"

    actions.append(Action(region, f"stack {name}", "delete", delete))
    return actions


def _empty_repository(ctx: TaskContext, region: str, repository: str) -> str:
    from botocore.exceptions import ClientError

    ecr = ctx.client("ecr", region)
    try:
        images = [
            i
            for page in ecr.get_paginator("list_images").paginate(repositoryName=repository)
            for i in page.get("imageIds", [])
        ]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "RepositoryNotFoundException":
            return ""
        raise
    for start in range(0, len(images), 100):
        ecr.batch_delete_image(repositoryName=repository, imageIds=images[start : start + 100])
    return f"deleted {len(images)} images from {repository}" if images else ""


# ---------------------------------------------------------------------- step 2


def _table(ctx: TaskContext) -> dict[str, Any]:
    table: dict[str, Any] = ctx.client("dynamodb", ctx.primary_region).describe_table(
        TableName=ctx.param("table")
    )["Table"]
    return table


def _replica_status(ctx: TaskContext, region: str | None = None) -> str | None:
    """The status of the table's replica in `region` (the secondary by default), None if none."""
    replicas = {r["RegionName"]: r.get("ReplicaStatus") for r in _table(ctx).get("Replicas", [])}
    return replicas.get(region or ctx.secondary_region)


STREAM_VIEW = "NEW_AND_OLD_IMAGES"
"""What global tables replicate from: the item before and after each change."""


def _wait_table_active(ctx: TaskContext) -> None:
    ctx.wait(f"{ctx.param('table')} to be active", lambda: _table(ctx)["TableStatus"] == "ACTIVE")


def ensure_stream(ctx: TaskContext) -> str:
    """The lab table's stream on, with new and old images; returns what it did ("" if nothing).

    A stream already on with another view type cannot be switched in place (DynamoDB answers
    "Table already has an enabled stream"): it is turned off, then on again with both images.
    """
    table = ctx.param("table")
    dynamodb = ctx.client("dynamodb", ctx.primary_region)
    spec = _table(ctx).get("StreamSpecification") or {}
    if spec.get("StreamEnabled") and spec.get("StreamViewType") == STREAM_VIEW:
        return ""
    done = ""
    if spec.get("StreamEnabled"):
        dynamodb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
        _wait_table_active(ctx)
        done = f"turned off the {spec.get('StreamViewType')} stream of {table}, then "
    dynamodb.update_table(
        TableName=table,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW},
    )
    _wait_table_active(ctx)
    return f"{done}enabled the stream of {table} (new and old images)"


def ensure_replica(ctx: TaskContext, region: str, *, wait: bool = True) -> str:
    """A replica of the lab table in `region`, created if missing; with `wait`, until ACTIVE.

    Returns what it did ("" when the replica was already there).
    """
    table = ctx.param("table")
    added = ""
    if _replica_status(ctx, region) is None:
        # DynamoDB takes one change at a time: a table still UPDATING (its stream being
        # enabled) refuses the replica, which is why the console tells attendees to retry.
        _wait_table_active(ctx)
        ctx.client("dynamodb", ctx.primary_region).update_table(
            TableName=table, ReplicaUpdates=[{"Create": {"RegionName": region}}]
        )
        added = f"added a replica of {table} in {region}"
    if wait:
        ctx.wait(
            f"the replica in {region} to be active",
            lambda: _replica_status(ctx, region) == "ACTIVE",
            lambda: f"replica in {region}: {_replica_status(ctx, region) or 'not listed yet'}",
        )
    return added


@TASKS.implement("data_tier.solve")
def solve_data_tier(ctx: TaskContext) -> list[Action]:
    table, primary, secondary = ctx.param("table"), ctx.primary_region, ctx.secondary_region
    return [
        Action(
            primary,
            f"table {table}",
            f"enable stream ({STREAM_VIEW})",
            partial(ensure_stream, ctx),
        ),
        Action(
            secondary,
            f"replica of {table}",
            "create and wait until ACTIVE",
            partial(ensure_replica, ctx, secondary),
        ),
    ]


@TASKS.implement("data_tier.reset")
def reset_data_tier(ctx: TaskContext) -> list[Action]:
    table, primary, secondary = ctx.param("table"), ctx.primary_region, ctx.secondary_region
    dynamodb = ctx.client("dynamodb", primary)
    actions = []
    if _replica_status(ctx) is not None:

        def remove() -> str:
            if _replica_status(ctx) is None:
                return ""
            dynamodb.update_table(
                TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": secondary}}]
            )
            ctx.wait(
                f"the replica in {secondary} to be removed",
                lambda: _replica_status(ctx) is None and _table(ctx)["TableStatus"] == "ACTIVE",
            )
            return f"removed the replica of {table} in {secondary}"

        actions.append(Action(secondary, f"replica of {table}", "delete and wait", remove))
    if (_table(ctx).get("StreamSpecification") or {}).get("StreamEnabled"):

        def stream_off() -> str:
            dynamodb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
            return f"turned off the stream of {table}"

        actions.append(Action(primary, f"table {table}", "disable stream", stream_off))
    return actions


# ---------------------------------------------------------------------- step 5


def _groups(ctx: TaskContext) -> dict[str, str]:
    groups = ctx.client("xray", ctx.secondary_region).get_groups().get("Groups", [])
    return {g["GroupName"]: g.get("FilterExpression", "") for g in groups}


def _dashboard_body(ctx: TaskContext) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        ctx.client("cloudwatch", ctx.primary_region).get_dashboard(
            DashboardName=ctx.param("dashboard")
        )["DashboardBody"]
    )
    return body


def _is_secondary_widget(widget: dict[str, Any], region: str) -> bool:
    """A widget the lab adds: every metric of it is read in the secondary region."""
    properties = widget.get("properties", {})
    rows = properties.get("metrics", [])

    def metric_region(row: list[Any]) -> Any:
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        return options.get("region", properties.get("region"))

    return bool(rows) and all(metric_region(row) == region for row in rows)


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
            current = _groups(ctx).get(group)
            if current is None:
                xray.create_group(GroupName=group, FilterExpression=expression)
                return f"created the X-Ray group {group}"
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
        kept = [w for w in body.get("widgets", []) if not _is_secondary_widget(w, region)]
        wanted = {**body, "widgets": kept + secondary_widgets(region, outputs)}
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
    body = _dashboard_body(ctx)
    if any(_is_secondary_widget(w, region) for w in body.get("widgets", [])):

        def remove() -> str:
            current = _dashboard_body(ctx)
            kept = [w for w in current.get("widgets", []) if not _is_secondary_widget(w, region)]
            ctx.client("cloudwatch", ctx.primary_region).put_dashboard(
                DashboardName=name, DashboardBody=json.dumps({**current, "widgets": kept})
            )
            return f"removed {region}'s widgets from {name}"

        actions.append(
            Action(ctx.primary_region, f"dashboard {name}", f"remove {region}'s widgets", remove)
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


# ---------------------------------------------------------------------- step 3

STAGE = "CrossRegionDeploy"
BUILD_ARTIFACT = "BuildArtifact"
IMAGE_DEFINITIONS = "imagedefinitions_secondary.json"


def _pipelines(ctx: TaskContext) -> dict[str, str]:
    """{"Core": name, "Like": name}: the service pipelines, keyed as the stack outputs are."""
    found = service_pipelines(ctx.client("codepipeline", ctx.primary_region))
    return {kind.title(): name for kind, name in found.items()}


def bucket_name(ctx: TaskContext, region: str | None = None) -> str:
    """The artifact bucket mmtui makes for a pipeline's actions in `region` (the secondary by
    default). Bucket names are global: the account and region keep it unique."""
    account = ctx.client("sts", ctx.primary_region).get_caller_identity()["Account"]
    return f"mmtui-pipeline-artifacts-{account}-{region or ctx.secondary_region}"


def _ensure_bucket(ctx: TaskContext, bucket: str, region: str) -> bool:
    """Create the artifact bucket in `region` if missing; True when it was created."""
    from botocore.exceptions import ClientError

    s3 = ctx.client("s3", region)
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    config = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=bucket, **config)
    return True


def cross_region_stage(
    region: str,
    cluster: str,
    service: str,
    *,
    stage: str = STAGE,
    action: str = STAGE,
    input_artifact: str = BUILD_ARTIFACT,
    file_name: str = IMAGE_DEFINITIONS,
) -> dict[str, Any]:
    """A stage with one Amazon ECS deploy action that runs in `region` (the lab's names by
    default; the step 3 form lets an attendee choose others)."""
    return {
        "name": stage,
        "actions": [
            {
                "name": action,
                "region": region,
                "runOrder": 1,
                "actionTypeId": {
                    "category": "Deploy",
                    "owner": "AWS",
                    "provider": "ECS",
                    "version": "1",
                },
                "inputArtifacts": [{"name": input_artifact}],
                "outputArtifacts": [],
                "configuration": {
                    "ClusterName": cluster,
                    "ServiceName": service,
                    "FileName": file_name,
                },
            }
        ],
    }


def same_stage(current: dict[str, Any], wanted: dict[str, Any], home_region: str) -> bool:
    """Equal in what matters (CodePipeline may add defaults to what it stores, and an action
    with no region runs in the pipeline's own)."""

    def essence(stage: dict[str, Any]) -> list[Any]:
        return [stage.get("name")] + [
            (
                a.get("name"),
                a.get("region") or home_region,
                a.get("actionTypeId", {}).get("category"),
                a.get("actionTypeId", {}).get("provider"),
                [i.get("name") for i in a.get("inputArtifacts", [])],
                a.get("configuration"),
            )
            for a in stage.get("actions", [])
        ]

    return essence(current) == essence(wanted)


class StageConflict(ValueError):
    """The pipeline already has a different stage of that name (and replacing was not asked)."""


def add_stage(
    ctx: TaskContext, name: str, stage: dict[str, Any], *, replace: bool = True
) -> list[str]:
    """Make `stage` the last stage of the pipeline `name`, with an artifact store in every
    region its actions run in; returns what it did (empty: nothing needed doing).

    A stage of the same name is replaced, or, with `replace=False`, refused (StageConflict)
    unless it is the same stage. A cross-region action reads its input from a bucket in its
    own region, so the pipeline switches from `artifactStore` to `artifactStores` (the two are
    exclusive) and a bucket is made where none is given, as the console does on Save. Nothing
    is updated when the pipeline already holds the same stage last and every store: applying
    twice changes nothing.
    """
    primary = ctx.primary_region
    client = ctx.client("codepipeline", primary)
    pipeline = client.get_pipeline(name=name)["pipeline"]
    stages = pipeline["stages"]
    current = next((s for s in stages if s["name"] == stage["name"]), None)
    same = current is not None and same_stage(current, stage, primary)
    if current is not None and not same and not replace:
        raise StageConflict(
            f"{name} already has a different stage named {stage['name']} "
            f"(stages: {', '.join(s['name'] for s in stages)})"
        )
    stores = dict(pipeline.get("artifactStores") or {})
    if primary not in stores and pipeline.get("artifactStore"):
        stores[primary] = pipeline["artifactStore"]
    done = []
    regions = {a.get("region") or primary for a in stage.get("actions", [])}
    for region in sorted(regions - set(stores)):
        bucket = bucket_name(ctx, region)
        if _ensure_bucket(ctx, bucket, region):
            done.append(f"created the artifact bucket {bucket}")
        stores[region] = {"type": "S3", "location": bucket}
    if same and stages[-1] is current and pipeline.get("artifactStores") == stores:
        return done
    wanted = {
        **pipeline,
        "stages": [*(s for s in stages if s["name"] != stage["name"]), stage],
        "artifactStores": stores,
    }
    wanted.pop("artifactStore", None)
    client.update_pipeline(pipeline=wanted)
    return [*done, f"added the {stage['name']} stage to {name}"]


@TASKS.implement("pipeline.solve")
def solve_pipeline(ctx: TaskContext) -> list[Action]:
    from mmtui.exitcodes import ExitCode, MmtuiError

    region = ctx.secondary_region
    actions = []
    for kind, name in sorted(_pipelines(ctx).items()):

        def add(kind: str = kind, name: str = name) -> str:
            outputs = _outputs(_stack(ctx, "secondary"))
            if "EcsClusterName" not in outputs:
                raise MmtuiError(
                    f"the pipelines need {ctx.param('secondary_stack')} (step 1) first",
                    ExitCode.CHECK_FAILED,
                )
            stage = cross_region_stage(
                region, outputs["EcsClusterName"], outputs[f"{kind}EcsServiceName"]
            )
            return "; ".join(add_stage(ctx, name, stage))

        actions.append(
            Action(ctx.primary_region, f"pipeline {name}", f"add stage {STAGE} ({region})", add)
        )
    return actions


def _deploys_elsewhere(stage: dict[str, Any], home_region: str) -> bool:
    """A stage with an action outside the pipeline's region: what step 3 adds, under any name.
    The Labs 0-2 pipelines have none, and without them the extra artifact stores can go."""
    return any((a.get("region") or home_region) != home_region for a in stage.get("actions", []))


@TASKS.implement("pipeline.reset")
def reset_pipeline(ctx: TaskContext) -> list[Action]:
    primary = ctx.primary_region
    client = ctx.client("codepipeline", primary)

    def added(stage: dict[str, Any]) -> bool:
        return stage["name"] == STAGE or _deploys_elsewhere(stage, primary)

    actions = []
    regions = {ctx.secondary_region}
    for name in sorted(_pipelines(ctx).values()):
        pipeline = client.get_pipeline(name=name)["pipeline"]
        regions.update(pipeline.get("artifactStores") or {})
        if not any(added(s) for s in pipeline["stages"]) and not pipeline.get("artifactStores"):
            continue

        def remove(name: str = name) -> str:
            current = client.get_pipeline(name=name)["pipeline"]
            stores = current.pop("artifactStores", None) or {}
            if primary in stores:
                current["artifactStore"] = stores[primary]
            removed = [s["name"] for s in current["stages"] if added(s)]
            current["stages"] = [s for s in current["stages"] if not added(s)]
            client.update_pipeline(pipeline=current)
            what = f"the {', '.join(removed)} stage and " if removed else ""
            return f"removed {what}the extra artifact stores of {name}"

        actions.append(Action(primary, f"pipeline {name}", f"remove stage {STAGE}", remove))
    if actions:
        for region in sorted(regions - {primary}):
            bucket = bucket_name(ctx, region)
            if not _bucket_missing(ctx, bucket, region):
                actions.append(
                    Action(
                        region,
                        f"bucket {bucket}",
                        "empty and delete",
                        partial(_delete_bucket, ctx, bucket, region),
                    )
                )
    return actions


def _bucket_missing(ctx: TaskContext, bucket: str, region: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        ctx.client("s3", region).head_bucket(Bucket=bucket)
        return False
    except ClientError:
        return True


def _delete_bucket(ctx: TaskContext, bucket: str, region: str) -> str:
    """Only a bucket named as mmtui names its own; one an attendee made by hand is left alone."""
    s3 = ctx.client("s3", region)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": o["Key"], "VersionId": o["VersionId"]}
            for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    s3.delete_bucket(Bucket=bucket)
    return f"deleted the artifact bucket {bucket}"


# ---------------------------------------------------------------------- step 4

BUILDSPEC = "buildspec_prod.yml"


def _latest_execution(ctx: TaskContext, pipeline: str) -> dict[str, Any] | None:
    runs = (
        ctx.client("codepipeline", ctx.primary_region)
        .list_pipeline_executions(pipelineName=pipeline, maxResults=1)
        .get("pipelineExecutionSummaries", [])
    )
    return dict(runs[0]) if runs else None


def _stages(ctx: TaskContext, pipeline: str) -> str:
    """One line of the pipeline's stages and their latest status, for the live log."""
    state = ctx.client("codepipeline", ctx.primary_region).get_pipeline_state(name=pipeline)
    parts = [
        f"{stage['stageName']} {stage.get('latestExecution', {}).get('status', '-')}"
        for stage in state.get("stageStates", [])
    ]
    return f"{pipeline}: " + " → ".join(parts)


def _source_repository(ctx: TaskContext, pipeline: str) -> str:
    definition = ctx.client("codepipeline", ctx.primary_region).get_pipeline(name=pipeline)[
        "pipeline"
    ]
    for stage in definition["stages"]:
        for action in stage["actions"]:
            if action["actionTypeId"]["provider"] == "CodeCommit":
                return str(action["configuration"]["RepositoryName"])
    raise KeyError(pipeline)


def _clone(ctx: TaskContext, repository: str) -> Any:
    from mmtui.exitcodes import MmtuiError
    from mmtui.gitops.repository import open_clone

    workspace = ctx.checks.connection.workspace
    if workspace is None:
        raise MmtuiError(
            "step 4 edits your clones of the service repositories: give "
            "--workspace DIR (or set MMTUI_WORKSPACE)"
        )
    url = ctx.client("codecommit", ctx.primary_region).get_repository(repositoryName=repository)[
        "repositoryMetadata"
    ]["cloneUrlHttp"]
    return open_clone(workspace, repository, url)


def _follow(ctx: TaskContext, pushed: dict[str, str], must_succeed: bool = True) -> None:
    """Wait for the runs our pushes started (pipeline → the execution before the push)."""
    from mmtui.exitcodes import ExitCode, MmtuiError

    for pipeline, previous in pushed.items():

        def finished(pipeline: str = pipeline, previous: str = previous) -> bool:
            latest = _latest_execution(ctx, pipeline) or {}
            return latest.get("pipelineExecutionId", previous) != previous and latest.get(
                "status"
            ) not in ("InProgress", "Stopping")

        ctx.wait(f"{pipeline} to build and deploy", finished, partial(_stages, ctx, pipeline))
        status = (_latest_execution(ctx, pipeline) or {}).get("status")
        if status != "Succeeded":
            message = (
                f"{pipeline} ended {status}; `aws codepipeline get-pipeline-state "
                f"--name {pipeline}` shows why"
            )
            if must_succeed:
                raise MmtuiError(message, ExitCode.CHECK_FAILED)
            ctx.log(message)


def _buildspec_change(ctx: TaskContext, kind: str, repository: str) -> FileChange:
    """What the finished buildspec would change in the attendee's clone of `repository`."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.gitops.buildspecs import BuildspecValues, render_buildspec
    from mmtui.gitops.repository import plan_change

    primary = _outputs(_stack(ctx, "primary"))
    secondary = _outputs(_stack(ctx, "secondary"))
    if f"Secondary{kind}ServiceEcrRepo" not in secondary:
        raise MmtuiError(
            f"the buildspecs need {ctx.param('secondary_stack')} (step 1) first",
            ExitCode.CHECK_FAILED,
        )
    values = BuildspecValues(
        primary[f"{kind}ServiceEcrRepo"],
        secondary[f"Secondary{kind}ServiceEcrRepo"],
        ctx.secondary_region,
    )
    return plan_change(_clone(ctx, repository), BUILDSPEC, render_buildspec(kind.lower(), values))


def buildspec_changes(ctx: TaskContext) -> list[tuple[str, FileChange]]:
    """Step 4's changes, before anything is committed: (repository, change) per service.

    The guide shows these diffs and asks before the solve commits and pushes them."""
    changes = []
    for kind, pipeline in sorted(_pipelines(ctx).items()):
        repository = _source_repository(ctx, pipeline)
        changes.append((repository, _buildspec_change(ctx, kind, repository)))
    return changes


@TASKS.implement("build_artifacts.solve")
def solve_build_artifacts(ctx: TaskContext) -> list[Action]:
    from mmtui.gitops.repository import commit_and_push

    pipelines = _pipelines(ctx)
    pushed: dict[str, str] = {}
    actions = []
    for kind, pipeline in sorted(pipelines.items()):
        repository = _source_repository(ctx, pipeline)

        def push(kind: str = kind, pipeline: str = pipeline, repository: str = repository) -> str:
            change = _buildspec_change(ctx, kind, repository)
            if not change.needed:
                return ""
            for line in change.diff().splitlines():
                ctx.log(f"  {line}")
            before = _latest_execution(ctx, pipeline)
            commit = commit_and_push(
                change, f"Updating {kind.lower()} buildspec for multi-region deploy"
            )
            pushed[pipeline] = (before or {}).get("pipelineExecutionId", "")
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
        from mmtui.labs.lab3.release import release_stale

        # Pushed nothing: the runs may still be stale (see release.py); then run them again.
        release_stale(ctx, pipelines, partial(_latest_execution, ctx), pushed)
        _follow(ctx, pushed)
        return "both pipelines built and deployed to both regions" if pushed else ""

    actions.append(Action(ctx.primary_region, "the pipelines", "follow until deployed", follow))
    return actions


@TASKS.implement("build_artifacts.reset")
def reset_build_artifacts(ctx: TaskContext) -> list[Action]:
    from mmtui.gitops.repository import our_commits, revert_ours

    actions = []
    pushed: dict[str, str] = {}
    for _kind, pipeline in sorted(_pipelines(ctx).items()):
        repository = _source_repository(ctx, pipeline)
        repo = _clone(ctx, repository)
        if our_commits(repo, BUILDSPEC):

            def revert(
                repo: Any = repo, repository: str = repository, pipeline: str = pipeline
            ) -> str:
                before = (_latest_execution(ctx, pipeline) or {}).get("pipelineExecutionId", "")
                commit = revert_ours(repo, BUILDSPEC)
                if commit:
                    pushed[pipeline] = before
                return (
                    f"reverted mmtui's {BUILDSPEC} in {repository} ({commit[:8]})" if commit else ""
                )

            actions.append(
                Action(
                    ctx.primary_region,
                    f"{BUILDSPEC} of {repository}",
                    "revert mmtui's commit of",
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


# ---------------------------------------------------------------------- checkpoint


@TASKS.implement("checkpoint.solve")
def solve_checkpoint(ctx: TaskContext) -> list[Action]:
    """Catch up: the checkpoint creates nothing itself; it needs steps 1 to 4 done."""
    return [
        *solve_infrastructure(ctx),
        *solve_data_tier(ctx),
        *solve_pipeline(ctx),
        *solve_build_artifacts(ctx),
    ]
