"""Resource properties moto's CloudFormation models ignore or get wrong (load balancers, ECS
services and task definitions, VPCs, subnets, security groups, IAM role updates).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

from mmtui.sandbox.moto_repairs.cloudformation.stacks import ec2_backend, ecs_backend, elbv2_backend
from mmtui.sandbox.moto_repairs.patching import patch


def _function_of(model: Any, name: str) -> Any:
    """The function behind a classmethod of a moto model (to call it from its replacement)."""
    return getattr(model, name).__func__


# =========================================================================== resource properties


def install() -> None:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.ec2.models.security_groups import SecurityGroup
    from moto.ec2.models.subnets import Subnet
    from moto.ec2.models.vpcs import VPC
    from moto.ecs.models import Service, TaskDefinition
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup
    from moto.iam.models import Role

    # ---- load balancer attributes moto leaves out (the dashboards use LoadBalancerFullName)
    original_lb_attribute = FakeLoadBalancer.get_cfn_attribute

    def lb_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "LoadBalancerFullName":
            # arn:...:loadbalancer/app/<name>/<id> -> app/<name>/<id>, as AWS answers.
            return str(self.arn).split(":loadbalancer/", 1)[1]
        if attribute_name == "SecurityGroups":
            return list(self.security_groups)
        if attribute_name == "CanonicalHostedZoneID":
            return self.canonical_hosted_zone_id
        if attribute_name == "LoadBalancerArn":
            return self.arn
        try:
            return original_lb_attribute(self, attribute_name)
        except NotImplementedError:
            raise UnformattedGetAttTemplateException() from None

    patch("cloudformation.resource_properties", FakeLoadBalancer, "get_cfn_attribute", lb_attribute)

    # ---- security groups: a rule for all protocols has no ports (AWS shows -1; moto needs them)
    original_sg_create = _function_of(SecurityGroup, "create_from_cloudformation_json")

    def sg_create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region: str,
        **kw: Any,
    ) -> Any:
        cloudformation_json = copy.copy(cloudformation_json)
        properties = dict(cloudformation_json.get("Properties") or {})
        rules = []
        for rule in properties.get("SecurityGroupIngress") or []:
            rule = dict(rule)
            rule["IpProtocol"] = str(rule.get("IpProtocol", "-1"))
            if rule["IpProtocol"] == "-1":
                rule.setdefault("FromPort", -1)
                rule.setdefault("ToPort", -1)
            rules.append(rule)
        properties["SecurityGroupIngress"] = rules
        cloudformation_json["Properties"] = properties
        return original_sg_create(cls, resource_name, cloudformation_json, account_id, region, **kw)

    patch(
        "cloudformation.resource_properties",
        SecurityGroup,
        "create_from_cloudformation_json",
        classmethod(sg_create),
    )

    # ---- IAM roles: an update changes the policies too (moto only changed the description)
    original_role_update = _function_of(Role, "update_from_cloudformation_json")

    def role_update(
        cls: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        role = original_role_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        _apply_role_policies(
            role, cloudformation_json.get("Properties") or {}, account_id, region_name
        )
        return role

    patch(
        "cloudformation.resource_properties",
        Role,
        "update_from_cloudformation_json",
        classmethod(role_update),
    )

    # ---- ECS: services and task definitions with everything the template says
    patch(
        "cloudformation.resource_properties",
        Service,
        "create_from_cloudformation_json",
        classmethod(_ecs_service_create),
    )
    patch(
        "cloudformation.resource_properties",
        TaskDefinition,
        "create_from_cloudformation_json",
        classmethod(_task_definition_create),
    )
    patch(
        "cloudformation.resource_properties",
        TaskDefinition,
        "update_from_cloudformation_json",
        classmethod(_task_definition_update),
    )

    # ---- attributes applied after creation, through the service's own API
    _after_create(FakeLoadBalancer, _apply_load_balancer_properties)
    _after_create(FakeTargetGroup, _apply_target_group_properties)
    _after_create(VPC, _apply_vpc_properties)
    _after_create(Subnet, _apply_subnet_properties)


def _after_create(model: Any, apply: Callable[[Any, dict[str, Any], str, str], None]) -> None:
    original = _function_of(model, "create_from_cloudformation_json")

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region: str,
        **kw: Any,
    ) -> Any:
        resource = original(cls, resource_name, cloudformation_json, account_id, region, **kw)
        apply(resource, cloudformation_json.get("Properties") or {}, account_id, region)
        return resource

    patch(
        "cloudformation.resource_properties",
        model,
        "create_from_cloudformation_json",
        classmethod(create),
    )


def _key_values(items: Iterable[dict[str, Any]] | None) -> dict[str, str]:
    return {str(item["Key"]): str(item["Value"]) for item in items or [] if "Key" in item}


def _apply_load_balancer_properties(
    balancer: Any, properties: dict[str, Any], account_id: str, region: str
) -> None:
    backend = elbv2_backend(account_id, region)
    attributes = _key_values(properties.get("LoadBalancerAttributes"))
    if attributes:
        backend.modify_load_balancer_attributes(balancer.arn, attributes)
    if properties.get("Type"):
        balancer.type = properties["Type"]
    # Load balancers are usable at once: nothing in the sandbox provisions them.
    balancer.activate()


def _apply_target_group_properties(
    group: Any, properties: dict[str, Any], account_id: str, region: str
) -> None:
    attributes = _key_values(properties.get("TargetGroupAttributes"))
    if attributes:
        elbv2_backend(account_id, region).modify_target_group_attributes(group.arn, attributes)


def _apply_vpc_properties(
    vpc: Any, properties: dict[str, Any], account_id: str, region: str
) -> None:
    backend = ec2_backend(account_id, region)
    for name, attribute in (
        ("EnableDnsSupport", "enable_dns_support"),
        ("EnableDnsHostnames", "enable_dns_hostnames"),
    ):
        if name in properties:
            backend.modify_vpc_attribute(vpc.id, attribute, _truthy(properties[name]))


def _apply_subnet_properties(
    subnet: Any, properties: dict[str, Any], account_id: str, region: str
) -> None:
    if "MapPublicIpOnLaunch" in properties:
        ec2_backend(account_id, region).modify_subnet_attribute(
            subnet.id, "map_public_ip_on_launch", _truthy(properties["MapPublicIpOnLaunch"])
        )


def _apply_role_policies(
    role: Any, properties: dict[str, Any], account_id: str, region: str
) -> None:
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    backend = iam_backends[account_id][get_partition(region)]
    if properties.get("AssumeRolePolicyDocument"):
        backend.update_assume_role_policy(
            role.name, json.dumps(properties["AssumeRolePolicyDocument"])
        )
    policies = {
        str(policy["PolicyName"]): policy["PolicyDocument"]
        for policy in properties.get("Policies") or []
    }
    for name in [name for name in role.policies if name not in policies]:
        backend.delete_role_policy(role.name, name)
    for name, document in policies.items():
        backend.put_role_policy(role.name, name, json.dumps(document))


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _ecs_service_create(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region: str,
    **_: Any,
) -> Any:
    properties = cloudformation_json["Properties"]
    cluster = properties.get("Cluster", "default")
    cluster = getattr(cluster, "name", cluster)
    task_definition = properties.get("TaskDefinition")
    task_definition = getattr(task_definition, "arn", task_definition)
    network = (properties.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration")
    return ecs_backend(account_id, region).create_service(
        cluster,
        resource_name,
        int(properties.get("DesiredCount", 1)),
        task_definition_str=task_definition,
        load_balancers=[
            {
                _camel(key): (int(value) if key == "ContainerPort" else value)
                for key, value in balancer.items()
            }
            for balancer in properties.get("LoadBalancers") or []
        ],
        tags=[
            {"key": key, "value": value}
            for key, value in _key_values(properties.get("Tags")).items()
        ],
        launch_type=properties.get("LaunchType"),
        platform_version=properties.get("PlatformVersion"),
        propagate_tags=properties.get("PropagateTags", "NONE"),
        network_configuration=(
            {
                "awsvpcConfiguration": {
                    "subnets": list(network.get("Subnets") or []),
                    "securityGroups": list(network.get("SecurityGroups") or []),
                    "assignPublicIp": network.get("AssignPublicIp", "DISABLED"),
                }
            }
            if network
            else None
        ),
        role_arn=properties.get("Role"),
    )


def _task_definition_arguments(properties: dict[str, Any], resource_name: str) -> dict[str, Any]:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "family": properties.get("Family") or resource_name,
        "container_definitions": remap_nested_keys(
            properties.get("ContainerDefinitions", []), pascal_to_camelcase
        ),
        "volumes": remap_nested_keys(properties.get("Volumes", []), pascal_to_camelcase),
        "network_mode": properties.get("NetworkMode"),
        "tags": [
            {"key": key, "value": value}
            for key, value in _key_values(properties.get("Tags")).items()
        ],
        "requires_compatibilities": properties.get("RequiresCompatibilities"),
        "cpu": text(properties.get("Cpu")),
        "memory": text(properties.get("Memory")),
        "task_role_arn": properties.get("TaskRoleArn"),
        "execution_role_arn": properties.get("ExecutionRoleArn"),
    }


def _task_definition_create(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region: str,
    **_: Any,
) -> Any:
    arguments = _task_definition_arguments(cloudformation_json["Properties"], resource_name)
    return ecs_backend(account_id, region).register_task_definition(**arguments)


def _task_definition_update(
    cls: Any,
    /,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """A changed task definition is a new revision; the old one is deregistered (as AWS)."""
    backend = ecs_backend(account_id, region_name)
    arguments = _task_definition_arguments(cloudformation_json["Properties"], new_resource_name)
    replacement = backend.register_task_definition(**arguments)
    backend.deregister_task_definition(original_resource.arn)
    return replacement


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]
