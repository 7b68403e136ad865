"""Step 4: each stack's load balancer as the endpoint of its region's group."""

from __future__ import annotations

from typing import Any

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab4.accelerator import DEFAULT_WEIGHT, GA_REGION
from mmtui.labs.lab4.catalog import CHECKS, TASKS
from mmtui.labs.lab4.reads import (
    facts,
    ga,
    listener_if_any,
    live_balancer,
    live_groups,
    needs_listener,
    required_listener,
)

# ---------------------------------------------------------------------- checks


def _endpoint(check: Checker, which: str) -> CheckResult:
    stack = check.ctx.param(f"{which}_stack")
    expected = f"the load balancer of {stack}, weight above 0"
    listener = needs_listener(check, expected)
    if not isinstance(listener, dict):
        return listener
    group = facts(check).groups().get(check.region)
    if group is None:
        return check.failed(
            expected, f"no group for {check.region}", f"There is no {check.region} group (step 3)."
        )
    balancer = facts(check).balancer(which)
    if balancer is None:
        return check.failed(
            expected, f"no load balancer in {stack}", f"{stack} has no load balancer to add."
        )
    endpoints = {str(e["EndpointId"]): e for e in group.get("EndpointDescriptions", [])}
    found = endpoints.get(balancer["arn"])
    if found is None:
        others = ", ".join(arn.rsplit("/", 2)[-2] for arn in endpoints) or "no endpoint"
        return check.failed(
            expected,
            others,
            f"The {check.region} group holds {others}, not the load balancer of {stack}.",
        )
    weight = int(found.get("Weight", DEFAULT_WEIGHT))
    if weight <= 0:
        return check.failed(
            expected,
            "weight 0",
            f"The load balancer of {stack} has weight 0: it gets no traffic.",
        )
    return check.passed(
        expected,
        f"weight {weight}",
        f"The {check.region} group sends its traffic to the load balancer of {stack}.",
    )


@CHECKS.implement("endpoints.primary")
def primary_endpoint(check: Checker) -> CheckResult:
    return _endpoint(check, "primary")


@CHECKS.implement("endpoints.secondary")
def secondary_endpoint(check: Checker) -> CheckResult:
    return _endpoint(check, "secondary")


# ---------------------------------------------------------------------- tasks


def _ensure_endpoint(ctx: TaskContext, which: str) -> str:
    region = ctx.primary_region if which == "primary" else ctx.secondary_region
    stack = ctx.param(f"{which}_stack")
    group = live_groups(ctx, required_listener(ctx)).get(region)
    if group is None:
        raise MmtuiError(
            f"the listener has no endpoint group for {region} yet: do step 3 first",
            ExitCode.CHECK_FAILED,
        )
    balancer = live_balancer(ctx, which)
    if balancer is None:
        raise MmtuiError(f"{stack} has no load balancer in {region}", ExitCode.CHECK_FAILED)
    return add_endpoint(ctx, group, balancer["arn"], f"the load balancer of {stack}")


def add_endpoint(
    ctx: TaskContext,
    group: dict[str, Any],
    arn: str,
    shown: str,
    weight: int = DEFAULT_WEIGHT,
    preserve_client_ip: bool = True,
) -> str:
    """`arn` an endpoint of `group` with a weight above 0 (added, or its weight 0 raised)."""
    region = group["EndpointGroupRegion"]
    endpoints = {str(e["EndpointId"]): e for e in group.get("EndpointDescriptions", [])}
    found = endpoints.get(arn)
    if found is None:
        ga(ctx).add_endpoints(
            EndpointGroupArn=group["EndpointGroupArn"],
            EndpointConfigurations=[
                {
                    "EndpointId": arn,
                    "Weight": weight,
                    "ClientIPPreservationEnabled": preserve_client_ip,
                }
            ],
        )
        return f"added {shown} to the {region} group"
    if int(found.get("Weight", DEFAULT_WEIGHT)) <= 0 < weight:
        # UpdateEndpointGroup replaces the whole endpoint list: keep the others as they are.
        configurations = [
            {
                "EndpointId": arn,
                "Weight": weight if other == arn else int(e.get("Weight", 0)),
                "ClientIPPreservationEnabled": bool(e.get("ClientIPPreservationEnabled", True)),
            }
            for other, e in endpoints.items()
        ]
        ga(ctx).update_endpoint_group(
            EndpointGroupArn=group["EndpointGroupArn"], EndpointConfigurations=configurations
        )
        return f"set the weight of {shown} to {weight}"
    return ""


@TASKS.implement("endpoints.solve")
def solve_endpoints(ctx: TaskContext) -> list[Action]:
    return [
        Action(
            GA_REGION,
            f"endpoint alb-{ctx.param(f'{which}_stack')} in the {region} group",
            f"add (weight {DEFAULT_WEIGHT})",
            lambda which=which: _ensure_endpoint(ctx, which),  # type: ignore[misc]
        )
        for which, region in (("primary", ctx.primary_region), ("secondary", ctx.secondary_region))
    ]


@TASKS.implement("endpoints.reset")
def reset_endpoints(ctx: TaskContext) -> list[Action]:
    """Remove the two workshop load balancers from their groups; other endpoints stay."""
    listener = listener_if_any(ctx)
    if listener is None:
        return []
    groups = live_groups(ctx, listener)
    actions = []
    for which, region in (("primary", ctx.primary_region), ("secondary", ctx.secondary_region)):
        group, balancer = groups.get(region), live_balancer(ctx, which)
        if group is None or balancer is None:
            continue
        ids = {str(e["EndpointId"]) for e in group.get("EndpointDescriptions", [])}
        if balancer["arn"] not in ids:
            continue

        def remove(group_arn: str = group["EndpointGroupArn"], arn: str = balancer["arn"]) -> str:
            from botocore.exceptions import ClientError

            try:
                ga(ctx).remove_endpoints(
                    EndpointGroupArn=group_arn, EndpointIdentifiers=[{"EndpointId": arn}]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in (
                    "EndpointNotFoundException",
                    "EndpointGroupNotFoundException",
                ):
                    return ""
                raise
            return f"removed {arn.rsplit('/', 2)[-2]} from its group"

        actions.append(
            Action(
                GA_REGION,
                f"endpoint alb-{ctx.param(f'{which}_stack')} in the {region} group",
                "remove",
                remove,
            )
        )
    return actions
