"""Where moto's stack life cycle is replaced: the patches that route creation, change sets,
updates and deletion to this package, and `advance`, which finishes the operations given time.
"""

from __future__ import annotations

from typing import Any

from mmtui.sandbox.moto_repairs.cloudformation.change_sets import (
    change_set_diff,
    create_change_set,
    execute_change_set,
)
from mmtui.sandbox.moto_repairs.cloudformation.creation import (
    create_resource,
    create_stack,
    finish_create,
)
from mmtui.sandbox.moto_repairs.cloudformation.deletion import (
    delete_stack,
    finish_delete,
    resource_map_delete,
    stack_delete,
)
from mmtui.sandbox.moto_repairs.cloudformation.stacks import resource_state, stack_resources
from mmtui.sandbox.moto_repairs.cloudformation.updates import update_stack
from mmtui.sandbox.moto_repairs.patching import patch


def pending_stacks() -> list[tuple[Any, Any]]:
    """(backend, stack) of every stack whose operation waits for its time (lock held)."""
    from moto.cloudformation.models import cloudformation_backends

    # dict.values: moto's backend dictionaries create accounts and regions on lookup, not here.
    return [
        (backend, stack)
        for account in dict.values(cloudformation_backends)
        for backend in dict.values(account)
        for stack in list(backend.stacks.values())
        if getattr(stack, "_mmtui_due", None) is not None
    ]


def advance(now: float, pending: list[tuple[Any, Any]] | None = None) -> int:
    """Finish the stack operations whose time is up (called under the sandbox's lock), among
    `pending` (as `pending_stacks` listed them; None: every stack of every account); how many
    were finished."""
    finished = 0
    for backend, stack in pending_stacks() if pending is None else pending:
        due = getattr(stack, "_mmtui_due", None)
        if due is None or due > now:
            continue
        operation = stack._mmtui_pending
        stack._mmtui_due = stack._mmtui_pending = None
        finished += 1
        if operation == "create":
            finish_create(backend, stack)
        elif operation == "delete":
            finish_delete(backend, stack)
    return finished


# =========================================================================== lifecycle


def install() -> None:
    from moto.cloudformation import models, parsing, responses

    backend_class = models.CloudFormationBackend
    patch("cloudformation.lifecycle", backend_class, "create_stack", create_stack)
    patch("cloudformation.lifecycle", backend_class, "create_change_set", create_change_set)
    patch("cloudformation.lifecycle", backend_class, "execute_change_set", execute_change_set)
    patch("cloudformation.lifecycle", backend_class, "delete_stack", delete_stack)
    patch("cloudformation.lifecycle", models.Stack, "update", update_stack)
    patch("cloudformation.lifecycle", models.Stack, "delete", stack_delete)
    patch("cloudformation.lifecycle", models.Stack, "stack_resources", property(stack_resources))
    patch("cloudformation.lifecycle", models.ChangeSet, "diff", change_set_diff)
    patch("cloudformation.lifecycle", parsing.ResourceMap, "delete", resource_map_delete)

    original_create_resource = parsing.parse_and_create_resource

    def parse_and_create_resource(
        logical_id: str,
        resource_json: dict[str, Any],
        resources_map: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        return create_resource(
            original_create_resource,
            logical_id,
            resource_json,
            resources_map,
            account_id,
            region_name,
        )

    patch(
        "cloudformation.lifecycle", parsing, "parse_and_create_resource", parse_and_create_resource
    )

    original_validate = responses.CloudFormationResponse._validate_different_update

    def validate_different_update(self: Any, *args: Any, **kwargs: Any) -> None:
        # UpdateStack refuses an update without changes; CreateChangeSet accepts it and the
        # change set fails (what `deploy --no-fail-on-empty-changeset` relies on).
        if self._get_action() == "CreateChangeSet":
            return
        original_validate(self, *args, **kwargs)

    patch(
        "cloudformation.lifecycle",
        responses.CloudFormationResponse,
        "_validate_different_update",
        validate_different_update,
    )

    # A resource's status and time are its latest event's (moto: the stack's status, and a
    # timestamp from 2010), so a UI can show which resources are done.
    original_resource_dto = responses.StackResourceDTO.__init__

    def resource_dto(self: Any, stack: Any, resource: Any) -> None:
        original_resource_dto(self, stack, resource)
        self.resource_status, self.timestamp = resource_state(stack, self.logical_resource_id)
        self.last_updated_timestamp = self.timestamp

    patch("cloudformation.lifecycle", responses.StackResourceDTO, "__init__", resource_dto)

    def list_stack_resources(self: Any) -> Any:
        from moto.core.responses import ActionResult

        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        summaries = []
        for resource in stack.stack_resources:
            status, when = resource_state(stack, resource.logical_resource_id)
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

    patch(
        "cloudformation.lifecycle",
        responses.CloudFormationResponse,
        "list_stack_resources",
        list_stack_resources,
    )
