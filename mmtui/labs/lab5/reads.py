"""What Lab 5's steps read and change: the dials, the load balancers' request counts in
CloudWatch, the primary's services and the tasks' security group rule."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab4.reads import ga, live_groups, required_listener
from mmtui.labs.lab5.facts import Lab5Facts

if TYPE_CHECKING:
    from mmtui.engine.checks import Checker
    from mmtui.engine.tasks import TaskContext

RECENT_MINUTES = 5
"""How far back a traffic check looks: CloudWatch's load balancer metrics are one-minute points
that appear a minute or two late."""
FULL_DIAL = 100.0


def facts(check: Checker) -> Lab5Facts:
    found: Lab5Facts = check.ctx.facts
    return found


def requests_recently(client: Any, full_name: str, minutes: int = RECENT_MINUTES) -> int:
    """The load balancer's RequestCount summed over the last `minutes` (GetMetricData)."""
    now = datetime.datetime.now(datetime.UTC)
    answer = client.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "requests",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": "RequestCount",
                        "Dimensions": [{"Name": "LoadBalancer", "Value": full_name}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - datetime.timedelta(minutes=minutes),
        EndTime=now + datetime.timedelta(minutes=1),
    )
    values = [v for result in answer.get("MetricDataResults", []) for v in result.get("Values", [])]
    return int(sum(values))


# ---------------------------------------------------------------------- tasks


def groups_now(ctx: TaskContext) -> dict[str, dict[str, Any]]:
    return live_groups(ctx, required_listener(ctx))


def set_dials(ctx: TaskContext, primary: float, secondary: float) -> str:
    """Set both groups' dials (only those that differ); what changed, or ""."""
    groups = groups_now(ctx)
    changed = []
    for region, dial in ((ctx.primary_region, primary), (ctx.secondary_region, secondary)):
        group = groups.get(region)
        if group is None:
            raise MmtuiError(
                f"the accelerator has no endpoint group for {region}: finish Lab 4 first",
                ExitCode.CHECK_FAILED,
            )
        if float(group.get("TrafficDialPercentage", 100.0)) != dial:
            ga(ctx).update_endpoint_group(
                EndpointGroupArn=group["EndpointGroupArn"], TrafficDialPercentage=dial
            )
            changed.append(f"{region} {dial:g}%")
    return f"set the dials: {', '.join(changed)}" if changed else ""


def stack_outputs(ctx: TaskContext, which: str) -> dict[str, str]:
    from mmtui.labs.lab3.stacks import describe_stack, outputs_of

    return outputs_of(describe_stack(ctx, which))


def primary_services(ctx: TaskContext) -> tuple[str, list[str]]:
    """(cluster, [core service, like service]) of the primary stack."""
    outputs = stack_outputs(ctx, "primary")
    cluster = outputs.get("EcsClusterName", "")
    services = [outputs.get(k, "") for k in ("CoreEcsServiceName", "LikeEcsServiceName")]
    if not cluster or not all(services):
        raise MmtuiError(
            f"{ctx.param('primary_stack')} does not name its cluster and services",
            ExitCode.CHECK_FAILED,
        )
    return cluster, services
