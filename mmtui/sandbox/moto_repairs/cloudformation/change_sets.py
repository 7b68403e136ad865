"""Change sets as AWS computes them: with the new parameters' conditions, refused for unstable
stacks with AWS's messages, FAILED (not refused) when nothing changes, outputs kept on execute.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mmtui.sandbox.moto_repairs.cloudformation.creation import (
    check_export_names,
    new_stack,
    run_create,
)
from mmtui.sandbox.moto_repairs.cloudformation.stacks import (
    NO_CHANGES,
    UNSTABLE_FOR_UPDATE,
    backend_of,
    created_resources,
    creation_order,
    find_stack,
    normalised,
    references,
    resolved_text,
    stack_event,
)


def create_change_set(
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
    stack = find_stack(self, stack_name)
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
        stack = new_stack(
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
        stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")

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
    backend = backend_of(stack)
    preview = _preview_map(backend, stack.name, change_set.template, change_set.parameters, None)
    old = resolved_text(stack.resource_map.resolved_parameters)
    if resolved_text(preview.resolved_parameters) != old:
        return True
    return bool(change_set.tags) and dict(change_set.tags) != dict(stack.tags)


def plan_update(
    resources_map: Any,
    new_resources: dict[str, Any],
    wanted: Callable[[str], bool],
    changed: set[str],
) -> dict[str, list[str]]:
    """What an update does: Add, Modify, Remove (logical IDs in dependency order)."""
    existing = created_resources(resources_map)
    old_resources = resources_map._resource_json_map
    order = creation_order(new_resources)
    add = [name for name in order if wanted(name) and name not in existing]
    modify = [
        name
        for name in order
        if name in existing
        and wanted(name)
        and (
            normalised(old_resources.get(name, {})) != normalised(new_resources[name])
            or bool(references(new_resources[name]) & changed)
        )
    ]
    remove = [
        name
        for name in reversed(creation_order(old_resources))
        if name in existing and (name not in new_resources or not wanted(name))
    ]
    return {"Add": add, "Modify": modify, "Remove": remove}


def change_set_diff(self: Any) -> list[Any]:
    """The change set's Changes, evaluated with its own parameters and conditions."""
    from moto.cloudformation.models import Change

    stack = self.stack
    preview = _preview_map(backend_of(stack), stack.name, self.template, self.parameters, self.tags)
    new_resources = self.template_dict.get("Resources") or {}

    def wanted(name: str) -> bool:
        condition = new_resources[name].get("Condition")
        return not condition or bool(preview.lazy_condition_map[condition])

    old = resolved_text(stack.resource_map.resolved_parameters) if stack.template_dict else {}
    new = resolved_text(preview.resolved_parameters)
    changed = {key for key in set(old) | set(new) if old.get(key) != new.get(key)} if old else set()
    plan = plan_update(stack.resource_map, new_resources, wanted, changed)
    existing = created_resources(stack.resource_map)
    # Resources referring to a modified one may change with it (AWS: Replacement Conditional).
    touched = set(plan["Modify"])
    for name in creation_order(new_resources):
        if (
            name in existing
            and wanted(name)
            and name not in touched
            and references(new_resources[name]) & touched
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


def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
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
        check_export_names(self, stack)
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        run_create(self, stack)
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
