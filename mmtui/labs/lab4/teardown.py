"""Taking the accelerator apart in the order AWS requires: endpoints, then endpoint groups,
then listeners, then the accelerator (disabled, the disable deployed, then deleted). Each
step's reset starts at its own level; `mmtui cleanup` starts at the top. Every action reads
AWS again when it runs and does nothing for what is already gone."""

from __future__ import annotations

from typing import Any

from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.lab4.accelerator import GA_CADENCE, GA_REGION, port_text
from mmtui.labs.lab4.reads import ga, status_of

_GONE = {
    "EndpointGroupNotFoundException",
    "ListenerNotFoundException",
    "AcceleratorNotFoundException",
}


def _tolerating_gone(call: Any, **kwargs: Any) -> bool:
    """Run a delete; False when AWS says the thing is already gone."""
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE:
            return False
        raise
    return True


def delete_group(ctx: TaskContext, group: dict[str, Any]) -> Action:
    arn, region = str(group["EndpointGroupArn"]), str(group["EndpointGroupRegion"])

    def delete() -> str:
        if _tolerating_gone(ga(ctx).delete_endpoint_group, EndpointGroupArn=arn):
            return f"deleted the endpoint group for {region}"
        return ""

    return Action(GA_REGION, f"endpoint group for {region}", "delete", delete)


def delete_listener(ctx: TaskContext, listener: dict[str, Any]) -> Action:
    arn = str(listener["ListenerArn"])

    def delete() -> str:
        if _tolerating_gone(ga(ctx).delete_listener, ListenerArn=arn):
            return f"deleted the {port_text(listener)} listener"
        return ""

    return Action(GA_REGION, f"listener {port_text(listener)}", "delete", delete)


def listener_teardown(ctx: TaskContext, listener: dict[str, Any]) -> list[Action]:
    """A listener and every endpoint group on it."""
    from mmtui.labs.lab4.accelerator import groups_of

    groups = groups_of(ga(ctx), str(listener["ListenerArn"]))
    return [*(delete_group(ctx, group) for group in groups), delete_listener(ctx, listener)]


def accelerator_teardown(ctx: TaskContext, accelerator: dict[str, Any]) -> list[Action]:
    """The accelerator with everything on it: AWS deletes only a disabled accelerator without
    listeners, and only once the disable is deployed."""
    from mmtui.labs.lab4.accelerator import listeners_of

    arn, name = str(accelerator["AcceleratorArn"]), str(accelerator["Name"])
    actions: list[Action] = []
    for listener in listeners_of(ga(ctx), arn):
        actions.extend(listener_teardown(ctx, listener))

    def disable_and_delete() -> str:
        client = ga(ctx)
        if status_of(ctx, arn) == "gone":
            return ""
        if client.describe_accelerator(AcceleratorArn=arn)["Accelerator"].get("Enabled"):
            client.update_accelerator(AcceleratorArn=arn, Enabled=False)
        ctx.wait(
            f"{name} to deploy its disabling",
            lambda: status_of(ctx, arn) in ("DEPLOYED", "gone"),
            lambda: f"{name}: {status_of(ctx, arn)}",
            cadence=GA_CADENCE,
        )
        if not _tolerating_gone(client.delete_accelerator, AcceleratorArn=arn):
            return ""
        return f"disabled and deleted {name}"

    actions.append(
        Action(GA_REGION, f"accelerator {name}", "disable, then delete", disable_and_delete)
    )
    return actions
