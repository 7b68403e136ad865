"""What the CloudFormation repairs share: stack timings and backdating, moto look-ups,
the order resources are made in, and stack events.
"""

from __future__ import annotations

import copy
import re
import threading
from contextvars import ContextVar
from datetime import date
from typing import Any

STACK = "AWS::CloudFormation::Stack"
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create "
    "a change set."
)
UNSTABLE_FOR_UPDATE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")
"""Settled states from which a stack cannot be updated (only deleted)."""


class _Timings:
    """How long stacks take (seconds); one per process, as moto's state is."""

    create = 0.0
    delete = 0.0


TIMINGS = _Timings()

# (account, region, stack name) → the day a stack about to be created was made on (seeding).
_BACKDATED: dict[tuple[str, str, str], date] = {}
_backdated_lock = threading.Lock()

# The resources being created right now, as (stack id, logical id): a resource creates the
# resources it refers to first, and a reference cycle must not recurse forever.
CREATING: ContextVar[frozenset[tuple[str, str]]] = ContextVar("mmtui_cfn_creating")


def created_earlier(account: str, region: str, stack_name: str, day: date) -> None:
    """The next stack `stack_name` created in that account and region is made as on `day`
    (seeding what Lab 0 created then: its Lambda runtime was accepted at the time) and is
    complete at once. An explicit allowance for one creation, never a default."""
    with _backdated_lock:
        _BACKDATED[(account, region, stack_name)] = day


def take_backdating(stack: Any) -> date | None:
    with _backdated_lock:
        return _BACKDATED.pop((stack.account_id, stack.region_name, stack.name), None)


def backend_of(stack: Any) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[stack.account_id][stack.region_name]


def stack_of(resources_map: Any) -> Any | None:
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[resources_map._account_id][resources_map._region_name]
    return backend.stacks.get(resources_map.stack_id)


def resource_event(
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


def stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    """A stack-level event; its reason is also the stack's StackStatusReason, as on AWS."""
    resource_event(stack, stack.name, stack.stack_id, STACK, status, reason)
    stack.status_reason = reason


def failure_reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)


def supported(resource_type: str) -> bool:
    from moto.cloudformation import parsing

    if resource_type in parsing.NULL_MODELS:
        return False
    return resource_type.startswith("Custom::") or resource_type in parsing.get_model_map()


def references(node: Any) -> set[str]:
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
                found |= references(variables)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def dependencies(resource_json: dict[str, Any], resources: dict[str, Any]) -> list[str]:
    """The resources one resource needs first: DependsOn and everything it refers to."""
    depends_on = resource_json.get("DependsOn") or []
    names = {depends_on} if isinstance(depends_on, str) else set(depends_on)
    names |= references(resource_json.get("Properties"))
    # Template order keeps creation (and so events and IDs) deterministic.
    return [name for name in resources if name in names]


def creation_order(resources: dict[str, Any]) -> list[str]:
    """Logical IDs with every resource after the ones it depends on (template order otherwise)."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:  # a cycle: AWS refuses the template; keep going regardless
            return
        state[name] = 1
        for dependency in dependencies(resources[name], resources):
            visit(dependency)
        state[name] = 2
        order.append(name)

    for name in resources:
        visit(name)
    return order


def normalised(resource_json: dict[str, Any]) -> dict[str, Any]:
    """A resource's template entry as written (moto adds `Properties: {}` while creating it)."""
    entry = copy.deepcopy(resource_json)
    if not entry.get("Properties"):
        entry.pop("Properties", None)
    return entry


def created_resources(resources_map: Any) -> dict[str, Any]:
    """The stack's resources that exist, by logical ID (not the skipped or false-condition ones)."""
    parsed = resources_map._parsed_resources
    return {
        name: parsed[name]
        for name in resources_map._resource_json_map
        if parsed.get(name) is not None and not isinstance(parsed[name], str | int | float | list)
    }


def resolved_text(parameters: dict[str, Any]) -> dict[str, str]:
    return {
        key: ",".join(map(str, value)) if isinstance(value, list) else str(value)
        for key, value in parameters.items()
    }


def resource_state(stack: Any, logical_id: str) -> tuple[str, Any]:
    """A resource's latest status and when it was reached, from the stack's events."""
    for event in reversed(stack.events):
        if event.logical_resource_id == logical_id and event.resource_type != STACK:
            return str(event.resource_status), event.timestamp
    return "CREATE_COMPLETE", stack.creation_time


def stack_resources(self: Any) -> list[Any]:
    """DescribeStackResources: the resources that exist, never placeholders for skipped ones."""
    return list(created_resources(self.resource_map).values())


def find_stack(backend: Any, name_or_id: str) -> Any | None:
    if name_or_id in backend.stacks:
        return backend.stacks[name_or_id]
    return next((s for s in backend.stacks.values() if s.name == name_or_id), None)


def ec2_backend(account: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def ecs_backend(account: str, region: str) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region]


def elbv2_backend(account: str, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[account][region]
