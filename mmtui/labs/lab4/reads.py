"""What every step of Lab 4 reads: from a check (the round's facts, fetched once) and from a
task (fresh each time, since a task reads again after each change it makes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab4.accelerator import (
    GA_REGION,
    accelerators_named,
    groups_of,
    listeners_of,
    workshop_listener,
)
from mmtui.labs.lab4.facts import Lab4Facts, balancer_of

if TYPE_CHECKING:
    from mmtui.engine.checks import Checker
    from mmtui.engine.results import CheckResult
    from mmtui.engine.tasks import TaskContext


def facts(check: Checker) -> Lab4Facts:
    found: Lab4Facts = check.ctx.facts
    return found


def needs_accelerator(check: Checker, what: str) -> CheckResult | dict[str, Any]:
    """The accelerator, or the failed result that says why `what` cannot be checked."""
    name = check.ctx.param("accelerator")
    found = facts(check).accelerators()
    if not found:
        return check.failed(
            what, f"no accelerator {name}", f"There is no accelerator named {name} yet (step 1)."
        )
    if len(found) > 1:
        arns = ", ".join(str(a["AcceleratorArn"]).rsplit("/", 1)[-1] for a in found)
        return check.failed(
            what,
            f"{len(found)} accelerators named {name}",
            f"{len(found)} accelerators are named {name} ({arns}); mmtui cannot tell which one "
            "the lab uses: delete or rename the extra ones.",
        )
    return found[0]


def needs_listener(check: Checker, what: str) -> CheckResult | dict[str, Any]:
    """The workshop listener (port 80), or the failed result that says why not."""
    accelerator = needs_accelerator(check, what)
    if not isinstance(accelerator, dict):
        return accelerator
    listener = facts(check).listener()
    if listener is None:
        return check.failed(
            what, "no listener on port 80", "The accelerator has no listener on port 80 (step 2)."
        )
    return listener


# ---------------------------------------------------------------------- tasks


def ga(ctx: TaskContext) -> Any:
    return ctx.client("globalaccelerator", GA_REGION)


def live_accelerator(ctx: TaskContext) -> dict[str, Any] | None:
    """The lab's accelerator as AWS shows it now; MmtuiError when several share its name (a
    task never guesses which one to change)."""
    name = ctx.param("accelerator")
    found = accelerators_named(ga(ctx), name)
    if len(found) > 1:
        raise MmtuiError(
            f"{len(found)} accelerators are named {name}: delete or rename the extra ones, so "
            "that mmtui knows which one the lab uses",
            ExitCode.USAGE,
        )
    return found[0] if found else None


def required_accelerator(ctx: TaskContext) -> dict[str, Any]:
    found = live_accelerator(ctx)
    if found is None:
        raise MmtuiError(
            f"there is no accelerator {ctx.param('accelerator')} yet: do step 1 first",
            ExitCode.CHECK_FAILED,
        )
    return found


def live_listener(ctx: TaskContext, accelerator: dict[str, Any]) -> dict[str, Any] | None:
    return workshop_listener(listeners_of(ga(ctx), str(accelerator["AcceleratorArn"])))


def listener_if_any(ctx: TaskContext) -> dict[str, Any] | None:
    """The workshop listener of the lab's accelerator, None when either is missing (what a
    reset plans from)."""
    accelerator = live_accelerator(ctx)
    return None if accelerator is None else live_listener(ctx, accelerator)


def required_listener(ctx: TaskContext) -> dict[str, Any]:
    listener = live_listener(ctx, required_accelerator(ctx))
    if listener is None:
        raise MmtuiError(
            "the accelerator has no listener on port 80 yet: do step 2 first",
            ExitCode.CHECK_FAILED,
        )
    return listener


def live_groups(ctx: TaskContext, listener: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(group["EndpointGroupRegion"]): group
        for group in groups_of(ga(ctx), str(listener["ListenerArn"]))
    }


def live_balancer(ctx: TaskContext, which: str) -> dict[str, str] | None:
    region = ctx.primary_region if which == "primary" else ctx.secondary_region
    return balancer_of(
        ctx.client("cloudformation", region),
        ctx.client("elbv2", region),
        ctx.param(f"{which}_stack"),
    )


def status_of(ctx: TaskContext, arn: str) -> str:
    """The accelerator's status now ("gone" once deleted)."""
    from botocore.exceptions import ClientError

    try:
        return str(ga(ctx).describe_accelerator(AcceleratorArn=arn)["Accelerator"]["Status"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "AcceleratorNotFoundException":
            return "gone"
        raise
