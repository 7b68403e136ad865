"""Stack updates as AWS makes them: add, modify, then remove resources, with events, and roll
back to the previous template when one fails.
"""

from __future__ import annotations

import contextlib
from typing import Any

from mmtui.sandbox.moto_repairs.cloudformation.change_sets import plan_update
from mmtui.sandbox.moto_repairs.cloudformation.creation import mark_reported, publish_exports
from mmtui.sandbox.moto_repairs.cloudformation.deletion import delete_resources
from mmtui.sandbox.moto_repairs.cloudformation.stacks import (
    backend_of,
    created_resources,
    creation_order,
    failure_reason,
    references,
    resolved_text,
    resource_event,
    stack_event,
)


def update_stack(
    self: Any,
    template: str,
    role_arn: str | None = None,
    parameters: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """Update a stack: add, then modify, then remove (the cleanup phase), with events."""
    from moto.cloudformation.models import Stack

    stack_event(self, "UPDATE_IN_PROGRESS", "User Initiated")
    self.status = "UPDATE_IN_PROGRESS"
    resources_map = self.resource_map
    try:
        removed = _update_resources(self, resources_map, Stack.parse_template(template), parameters)
    except Exception as exc:  # noqa: BLE001  (a resource failed: the update rolls back)
        # moto cannot undo the changes already made; the stack reports what AWS would.
        failed = getattr(exc, "_mmtui_failed", None)
        verb = "update" if getattr(exc, "_mmtui_update", False) else "create"
        stack_event(
            self,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            f"The following resource(s) failed to {verb}: [{failed}]. "
            if failed
            else failure_reason(exc),
        )
        self.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        stack_event(self, self.status)
        self.status = "UPDATE_ROLLBACK_COMPLETE"
        stack_event(self, self.status)
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
    stack_event(self, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    delete_resources(resources_map, removed[0], removed[1])
    self.status = "UPDATE_COMPLETE"
    stack_event(self, self.status)
    publish_exports(backend_of(self), self)


def _update_resources(
    stack: Any, resources_map: Any, template: dict[str, Any], parameters: dict[str, Any] | None
) -> tuple[list[str], dict[str, Any]]:
    """Add and modify resources; returns what to remove afterwards (names, old entries)."""
    from moto.cloudformation import parsing

    old_resources = resources_map._resource_json_map
    old_parameters = resolved_text(resources_map.resolved_parameters)
    existing = created_resources(resources_map)
    resources_map._template = template
    if parameters is not None:
        resources_map.input_parameters = parameters
    resources_map.resolved_parameters = {}
    resources_map.load()
    new_parameters = resolved_text(resources_map.resolved_parameters)
    changed = {
        key
        for key in set(old_parameters) | set(new_parameters)
        if old_parameters.get(key) != new_parameters.get(key)
    }
    new_resources = template.get("Resources") or {}

    def wanted(name: str) -> bool:
        condition = new_resources[name].get("Condition")
        return not condition or bool(resources_map.lazy_condition_map[condition])

    plan = plan_update(resources_map, new_resources, wanted, changed)
    resources_map._resource_json_map = new_resources
    # One pass in dependency order, as AWS: a resource that got a new physical ID (a new task
    # definition revision, say) is passed on to the resources that refer to it.
    replaced: set[str] = set()
    for name in creation_order(new_resources):
        if name in plan["Add"]:
            resources_map[name]
            continue
        if name not in existing or not wanted(name):
            continue
        if name not in plan["Modify"] and not references(new_resources[name]) & replaced:
            continue
        resource_type = new_resources[name]["Type"]
        physical = getattr(existing[name], "physical_resource_id", None)
        resource_event(stack, name, physical, resource_type, "UPDATE_IN_PROGRESS")
        try:
            updated = parsing.parse_and_update_resource(
                name,
                new_resources[name],
                resources_map,
                account_id=resources_map._account_id,
                region_name=resources_map._region_name,
            )
        except Exception as exc:
            resource_event(
                stack, name, physical, resource_type, "UPDATE_FAILED", failure_reason(exc)
            )
            mark_reported(exc, name)
            with contextlib.suppress(AttributeError):  # a type without __dict__: still reported
                exc._mmtui_update = True  # type: ignore[attr-defined]
            raise
        if updated is not None:  # None: moto cannot update this type; the resource stays
            resources_map._parsed_resources[name] = updated
            new_physical = getattr(updated, "physical_resource_id", physical)
            if new_physical != physical:
                replaced.add(name)
            physical = new_physical
        resource_event(stack, name, physical, resource_type, "UPDATE_COMPLETE")
    return plan["Remove"], old_resources
