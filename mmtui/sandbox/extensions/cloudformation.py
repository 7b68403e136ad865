"""CloudFormation as Lab 3 step 1 needs it: moto 5.2.1's stacks, corrected to behave as AWS.

Step 1 is one `aws cloudformation deploy` of the workshop template into the secondary region;
the attendee (and mmtui's checks) then read the stack's outputs, watch its events and, at the
end, delete it. moto gets most of that wrong (moto-limits.md §1-§3), so this module replaces
the parts of moto's CloudFormation engine involved. Everything is patched on moto's own classes
and module functions, once per process: the objects in moto's backends stay moto's own, so the
sandbox's pickled state loads with or without this module.

What changes, and which moto internals carry it:

* Template reading (`cloudformation.utils.yaml_tag_constructor`, `parsing.clean_json`):
  `!Condition X` inside `!Not`/`!And`/`!Or` is a condition reference, short-form tags on
  mappings are read as mappings, and `Fn::GetAZs` answers the zones of the region it names
  (or of the stack's region), not always us-east-1's.
* Outputs (`parsing.OutputMap.exports`, `models.Stack.outputs`): an output whose Condition is
  false exports nothing, and each output shows its own export name (moto matched exports by
  value, so two outputs with one value shared a name).
* Resource properties moto ignores: `LoadBalancerFullName` (and `SecurityGroups`,
  `CanonicalHostedZoneID`) of a load balancer; ECS services' launch type, network
  configuration and load balancers; task definitions' CPU, memory, network mode, roles and
  compatibilities; load balancer and target group attributes; VPC DNS attributes; subnets'
  public IP mapping; security group rules for all protocols (`IpProtocol: -1`, no ports).
* Stack lifecycle (`models.CloudFormationBackend`, `models.Stack`, `models.ChangeSet`,
  `parsing.ResourceMap`): resources are created in dependency order with
  CREATE_IN_PROGRESS/CREATE_COMPLETE events each; a resource that fails rolls the stack back
  (ROLLBACK_COMPLETE, as AWS); change sets compute their changes with the new parameters'
  conditions, keep Outputs and Exports when executed, and a change set without changes fails
  with AWS's reason instead of CreateChangeSet refusing it; updates add, modify and then
  remove resources with events; deletion removes every resource the stack made, dependants
  first, with events, and a stack that cannot be deleted stays as DELETE_FAILED instead of
  vanishing and leaking its resources.

* Lambda (lambda_runtimes.py): a function on a runtime whose creation AWS blocks fails its
  resource with Lambda's refusal, so the workshop's python3.7 clean-up function rolls a new
  stack back, as on AWS. Custom resources answer SUCCESS at once without running their
  function's code (the workshop's CleanDelete answers SUCCESS on Create and Update; its
  deletions are done by this module's deleters), but their function must exist.
* Change sets: an UPDATE change set is refused for a stack under review (never created),
  rolled back, failed or busy (any *_IN_PROGRESS), with AWS's ValidationError messages.
* Nested stacks and the CI/CD resource types moto lacks (cfn_nested.py): the workshop's
  primary stack creates its CI/CD and dashboard stacks as on AWS; `!GetAtt A.B.C` is
  attribute `B.C` of `A`, as AWS reads it; a settled stack's outputs are evaluated on each read.

Creation and deletion are synchronous by default (a stack is complete when
CreateStack/ExecuteChangeSet returns: the CLI's waiters finish on their first poll). With
`stack_create_seconds` / `stack_delete_seconds` (environment: MMTUI_SANDBOX_STACK_CREATE_SECONDS,
MMTUI_SANDBOX_STACK_DELETE_SECONDS) a stack stays CREATE_IN_PROGRESS (no resources, no outputs
yet) or DELETE_IN_PROGRESS for that long; the work is done on the first request after it.
A stack created with `created_earlier` is backdated: made as on that day (runtimes accepted
then are accepted) and complete at once, as Lab 0's stack is by the time Lab 3 starts.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from contextvars import ContextVar
from datetime import date
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.extensions import cfn_nested, lambda_runtimes
from mmtui.sandbox.protocol import AwsRequest, AwsResponse
from mmtui.sandbox.timing import VARIABLES, scale_of, seconds

if TYPE_CHECKING:
    from mmtui.sandbox.server import Sandbox

STACK = "AWS::CloudFormation::Stack"
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create "
    "a change set."
)

CREATE_VARIABLE = VARIABLES["stack_create"]
DELETE_VARIABLE = VARIABLES["stack_delete"]
UNSTABLE_FOR_UPDATE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")
"""Settled states from which a stack cannot be updated (only deleted)."""

_install_lock = threading.Lock()
_installed = False


class _Timings:
    """How long stacks take (seconds); one per process, as moto's state is."""

    create = 0.0
    delete = 0.0


_TIMINGS = _Timings()

# (account, region, stack name) → the day a stack about to be created was made on (seeding).
_BACKDATED: dict[tuple[str, str, str], date] = {}
_backdated_lock = threading.Lock()

# The resources being created right now, as (stack id, logical id): a resource creates the
# resources it refers to first, and a reference cycle must not recurse forever.
_CREATING: ContextVar[frozenset[tuple[str, str]]] = ContextVar("mmtui_cfn_creating")


class CloudFormationFixes:
    """The sandbox extension: installs the fixes, and finishes stack operations that were
    given time (`stack_create_seconds`, `stack_delete_seconds`) once that time is up."""

    name = "cloudformation"

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        install()
        # AWS's durations times the sandbox's time scale (0 by default: instant), unless a
        # variable sets one of them (sandbox/timing.py, shared with the other extensions).
        notes: list[str] = sandbox.notes if sandbox is not None else []
        scale = scale_of(getattr(sandbox, "options", None), notes.append)
        self.stack_create_seconds = seconds("stack_create", scale, notes.append)
        self.stack_delete_seconds = seconds("stack_delete", scale, notes.append)

    # The timings live in the module (the patched moto methods read them); the properties let
    # tests and the sandbox's options tune them on the extension like the other extensions'.
    @property
    def stack_create_seconds(self) -> float:
        return _TIMINGS.create

    @stack_create_seconds.setter
    def stack_create_seconds(self, value: float) -> None:
        _TIMINGS.create = float(value)

    @property
    def stack_delete_seconds(self) -> float:
        return _TIMINGS.delete

    @stack_delete_seconds.setter
    def stack_delete_seconds(self, value: float) -> None:
        _TIMINGS.delete = float(value)

    def before(self, request: AwsRequest) -> AwsResponse | None:
        # Any request may be the first one after a stack's time is up (a check reading ECS
        # sees what the finished stack made).
        advance(time.time())
        return None

    def after(self, request: AwsRequest, response: AwsResponse) -> AwsResponse:
        return response


def _function_of(model: Any, name: str) -> Any:
    """The function behind a classmethod of a moto model (to call it from its replacement)."""
    return getattr(model, name).__func__


def _patch(owner: Any, name: str, value: Any) -> None:
    """Replace one attribute of a moto module or class (moto's own typing does not apply)."""
    setattr(owner, name, value)


def install() -> None:
    """Patch moto's CloudFormation engine (idempotent; importing it costs about a second)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _patch_template_reading()
        _patch_outputs()
        _patch_resource_properties()
        _patch_lifecycle()
        _patch_custom_resources()
        lambda_runtimes.install()
        cfn_nested.install()
        _installed = True


def created_earlier(account: str, region: str, stack_name: str, day: date) -> None:
    """The next stack `stack_name` created in that account and region is made as on `day`
    (seeding what Lab 0 created then: its Lambda runtime was accepted at the time) and is
    complete at once. An explicit allowance for one creation, never a default."""
    with _backdated_lock:
        _BACKDATED[(account, region, stack_name)] = day


def _take_backdating(stack: Any) -> date | None:
    with _backdated_lock:
        return _BACKDATED.pop((stack.account_id, stack.region_name, stack.name), None)


def advance(now: float) -> None:
    """Finish the stack operations whose time is up (called under the sandbox's lock)."""
    from moto.cloudformation.models import cloudformation_backends

    # dict.values: moto's backend dictionaries create accounts and regions on lookup, not here.
    for account in dict.values(cloudformation_backends):
        for backend in dict.values(account):
            stacks: list[Any] = list(backend.stacks.values())
            for stack in stacks:
                due = getattr(stack, "_mmtui_due", None)
                if due is None or due > now:
                    continue
                pending = stack._mmtui_pending
                stack._mmtui_due = stack._mmtui_pending = None
                if pending == "create":
                    _finish_create(backend, stack)
                elif pending == "delete":
                    _finish_delete(backend, stack)


# =========================================================================== template reading


def _patch_template_reading() -> None:
    import yaml
    from moto.cloudformation import models, parsing, responses, utils

    original_constructor = utils.yaml_tag_constructor

    def yaml_tag_constructor(loader: Any, tag: str, node: Any) -> Any:
        if tag == "!Condition":
            # A reference to another condition, as in `!Not [!Condition PrimaryRegion]`;
            # moto made it `Fn::Condition`, which its condition evaluator does not know.
            return {"Condition": node.value}
        if isinstance(node, yaml.MappingNode):
            # e.g. `!GetAZs {Ref: AWS::Region}`: moto returned the raw YAML node pairs.
            key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
            return {key: loader.construct_mapping(node, deep=True)}
        if tag == "!GetAtt" and isinstance(node, yaml.ScalarNode):
            # `!GetAtt Stack.Outputs.Key` names the attribute `Outputs.Key`: AWS splits at the
            # first dot only (moto at every dot).
            return {"Fn::GetAtt": str(node.value).split(".", 1)}
        return original_constructor(loader, tag, node)

    # Each module registers the constructor it imported before parsing, so all must change.
    for module in (utils, models, responses):
        _patch(module, "yaml_tag_constructor", yaml_tag_constructor)

    original_clean_json = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
            return _availability_zones(resource_json["Fn::GetAZs"], resources_map)
        return original_clean_json(resource_json, resources_map)

    _patch(parsing, "clean_json", clean_json)


def _availability_zones(argument: Any, resources_map: Any) -> list[str]:
    """`Fn::GetAZs`: the zones of the named region, or of the stack's region when empty."""
    from moto.cloudformation import parsing

    region = parsing.clean_json(argument, resources_map) if argument else ""
    region = str(region or resources_map["AWS::Region"])
    zones = _ec2(resources_map["AWS::AccountId"], region).describe_availability_zones()
    return sorted(zone.name for zone in zones)


# =========================================================================== outputs


def _patch_outputs() -> None:
    from moto.cloudformation import models, parsing

    def exports(self: Any) -> list[Any]:
        found = []
        for output in (self._output_json_map or {}).values():
            if not output.get("Export") or not _output_shown(output, self._resource_map):
                continue
            name = parsing.clean_json(output["Export"].get("Name"), self._resource_map)
            value = parsing.clean_json(output.get("Value"), self._resource_map)
            found.append(parsing.Export(self._stack_id, name, value))
        return found

    _patch(parsing.OutputMap, "exports", property(exports))

    def outputs(self: Any) -> list[dict[str, Any]] | None:
        if getattr(self, "_mmtui_pending", None) == "create" or self.status in _NO_OUTPUTS:
            # Nothing was made (yet, or any more): AWS shows no outputs, and evaluating them
            # would make moto create the resources they refer to.
            return None
        template_outputs = self.template_dict.get("Outputs") or {}
        shown = []
        # A settled stack's outputs are evaluated on every read, not cached as moto does: a
        # value may change while the stack stands (a clone URL names the sandbox's port of this
        # run). Any other stack keeps moto's cache: evaluating the outputs of a deleted stack
        # would make moto create again the resources they refer to.
        live = self.status in _LIVE_OUTPUTS
        for key in template_outputs:
            if live:
                output = parsing.parse_output(key, template_outputs[key], self.resource_map)
                if output:  # what the stack shows once it is deleted
                    self.output_map._parsed_outputs[key] = output
            else:
                output = self.output_map[key]
            if not output:
                continue
            entry = {"OutputKey": output.key, "OutputValue": _output_text(output.value)}
            if output.description:
                entry["Description"] = output.description
            export = template_outputs[key].get("Export")
            if export:
                entry["ExportName"] = parsing.clean_json(export.get("Name"), self.resource_map)
            shown.append(entry)
        return shown or None

    _patch(models.Stack, "outputs", property(outputs))

    original_validate_outputs = parsing.ResourceMap.validate_outputs

    def validate_outputs(self: Any) -> None:
        # moto looks for Fn::GetAtt with `in`, which fails on a literal number or boolean.
        template_outputs = self._template.get("Outputs") or {}
        literal = {
            key: output
            for key, output in template_outputs.items()
            if not isinstance(output.get("Value"), dict | list | str)
        }
        if not literal:
            original_validate_outputs(self)
            return
        self._template["Outputs"] = {k: v for k, v in template_outputs.items() if k not in literal}
        try:
            original_validate_outputs(self)
        finally:
            self._template["Outputs"] = template_outputs

    _patch(parsing.ResourceMap, "validate_outputs", validate_outputs)


_LIVE_OUTPUTS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})
_NO_OUTPUTS = frozenset(
    {"REVIEW_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED"}
)


def _output_text(value: Any) -> str:
    """An output value as AWS shows it: always a string (lists joined with commas)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_output_text(item) for item in value)
    return str(value)


def _output_shown(output: dict[str, Any], resource_map: Any) -> bool:
    condition = output.get("Condition")
    return not condition or bool(resource_map.lazy_condition_map[condition])


# =========================================================================== resource properties


def _patch_resource_properties() -> None:
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

    _patch(FakeLoadBalancer, "get_cfn_attribute", lb_attribute)

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

    _patch(SecurityGroup, "create_from_cloudformation_json", classmethod(sg_create))

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

    _patch(Role, "update_from_cloudformation_json", classmethod(role_update))

    # ---- ECS: services and task definitions with everything the template says
    _patch(Service, "create_from_cloudformation_json", classmethod(_ecs_service_create))
    _patch(TaskDefinition, "create_from_cloudformation_json", classmethod(_task_definition_create))
    _patch(TaskDefinition, "update_from_cloudformation_json", classmethod(_task_definition_update))

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

    _patch(model, "create_from_cloudformation_json", classmethod(create))


def _key_values(items: Iterable[dict[str, Any]] | None) -> dict[str, str]:
    return {str(item["Key"]): str(item["Value"]) for item in items or [] if "Key" in item}


def _apply_load_balancer_properties(
    balancer: Any, properties: dict[str, Any], account_id: str, region: str
) -> None:
    backend = _elbv2(account_id, region)
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
        _elbv2(account_id, region).modify_target_group_attributes(group.arn, attributes)


def _apply_vpc_properties(
    vpc: Any, properties: dict[str, Any], account_id: str, region: str
) -> None:
    backend = _ec2(account_id, region)
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
        _ec2(account_id, region).modify_subnet_attribute(
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
    return _ecs(account_id, region).create_service(
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
    return _ecs(account_id, region).register_task_definition(**arguments)


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
    backend = _ecs(account_id, region_name)
    arguments = _task_definition_arguments(cloudformation_json["Properties"], new_resource_name)
    replacement = backend.register_task_definition(**arguments)
    backend.deregister_task_definition(original_resource.arn)
    return replacement


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


# =========================================================================== lifecycle


def _patch_lifecycle() -> None:
    from moto.cloudformation import models, parsing, responses

    backend_class = models.CloudFormationBackend
    _patch(backend_class, "create_stack", _create_stack)
    _patch(backend_class, "create_change_set", _create_change_set)
    _patch(backend_class, "execute_change_set", _execute_change_set)
    _patch(backend_class, "delete_stack", _delete_stack)
    _patch(models.Stack, "update", _update_stack)
    _patch(models.Stack, "delete", _stack_delete)
    _patch(models.Stack, "stack_resources", property(_stack_resources))
    _patch(models.ChangeSet, "diff", _change_set_diff)
    _patch(parsing.ResourceMap, "delete", _resource_map_delete)

    original_create_resource = parsing.parse_and_create_resource

    def parse_and_create_resource(
        logical_id: str,
        resource_json: dict[str, Any],
        resources_map: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        return _create_resource(
            original_create_resource,
            logical_id,
            resource_json,
            resources_map,
            account_id,
            region_name,
        )

    _patch(parsing, "parse_and_create_resource", parse_and_create_resource)

    original_validate = responses.CloudFormationResponse._validate_different_update

    def validate_different_update(self: Any, *args: Any, **kwargs: Any) -> None:
        # UpdateStack refuses an update without changes; CreateChangeSet accepts it and the
        # change set fails (what `deploy --no-fail-on-empty-changeset` relies on).
        if self._get_action() == "CreateChangeSet":
            return
        original_validate(self, *args, **kwargs)

    _patch(
        responses.CloudFormationResponse, "_validate_different_update", validate_different_update
    )

    # A resource's status and time are its latest event's (moto: the stack's status, and a
    # timestamp from 2010), so a UI can show which resources are done.
    original_resource_dto = responses.StackResourceDTO.__init__

    def resource_dto(self: Any, stack: Any, resource: Any) -> None:
        original_resource_dto(self, stack, resource)
        self.resource_status, self.timestamp = _resource_state(stack, self.logical_resource_id)
        self.last_updated_timestamp = self.timestamp

    _patch(responses.StackResourceDTO, "__init__", resource_dto)

    def list_stack_resources(self: Any) -> Any:
        from moto.core.responses import ActionResult

        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        summaries = []
        for resource in stack.stack_resources:
            status, when = _resource_state(stack, resource.logical_resource_id)
            summaries.append(
                {
                    "LogicalResourceId": resource.logical_resource_id,
                    "PhysicalResourceId": getattr(resource, "physical_resource_id", ""),
                    "ResourceType": getattr(resource, "cf_resource_type", ""),
                    "ResourceStatus": status,
                    "LastUpdatedTimestamp": when,
                }
            )
        return ActionResult({"StackResourceSummaries": summaries})

    _patch(responses.CloudFormationResponse, "list_stack_resources", list_stack_resources)


# --------------------------------------------------------------------------- custom resources


def _patch_custom_resources() -> None:
    from moto.cloudformation import custom_model

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region: str,
        **kw: Any,
    ) -> Any:
        """A Lambda-backed custom resource, answered SUCCESS without running the function.

        moto invokes the function in a container and waits for its answer, which never comes
        in the sandbox. The workshop's only custom resource (CleanDelete) answers SUCCESS on
        Create and Update; its deletions are this module's deleters. Its function must exist,
        as on AWS (the service token is looked up).
        """
        from moto.awslambda.models import lambda_backends

        token = str((cloudformation_json.get("Properties") or {}).get("ServiceToken", ""))
        lambda_backends[account_id][region].get_function(token)
        model: Any = custom_model.CustomModel  # abstract to the type checker only
        resource = model(
            region, str(uuid.uuid4()), str(kw.get("LogicalId", resource_name)), resource_name
        )
        resource.set_data({})
        return resource

    _patch(custom_model.CustomModel, "create_from_cloudformation_json", classmethod(create))


# --------------------------------------------------------------------------- helpers


def _backend_of(stack: Any) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[stack.account_id][stack.region_name]


def _stack_of(resources_map: Any) -> Any | None:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[resources_map._account_id][resources_map._region_name]
    return backend.stacks.get(resources_map.stack_id)


def _event(
    stack: Any | None,
    logical_id: str,
    physical_id: str | None,
    resource_type: str,
    status: str,
    reason: str | None = None,
) -> None:
    """Record a stack event (and notify the stack's SNS topics, as moto does for its own)."""
    if stack is None:
        return
    from moto.cloudformation.models import Event

    event = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id or "",
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def _stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    """A stack-level event; its reason is also the stack's StackStatusReason, as on AWS."""
    _event(stack, stack.name, stack.stack_id, STACK, status, reason)
    stack.status_reason = reason


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)


def _supported(resource_type: str) -> bool:
    from moto.cloudformation import parsing

    if resource_type in parsing.NULL_MODELS:
        return False
    return resource_type.startswith("Custom::") or resource_type in parsing.get_model_map()


def _references(node: Any) -> set[str]:
    """Names a template fragment refers to: Ref, GetAtt and ${...} in Sub (not ${!literal})."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".", 1)[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
                names = {
                    name.split(".", 1)[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", str(text))
                }
                found |= names - set(variables or {})
                found |= _references(variables)
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def _dependencies(resource_json: dict[str, Any], resources: dict[str, Any]) -> list[str]:
    """The resources one resource needs first: DependsOn and everything it refers to."""
    depends_on = resource_json.get("DependsOn") or []
    names = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    names |= _references(resource_json.get("Properties"))
    # Template order keeps creation (and so events and IDs) deterministic.
    return [name for name in resources if name in names]


def _creation_order(resources: dict[str, Any]) -> list[str]:
    """Logical IDs with every resource after the ones it depends on (template order otherwise)."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:  # a cycle: AWS refuses the template; keep going regardless
            return
        state[name] = 1
        for dependency in _dependencies(resources[name], resources):
            visit(dependency)
        state[name] = 2
        order.append(name)

    for name in resources:
        visit(name)
    return order


def _normalised(resource_json: dict[str, Any]) -> dict[str, Any]:
    """A resource's template entry as written (moto adds `Properties: {}` while creating it)."""
    entry = copy.deepcopy(resource_json)
    if not entry.get("Properties"):
        entry.pop("Properties", None)
    return entry


def _created(resources_map: Any) -> dict[str, Any]:
    """The stack's resources that exist, by logical ID (not the skipped or false-condition ones)."""
    parsed = resources_map._parsed_resources
    return {
        name: parsed[name]
        for name in resources_map._resource_json_map
        if parsed.get(name) is not None and not isinstance(parsed[name], str | int | float | list)
    }


def _resolved_text(parameters: dict[str, Any]) -> dict[str, str]:
    return {
        key: ",".join(map(str, value)) if isinstance(value, list) else str(value)
        for key, value in parameters.items()
    }


def _resource_state(stack: Any, logical_id: str) -> tuple[str, Any]:
    """A resource's latest status and when it was reached, from the stack's events."""
    for event in reversed(stack.events):
        if event.logical_resource_id == logical_id and event.resource_type != STACK:
            return str(event.resource_status), event.timestamp
    return "CREATE_COMPLETE", stack.creation_time


def _stack_resources(self: Any) -> list[Any]:
    """DescribeStackResources: the resources that exist, never placeholders for skipped ones."""
    return list(_created(self.resource_map).values())


# --------------------------------------------------------------------------- creation


def _create_resource(
    original: Callable[..., Any],
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """Create one resource after the ones it needs, with its events."""
    stack = _stack_of(resources_map)
    condition = resource_json.get("Condition")
    resource_type = str(resource_json.get("Type"))
    arguments = (logical_id, resource_json, resources_map, account_id, region_name)
    if (
        stack is None
        or (condition and not resources_map.lazy_condition_map[condition])
        or not _supported(resource_type)
    ):
        return original(*arguments)
    key = (resources_map.stack_id, logical_id)
    creating = _CREATING.get(frozenset())
    if key in creating:
        return original(*arguments)
    token = _CREATING.set(creating | {key})
    try:
        resources = resources_map._resource_json_map
        for dependency in _dependencies(resource_json, resources):
            if (resources_map.stack_id, dependency) not in creating:
                resources_map[dependency]
        _event(stack, logical_id, None, resource_type, "CREATE_IN_PROGRESS")
        try:
            resource = original(*arguments)
        except Exception as exc:
            reported = getattr(exc, "_mmtui_reported", False)
            reason = "Resource creation cancelled" if reported else _reason(exc)
            _event(stack, logical_id, None, resource_type, "CREATE_FAILED", reason)
            if not reported:
                _mark_reported(exc, logical_id)
            raise
    finally:
        _CREATING.reset(token)
    if resource is not None:
        physical = getattr(resource, "physical_resource_id", None)
        _event(
            stack,
            logical_id,
            physical,
            resource_type,
            "CREATE_IN_PROGRESS",
            "Resource creation Initiated",
        )
        _event(stack, logical_id, physical, resource_type, "CREATE_COMPLETE")
    return resource


def _mark_reported(exc: Exception, logical_id: str) -> None:
    try:
        exc._mmtui_reported = True  # type: ignore[attr-defined]
        exc._mmtui_failed = logical_id  # type: ignore[attr-defined]
    except AttributeError:  # an exception type without a __dict__: the reason is still recorded
        pass


def _create_stack(
    self: Any,
    name: str,
    template: str,
    parameters: dict[str, Any],
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
    enable_termination_protection: bool | None = False,
    timeout_in_mins: int | None = None,
    stack_policy_body: str | None = None,
) -> Any:
    from moto.cloudformation.exceptions import AlreadyExistsException
    from moto.cloudformation.utils import generate_stack_id

    if any(stack.name == name for stack in self.stacks.values()):
        raise AlreadyExistsException(f"Stack [{name}] already exists")
    stack = _new_stack(
        stack_id=generate_stack_id(name, self.region_name, self.account_id),
        name=name,
        template=template,
        parameters=parameters,
        account_id=self.account_id,
        region_name=self.region_name,
        notification_arns=notification_arns,
        tags=tags,
        role_arn=role_arn,
        cross_stack_resources=self.exports,
        enable_termination_protection=enable_termination_protection,
        timeout_in_mins=timeout_in_mins,
        stack_policy_body=stack_policy_body,
    )
    _check_export_names(self, stack)
    self.stacks[stack.stack_id] = stack
    _run_create(self, stack)
    return stack


def _new_stack(**arguments: Any) -> Any:
    """A moto Stack (its class is abstract to the type checker, not at run time)."""
    from moto.cloudformation.models import Stack

    stack_class: Any = Stack
    return stack_class(**arguments)


def _check_export_names(backend: Any, stack: Any) -> None:
    """Export names are unique per region: refuse before anything is created (as AWS)."""
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError

    taken = {
        name
        for name, export in backend.exports.items()
        if export.exporting_stack_id != stack.stack_id
    }
    for output in (stack.template_dict.get("Outputs") or {}).values():
        if not output.get("Export") or not _output_shown(output, stack.resource_map):
            continue
        name = parsing.clean_json(output["Export"].get("Name"), stack.resource_map)
        if name in taken:
            raise ValidationError(
                stack.stack_id,
                message=f"Export with name {name} is already exported by stack "
                f"{_exporter_name(backend, backend.exports[name])}",
            )


def _exporter_name(backend: Any, export: Any) -> str:
    stack = backend.stacks.get(export.exporting_stack_id)
    return str(stack.name if stack is not None else export.exporting_stack_id)


def _publish_exports(backend: Any, stack: Any) -> None:
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        del backend.exports[name]
    for export in stack.exports:
        backend.exports[export.name] = export


def _run_create(backend: Any, stack: Any) -> None:
    """Start creating a stack: at once, or after `stack_create_seconds` (CREATE_IN_PROGRESS
    meanwhile, with no resources and no outputs yet)."""
    _stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    stack.status = "CREATE_IN_PROGRESS"
    stack._mmtui_created_on = _take_backdating(stack)
    if _TIMINGS.create > 0 and stack._mmtui_created_on is None:
        stack._mmtui_pending = "create"
        stack._mmtui_due = time.time() + _TIMINGS.create
        return
    _finish_create(backend, stack)


def _finish_create(backend: Any, stack: Any) -> None:
    """Create a stack's resources; a failure rolls back what was made (ROLLBACK_COMPLETE)."""
    day = getattr(stack, "_mmtui_created_on", None)
    with lambda_runtimes.created_on(day) if day else nullcontext():
        try:
            ready = stack.resource_map.create(stack.template_dict)
        except Exception as exc:  # noqa: BLE001  (any resource failure: AWS rolls back, not 500)
            failed = getattr(exc, "_mmtui_failed", None)
            _stack_event(
                stack,
                "ROLLBACK_IN_PROGRESS",
                f"The following resource(s) failed to create: [{failed or ''}]. "
                "Rollback requested by user."
                if failed
                else f"Stack creation failed: {_reason(exc)}",
            )
            leftovers = _delete_resources(stack.resource_map)
            stack.status = "ROLLBACK_FAILED" if leftovers else "ROLLBACK_COMPLETE"
            _stack_event(stack, stack.status)
            return
    stack.description = stack.template_dict.get("Description")
    if ready:  # else a custom resource answers later (moto's verify_readiness completes it)
        stack.status = "CREATE_COMPLETE"
        _stack_event(stack, stack.status)
    _publish_exports(backend, stack)


# --------------------------------------------------------------------------- change sets


def _find_stack(backend: Any, name_or_id: str) -> Any | None:
    if name_or_id in backend.stacks:
        return backend.stacks[name_or_id]
    return next((s for s in backend.stacks.values() if s.name == name_or_id), None)


def _create_change_set(
    self: Any,
    stack_name: str,
    change_set_name: str,
    template: str,
    parameters: dict[str, str],
    description: str,
    change_set_type: str,
    notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
    role_arn: str | None = None,
) -> tuple[str, str]:
    from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
    from moto.cloudformation.models import ChangeSet
    from moto.cloudformation.utils import (
        generate_changeset_id,
        generate_stack_id,
        validate_create_change_set,
    )

    validate_create_change_set(change_set_name)
    stack = _find_stack(self, stack_name)
    if change_set_type == "UPDATE":
        if stack is None or stack.status == "REVIEW_IN_PROGRESS":
            # A stack under review was never created: for an update it does not exist.
            raise ValidationError(stack_name, message=f"Stack [{stack_name}] does not exist")
        if stack.status in UNSTABLE_FOR_UPDATE or stack.status.endswith("_IN_PROGRESS"):
            raise ValidationError(
                stack.stack_id,
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be "
                "updated.",
            )
    elif stack is not None and stack.status != "REVIEW_IN_PROGRESS":
        raise AlreadyExistsException(f"Stack [{stack_name}] already exists")
    # A template or parameter problem is refused now, before any stack exists (as AWS).
    _preview_map(self, stack_name, template, parameters, tags)
    if stack is None:
        stack = _new_stack(
            stack_id=generate_stack_id(stack_name, self.region_name, self.account_id),
            name=stack_name,
            template={},
            parameters=parameters,
            account_id=self.account_id,
            region_name=self.region_name,
            notification_arns=notification_arns,
            tags=tags,
            role_arn=role_arn,
        )
        self.stacks[stack.stack_id] = stack
        stack.status = "REVIEW_IN_PROGRESS"
        _stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")

    change_set = ChangeSet(
        change_set_type=change_set_type,
        change_set_id=generate_changeset_id(change_set_name, self.region_name, self.account_id),
        change_set_name=change_set_name,
        stack=stack,
        template=template,
        parameters=parameters,
        description=description,
        notification_arns=notification_arns,
        tags=tags,
        role_arn=role_arn,
    )
    if change_set_type == "UPDATE" and not _has_changes(stack, change_set):
        change_set.status = "FAILED"
        change_set.execution_status = "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES
    else:
        change_set.status = "CREATE_COMPLETE"
        change_set.execution_status = "AVAILABLE"
    self.change_sets[change_set.change_set_id] = change_set
    return change_set.change_set_id, stack.stack_id


def _preview_map(
    backend: Any, stack_name: str, template: str, parameters: dict[str, Any], tags: Any
) -> Any:
    """A resource map of a template with its parameters and conditions resolved; nothing made."""
    from moto.cloudformation.models import Stack
    from moto.cloudformation.parsing import ResourceMap

    template_dict = Stack.parse_template(template)
    preview = ResourceMap(
        "preview",
        stack_name,
        parameters,
        dict(tags or {}),
        region_name=backend.region_name,
        account_id=backend.account_id,
        template=template_dict,
        cross_stack_resources=backend.exports,
    )
    preview.load()
    return preview


def _has_changes(stack: Any, change_set: Any) -> bool:
    """Whether an update would change anything: the template, a parameter value or the tags."""
    from moto.cloudformation.models import Stack

    # The stack's parsed template is not a reference: moto edits it while creating resources.
    if Stack.parse_template(stack.template) != change_set.template_dict:
        return True
    backend = _backend_of(stack)
    preview = _preview_map(backend, stack.name, change_set.template, change_set.parameters, None)
    old = _resolved_text(stack.resource_map.resolved_parameters)
    if _resolved_text(preview.resolved_parameters) != old:
        return True
    return bool(change_set.tags) and dict(change_set.tags) != dict(stack.tags)


def _plan(
    resources_map: Any,
    new_resources: dict[str, Any],
    wanted: Callable[[str], bool],
    changed: set[str],
) -> dict[str, list[str]]:
    """What an update does: Add, Modify, Remove (logical IDs in dependency order)."""
    existing = _created(resources_map)
    old_resources = resources_map._resource_json_map
    order = _creation_order(new_resources)
    add = [name for name in order if wanted(name) and name not in existing]
    modify = [
        name
        for name in order
        if name in existing
        and wanted(name)
        and (
            _normalised(old_resources.get(name, {})) != _normalised(new_resources[name])
            or bool(_references(new_resources[name]) & changed)
        )
    ]
    remove = [
        name
        for name in reversed(_creation_order(old_resources))
        if name in existing and (name not in new_resources or not wanted(name))
    ]
    return {"Add": add, "Modify": modify, "Remove": remove}


def _change_set_diff(self: Any) -> list[Any]:
    """The change set's Changes, evaluated with its own parameters and conditions."""
    from moto.cloudformation.models import Change

    stack = self.stack
    preview = _preview_map(
        _backend_of(stack), stack.name, self.template, self.parameters, self.tags
    )
    new_resources = self.template_dict.get("Resources") or {}

    def wanted(name: str) -> bool:
        condition = new_resources[name].get("Condition")
        return not condition or bool(preview.lazy_condition_map[condition])

    old = _resolved_text(stack.resource_map.resolved_parameters) if stack.template_dict else {}
    new = _resolved_text(preview.resolved_parameters)
    changed = {key for key in set(old) | set(new) if old.get(key) != new.get(key)} if old else set()
    plan = _plan(stack.resource_map, new_resources, wanted, changed)
    existing = _created(stack.resource_map)
    # Resources referring to a modified one may change with it (AWS: Replacement Conditional).
    touched = set(plan["Modify"])
    for name in _creation_order(new_resources):
        if (
            name in existing
            and wanted(name)
            and name not in touched
            and _references(new_resources[name]) & touched
        ):
            plan["Modify"].append(name)
            touched.add(name)
    changes = []
    for action, names in plan.items():
        for name in names:
            source = new_resources if action != "Remove" else stack.resource_map._resource_json_map
            change: Any = Change(action, name, source[name]["Type"])
            if action != "Add":
                change.physical_resource_id = getattr(existing[name], "physical_resource_id", None)
            changes.append(change)
    return changes


def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    from moto.cloudformation.exceptions import ValidationError

    change_set = self.change_sets.get(change_set_name) or next(
        (
            cs
            for cs in self.change_sets.values()
            if cs.change_set_name == change_set_name
            and (not stack_name or stack_name in (cs.stack_name, cs.stack_id))
        ),
        None,
    )
    if change_set is None:
        raise ValidationError(stack_name, message=f"ChangeSet [{change_set_name}] does not exist")
    if change_set.execution_status != "AVAILABLE":
        raise _invalid_change_set_status()(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status "
            f"of [{change_set.status}]"
        )
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.parameters = change_set.parameters
        stack.description = stack.template_dict.get("Description")
        stack.cross_stack_resources = self.exports
        if change_set.tags:
            stack.tags = dict(change_set.tags)
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        _check_export_names(self, stack)
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        _run_create(self, stack)
    else:
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        stack.update(
            change_set.template,
            role_arn=change_set.role_arn,
            parameters=change_set.parameters,
            tags=change_set.tags or None,
        )
    change_set.execution_status = "EXECUTE_COMPLETE"
    # Executing one change set makes the stack's other change sets obsolete (AWS deletes them).
    for other_id in [
        cs_id
        for cs_id, cs in self.change_sets.items()
        if cs.stack_id == stack.stack_id and cs is not change_set
    ]:
        del self.change_sets[other_id]


@functools.cache
def _invalid_change_set_status() -> type[Exception]:
    """moto has no InvalidChangeSetStatus error; made on first use, as moto's own error type."""
    from moto.cloudformation.exceptions import CloudFormationError

    class InvalidChangeSetStatus(CloudFormationError):
        code = "InvalidChangeSetStatus"

    return InvalidChangeSetStatus


# --------------------------------------------------------------------------- updates


def _update_stack(
    self: Any,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """Update a stack: add, then modify, then remove (the cleanup phase), with events."""
    from moto.cloudformation.models import Stack

    _stack_event(self, "UPDATE_IN_PROGRESS", "User Initiated")
    self.status = "UPDATE_IN_PROGRESS"
    resources_map = self.resource_map
    try:
        removed = _update_resources(self, resources_map, Stack.parse_template(template), parameters)
    except Exception as exc:  # noqa: BLE001  (a resource failed: the update rolls back)
        # moto cannot undo the changes already made; the stack reports what AWS would.
        failed = getattr(exc, "_mmtui_failed", None)
        verb = "update" if getattr(exc, "_mmtui_update", False) else "create"
        _stack_event(
            self,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            f"The following resource(s) failed to {verb}: [{failed}]. " if failed else _reason(exc),
        )
        self.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        _stack_event(self, self.status)
        self.status = "UPDATE_ROLLBACK_COMPLETE"
        _stack_event(self, self.status)
        return
    self.template = template
    self._parse_template()
    self.description = self.template_dict.get("Description")
    self.output_map = self._create_output_map()
    self.role_arn = role_arn
    if parameters:
        self.parameters = parameters
    if tags is not None:
        self.tags = tags
    _stack_event(self, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    _delete_resources(resources_map, removed[0], removed[1])
    self.status = "UPDATE_COMPLETE"
    _stack_event(self, self.status)
    _publish_exports(_backend_of(self), self)


def _update_resources(
    stack: Any, resources_map: Any, template: dict[str, Any], parameters: dict[str, Any] | None
) -> tuple[list[str], dict[str, Any]]:
    """Add and modify resources; returns what to remove afterwards (names, old entries)."""
    from moto.cloudformation import parsing

    old_resources = resources_map._resource_json_map
    old_parameters = _resolved_text(resources_map.resolved_parameters)
    existing = _created(resources_map)
    resources_map._template = template
    if parameters is not None:
        resources_map.input_parameters = parameters
    resources_map.resolved_parameters = {}
    resources_map.load()
    new_parameters = _resolved_text(resources_map.resolved_parameters)
    changed = {
        key
        for key in set(old_parameters) | set(new_parameters)
        if old_parameters.get(key) != new_parameters.get(key)
    }
    new_resources = template.get("Resources") or {}

    def wanted(name: str) -> bool:
        condition = new_resources[name].get("Condition")
        return not condition or bool(resources_map.lazy_condition_map[condition])

    plan = _plan(resources_map, new_resources, wanted, changed)
    resources_map._resource_json_map = new_resources
    # One pass in dependency order, as AWS: a resource that got a new physical ID (a new task
    # definition revision, say) is passed on to the resources that refer to it.
    replaced: set[str] = set()
    for name in _creation_order(new_resources):
        if name in plan["Add"]:
            resources_map[name]
            continue
        if name not in existing or not wanted(name):
            continue
        if name not in plan["Modify"] and not _references(new_resources[name]) & replaced:
            continue
        resource_type = new_resources[name]["Type"]
        physical = getattr(existing[name], "physical_resource_id", None)
        _event(stack, name, physical, resource_type, "UPDATE_IN_PROGRESS")
        try:
            updated = parsing.parse_and_update_resource(
                name,
                new_resources[name],
                resources_map,
                account_id=resources_map._account_id,
                region_name=resources_map._region_name,
            )
        except Exception as exc:
            _event(stack, name, physical, resource_type, "UPDATE_FAILED", _reason(exc))
            _mark_reported(exc, name)
            with contextlib.suppress(AttributeError):  # a type without __dict__: still reported
                exc._mmtui_update = True  # type: ignore[attr-defined]
            raise
        if updated is not None:  # None: moto cannot update this type; the resource stays
            resources_map._parsed_resources[name] = updated
            new_physical = getattr(updated, "physical_resource_id", physical)
            if new_physical != physical:
                replaced.add(name)
            physical = new_physical
        _event(stack, name, physical, resource_type, "UPDATE_COMPLETE")
    return plan["Remove"], old_resources


# --------------------------------------------------------------------------- deletion


def _delete_stack(self: Any, name_or_stack_id: str) -> None:
    """DeleteStack: remove the resources (at once, or after `stack_delete_seconds`); on
    failure the stack stays, DELETE_FAILED (as AWS)."""
    stack = _find_stack(self, name_or_stack_id)
    if stack is None:
        return  # deleting a stack that does not exist succeeds, as on AWS
    if stack.status == "DELETE_IN_PROGRESS":
        return  # already being deleted: AWS accepts the call and changes nothing
    _stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    stack.status = "DELETE_IN_PROGRESS"
    if _TIMINGS.delete > 0:
        stack._mmtui_pending = "delete"
        stack._mmtui_due = time.time() + _TIMINGS.delete
        return
    stack._mmtui_due = stack._mmtui_pending = None  # a creation still pending is cancelled
    _finish_delete(self, stack)


def _finish_delete(backend: Any, stack: Any) -> None:
    leftovers = _delete_resources(stack.resource_map)
    if leftovers:
        stack.status = "DELETE_FAILED"
        _stack_event(
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
    _stack_event(stack, "DELETE_COMPLETE")


def _stack_delete(self: Any) -> None:
    """moto's own deletions (nested stacks, stack set instances) go through the same engine."""
    _stack_event(self, "DELETE_IN_PROGRESS", "User Initiated")
    leftovers = _delete_resources(self.resource_map)
    self.status = "DELETE_FAILED" if leftovers else "DELETE_COMPLETE"
    _stack_event(self, self.status)


def _resource_map_delete(self: Any) -> None:
    from moto.cloudformation.exceptions import ValidationError

    leftovers = _delete_resources(self)
    if leftovers:
        raise ValidationError(message=f"The following resource(s) failed to delete: {leftovers}")


def _delete_resources(
    resources_map: Any,
    names: Iterable[str] | None = None,
    resources: dict[str, Any] | None = None,
) -> list[str]:
    """Delete resources, dependants first, with events; returns the ones that could not go.

    A deletion that fails is retried after the others (an implicit dependency moto does not
    see in the template); only when a whole pass makes no progress does it give up.
    """
    stack = _stack_of(resources_map)
    resources = resources if resources is not None else resources_map._resource_json_map
    parsed = resources_map._parsed_resources
    wanted = set(names) if names is not None else None
    pending = [
        name
        for name in reversed(_creation_order(resources))
        if (wanted is None or name in wanted)
        and parsed.get(name) is not None
        and not isinstance(parsed[name], str | int | float | list)
    ]
    errors: dict[str, str] = {}
    for name in list(pending):
        if resources[name].get("DeletionPolicy") == "Retain":
            physical = getattr(parsed[name], "physical_resource_id", None)
            _event(stack, name, physical, resources[name]["Type"], "DELETE_SKIPPED")
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
                _event(stack, name, physical, resource_type, "DELETE_IN_PROGRESS")
                started.add(name)
            try:
                _delete_one(resources_map, resource, resources[name])
            except Exception as exc:  # noqa: BLE001  (retried; reported if it never succeeds)
                errors[name] = _reason(exc)
                continue
            parsed.pop(name, None)
            pending.remove(name)
            progress = True
            _event(stack, name, physical, resource_type, "DELETE_COMPLETE")
    for name in pending:
        physical = getattr(parsed[name], "physical_resource_id", None)
        _event(stack, name, physical, resources[name]["Type"], "DELETE_FAILED", errors.get(name))
    return pending


def _delete_one(resources_map: Any, resource: Any, resource_json: dict[str, Any]) -> None:
    account, region = resources_map._account_id, resources_map._region_name
    deleter = _DELETERS.get(resource_json["Type"])
    if deleter is not None:
        deleter(resource, account, region)
    else:
        # moto's own deletion for the types it can delete (VPC, subnet, security group, role,
        # table, log group, load balancer, ...).
        resources_map._delete_resource(resource, resource_json)


def _ec2(account: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def _ecs(account: str, region: str) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def _elbv2(account: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region]


def _delete_gateway_attachment(attachment: Any, account: str, region: str) -> None:
    backend = _ec2(account, region)
    gateway_id = str(attachment.gateway_id or "")
    if gateway_id.startswith("vgw-"):
        backend.detach_vpn_gateway(gateway_id, attachment.vpc_id)
        return
    gateway = backend.internet_gateways.get(gateway_id)
    if gateway is not None and gateway.vpc is not None and gateway.vpc.id == attachment.vpc_id:
        backend.detach_internet_gateway(gateway_id, attachment.vpc_id)


def _delete_internet_gateway(gateway: Any, account: str, region: str) -> None:
    _ec2(account, region).delete_internet_gateway(gateway.id)


def _delete_route(route: Any, account: str, region: str) -> None:
    backend = _ec2(account, region)
    if route.route_table.id in backend.route_tables:
        backend.delete_route(
            route.route_table.id,
            route.destination_cidr_block,
            destination_ipv6_cidr_block=route.destination_ipv6_cidr_block,
        )


def _delete_route_table_association(association: Any, account: str, region: str) -> None:
    backend = _ec2(account, region)
    table = backend.route_tables.get(association.route_table_id)
    if table is None:
        return
    for association_id, target in list(table._associations.items()):
        if target == association.subnet_id:
            backend.disassociate_route_table(association_id)


def _delete_route_table(table: Any, account: str, region: str) -> None:
    _ec2(account, region).delete_route_table(table.id)


def _delete_nat_gateway(gateway: Any, account: str, region: str) -> None:
    """AWS lists a deleted NAT gateway for a while; its address and interface are freed."""
    backend = _ec2(account, region)
    backend.delete_nat_gateway(gateway.id)
    interface = getattr(gateway, "_eni", None)
    if interface is not None:
        for address in backend.addresses:
            if address.eni is interface:
                backend.disassociate_address(address=address.public_ip)
        backend.enis.pop(interface.id, None)


def _delete_elastic_ip(address: Any, account: str, region: str) -> None:
    backend = _ec2(account, region)
    if address in backend.addresses:
        backend.release_address(allocation_id=address.allocation_id)


def _delete_vpc_endpoint(endpoint: Any, account: str, region: str) -> None:
    backend = _ec2(account, region)
    # moto removes the endpoint's routes itself, and fails if a route table went first.
    endpoint.route_table_ids = [t for t in endpoint.route_table_ids if t in backend.route_tables]
    backend.delete_vpc_endpoints([endpoint.id])


def _delete_ecs_cluster(cluster: Any, account: str, region: str) -> None:
    """The workshop stack's CleanDelete custom resource first removes the services created
    outside the stack (Lab 0's primary services); this template has no custom resource, so
    its deletion does the same, or the cluster would outlive the stack."""
    backend = _ecs(account, region)
    for service in list(backend.services.values()):
        if service.cluster_name == cluster.name and service.status == "ACTIVE":
            backend.delete_service(cluster.name, service.name, force=True)
    backend.delete_cluster(cluster.name)


def _delete_ecs_service(service: Any, account: str, region: str) -> None:
    if service.status == "ACTIVE":
        _ecs(account, region).delete_service(service.cluster_name, service.name, force=True)


def _delete_task_definition(definition: Any, account: str, region: str) -> None:
    if definition.status == "ACTIVE":
        _ecs(account, region).deregister_task_definition(definition.arn)


def _delete_ecr_repository(repository: Any, account: str, region: str) -> None:
    """Forced, as the workshop's CleanDelete custom resource does: the pipelines put images in."""
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[account][region]
    if repository.name in backend.repositories:
        backend.delete_repository(repository.name, force=True)


def _delete_listener(listener: Any, account: str, region: str) -> None:
    backend = _elbv2(account, region)
    if any(listener.arn in lb.listeners for lb in backend.load_balancers.values()):
        backend.delete_listener(listener.arn)


def _delete_listener_rule(rule: Any, account: str, region: str) -> None:
    _elbv2(account, region).delete_rule(rule.arn)


def _delete_target_group(group: Any, account: str, region: str) -> None:
    backend = _elbv2(account, region)
    if group.arn in backend.target_groups:
        backend.delete_target_group(group.arn)


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
    "AWS::ECR::Repository": _delete_ecr_repository,
    "AWS::ElasticLoadBalancingV2::Listener": _delete_listener,
    "AWS::ElasticLoadBalancingV2::ListenerRule": _delete_listener_rule,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _delete_target_group,
}
