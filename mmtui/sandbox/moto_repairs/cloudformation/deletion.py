"""Stack deletion as AWS does it: every resource the stack made, dependants first, with events;
a resource that cannot go leaves the stack DELETE_FAILED instead of vanishing and leaking.

What AWS refuses, the sandbox refuses, with AWS's words in the resource's DELETE_FAILED event
(the reason an attendee, or `mmtui cleanup`, reads): a bucket that holds objects, a repository
that holds images (unless the template sets EmptyOnDelete), a cluster with active services, a
security group or subnet a network interface still uses, a nested stack that failed. The
workshop's CleanDelete custom resource, deleted before the resources it names, does what its
function does on AWS (force-deletes the repositories; in the primary, deletes every service of
the cluster) as long as the function exists.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from mmtui.sandbox.moto_repairs.cloudformation.stacks import (
    TIMINGS,
    creation_order,
    ec2_backend,
    ecs_backend,
    elbv2_backend,
    failure_reason,
    find_stack,
    resource_event,
    stack_event,
    stack_of,
)


class HandlerError(Exception):
    """A resource CloudFormation's handler failed to delete, with AWS's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def handler_message(message: str, service: str, code: str) -> str:
    """A service's refusal as a registry resource handler reports it in the resource's event."""
    return (
        f'Resource handler returned message: "{message} (Service: {service}, Status Code: 400, '
        f'Request ID: {uuid.uuid4()})" (RequestToken: {uuid.uuid4()}, HandlerErrorCode: {code})'
    )


def _s3_request_id() -> str:
    return uuid.uuid4().hex[:16].upper()


def _s3_extended_id() -> str:
    return base64.b64encode(b"".join(uuid.uuid4().bytes for _ in range(4))[:57]).decode()


def delete_stack(self: Any, name_or_stack_id: str) -> None:
    """DeleteStack: remove the resources (at once, or after `stack_delete_seconds`); on
    failure the stack stays, DELETE_FAILED (as AWS)."""
    stack = find_stack(self, name_or_stack_id)
    if stack is None:
        return  # deleting a stack that does not exist succeeds, as on AWS
    if stack.status == "DELETE_IN_PROGRESS":
        return  # already being deleted: AWS accepts the call and changes nothing
    stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    stack.status = "DELETE_IN_PROGRESS"
    if TIMINGS.delete > 0:
        stack._mmtui_pending = "delete"
        stack._mmtui_due = time.time() + TIMINGS.delete
        return
    stack._mmtui_due = stack._mmtui_pending = None  # a creation still pending is cancelled
    finish_delete(self, stack)


def finish_delete(backend: Any, stack: Any) -> None:
    leftovers = delete_resources(stack.resource_map)
    if leftovers:
        stack.status = "DELETE_FAILED"
        stack_event(
            stack,
            "DELETE_FAILED",
            f"The following resource(s) failed to delete: [{', '.join(leftovers)}]. ",
        )
        return
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        del backend.exports[name]
    del backend.stacks[stack.stack_id]
    backend.deleted_stacks[stack.stack_id] = stack
    stack.status = "DELETE_COMPLETE"
    stack_event(stack, "DELETE_COMPLETE")


def stack_delete(self: Any) -> None:
    """moto's own deletions (nested stacks, stack set instances) go through the same engine."""
    stack_event(self, "DELETE_IN_PROGRESS", "User Initiated")
    leftovers = delete_resources(self.resource_map)
    self.status = "DELETE_FAILED" if leftovers else "DELETE_COMPLETE"
    stack_event(self, self.status)


def resource_map_delete(self: Any) -> None:
    from moto.cloudformation.exceptions import ValidationError

    leftovers = delete_resources(self)
    if leftovers:
        raise ValidationError(message=f"The following resource(s) failed to delete: {leftovers}")


def delete_resources(
    resources_map: Any,
    names: Iterable[str] | None = None,
    resources: dict[str, Any] | None = None,
) -> list[str]:
    """Delete resources, dependants first, with events; returns the ones that could not go.

    A deletion that fails is retried after the others (an implicit dependency moto does not
    see in the template); only when a whole pass makes no progress does it give up.
    """
    stack = stack_of(resources_map)
    resources = resources if resources is not None else resources_map._resource_json_map
    parsed = resources_map._parsed_resources
    wanted = set(names) if names is not None else None
    pending = [
        name
        for name in reversed(creation_order(resources))
        if (wanted is None or name in wanted)
        and parsed.get(name) is not None
        and not isinstance(parsed[name], str | int | float | list)
    ]
    errors: dict[str, str] = {}
    for name in list(pending):
        if resources[name].get("DeletionPolicy") == "Retain":
            physical = getattr(parsed[name], "physical_resource_id", None)
            resource_event(stack, name, physical, resources[name]["Type"], "DELETE_SKIPPED")
            parsed.pop(name)
            pending.remove(name)
    started: set[str] = set()
    progress = True
    while pending and progress:
        progress = False
        for name in list(pending):
            resource = parsed[name]
            resource_type = resources[name]["Type"]
            physical = getattr(resource, "physical_resource_id", None)
            if name not in started:
                resource_event(stack, name, physical, resource_type, "DELETE_IN_PROGRESS")
                started.add(name)
            try:
                _delete_one(resources_map, resource, resources[name])
            except Exception as exc:  # noqa: BLE001  (retried; reported if it never succeeds)
                errors[name] = failure_reason(exc)
                continue
            parsed.pop(name, None)
            pending.remove(name)
            progress = True
            resource_event(stack, name, physical, resource_type, "DELETE_COMPLETE")
    for name in pending:
        physical = getattr(parsed[name], "physical_resource_id", None)
        resource_event(
            stack, name, physical, resources[name]["Type"], "DELETE_FAILED", errors.get(name)
        )
    return pending


def _delete_one(resources_map: Any, resource: Any, resource_json: dict[str, Any]) -> None:
    account, region = resources_map._account_id, resources_map._region_name
    resource_type = resource_json["Type"]
    if resource_type in _IN_USE:
        _IN_USE[resource_type](resource, account, region)
    if resource_type == "Custom::CleanDelete":
        _delete_clean_delete(resource, account, region, resource_json, resources_map)
    elif resource_type == "AWS::ECR::Repository":
        _delete_ecr_repository(resource, account, region, resource_json, resources_map)
    elif resource_type in _DELETERS:
        _DELETERS[resource_type](resource, account, region)
    else:
        # moto's own deletion for the types it can delete (VPC, subnet, security group, role,
        # table, log group, load balancer, ...).
        resources_map._delete_resource(resource, resource_json)


def _delete_gateway_attachment(attachment: Any, account: str, region: str) -> None:
    backend = ec2_backend(account, region)
    gateway_id = str(attachment.gateway_id or "")
    if gateway_id.startswith("vgw-"):
        backend.detach_vpn_gateway(gateway_id, attachment.vpc_id)
        return
    gateway = backend.internet_gateways.get(gateway_id)
    if gateway is not None and gateway.vpc is not None and gateway.vpc.id == attachment.vpc_id:
        backend.detach_internet_gateway(gateway_id, attachment.vpc_id)


def _delete_internet_gateway(gateway: Any, account: str, region: str) -> None:
    ec2_backend(account, region).delete_internet_gateway(gateway.id)


def _delete_route(route: Any, account: str, region: str) -> None:
    backend = ec2_backend(account, region)
    if route.route_table.id in backend.route_tables:
        backend.delete_route(
            route.route_table.id,
            route.destination_cidr_block,
            destination_ipv6_cidr_block=route.destination_ipv6_cidr_block,
        )


def _delete_route_table_association(association: Any, account: str, region: str) -> None:
    backend = ec2_backend(account, region)
    table = backend.route_tables.get(association.route_table_id)
    if table is None:
        return
    for association_id, target in list(table._associations.items()):
        if target == association.subnet_id:
            backend.disassociate_route_table(association_id)


def _delete_route_table(table: Any, account: str, region: str) -> None:
    ec2_backend(account, region).delete_route_table(table.id)


def _delete_nat_gateway(gateway: Any, account: str, region: str) -> None:
    """AWS lists a deleted NAT gateway for a while; its address and interface are freed."""
    backend = ec2_backend(account, region)
    backend.delete_nat_gateway(gateway.id)
    interface = getattr(gateway, "_eni", None)
    if interface is not None:
        for address in backend.addresses:
            if address.eni is interface:
                backend.disassociate_address(address=address.public_ip)
        backend.enis.pop(interface.id, None)


def _delete_elastic_ip(address: Any, account: str, region: str) -> None:
    backend = ec2_backend(account, region)
    if address in backend.addresses:
        backend.release_address(allocation_id=address.allocation_id)


def _delete_vpc_endpoint(endpoint: Any, account: str, region: str) -> None:
    backend = ec2_backend(account, region)
    # moto removes the endpoint's routes itself, and fails if a route table went first.
    endpoint.route_table_ids = [t for t in endpoint.route_table_ids if t in backend.route_tables]
    backend.delete_vpc_endpoints([endpoint.id])


def _delete_ecs_cluster(cluster: Any, account: str, region: str) -> None:
    """ECS refuses to delete a cluster with active services (the workshop's CleanDelete
    custom resource removes Lab 0's primary services before this, when its function runs)."""
    backend = ecs_backend(account, region)
    if any(
        service.cluster_name == cluster.name and service.status == "ACTIVE"
        for service in backend.services.values()
    ):
        raise HandlerError(
            handler_message(
                "The Cluster cannot be deleted while Services are active.",
                "Ecs",
                "GeneralServiceException",
            )
        )
    backend.delete_cluster(cluster.name)


def _delete_ecs_service(service: Any, account: str, region: str) -> None:
    if service.status == "ACTIVE":
        ecs_backend(account, region).delete_service(service.cluster_name, service.name, force=True)


def _delete_task_definition(definition: Any, account: str, region: str) -> None:
    if definition.status == "ACTIVE":
        ecs_backend(account, region).deregister_task_definition(definition.arn)


def _delete_ecr_repository(
    repository: Any, account: str, region: str, resource_json: dict[str, Any], map_: Any
) -> None:
    """ECR refuses to delete a repository that holds images, unless the template sets
    `EmptyOnDelete` (the workshop's CleanDelete function force-deletes its repositories
    before this, when it runs)."""
    from moto.cloudformation.parsing import clean_json
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[account][region]
    if repository.name not in backend.repositories:
        return
    properties = clean_json(resource_json.get("Properties") or {}, map_)
    empty = str(properties.get("EmptyOnDelete", "false")).lower() == "true"
    if backend.repositories[repository.name].images and not empty:
        raise HandlerError(
            handler_message(
                f"The repository with name '{repository.name}' in registry with id "
                f"'{account}' cannot be deleted because it still contains images",
                "Ecr",
                "GeneralServiceException",
            )
        )
    backend.delete_repository(repository.name, force=True)


def _delete_bucket(bucket: Any, account: str, region: str) -> None:
    """S3 refuses to delete a bucket that holds objects (or versions, or delete markers);
    moto's own deletion answers nothing and leaves the bucket behind while the stack goes."""
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = s3_backends[account][get_partition(region)]
    found = backend.buckets.get(bucket.name)
    if found is None:
        return
    if found.keys:
        raise HandlerError(
            "The bucket you tried to delete is not empty (Service: Amazon S3; Status Code: 409; "
            f"Error Code: BucketNotEmpty; Request ID: {_s3_request_id()}; S3 Extended Request "
            f"ID: {_s3_extended_id()}; Proxy: null)"
        )
    backend.delete_bucket(bucket.name)


def _delete_clean_delete(
    resource: Any, account: str, region: str, resource_json: dict[str, Any], map_: Any
) -> None:
    """The workshop's CleanDelete custom resource: on Delete its function force-deletes the
    image repositories it is given and, in the primary, every service of the cluster (Lab 0's,
    made outside the stack). It runs only if its function still exists, as on AWS, where the
    function is invoked and must answer."""
    from moto.awslambda.models import lambda_backends
    from moto.cloudformation.parsing import clean_json
    from moto.ecr.models import ecr_backends

    properties = clean_json(resource_json.get("Properties") or {}, map_)
    try:
        lambda_backends[account][region].get_function(str(properties.get("ServiceToken", "")))
    except Exception:  # noqa: BLE001  (no function: nothing runs, as on AWS)
        return
    repositories = ecr_backends[account][region]
    for name in properties.get("Repositories") or []:
        if str(name) in repositories.repositories:
            repositories.delete_repository(str(name), force=True)
    cluster = str(properties.get("Cluster") or "")
    if cluster and str(properties.get("IsPrimary")) == "true":
        backend = ecs_backend(account, region)
        for service in list(backend.services.values()):
            if service.cluster_name == cluster and service.status == "ACTIVE":
                backend.delete_service(cluster, service.name, force=True)


def _delete_listener(listener: Any, account: str, region: str) -> None:
    backend = elbv2_backend(account, region)
    if any(listener.arn in lb.listeners for lb in backend.load_balancers.values()):
        backend.delete_listener(listener.arn)


def _delete_listener_rule(rule: Any, account: str, region: str) -> None:
    elbv2_backend(account, region).delete_rule(rule.arn)


def _delete_target_group(group: Any, account: str, region: str) -> None:
    backend = elbv2_backend(account, region)
    if group.arn in backend.target_groups:
        backend.delete_target_group(group.arn)


def _ec2_refusal(message: str) -> HandlerError:
    return HandlerError(
        f"{message} (Service: AmazonEC2; Status Code: 400; Error Code: DependencyViolation; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)"
    )


def _group_in_use(group: Any, account: str, region: str) -> None:
    """EC2 refuses to delete a security group that a network interface still uses (an ECS
    task's, for a while after the task stopped; an instance's)."""
    for interface in ec2_backend(account, region).enis.values():
        if any(g.id == group.id for g in getattr(interface, "_group_set", [])):
            raise _ec2_refusal(f"resource {group.id} has a dependent object")


def _subnet_in_use(subnet: Any, account: str, region: str) -> None:
    """EC2 refuses to delete a subnet that still holds a network interface."""
    for interface in ec2_backend(account, region).enis.values():
        if getattr(interface.subnet, "id", None) == subnet.id:
            raise _ec2_refusal(f"The subnet '{subnet.id}' has dependencies and cannot be deleted.")


_IN_USE: dict[str, Callable[[Any, str, str], None]] = {
    "AWS::EC2::SecurityGroup": _group_in_use,
    "AWS::EC2::Subnet": _subnet_in_use,
}
"""Checks before moto's own deletion of types whose dependents moto ignores."""

_DELETERS: dict[str, Callable[[Any, str, str], None]] = {
    "AWS::EC2::VPCGatewayAttachment": _delete_gateway_attachment,
    "AWS::EC2::InternetGateway": _delete_internet_gateway,
    "AWS::EC2::Route": _delete_route,
    "AWS::EC2::SubnetRouteTableAssociation": _delete_route_table_association,
    "AWS::EC2::RouteTable": _delete_route_table,
    "AWS::EC2::NatGateway": _delete_nat_gateway,
    "AWS::EC2::EIP": _delete_elastic_ip,
    "AWS::EC2::VPCEndpoint": _delete_vpc_endpoint,
    "AWS::ECS::Cluster": _delete_ecs_cluster,
    "AWS::ECS::Service": _delete_ecs_service,
    "AWS::ECS::TaskDefinition": _delete_task_definition,
    "AWS::S3::Bucket": _delete_bucket,
    "AWS::ElasticLoadBalancingV2::Listener": _delete_listener,
    "AWS::ElasticLoadBalancingV2::ListenerRule": _delete_listener_rule,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _delete_target_group,
}
