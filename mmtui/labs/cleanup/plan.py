"""What `mmtui cleanup` removes, in the order that works, as sections of Actions.

1. Lab 4's accelerator (its listener and endpoint groups first; disabled, the disable deployed,
   then deleted): it points at both load balancers.
2. Lab 3's replica of the table, waited on until DynamoDB lets it go: the primary table (in the
   primary stack) cannot go while it has one.
3. The secondary stack, its image repositories emptied first.
4. The primary stack, and first what the workshop made around it that would block its deletion
   or outlive it: Lab 0's services (made outside the template), the images and pipeline
   artifacts in its repositories and bucket, the pipelines' bucket in the other region, the
   X-Ray groups of Labs 1 and 3 in both regions, and the `Fully-Prepared-Dashboard` stack.

The template's own clean-up function (its CleanDelete custom resource) would remove Lab 0's
services and the images, but its runtime (python3.7) may no longer run or be re-created:
cleanup does that work itself, before the deletion, and does not count on the function.

Everything is found by name *and* by belonging: a stack by the workshop template's parameter,
a repository, bucket or cluster as a resource of the workshop's stacks, a service by the name
Lab 0 gives it in the stack's cluster, a bucket in the other region by the workshop pipelines'
artifact stores (and only when no other pipeline uses it), an X-Ray group by its name and the
Like service in its filter. What looks like the workshop's but does not belong is a line of the
plan that changes nothing and says why it is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mmtui.engine.tasks import Action, TaskContext
from mmtui.exitcodes import MmtuiError
from mmtui.labs.cleanup.stack_deletion import (
    Failure,
    Repair,
    cluster_services,
    delete_services,
    delete_to_the_end,
    is_bucket_not_empty,
    is_cluster_with_services,
    is_held_by_interfaces,
    is_repository_with_images,
    live_stack,
    physical_id,
    release_task_interfaces,
    stack_resources,
    task_interfaces,
)

DASHBOARD_STACK = "Fully-Prepared-Dashboard"
"""The stack Lab 3 step 5's script deploys in the primary region (a dashboard and nothing
else)."""

SERVICE_SUFFIXES = ("_Core-Service", "_Like-Service")
"""Lab 0's script names the primary services `<stack>_Core-Service` and `<stack>_Like-Service`
(the template's CoreEcsServiceName and LikeEcsServiceName outputs say the same)."""

REPOSITORIES = ("CoreServiceRepo", "LikeServiceRepo")
PIPELINES = ("MythicalCoreServicePipeline", "MythicalLikeServicePipeline")


@dataclass
class Section:
    number: int
    """Its place in the order (the same whichever sections have something to do)."""
    title: str
    actions: list[Action] = field(default_factory=list)


@dataclass
class Workshop:
    """The two labs' task contexts on one target: Lab 3's names (stacks, table) and Lab 4's
    (the accelerator; None when Lab 4 is not installed)."""

    lab3: TaskContext
    lab4: TaskContext | None

    @property
    def primary(self) -> str:
        return self.lab3.primary_region

    @property
    def secondary(self) -> str:
        return self.lab3.secondary_region

    def param(self, name: str) -> str:
        return self.lab3.param(name)


def workshop_on(connection: Any, log: Callable[[str], None]) -> Workshop:
    """The contexts of Labs 3 and 4 on a connected target, with the names its user chose."""
    import mmtui.labs
    from mmtui.engine.context import CheckContext

    def context(lab_id: str) -> TaskContext:
        lab, content = mmtui.labs.load(lab_id)
        declared = content.lab.parameters
        chosen = {k: v for k, v in connection.spec.name_overrides.items() if k in declared}
        return TaskContext(CheckContext(connection, content, lab, chosen), log=log)

    lab4 = context("4") if "4" in mmtui.labs.lab_ids() else None
    return Workshop(context("3"), lab4)


def left_alone(region: str, resource: str, why: str) -> Action:
    """A line of the plan that changes nothing: what is left, and why."""
    return Action(region, f"{resource}: {why}", "leave", lambda: "", changes=False)


def plan(workshop: Workshop) -> list[Section]:
    """The sections in order (each read from AWS now; empty ones are dropped)."""
    sections = [
        Section(1, "Lab 4's accelerator", accelerator_actions(workshop)),
        Section(2, "Lab 3's replica of the table", replica_actions(workshop)),
        Section(3, "the secondary stack", secondary_actions(workshop)),
        Section(
            4, "the primary stack and what the workshop made around it", primary_actions(workshop)
        ),
    ]
    return [section for section in sections if section.actions]


# ---------------------------------------------------------------------- 1. the accelerator


def accelerator_actions(workshop: Workshop) -> list[Action]:
    from botocore.exceptions import ClientError

    from mmtui.labs.lab4.accelerator import GA_REGION
    from mmtui.labs.lab4.reads import live_accelerator
    from mmtui.labs.lab4.teardown import accelerator_teardown

    ctx = workshop.lab4
    if ctx is None:
        return []
    name = ctx.param("accelerator")
    try:
        accelerator = live_accelerator(ctx)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") != "NotImplemented":
            raise
        # An endpoint without Global Accelerator (an emulator): nothing can be there.
        return [
            left_alone(
                GA_REGION,
                f"accelerator {name}",
                f"cannot look, the endpoint answers: {error.get('Message', 'NotImplemented')}",
            )
        ]
    except MmtuiError as exc:  # several share the name: never guess which one
        return [left_alone(GA_REGION, f"accelerators named {name}", str(exc))]
    return accelerator_teardown(ctx, accelerator) if accelerator is not None else []


# ---------------------------------------------------------------------- 2. the replica


def replica_actions(workshop: Workshop) -> list[Action]:
    from botocore.exceptions import ClientError

    from mmtui.labs.lab3.steps.data_tier import replica_removal

    ctx, table = workshop.lab3, workshop.param("table")
    try:
        described = ctx.client("dynamodb", workshop.primary).describe_table(TableName=table)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return []
        raise
    replicas = [r["RegionName"] for r in described["Table"].get("Replicas", [])]
    if workshop.secondary not in replicas:
        return []
    primary_stack = workshop.param("primary_stack")
    resources = stack_resources(ctx.client("cloudformation", workshop.primary), primary_stack)
    if physical_id(resources, "MythicalDynamoTable") != table:
        return [
            left_alone(
                workshop.secondary,
                f"replica of {table}",
                f"the table is not the one {primary_stack} made, so it is not the workshop's",
            )
        ]
    removal = replica_removal(ctx)
    return [removal] if removal is not None else []


# ---------------------------------------------------------------------- 3. the secondary stack


def _parameter(stack: dict[str, Any], key: str) -> str | None:
    found = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    value = found.get(key)
    return None if value is None else str(value)


def _service_name(arn_or_name: str) -> str:
    return arn_or_name.rsplit("/", 1)[-1]


def secondary_actions(workshop: Workshop) -> list[Action]:
    from mmtui.labs.lab3.steps.infrastructure import empty_repository

    ctx, region, name = workshop.lab3, workshop.secondary, workshop.param("secondary_stack")
    cloudformation = ctx.client("cloudformation", region)
    stack = live_stack(cloudformation, name)
    if stack is None:
        return []
    if _parameter(stack, "IsSecondary") != "true":
        return [
            left_alone(
                region, f"stack {name}", "not the workshop's secondary (no IsSecondary=true)"
            )
        ]
    resources = stack_resources(cloudformation, name)
    actions = [
        Action(
            region,
            f"repository {repository}",
            "empty",
            partial(empty_repository, ctx, region, repository),
        )
        for repository in (physical_id(resources, key) for key in REPOSITORIES)
        if repository
    ]
    ours = {
        _service_name(str(r.get("PhysicalResourceId") or ""))
        for r in resources.values()
        if r.get("ResourceType") == "AWS::ECS::Service"
    }
    cluster = physical_id(resources, "MythicalEcsCluster")
    actions += _foreign_services(workshop, region, cluster, ours)
    actions.append(_stack_deletion(workshop, region, name, ours))
    return actions


def _foreign_services(
    workshop: Workshop, region: str, cluster: str, ours: Iterable[str], note: str = ""
) -> list[Action]:
    if not cluster:
        return []
    others = sorted(set(cluster_services(workshop.lab3, region, cluster)) - set(ours))
    return [
        left_alone(
            region,
            f"service {service} of {cluster}",
            "the workshop did not make it; the stack's deletion stops on it unless it is "
            f"deleted first{note}",
        )
        for service in others
    ]


def _stack_deletion(workshop: Workshop, region: str, name: str, services: Iterable[str]) -> Action:
    stack = live_stack(workshop.lab3.client("cloudformation", region), name) or {}
    status = str(stack.get("StackStatus", ""))
    verb = {
        "DELETE_FAILED": "delete again (its last deletion failed)",
        "DELETE_IN_PROGRESS": "wait for the deletion already running (then finish it)",
    }.get(status, "delete")
    repair = partial(_repair, workshop, region, frozenset(services))
    return Action(
        region,
        f"stack {name}",
        verb,
        partial(delete_to_the_end, workshop.lab3, region, name, repair),
    )


def _repair(workshop: Workshop, region: str, services: frozenset[str], failure: Failure) -> Repair:
    """What unblocks a failed resource of a workshop stack, when it is safe (stack_deletion.py)."""
    from mmtui.labs.lab3.steps.infrastructure import empty_repository
    from mmtui.labs.lab3.steps.pipeline import empty_bucket

    ctx, target = workshop.lab3, failure.physical_id
    if is_bucket_not_empty(failure):

        def emptied() -> str:
            count = empty_bucket(ctx, target, region)
            return f"emptied the bucket {target} of {failure.stack} ({count} objects)"

        return Repair(failure, emptied)
    if is_repository_with_images(failure):
        return Repair(failure, partial(empty_repository, ctx, region, target))
    if is_cluster_with_services(failure):
        present = cluster_services(ctx, region, target)
        others = sorted(set(present) - services)
        if others:
            how = "; ".join(
                f"aws ecs delete-service --cluster {target} --service {s} --force --region {region}"
                for s in others
            )
            return Repair(
                failure,
                refusal=f"the cluster still runs services the workshop did not make "
                f"({', '.join(others)}): mmtui does not delete them; if they may go: {how}",
            )
        return Repair(failure, partial(delete_services, ctx, region, target, present))
    if is_held_by_interfaces(failure):
        _, others = task_interfaces(ctx, region, failure)
        if others:
            return Repair(
                failure,
                refusal=f"network interfaces that no ECS task of the workshop left use it "
                f"({'; '.join(others)}): remove them (or what they belong to) yourself",
            )
        return Repair(failure, partial(release_task_interfaces, ctx, region, failure))
    return Repair(
        failure,
        refusal="mmtui removes only a full bucket or image repository of the stack, a service "
        "of the workshop or an interface a stopped task left; delete this resource by hand",
    )


# ---------------------------------------------------------------------- 4. the primary stack


def primary_actions(workshop: Workshop) -> list[Action]:
    ctx, region, name = workshop.lab3, workshop.primary, workshop.param("primary_stack")
    cloudformation = ctx.client("cloudformation", region)
    stack = live_stack(cloudformation, name)
    actions: list[Action] = []
    lab0 = [f"{name}{suffix}" for suffix in SERVICE_SUFFIXES]
    pipelines: list[str] = []
    if stack is not None and _parameter(stack, "IsSecondary") != "false":
        actions.append(
            left_alone(region, f"stack {name}", "not the workshop's primary (no IsSecondary=false)")
        )
        stack = None
    if stack is not None:
        resources = stack_resources(cloudformation, name)
        cluster = physical_id(resources, "MythicalEcsCluster")
        if cluster:
            present = [s for s in lab0 if s in cluster_services(ctx, region, cluster)]
            if present:
                actions.append(
                    Action(
                        region,
                        f"services {', '.join(present)} of {cluster} (Lab 0 made them outside "
                        "the template)",
                        "delete",
                        partial(delete_services, ctx, region, cluster, present),
                    )
                )
            actions += _foreign_services(
                workshop,
                region,
                cluster,
                lab0,
                " (the template's clean-up function, if it still runs, deletes it)",
            )
        actions += _repository_emptying(workshop, region, resources)
        nested = physical_id(resources, "MythicalCiCdStack")
        if nested:
            inner = stack_resources(cloudformation, nested)
            bucket = physical_id(inner, "MythicalArtifactBucket")
            if bucket:
                actions.append(
                    Action(
                        region,
                        f"bucket {bucket} (the pipelines' artifacts)",
                        "empty",
                        partial(_empty, workshop, bucket, region),
                    )
                )
            pipelines = [p for p in (physical_id(inner, key) for key in PIPELINES) if p]
            code = sorted(
                str(r.get("PhysicalResourceId") or "")
                for r in inner.values()
                if r.get("ResourceType") == "AWS::CodeCommit::Repository"
            )
            if code:
                # Not a step of its own, but worth knowing before saying yes.
                actions.append(
                    Action(
                        region,
                        f"CodeCommit repositories {', '.join(code)}",
                        "note: the stack deletes them, with the code pushed in the labs:",
                        lambda: "",
                        changes=False,
                    )
                )
    actions += _artifact_buckets(workshop, pipelines)
    actions += _xray_groups(workshop)
    actions += _dashboard_stack(workshop)
    if stack is not None:
        actions.append(_stack_deletion(workshop, region, name, lab0))
    return actions


def _empty(workshop: Workshop, bucket: str, region: str) -> str:
    from mmtui.labs.lab3.steps.pipeline import empty_bucket

    count = empty_bucket(workshop.lab3, bucket, region)
    return f"emptied the bucket {bucket} ({count} objects)" if count else ""


def _repository_emptying(
    workshop: Workshop, region: str, resources: dict[str, dict[str, Any]]
) -> list[Action]:
    from mmtui.labs.lab3.steps.infrastructure import empty_repository

    return [
        Action(
            region,
            f"repository {repository}",
            "empty",
            partial(empty_repository, workshop.lab3, region, repository),
        )
        for repository in (physical_id(resources, key) for key in REPOSITORIES)
        if repository
    ]


def _artifact_buckets(workshop: Workshop, pipelines: list[str]) -> list[Action]:
    """The pipelines' buckets outside the primary region (the console made one when Lab 3 step
    3 was saved; mmtui's solve makes its own): found in the workshop pipelines' artifact stores,
    and by mmtui's own name; deleted only when no other pipeline uses them."""
    from mmtui.labs.lab3.steps.pipeline import bucket_name, bucket_state, empty_and_delete_bucket

    ctx, primary = workshop.lab3, workshop.primary
    client = ctx.client("codepipeline", primary)
    found: dict[str, str] = {}
    for name in pipelines:
        pipeline = _pipeline(client, name)
        for region, store in (pipeline.get("artifactStores") or {}).items():
            if region != primary and store.get("location"):
                found[str(store["location"])] = str(region)
    own = bucket_name(ctx, workshop.secondary)
    if own not in found and bucket_state(ctx, own, workshop.secondary) == "exists":
        found[own] = workshop.secondary
    actions = []
    for bucket, region in sorted(found.items()):
        users = _other_users(workshop, bucket, region, set(pipelines))
        if users:
            actions.append(
                left_alone(
                    region, f"bucket {bucket}", f"other pipelines use it too ({', '.join(users)})"
                )
            )
            continue
        state = bucket_state(ctx, bucket, region)
        if state not in ("exists", "missing"):
            actions.append(
                left_alone(
                    region,
                    f"bucket {bucket}",
                    f"HeadBucket answers {state}, so mmtui cannot tell it is this account's",
                )
            )
        elif state == "exists":
            actions.append(
                Action(
                    region,
                    f"bucket {bucket} (the pipelines' artifacts in {region})",
                    "empty and delete",
                    partial(empty_and_delete_bucket, ctx, bucket, region),
                )
            )
    return actions


def _pipeline(client: Any, name: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        return dict(client.get_pipeline(name=name)["pipeline"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "PipelineNotFoundException":
            return {}
        raise


def _other_users(workshop: Workshop, bucket: str, region: str, ours: set[str]) -> list[str]:
    """The pipelines other than the workshop's, in the primary region and in the bucket's, that
    keep artifacts in `bucket`."""
    users = []
    for where in sorted({workshop.primary, region}):
        client = workshop.lab3.client("codepipeline", where)
        names = [
            p["name"]
            for page in client.get_paginator("list_pipelines").paginate()
            for p in page.get("pipelines", [])
        ]
        for name in names:
            if name in ours:
                continue
            pipeline = _pipeline(client, name)
            stores = [pipeline.get("artifactStore") or {}]
            stores += list((pipeline.get("artifactStores") or {}).values())
            if any(store.get("location") == bucket for store in stores):
                users.append(f"{name} in {where}")
    return users


def _xray_groups(workshop: Workshop) -> list[Action]:
    from mmtui.labs.lab3.steps.dashboard import delete_xray_group
    from mmtui.labs.lab3.xray import XRAY_GROUPS

    actions = []
    for region in (workshop.primary, workshop.secondary):
        client = workshop.lab3.client("xray", region)
        groups = {
            str(g["GroupName"]): str(g.get("FilterExpression") or "")
            for page in client.get_paginator("get_groups").paginate()
            for g in page.get("Groups", [])
        }
        for group in XRAY_GROUPS:
            if group not in groups:
                continue
            if 'service("Like Service")' in groups[group]:
                actions.append(
                    Action(
                        region,
                        f"X-Ray group {group}",
                        "delete",
                        partial(delete_xray_group, workshop.lab3, group, region),
                    )
                )
            else:
                actions.append(
                    left_alone(
                        region, f"X-Ray group {group}", "its filter is not about the Like service"
                    )
                )
    return actions


def _dashboard_stack(workshop: Workshop) -> list[Action]:
    ctx, region = workshop.lab3, workshop.primary
    cloudformation = ctx.client("cloudformation", region)
    if live_stack(cloudformation, DASHBOARD_STACK) is None:
        return []
    kinds = {
        r.get("ResourceType") for r in stack_resources(cloudformation, DASHBOARD_STACK).values()
    }
    if kinds - {"AWS::CloudWatch::Dashboard"}:
        return [
            left_alone(
                region,
                f"stack {DASHBOARD_STACK}",
                "it holds more than a dashboard, so it is not the one Lab 3 step 5's script makes",
            )
        ]
    return [_stack_deletion(workshop, region, DASHBOARD_STACK, ())]
