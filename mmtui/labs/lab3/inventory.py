"""What exists now, in both regions: the live picture behind the Lab 3 overview.

`take_inventory` reads, through read-only clients and concurrently, the lab's stacks, table,
registries, cluster and load balancer in the primary and the secondary region, and the service
pipelines and the dashboard, and returns one frozen `Inventory`. It is a picture, not a verdict
(the checks judge); drawing it is the UI's job, `render_text` is a plain fallback.

It never raises for AWS trouble: a thing that does not exist is *absent*, and an error while
reading one part (access denied, throttling, a network failure) is recorded on that part only,
so one unreadable corner never blanks the whole picture.

Names come from the stacks' outputs, as the workshop's own scripts read them: before a stack
has its outputs (absent, or still being created), its registries, cluster and load balancer
show as absent too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from mmtui.engine.context import CheckContext
from mmtui.labs.lab3.dashboards import dashboard_metrics
from mmtui.labs.lab3.facts import Lab3Facts, stack_missing
from mmtui.target.readonly import WriteRefused

Role = Literal["primary", "secondary"]
T = TypeVar("T")

MAX_WORKERS = 8
APP_CONTAINERS = ("service", "like-service")
"""The application containers of the Core and Like task definitions (beside the X-Ray one)."""
_ECR_IMAGE = re.compile(r"^\d+\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")


@dataclass(frozen=True)
class AwsError:
    """What AWS (or the network) answered instead of a description."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class StackInfo:
    name: str
    status: str | None = None
    """None: there is no such stack in this region."""
    is_secondary: str | None = None
    """The stack's IsSecondary parameter ("true" or "false")."""
    reason: str = ""
    expected: bool = True
    """False for the *other* region's stack found here: deployed in the wrong region."""
    error: AwsError | None = None

    @property
    def present(self) -> bool:
        return self.status is not None


@dataclass(frozen=True)
class ReplicaInfo:
    region: str
    status: str


@dataclass(frozen=True)
class TableInfo:
    name: str
    status: str | None = None
    """None: no table of that name in this region."""
    stream_view_type: str | None = None
    """None: no stream; else NEW_AND_OLD_IMAGES, KEYS_ONLY, ..."""
    replicas: tuple[ReplicaInfo, ...] = ()
    """The other regions of the global table, as this region describes them."""
    global_table_version: str | None = None
    error: AwsError | None = None

    @property
    def present(self) -> bool:
        return self.status is not None


@dataclass(frozen=True)
class RegistryInfo:
    name: str
    uri: str
    present: bool = True
    image_count: int = 0
    latest_tags: tuple[str, ...] = ()
    """The tags of the most recently pushed image (empty: no image, or untagged)."""
    latest_pushed_at: datetime | None = None
    error: AwsError | None = None


@dataclass(frozen=True)
class RegistriesInfo:
    items: tuple[RegistryInfo, ...] = ()
    """The lab's repositories in this region, named by the stack's outputs."""
    error: AwsError | None = None


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    status: str
    running: int
    desired: int
    pending: int
    task_definition: str
    """family:revision."""
    image: str = ""
    image_region: str | None = None
    """The region of the ECR registry the image comes from; None when not from ECR (the
    secondary stack's placeholder image, for one)."""


@dataclass(frozen=True)
class ClusterInfo:
    name: str | None = None
    """None: the stack gives no cluster (yet)."""
    status: str | None = None
    """None: absent."""
    services: tuple[ServiceInfo, ...] = ()
    error: AwsError | None = None

    @property
    def present(self) -> bool:
        return self.status is not None


@dataclass(frozen=True)
class LoadBalancerInfo:
    name: str | None = None
    dns_name: str | None = None
    """None: absent."""
    state: str | None = None
    error: AwsError | None = None

    @property
    def present(self) -> bool:
        return self.dns_name is not None


@dataclass(frozen=True)
class RegionInventory:
    region: str
    role: Role
    stacks: tuple[StackInfo, ...]
    """The stack the lab expects here first, then any of the lab's other stacks found here."""
    table: TableInfo
    registries: RegistriesInfo
    cluster: ClusterInfo
    load_balancer: LoadBalancerInfo

    @property
    def stack(self) -> StackInfo:
        """The stack the lab expects in this region."""
        return self.stacks[0]


@dataclass(frozen=True)
class ActionInfo:
    name: str
    provider: str
    region: str
    """Where the action runs (the pipeline's region unless it says otherwise)."""


@dataclass(frozen=True)
class StageInfo:
    name: str
    actions: tuple[ActionInfo, ...]
    status: str | None = None
    """The stage's status in its latest execution (Succeeded, Failed, InProgress, ...); None
    when it never ran (a stage just added)."""
    execution_id: str | None = None

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({a.region for a in self.actions}))


@dataclass(frozen=True)
class PipelineInfo:
    kind: str
    """"core" or "like"."""
    name: str
    region: str
    stages: tuple[StageInfo, ...] = ()
    artifact_store_regions: tuple[str, ...] = ()
    error: AwsError | None = None


@dataclass(frozen=True)
class PipelinesInfo:
    items: tuple[PipelineInfo, ...] = ()
    error: AwsError | None = None


@dataclass(frozen=True)
class WidgetInfo:
    title: str
    kind: str
    """metric, text, ..."""
    regions: tuple[str, ...]
    """The regions its metrics are read in (a widget may mix regions); empty for text."""


@dataclass(frozen=True)
class DashboardInfo:
    name: str
    region: str
    present: bool = False
    widgets: tuple[WidgetInfo, ...] = ()
    error: AwsError | None = None

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({r for w in self.widgets for r in w.regions}))


@dataclass(frozen=True)
class Inventory:
    primary: RegionInventory
    secondary: RegionInventory
    pipelines: PipelinesInfo
    dashboard: DashboardInfo
    taken_at: datetime = field(compare=False)
    seconds: float = field(compare=False, default=0.0)
    """How long the reads took, all parts together."""

    @property
    def regions(self) -> tuple[RegionInventory, RegionInventory]:
        return (self.primary, self.secondary)

    def errors(self) -> list[tuple[str, AwsError]]:
        """(where, error) for every part that could not be read."""
        found: list[tuple[str, AwsError | None]] = []
        for side in self.regions:
            where = f"{side.region} ({side.role})"
            found += [(f"{where} stack {s.name}", s.error) for s in side.stacks]
            found += [
                (f"{where} table {side.table.name}", side.table.error),
                (f"{where} registries", side.registries.error),
                (f"{where} cluster", side.cluster.error),
                (f"{where} load balancer", side.load_balancer.error),
            ]
            found += [(f"{where} registry {r.name}", r.error) for r in side.registries.items]
        found.append(("pipelines", self.pipelines.error))
        found += [(f"pipeline {p.name}", p.error) for p in self.pipelines.items]
        found.append((f"dashboard {self.dashboard.name}", self.dashboard.error))
        return [(where, error) for where, error in found if error is not None]


# ---------------------------------------------------------------------- reading


def take_inventory(
    ctx: CheckContext, *, executor: Executor | None = None, workers: int = MAX_WORKERS
) -> Inventory:
    """Read what exists now in both regions; never raises for AWS trouble.

    About 25 read calls, run in parallel: the whole takes about as long as the slowest part (a
    region's cluster: four calls one after another). Pass a long-lived `executor` to reuse its
    threads, and with them their clients, from one refresh to the next.
    """
    started = time.perf_counter()
    facts = Lab3Facts(ctx)  # fresh: an inventory is a new look, not the facts of a check run
    own = None
    if executor is None:
        own = executor = ThreadPoolExecutor(workers, thread_name_prefix="mmtui-inventory")
    try:
        primary_parts = _submit_region(executor, ctx, facts, "primary")
        secondary_parts = _submit_region(executor, ctx, facts, "secondary")
        pipelines = executor.submit(
            _guarded, lambda: _pipelines(ctx, facts), lambda error: PipelinesInfo(error=error)
        )
        dashboard_name = ctx.param("dashboard")
        dashboard = executor.submit(
            _guarded,
            lambda: _dashboard(ctx, dashboard_name),
            lambda error: DashboardInfo(dashboard_name, ctx.primary_region, error=error),
        )
        return Inventory(
            primary=_collect_region(ctx, "primary", primary_parts),
            secondary=_collect_region(ctx, "secondary", secondary_parts),
            pipelines=pipelines.result(),
            dashboard=dashboard.result(),
            taken_at=datetime.now(UTC),
            seconds=time.perf_counter() - started,
        )
    finally:
        if own is not None:
            own.shutdown(wait=True)


def _region_of(ctx: CheckContext, role: Role) -> str:
    return ctx.primary_region if role == "primary" else ctx.secondary_region


def _submit_region(
    executor: Executor, ctx: CheckContext, facts: Lab3Facts, role: Role
) -> dict[str, Future[Any]]:
    region = _region_of(ctx, role)
    other: Role = "secondary" if role == "primary" else "primary"
    expected, stray = ctx.param(f"{role}_stack"), ctx.param(f"{other}_stack")
    table = ctx.param("table")
    return {
        "stack": executor.submit(
            _guarded,
            lambda: _expected_stack(facts, role, expected),
            lambda error: StackInfo(expected, error=error),
        ),
        "stray": executor.submit(
            _guarded,
            lambda: _stray_stack(ctx, region, stray),
            lambda error: StackInfo(stray, expected=False, error=error),
        ),
        "table": executor.submit(
            _guarded,
            lambda: _table(ctx, region, table),
            lambda error: TableInfo(table, error=error),
        ),
        "registries": executor.submit(
            _guarded,
            lambda: _registries(ctx, facts, role),
            lambda error: RegistriesInfo(error=error),
        ),
        "cluster": executor.submit(
            _guarded,
            lambda: _cluster(ctx, facts, role),
            lambda error: ClusterInfo(error=error),
        ),
        "load_balancer": executor.submit(
            _guarded,
            lambda: _load_balancer(ctx, facts, role),
            lambda error: LoadBalancerInfo(error=error),
        ),
    }


def _collect_region(
    ctx: CheckContext, role: Role, parts: dict[str, Future[Any]]
) -> RegionInventory:
    stray: StackInfo = parts["stray"].result()
    stacks = (parts["stack"].result(), *([stray] if stray.present or stray.error else []))
    return RegionInventory(
        region=_region_of(ctx, role),
        role=role,
        stacks=stacks,
        table=parts["table"].result(),
        registries=parts["registries"].result(),
        cluster=parts["cluster"].result(),
        load_balancer=parts["load_balancer"].result(),
    )


def _guarded(fetch: Callable[[], T], failed: Callable[[AwsError], T]) -> T:
    """`fetch()`, or what `failed` makes of the error: one part's trouble stays on that part.

    Anything unexpected (an endpoint answering in a shape we did not foresee) is recorded too,
    named by its type, rather than blanking the whole picture. A write attempt is a bug in
    mmtui and stays loud.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fetch()
    except WriteRefused:
        raise
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return failed(AwsError(str(error.get("Code", "Unknown")), str(error.get("Message", exc))))
    except BotoCoreError as exc:
        return failed(AwsError("NetworkError", str(exc)))
    except Exception as exc:
        return failed(AwsError(type(exc).__name__, str(exc)))


def _missing(exc: Exception, *codes: str) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") in codes


def _stack_info(stack: dict[str, Any] | None, name: str, expected: bool) -> StackInfo:
    if stack is None or stack.get("StackStatus") == "DELETE_COMPLETE":
        return StackInfo(name, expected=expected)
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    return StackInfo(
        name,
        status=str(stack["StackStatus"]),
        is_secondary=parameters.get("IsSecondary"),
        reason=str(stack.get("StackStatusReason") or ""),
        expected=expected,
    )


def _expected_stack(facts: Lab3Facts, role: Role, name: str) -> StackInfo:
    # Through the facts: the registries, cluster and load balancer need the same outputs, and
    # the facts fetch them once however many threads ask at the same moment.
    return _stack_info(facts.stack(role), name, expected=True)


def _stray_stack(ctx: CheckContext, region: str, name: str) -> StackInfo:
    from botocore.exceptions import ClientError

    try:
        stacks = ctx.client("cloudformation", region).describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if stack_missing(exc):
            return StackInfo(name, expected=False)
        raise
    return _stack_info(stacks[0] if stacks else None, name, expected=False)


def _table(ctx: CheckContext, region: str, name: str) -> TableInfo:
    from botocore.exceptions import ClientError

    try:
        table = ctx.client("dynamodb", region).describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if _missing(exc, "ResourceNotFoundException"):
            return TableInfo(name)
        raise
    stream = table.get("StreamSpecification") or {}
    return TableInfo(
        name,
        status=str(table.get("TableStatus")),
        stream_view_type=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        replicas=tuple(
            ReplicaInfo(str(r["RegionName"]), str(r.get("ReplicaStatus", "")))
            for r in table.get("Replicas", [])
        ),
        global_table_version=table.get("GlobalTableVersion"),
    )


def _registries(ctx: CheckContext, facts: Lab3Facts, role: Role) -> RegistriesInfo:
    outputs = facts.outputs(role)
    prefix = "Secondary" if role == "secondary" else ""
    uris = [outputs.get(f"{prefix}{kind}ServiceEcrRepo", "") for kind in ("Core", "Like")]
    region = _region_of(ctx, role)
    return RegistriesInfo(tuple(_registry(ctx, region, uri) for uri in uris if uri))


def _registry(ctx: CheckContext, region: str, uri: str) -> RegistryInfo:
    name = uri.split("/", 1)[-1]
    return _guarded(
        lambda: _registry_images(ctx, region, name, uri),
        lambda error: RegistryInfo(name, uri, error=error),
    )


def _registry_images(ctx: CheckContext, region: str, name: str, uri: str) -> RegistryInfo:
    from botocore.exceptions import ClientError

    ecr = ctx.client("ecr", region)
    try:
        images = [
            image
            for page in ecr.get_paginator("describe_images").paginate(repositoryName=name)
            for image in page.get("imageDetails", [])
        ]
    except ClientError as exc:
        if _missing(exc, "RepositoryNotFoundException"):
            return RegistryInfo(name, uri, present=False)
        raise
    if not images:
        return RegistryInfo(name, uri)
    latest = max(images, key=lambda i: i.get("imagePushedAt") or datetime.min.replace(tzinfo=UTC))
    return RegistryInfo(
        name,
        uri,
        image_count=len(images),
        latest_tags=tuple(latest.get("imageTags", [])),
        latest_pushed_at=latest.get("imagePushedAt"),
    )


def image_region(image: str) -> str | None:
    """The region of the ECR registry an image URI names; None for any other registry."""
    found = _ECR_IMAGE.match(image)
    return found.group(1) if found else None


def _cluster(ctx: CheckContext, facts: Lab3Facts, role: Role) -> ClusterInfo:
    name = facts.outputs(role).get("EcsClusterName")
    if not name:
        return ClusterInfo()
    ecs = ctx.client("ecs", _region_of(ctx, role))
    clusters = ecs.describe_clusters(clusters=[name]).get("clusters", [])
    if not clusters or clusters[0].get("status") == "INACTIVE":
        return ClusterInfo(name)
    arns = [
        arn
        for page in ecs.get_paginator("list_services").paginate(cluster=name)
        for arn in page.get("serviceArns", [])
    ]
    services = [
        service
        for start in range(0, len(arns), 10)  # DescribeServices takes ten at a time
        for service in ecs.describe_services(cluster=name, services=arns[start : start + 10]).get(
            "services", []
        )
    ]
    images = {
        arn: _app_image(ecs, arn) for arn in sorted({str(s["taskDefinition"]) for s in services})
    }
    return ClusterInfo(
        name,
        status=str(clusters[0].get("status")),
        services=tuple(
            ServiceInfo(
                name=str(s["serviceName"]),
                status=str(s.get("status", "")),
                running=int(s.get("runningCount", 0)),
                desired=int(s.get("desiredCount", 0)),
                pending=int(s.get("pendingCount", 0)),
                task_definition=str(s["taskDefinition"]).rsplit("/", 1)[-1],
                image=images[str(s["taskDefinition"])],
                image_region=image_region(images[str(s["taskDefinition"])]),
            )
            for s in sorted(services, key=lambda s: str(s["serviceName"]))
        ),
    )


def _app_image(ecs: Any, task_definition: str) -> str:
    """The image of the task definition's application container (not the X-Ray sidecar)."""
    containers = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"].get(
        "containerDefinitions", []
    )
    apps = [c for c in containers if c.get("name") in APP_CONTAINERS] or containers
    return str(apps[0].get("image", "")) if apps else ""


def _load_balancer(ctx: CheckContext, facts: Lab3Facts, role: Role) -> LoadBalancerInfo:
    from botocore.exceptions import ClientError

    full_name = facts.outputs(role).get("LoadBalancerFullName", "")
    if full_name.count("/") < 2:  # app/<name>/<id>
        return LoadBalancerInfo()
    name = full_name.split("/")[1]
    try:
        found = (
            ctx.client("elbv2", _region_of(ctx, role))
            .describe_load_balancers(Names=[name])
            .get("LoadBalancers", [])
        )
    except ClientError as exc:
        if _missing(exc, "LoadBalancerNotFound", "LoadBalancerNotFoundException"):
            return LoadBalancerInfo(name)
        raise
    if not found:
        return LoadBalancerInfo(name)
    return LoadBalancerInfo(
        name, dns_name=str(found[0]["DNSName"]), state=found[0].get("State", {}).get("Code")
    )


def _pipelines(ctx: CheckContext, facts: Lab3Facts) -> PipelinesInfo:
    found = facts.pipelines()
    return PipelinesInfo(tuple(_pipeline_or_error(ctx, k, n) for k, n in sorted(found.items())))


def _pipeline_or_error(ctx: CheckContext, kind: str, name: str) -> PipelineInfo:
    return _guarded(
        lambda: _pipeline(ctx, kind, name),
        lambda error: PipelineInfo(kind, name, ctx.primary_region, error=error),
    )


def _pipeline(ctx: CheckContext, kind: str, name: str) -> PipelineInfo:
    region = ctx.primary_region
    client = ctx.client("codepipeline", region)
    pipeline = client.get_pipeline(name=name)["pipeline"]
    states = {
        s["stageName"]: s.get("latestExecution") or {}
        for s in client.get_pipeline_state(name=name).get("stageStates", [])
    }
    stores = pipeline.get("artifactStores") or {}
    return PipelineInfo(
        kind,
        name,
        region,
        stages=tuple(
            StageInfo(
                name=str(stage["name"]),
                actions=tuple(
                    ActionInfo(
                        str(a["name"]),
                        str(a.get("actionTypeId", {}).get("provider", "")),
                        str(a.get("region") or region),
                    )
                    for a in stage.get("actions", [])
                ),
                status=states.get(stage["name"], {}).get("status"),
                execution_id=states.get(stage["name"], {}).get("pipelineExecutionId"),
            )
            for stage in pipeline.get("stages", [])
        ),
        artifact_store_regions=tuple(sorted(stores)) if stores else (region,),
    )


def _dashboard(ctx: CheckContext, name: str) -> DashboardInfo:
    from botocore.exceptions import ClientError

    region = ctx.primary_region
    try:
        body = ctx.client("cloudwatch", region).get_dashboard(DashboardName=name)["DashboardBody"]
    except ClientError as exc:
        if _missing(exc, "ResourceNotFound", "ResourceNotFoundException"):
            return DashboardInfo(name, region)
        raise
    widgets = json.loads(body).get("widgets", [])

    def regions(widget: dict[str, Any]) -> tuple[str, ...]:
        properties = widget.get("properties", {})
        found = {
            m.region
            for m in dashboard_metrics({"widgets": [widget]}, properties.get("region", region))
        }
        if not found and widget.get("type") == "metric":
            found = {str(properties.get("region", region))}
        return tuple(sorted(found))

    return DashboardInfo(
        name,
        region,
        present=True,
        widgets=tuple(
            WidgetInfo(
                str(w.get("properties", {}).get("title", "")),
                str(w.get("type", "")),
                regions(w),
            )
            for w in widgets
        ),
    )


# ---------------------------------------------------------------------- plain text


def render_text(inventory: Inventory) -> str:
    """The inventory as plain lines (for logs, tests and a terminal without the guide)."""
    return "\n".join(_lines(inventory)) + "\n"


def _lines(inventory: Inventory) -> Iterator[str]:
    for side in inventory.regions:
        yield f"{side.region} ({side.role})"
        for stack in side.stacks:
            where = "" if stack.expected else " (the other region's stack, deployed here)"
            yield f"  stack        {stack.name}: {_state(stack.error, stack.status)}{where}"
        table = side.table
        detail = _state(table.error, table.status)
        if table.present:
            detail += f", stream {table.stream_view_type or 'off'}"
            if table.replicas:
                replicas = ", ".join(f"{r.region} {r.status}" for r in table.replicas)
                detail += f", replicas {replicas}"
        yield f"  table        {table.name}: {detail}"
        if side.registries.error or not side.registries.items:
            yield f"  registries   {_state(side.registries.error, None)}"
        for registry in side.registries.items:
            if registry.error or not registry.present:
                state = _state(registry.error, None)
            elif registry.image_count:
                tags = ", ".join(registry.latest_tags) or "untagged"
                state = f"{registry.image_count} image(s), latest {tags}"
            else:
                state = "empty"
            yield f"  registry     {registry.name}: {state}"
        cluster = side.cluster
        yield f"  cluster      {cluster.name or '-'}: {_state(cluster.error, cluster.status)}"
        for service in cluster.services:
            source = service.image_region or "not ECR"
            yield (
                f"    service    {service.name}: {service.running}/{service.desired} running, "
                f"{service.task_definition}, image from {source}"
            )
        balancer = side.load_balancer
        yield f"  balancer     {_state(balancer.error, balancer.dns_name)}"
    pipelines = inventory.pipelines
    yield "pipelines" + (f": {_state(pipelines.error, None)}" if pipelines.error else "")
    for pipeline in pipelines.items:
        if pipeline.error:
            yield f"  {pipeline.name}: {_state(pipeline.error, None)}"
            continue
        stages = " -> ".join(
            f"{s.name} [{', '.join(s.regions)}] {s.status or 'not run'}" for s in pipeline.stages
        )
        yield f"  {pipeline.name}: {stages}"
        yield f"    artifact stores in {', '.join(pipeline.artifact_store_regions)}"
    dashboard = inventory.dashboard
    state = _state(dashboard.error, "present" if dashboard.present else None)
    if dashboard.present:
        state = f"{len(dashboard.widgets)} widgets, regions {', '.join(dashboard.regions)}"
    yield f"dashboard {dashboard.name} ({dashboard.region}): {state}"


def _state(error: AwsError | None, value: str | None) -> str:
    if error is not None:
        return f"unreadable ({error})"
    return value if value is not None else "absent"
