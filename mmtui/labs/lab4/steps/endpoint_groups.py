"""Step 3: an endpoint group per region on the listener, each dial at 100%."""

from __future__ import annotations

import uuid

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.lab4.accelerator import GA_REGION
from mmtui.labs.lab4.catalog import CHECKS, TASKS
from mmtui.labs.lab4.reads import (
    facts,
    ga,
    listener_if_any,
    live_groups,
    needs_listener,
    required_listener,
)
from mmtui.labs.lab4.teardown import delete_group

DIAL = 100.0
"""The workshop's dials in Lab 4: each region takes all of its own traffic."""

# ---------------------------------------------------------------------- checks


def _group(check: Checker) -> CheckResult:
    expected = f"a group for {check.region}, dial {DIAL:g}%"
    listener = needs_listener(check, expected)
    if not isinstance(listener, dict):
        return listener
    group = facts(check).groups().get(check.region)
    if group is None:
        return check.failed(
            expected,
            f"no group for {check.region}",
            f"The listener has no endpoint group for {check.region}.",
        )
    dial = float(group.get("TrafficDialPercentage", 100.0))
    if dial != DIAL:
        return check.failed(
            expected,
            f"dial {dial:g}%",
            f"The {check.region} group takes {dial:g}% of its traffic; Lab 4 sets it to 100%.",
        )
    return check.passed(expected, f"dial {dial:g}%", f"The {check.region} group takes 100%.")


@CHECKS.implement("endpoint_groups.primary")
def primary_group(check: Checker) -> CheckResult:
    return _group(check)


@CHECKS.implement("endpoint_groups.secondary")
def secondary_group(check: Checker) -> CheckResult:
    return _group(check)


# ---------------------------------------------------------------------- tasks


def ensure_group(ctx: TaskContext, region: str, dial: float = DIAL) -> str:
    """The listener's endpoint group for `region` with its dial at `dial`."""
    listener = required_listener(ctx)
    group = live_groups(ctx, listener).get(region)
    if group is None:
        ga(ctx).create_endpoint_group(
            ListenerArn=listener["ListenerArn"],
            EndpointGroupRegion=region,
            TrafficDialPercentage=dial,
            IdempotencyToken=str(uuid.uuid4()),
        )
        return f"created the endpoint group for {region} (dial {dial:g}%)"
    if float(group.get("TrafficDialPercentage", 100.0)) != dial:
        ga(ctx).update_endpoint_group(
            EndpointGroupArn=group["EndpointGroupArn"], TrafficDialPercentage=dial
        )
        return f"set the {region} group's dial to {dial:g}%"
    return ""


@TASKS.implement("endpoint_groups.solve")
def solve_endpoint_groups(ctx: TaskContext) -> list[Action]:
    return [
        Action(
            GA_REGION,
            f"endpoint group for {region}",
            f"create (dial {DIAL:g}%)",
            lambda region=region: ensure_group(ctx, region),  # type: ignore[misc]
        )
        for region in (ctx.primary_region, ctx.secondary_region)
    ]


@TASKS.implement("endpoint_groups.reset")
def reset_endpoint_groups(ctx: TaskContext) -> list[Action]:
    listener = listener_if_any(ctx)
    if listener is None:
        return []
    groups = live_groups(ctx, listener)
    return [
        delete_group(ctx, groups[region])
        for region in (ctx.primary_region, ctx.secondary_region)
        if region in groups
    ]
