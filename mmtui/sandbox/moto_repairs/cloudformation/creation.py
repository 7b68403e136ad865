"""Stack creation as AWS does it: resources in dependency order with an event each, a failure
rolls the stack back (ROLLBACK_COMPLETE), exports published once the stack is complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from mmtui.sandbox.moto_repairs import lambda_blocked_runtimes
from mmtui.sandbox.moto_repairs.cloudformation.deletion import delete_resources
from mmtui.sandbox.moto_repairs.cloudformation.outputs import output_shown
from mmtui.sandbox.moto_repairs.cloudformation.stacks import (
    CREATING,
    TIMINGS,
    dependencies,
    failure_reason,
    resource_event,
    stack_event,
    stack_of,
    supported,
    take_backdating,
)


def create_resource(
    original: Callable[..., Any],
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """Create one resource after the ones it needs, with its events."""
    stack = stack_of(resources_map)
    condition = resource_json.get("Condition")
    resource_type = str(resource_json.get("Type"))
    arguments = (logical_id, resource_json, resources_map, account_id, region_name)
    if (
        stack is None
        or (condition and not resources_map.lazy_condition_map[condition])
        or not supported(resource_type)
    ):
        return original(*arguments)
    key = (resources_map.stack_id, logical_id)
    creating = CREATING.get(frozenset())
    if key in creating:
        return original(*arguments)
    token = CREATING.set(creating | {key})
    try:
        resources = resources_map._resource_json_map
        for dependency in dependencies(resource_json, resources):
            if (resources_map.stack_id, dependency) not in creating:
                resources_map[dependency]
        resource_event(stack, logical_id, None, resource_type, "CREATE_IN_PROGRESS")
        try:
            resource = original(*arguments)
        except Exception as exc:
            reported = getattr(exc, "_mmtui_reported", False)
            reason = "Resource creation cancelled" if reported else failure_reason(exc)
            resource_event(stack, logical_id, None, resource_type, "CREATE_FAILED", reason)
            if not reported:
                mark_reported(exc, logical_id)
            raise
    finally:
        CREATING.reset(token)
    if resource is not None:
        physical = getattr(resource, "physical_resource_id", None)
        resource_event(
            stack,
            logical_id,
            physical,
            resource_type,
            "CREATE_IN_PROGRESS",
            "Resource creation Initiated",
        )
        resource_event(stack, logical_id, physical, resource_type, "CREATE_COMPLETE")
    return resource


def mark_reported(exc: Exception, logical_id: str) -> None:
    try:
        exc._mmtui_reported = True  # type: ignore[attr-defined]
        exc._mmtui_failed = logical_id  # type: ignore[attr-defined]
    except AttributeError:  # an exception type without a __dict__: the reason is still recorded
        pass


def create_stack(
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
    stack = new_stack(
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
    check_export_names(self, stack)
    self.stacks[stack.stack_id] = stack
    run_create(self, stack)
    return stack


def new_stack(**arguments: Any) -> Any:
    """A moto Stack (its class is abstract to the type checker, not at run time)."""
    from moto.cloudformation.models import Stack

    stack_class: Any = Stack
    return stack_class(**arguments)


def check_export_names(backend: Any, stack: Any) -> None:
    """Export names are unique per region: refuse before anything is created (as AWS)."""
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError

    taken = {
        name
        for name, export in backend.exports.items()
        if export.exporting_stack_id != stack.stack_id
    }
    for output in (stack.template_dict.get("Outputs") or {}).values():
        if not output.get("Export") or not output_shown(output, stack.resource_map):
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


def publish_exports(backend: Any, stack: Any) -> None:
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        del backend.exports[name]
    for export in stack.exports:
        backend.exports[export.name] = export


def run_create(backend: Any, stack: Any) -> None:
    """Start creating a stack: at once, or after `stack_create_seconds` (CREATE_IN_PROGRESS
    meanwhile, with no resources and no outputs yet)."""
    stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    stack.status = "CREATE_IN_PROGRESS"
    stack._mmtui_created_on = take_backdating(stack)
    if TIMINGS.create > 0 and stack._mmtui_created_on is None:
        stack._mmtui_pending = "create"
        stack._mmtui_due = time.time() + TIMINGS.create
        return
    finish_create(backend, stack)


def finish_create(backend: Any, stack: Any) -> None:
    """Create a stack's resources; a failure rolls back what was made (ROLLBACK_COMPLETE)."""
    day = getattr(stack, "_mmtui_created_on", None)
    with lambda_blocked_runtimes.created_on(day) if day else nullcontext():
        try:
            ready = stack.resource_map.create(stack.template_dict)
        except Exception as exc:  # noqa: BLE001  (any resource failure: AWS rolls back, not 500)
            failed = getattr(exc, "_mmtui_failed", None)
            stack_event(
                stack,
                "ROLLBACK_IN_PROGRESS",
                f"The following resource(s) failed to create: [{failed or ''}]. "
                "Rollback requested by user."
                if failed
                else f"Stack creation failed: {failure_reason(exc)}",
            )
            leftovers = delete_resources(stack.resource_map)
            stack.status = "ROLLBACK_FAILED" if leftovers else "ROLLBACK_COMPLETE"
            stack_event(stack, stack.status)
            return
    stack.description = stack.template_dict.get("Description")
    if ready:  # else a custom resource answers later (moto's verify_readiness completes it)
        stack.status = "CREATE_COMPLETE"
        stack_event(stack, stack.status)
    publish_exports(backend, stack)
