"""Solves and resets of Lab 3, as registered tasks (see mmtui/engine/tasks.py).

Each solve action looks before it acts and does nothing when its part is done, so solving twice
changes nothing. Each reset plans from what exists now and touches only what the lab creates.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from mmtui.engine.checks import describe
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.lab3.catalog import TASKS
from mmtui.labs.lab3.dashboards import expand_rows
from mmtui.labs.lab3.facts import DASHBOARD_MISSING, xray_groups
from mmtui.labs.lab3.stacks import _outputs, _stack
from mmtui.labs.lab3.xray import XRAY_GROUPS, _normalise


def _groups(ctx: TaskContext) -> dict[str, str]:
    return xray_groups(ctx.client("xray", ctx.secondary_region))


def _dashboard_body(ctx: TaskContext) -> dict[str, Any] | None:
    """The lab dashboard's body, None when there is no such dashboard."""
    from botocore.exceptions import ClientError

    try:
        text = ctx.client("cloudwatch", ctx.primary_region).get_dashboard(
            DashboardName=ctx.param("dashboard")
        )["DashboardBody"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in DASHBOARD_MISSING:
            return None
        raise
    body: dict[str, Any] = json.loads(text)
    return body


# What step 5 adds, by content: these metrics of the secondary region. Any other metric (an
# attendee's own SQS widget in the secondary region, the primary's lines) is not the lab's.
LAB_METRICS = {
    "AWS/ApplicationELB": (
        "RequestCount",
        "HTTPCode_Target_2XX_Count",
        "HTTPCode_Target_4XX_Count",
        "HTTPCode_Target_5XX_Count",
    ),
    "AWS/ECS": ("CPUUtilization", "MemoryUtilization"),
    "AWS/X-Ray": ("ApproximateTraceCount",),
}


def is_lab_metric(
    values: list[Any],
    options: dict[str, Any],
    widget_region: str,
    region: str,
    outputs: dict[str, str],
) -> bool:
    """Whether an (expanded) metric row is one step 5 adds: the secondary load balancer's
    requests and codes, the secondary services' CPU and memory, the X-Ray groups' metric, all
    read in `region`. When the secondary stack's outputs are known, the load balancer and
    cluster must be its own."""
    if len(values) < 2 or str(options.get("region", widget_region)) != region:
        return False
    namespace, name = str(values[0]), str(values[1])
    if name not in LAB_METRICS.get(namespace, ()):
        return False
    pairs = values[2:]
    dimensions = {str(pairs[i]): str(pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)}
    if namespace == "AWS/X-Ray":
        return dimensions.get("GroupName") in XRAY_GROUPS
    key, own = (
        ("LoadBalancer", outputs.get("LoadBalancerFullName"))
        if namespace == "AWS/ApplicationELB"
        else ("ClusterName", outputs.get("EcsClusterName"))
    )
    return key in dimensions and (not own or dimensions[key] == own)


def without_lab_metrics(
    body: dict[str, Any], region: str, default_region: str, outputs: dict[str, str]
) -> tuple[dict[str, Any], list[str], int]:
    """The body with step 5's metrics taken out: a widget holding only those goes, a widget
    that also holds others keeps them (written out in full, since a shorthand may have pointed
    at a removed row). Returns the new body, the titles of the widgets removed and how many
    metrics were taken out of kept widgets."""
    kept: list[Any] = []
    removed: list[str] = []
    inside = 0
    for widget in body.get("widgets", []):
        properties = widget.get("properties", {}) if isinstance(widget, dict) else {}
        rows = properties.get("metrics") if isinstance(properties, dict) else None
        if not isinstance(rows, list) or not rows:
            kept.append(widget)
            continue
        widget_region = str(properties.get("region", default_region))
        expanded = list(expand_rows(rows))
        lab = [is_lab_metric(v, o, widget_region, region, outputs) for v, o in expanded]
        if not any(lab):
            kept.append(widget)
        elif all(lab) and len(expanded) == len(rows):
            removed.append(str(properties.get("title") or "untitled widget"))
        else:
            # Rows that are not metrics (math expressions) are kept as they were.
            others = [r for r in rows if not (isinstance(r, list) and _has_metric(r))]
            remaining = [
                [*values, options] if options else values
                for (values, options), is_lab in zip(expanded, lab, strict=True)
                if not is_lab
            ]
            inside += sum(lab)
            kept.append({**widget, "properties": {**properties, "metrics": remaining + others}})
    return {**body, "widgets": kept}, removed, inside


def _has_metric(row: list[Any]) -> bool:
    return bool(row[:-1] if row and isinstance(row[-1], dict) else row)


def secondary_widgets(region: str, outputs: dict[str, str]) -> list[dict[str, Any]]:
    """The secondary region's widgets, each metric labelled with its region."""
    alb, cluster = outputs["LoadBalancerFullName"], outputs["EcsClusterName"]
    here = {"region": region}

    def labelled(text: str) -> dict[str, str]:
        return {**here, "label": f"{region} {text}"}

    return [
        {
            "type": "metric",
            "x": 0,
            "y": 18,
            "width": 12,
            "height": 6,
            "properties": {
                "title": f"{region} ALB Requests Per Minute",
                "view": "timeSeries",
                "stacked": True,
                "region": region,
                "stat": "Sum",
                "period": 60,
                "metrics": [
                    ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb, labelled("ALB")]
                ],
            },
        },
        {
            "type": "metric",
            "x": 12,
            "y": 18,
            "width": 12,
            "height": 6,
            "properties": {
                "title": f"{region} ALB HTTP Responses",
                "view": "timeSeries",
                "region": region,
                "stat": "Sum",
                "period": 60,
                "metrics": [
                    [
                        "AWS/ApplicationELB",
                        f"HTTPCode_Target_{code}_Count",
                        "LoadBalancer",
                        alb,
                        labelled(code),
                    ]
                    for code in ("2XX", "4XX", "5XX")
                ],
            },
        },
        *[
            {
                "type": "metric",
                "x": 6 * index,
                "y": 24,
                "width": 6,
                "height": 6,
                "properties": {
                    "title": f"{region} {kind} Service Metrics",
                    "view": "singleValue",
                    "region": region,
                    "stat": "Average",
                    "period": 60,
                    "metrics": [
                        [
                            "AWS/ECS",
                            "CPUUtilization",
                            "ServiceName",
                            outputs[f"{kind}EcsServiceName"],
                            "ClusterName",
                            cluster,
                            here,
                        ],
                        [
                            "AWS/ECS",
                            "MemoryUtilization",
                            "ServiceName",
                            outputs[f"{kind}EcsServiceName"],
                            "ClusterName",
                            cluster,
                            here,
                        ],
                    ],
                },
            }
            for index, kind in enumerate(("Core", "Like"))
        ],
        {
            "type": "metric",
            "x": 12,
            "y": 24,
            "width": 12,
            "height": 6,
            "properties": {
                "title": f"{region} X-Ray Errors and Faults",
                "view": "timeSeries",
                "stacked": True,
                "region": region,
                "stat": "Sum",
                "period": 300,
                "metrics": [
                    [
                        "AWS/X-Ray",
                        "ApproximateTraceCount",
                        "GroupName",
                        "like-service-errors-faults",
                        labelled("errors and faults"),
                    ]
                ],
            },
        },
    ]


@TASKS.implement("dashboard.solve")
def solve_dashboard(ctx: TaskContext) -> list[Action]:
    region, name = ctx.secondary_region, ctx.param("dashboard")
    xray = ctx.client("xray", region)
    actions = []
    for group, expression in XRAY_GROUPS.items():

        def ensure(group: str = group, expression: str = expression) -> str:
            from botocore.exceptions import ClientError

            current = _groups(ctx).get(group)
            if current is None:
                try:
                    xray.create_group(GroupName=group, FilterExpression=expression)
                    return f"created the X-Ray group {group}"
                except ClientError:
                    # "Group ... already exists": a retried create that AWS had applied, or
                    # another solve at the same time; what it holds is judged below.
                    current = _groups(ctx).get(group)
                    if current is None:
                        raise
            if _normalise(current) != _normalise(expression):
                xray.update_group(GroupName=group, FilterExpression=expression)
                return f"corrected the filter of the X-Ray group {group}"
            return ""

        actions.append(Action(region, f"X-Ray group {group}", "create", ensure))

    def widgets() -> str:
        from mmtui.exitcodes import ExitCode, MmtuiError

        outputs = _outputs(_stack(ctx, "secondary"))
        if "LoadBalancerFullName" not in outputs:
            raise MmtuiError(
                f"the dashboard needs {ctx.param('secondary_stack')} (step 1) first",
                ExitCode.CHECK_FAILED,
            )
        body = _dashboard_body(ctx)
        if body is None:
            raise MmtuiError(
                f"there is no dashboard {name} in {ctx.primary_region} (Lab 2 makes it)",
                ExitCode.CHECK_FAILED,
            )
        stripped, _, _ = without_lab_metrics(body, region, ctx.primary_region, outputs)
        wanted = {**stripped, "widgets": stripped["widgets"] + secondary_widgets(region, outputs)}
        if wanted == body:
            return ""
        ctx.client("cloudwatch", ctx.primary_region).put_dashboard(
            DashboardName=name, DashboardBody=json.dumps(wanted)
        )
        return f"added {region}'s widgets to {name}"

    actions.append(
        Action(ctx.primary_region, f"dashboard {name}", f"add {region}'s widgets", widgets)
    )
    return actions


@TASKS.implement("dashboard.reset")
def reset_dashboard(ctx: TaskContext) -> list[Action]:
    region, name = ctx.secondary_region, ctx.param("dashboard")
    existing = _groups(ctx)
    actions = [
        Action(region, f"X-Ray group {group}", "delete", partial(_delete_group, ctx, group))
        for group in XRAY_GROUPS
        if group in existing
    ]
    outputs = _outputs(_stack(ctx, "secondary"))
    body = _dashboard_body(ctx)
    if (
        body is not None
        and without_lab_metrics(body, region, ctx.primary_region, outputs)[0] != body
    ):

        def remove() -> str:
            current = _dashboard_body(ctx)
            if current is None:
                return ""
            wanted, widgets, inside = without_lab_metrics(
                current, region, ctx.primary_region, outputs
            )
            if wanted == current:
                return ""
            ctx.client("cloudwatch", ctx.primary_region).put_dashboard(
                DashboardName=name, DashboardBody=json.dumps(wanted)
            )
            parts = []
            if widgets:
                parts.append(f"the widgets {describe(widgets)}")
            if inside:
                parts.append(
                    f"{inside} {region} metric{'s' if inside > 1 else ''} from other widgets"
                )
            return f"removed {' and '.join(parts)} from {name}"

        actions.append(
            Action(ctx.primary_region, f"dashboard {name}", f"remove {region}'s metrics", remove)
        )
    return actions


def _delete_group(ctx: TaskContext, group: str) -> str:
    from botocore.exceptions import ClientError

    try:
        ctx.client("xray", ctx.secondary_region).delete_group(GroupName=group)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidRequestException":
            return ""  # already gone
        raise
    return f"deleted the X-Ray group {group}"
