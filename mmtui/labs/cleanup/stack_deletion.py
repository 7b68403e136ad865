"""Deleting one of the workshop's stacks to the end, as an operator would after the console says
DELETE_FAILED: read the stack's events, name each resource that would not go and AWS's reason,
remove what blocks it when that is safe, and delete again (a few times at most); otherwise stop
with the resource, the reason and what to do by hand.

Safe means: the blocker is the stack's own and removing it loses nothing the workshop did not
make. A bucket or an image repository of the stack is emptied; a service of the workshop still
in the stack's cluster is deleted; a network interface an ECS task left behind is released.
Anything else (a service, an interface, an instance someone else put there; a resource AWS
refuses for another reason) is reported, never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mmtui.engine.tasks import ECS_CADENCE, TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab3.facts import stack_missing

ATTEMPTS = 3
"""Deletions of one stack a run asks for at most: each failed one is followed by removing what
blocked it; a stack that still fails after that many needs a person."""


@dataclass(frozen=True)
class Failure:
    """A resource whose deletion failed, as the stack's events tell it."""

    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    reason: str

    def describe(self) -> str:
        where = f"{self.logical_id} ({self.resource_type}"
        if self.physical_id and self.physical_id != self.logical_id:
            where += f" {self.physical_id}"
        return f"{where}) of {self.stack}: {self.reason}"


@dataclass(frozen=True)
class Repair:
    """What unblocks a failure: `run` does it and says what it did; or `refusal` says why
    mmtui will not (the failure then needs a person)."""

    failure: Failure
    run: Callable[[], str] | None = None
    refusal: str = ""


def live_stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    """The stack as DescribeStacks shows it now; None when it does not exist (or is deleted)."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if stack_missing(exc):
            return None
        raise
    if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    return dict(stacks[0])


def stack_resources(cloudformation: Any, name: str) -> dict[str, dict[str, Any]]:
    """Logical ID → summary of each resource the stack still has (deleted ones left out)."""
    from botocore.exceptions import ClientError

    try:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
        return {
            str(r["LogicalResourceId"]): dict(r)
            for page in pages
            for r in page.get("StackResourceSummaries", [])
            if r.get("ResourceStatus") != "DELETE_COMPLETE"
        }
    except ClientError as exc:
        if stack_missing(exc):
            return {}
        raise


def physical_id(resources: Mapping[str, Mapping[str, Any]], logical_id: str) -> str:
    return str((resources.get(logical_id) or {}).get("PhysicalResourceId") or "")


def latest_failures(cloudformation: Any, stack: str) -> list[Failure]:
    """The resources whose deletion failed in the stack's latest deletion, nested stacks
    followed down to the resource inside that failed (an attendee looks there too)."""
    latest: dict[str, dict[str, Any]] = {}
    for page in cloudformation.get_paginator("describe_stack_events").paginate(StackName=stack):
        done = False
        for event in page.get("StackEvents", []):  # newest first
            own = event.get("PhysicalResourceId") == event.get("StackId")
            if own and event.get("ResourceStatus") == "DELETE_IN_PROGRESS":
                done = True  # the start of the latest deletion
                break
            if not own:
                latest.setdefault(str(event["LogicalResourceId"]), dict(event))
        if done:
            break
    # A nested stack is read by its ARN, and named by its name.
    name = stack.split("/")[1] if stack.startswith("arn:") else stack
    failures: list[Failure] = []
    for logical, event in latest.items():
        if event.get("ResourceStatus") != "DELETE_FAILED":
            continue
        failure = Failure(
            name,
            logical,
            str(event.get("ResourceType", "")),
            str(event.get("PhysicalResourceId") or ""),
            str(event.get("ResourceStatusReason") or "no reason given"),
        )
        inner = []
        if failure.resource_type == "AWS::CloudFormation::Stack" and failure.physical_id:
            inner = latest_failures(cloudformation, failure.physical_id)
        failures.extend(inner or [failure])
    return failures


def delete_to_the_end(
    ctx: TaskContext,
    region: str,
    name: str,
    repair: Callable[[Failure], Repair],
) -> str:
    """Delete the stack `name` and wait until it is gone, repairing what blocks it between
    attempts (see the module). Returns what it did ("" when the stack was already gone);
    MmtuiError (exit 4) naming the resource when a block needs a person."""
    cloudformation = ctx.client("cloudformation", region)
    done: list[str] = []
    for attempt in range(1, ATTEMPTS + 1):
        stack = live_stack(cloudformation, name)
        if stack is None:
            if attempt == 1:
                return ""  # gone already (another run, or by hand)
            break
        status = str(stack["StackStatus"])
        if status != "DELETE_IN_PROGRESS":
            if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
                # Another operation runs (an update, a rollback): AWS refuses a deletion then.
                _settle(ctx, cloudformation, name, f"{name} to finish {status}")
            if status == "DELETE_FAILED":
                failures = latest_failures(cloudformation, name)
                done.extend(_repaired(ctx, name, failures, repair))
            request_deletion(cloudformation, name)
        stack = _settle(ctx, cloudformation, name, f"{name} to be deleted")
        if stack is None:
            break
        if attempt == ATTEMPTS:
            failures = latest_failures(cloudformation, name)
            raise MmtuiError(
                f"{name} ({region}) is still {stack['StackStatus']} after {ATTEMPTS} deletions: "
                + "; ".join(f.describe() for f in failures)
                + ". Remove what blocks it by hand (the CloudFormation console shows the "
                "stack's events), then run `mmtui cleanup` again.",
                ExitCode.AWS_ERROR,
            )
        ctx.log(f"{region}: {name} is {stack['StackStatus']}; reading its events")
    done.append(f"deleted {name}")
    return "; ".join(done)


def request_deletion(cloudformation: Any, name: str) -> None:
    """DeleteStack (also what retries a DELETE_FAILED stack)."""
    cloudformation.delete_stack(StackName=name)


def _settle(ctx: TaskContext, cloudformation: Any, name: str, what: str) -> dict[str, Any] | None:
    """Wait until no operation runs on the stack; the stack then, None if it is gone."""
    last: dict[str, Any] | None = None

    def settled() -> bool:
        nonlocal last
        last = live_stack(cloudformation, name)
        if last is None:
            return True
        status = str(last["StackStatus"])
        return not (status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS")

    ctx.wait(what, settled, lambda: f"{name}: {(last or {}).get('StackStatus', 'gone')}")
    return last


def _repaired(
    ctx: TaskContext, name: str, failures: list[Failure], repair: Callable[[Failure], Repair]
) -> list[str]:
    """Run the repairs of `failures`, or stop when one of them needs a person."""
    for failure in failures:
        ctx.log(f"  failed to delete: {failure.describe()}")
    if not failures:
        raise MmtuiError(
            f"{name} is DELETE_FAILED but its events name no resource that failed; look at the "
            "stack in the CloudFormation console, then run `mmtui cleanup` again",
            ExitCode.AWS_ERROR,
        )
    repairs = [repair(failure) for failure in failures]
    repairable = any(r.run is not None for r in repairs)
    # A VPC that "has dependencies" only waits for its subnets and groups: when those can be
    # unblocked, the retry takes it too.
    refused = [
        r for r in repairs if r.run is None and not (repairable and is_consequence(r.failure))
    ]
    if refused:
        raise MmtuiError(
            "cannot delete "
            + "; ".join(f"{r.failure.describe()} — {r.refusal}" for r in refused)
            + ". Then run `mmtui cleanup` again: it continues from what AWS shows.",
            ExitCode.AWS_ERROR,
        )
    return [text for r in repairs if r.run is not None and (text := r.run())]


# ---------------------------------------------------------------------- what may be repaired


def is_bucket_not_empty(failure: Failure) -> bool:
    return failure.resource_type == "AWS::S3::Bucket" and (
        "BucketNotEmpty" in failure.reason or "not empty" in failure.reason
    )


def is_repository_with_images(failure: Failure) -> bool:
    return failure.resource_type == "AWS::ECR::Repository" and (
        "contains images" in failure.reason or "RepositoryNotEmpty" in failure.reason
    )


def is_cluster_with_services(failure: Failure) -> bool:
    return failure.resource_type == "AWS::ECS::Cluster" and "Services are active" in failure.reason


def is_consequence(failure: Failure) -> bool:
    """A VPC refused because something inside it is still there (it goes once that does)."""
    return failure.resource_type == "AWS::EC2::VPC" and (
        "has dependencies" in failure.reason or "DependencyViolation" in failure.reason
    )


INTERFACE_HOLDERS = {"AWS::EC2::SecurityGroup": "group-id", "AWS::EC2::Subnet": "subnet-id"}
"""Types a leftover network interface keeps alive, and the filter that finds it."""


def is_held_by_interfaces(failure: Failure) -> bool:
    """A security group "has a dependent object", a subnet "has dependencies": EC2's words
    when network interfaces are still in them."""
    return failure.resource_type in INTERFACE_HOLDERS and (
        "dependent object" in failure.reason
        or "has dependencies" in failure.reason
        or "DependencyViolation" in failure.reason
    )


def cluster_services(ctx: TaskContext, region: str, cluster: str) -> dict[str, str]:
    """Name → status of the services of a cluster that are not deleted yet."""
    from botocore.exceptions import ClientError

    ecs = ctx.client("ecs", region)
    try:
        arns = [
            arn
            for page in ecs.get_paginator("list_services").paginate(cluster=cluster)
            for arn in page.get("serviceArns", [])
        ]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ClusterNotFoundException":
            return {}
        raise
    found: dict[str, str] = {}
    for start in range(0, len(arns), 10):  # DescribeServices takes ten at a time
        answer = ecs.describe_services(cluster=cluster, services=arns[start : start + 10])
        for service in answer.get("services", []):
            if service.get("status") != "INACTIVE":
                found[str(service["serviceName"])] = str(service["status"])
    return found


def delete_services(ctx: TaskContext, region: str, cluster: str, names: Iterable[str]) -> str:
    """Scale each named service of the cluster to nothing, delete it, and wait until ECS shows
    none of them active or draining (a cluster goes only then). "" when none was there."""
    ecs = ctx.client("ecs", region)
    wanted = set(names)
    present = {n: s for n, s in cluster_services(ctx, region, cluster).items() if n in wanted}
    if not present:
        return ""
    for service, status in sorted(present.items()):
        if status == "ACTIVE":
            ecs.update_service(cluster=cluster, service=service, desiredCount=0)
            ecs.delete_service(cluster=cluster, service=service, force=True)
    ctx.wait(
        f"the services {', '.join(sorted(present))} of {cluster} to be deleted",
        lambda: not (wanted & set(cluster_services(ctx, region, cluster))),
        lambda: ", ".join(
            f"{n}: {s}" for n, s in sorted(cluster_services(ctx, region, cluster).items())
        ),
        cadence=ECS_CADENCE,
    )
    return f"deleted the services {', '.join(sorted(present))} of {cluster}"


def task_interfaces(
    ctx: TaskContext, region: str, failure: Failure
) -> tuple[list[dict[str, Any]], list[str]]:
    """The network interfaces in a failed security group or subnet: (those ECS tasks left, the
    others as text). A Fargate task's interface says it belongs to an ECS attachment."""
    ec2 = ctx.client("ec2", region)
    key = INTERFACE_HOLDERS[failure.resource_type]
    answer = ec2.describe_network_interfaces(
        Filters=[{"Name": key, "Values": [failure.physical_id]}]
    )
    left, others = [], []
    for interface in answer.get("NetworkInterfaces", []):
        description = str(interface.get("Description") or "")
        if description.startswith("arn:aws:ecs:") and ":attachment/" in description:
            left.append(dict(interface))
        else:
            others.append(
                f"{interface['NetworkInterfaceId']} ({description or 'no description'}, "
                f"{interface.get('Status', '?')})"
            )
    return left, others


def release_task_interfaces(ctx: TaskContext, region: str, failure: Failure) -> str:
    """Wait for the interfaces ECS tasks left in the group or subnet to be detached (ECS does
    it once the task has stopped), and delete them."""
    ec2 = ctx.client("ec2", region)
    holder = failure.physical_id
    ctx.wait(
        f"the network interfaces of stopped tasks in {holder} to be detached",
        lambda: all(
            i.get("Status") == "available" for i in task_interfaces(ctx, region, failure)[0]
        ),
        cadence=ECS_CADENCE,
    )
    released = []
    for interface in task_interfaces(ctx, region, failure)[0]:
        ec2.delete_network_interface(NetworkInterfaceId=interface["NetworkInterfaceId"])
        released.append(str(interface["NetworkInterfaceId"]))
    return f"released {', '.join(released)} from {holder}" if released else ""
