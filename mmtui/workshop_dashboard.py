"""The Mythical Mysfits dashboard's widgets, defined once.

Three parties describe the same dashboard: the sandbox seeds the single-region dashboard that
Lab 2 leaves behind (its baseline), Lab 3's step 5 adds the secondary region's widgets to it
(and its reset takes exactly those away), and the tests compare what they find with both.
This module sits outside the sandbox and the labs so that each may import it (import-linter
forbids the sandbox to import a lab). The CloudFormation template the sandbox deploys as the
primary stack's dashboard nested stack (sandbox/workshop/assets/workshop/cfn/cwdashboard.yml)
stays a template, as the workshop ships it; tests/test_workshop_dashboard.py proves it equals
`region_widgets`.

Every function takes the workshop stack's outputs (`LoadBalancerFullName`, `EcsClusterName`,
`CoreEcsServiceName`, `LikeEcsServiceName`, `DynamoTable`), which both stacks have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LAB2_XRAY_GROUP = "like-service-errors-faults"
"""The X-Ray group whose trace count Lab 2 graphs (and step 5 graphs again per region)."""

SERVICES = ("Core", "Like")


def _metric(
    title: str,
    region: str,
    metrics: list[Any],
    *,
    at: tuple[int, int, int, int],
    view: str = "timeSeries",
    stat: str = "Sum",
    period: int = 60,
    stacked: bool = False,
) -> dict[str, Any]:
    """One metric widget at (x, y, width, height), keys in the console's order."""
    x, y, width, height = at
    properties: dict[str, Any] = {"title": title, "view": view}
    if stacked:
        properties["stacked"] = True
    properties.update({"region": region, "stat": stat, "period": period, "metrics": metrics})
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "properties": properties,
    }


def region_widgets(region: str, outputs: Mapping[str, str]) -> list[dict[str, Any]]:
    """The single-region dashboard of Lab 0's stack (cwdashboard.yml): requests, response
    codes, each service's CPU and memory, the table's capacity, and a title."""
    alb, cluster = outputs["LoadBalancerFullName"], outputs["EcsClusterName"]

    def service(kind: str, x: int) -> dict[str, Any]:
        name = outputs[f"{kind}EcsServiceName"]
        return _metric(
            f"{region} {kind} Service Metrics",
            region,
            [
                ["AWS/ECS", "CPUUtilization", "ServiceName", name, "ClusterName", cluster],
                [".", "MemoryUtilization", ".", ".", ".", "."],
            ],
            at=(x, 6, 6, 6),
            view="singleValue",
            stat="Average",
        )

    return [
        _metric(
            "ALB Requests Per Minute",
            region,
            [
                [
                    "AWS/ApplicationELB",
                    "RequestCount",
                    "LoadBalancer",
                    alb,
                    {"label": f"{region} ALB"},
                ]
            ],
            at=(0, 0, 12, 6),
            stacked=True,
        ),
        service("Core", 0),
        _metric(
            "ALB HTTP Responses",
            region,
            [
                [
                    "AWS/ApplicationELB",
                    f"HTTPCode_Target_{code}_Count",
                    "LoadBalancer",
                    alb,
                    {"label": f"{region} {code}"},
                ]
                for code in ("4XX", "5XX", "2XX")
            ],
            at=(12, 0, 12, 6),
        ),
        {
            "type": "text",
            "x": 12,
            "y": 6,
            "width": 6,
            "height": 6,
            "properties": {"markdown": "# Multi-Region BCDR Workshop"},
        },
        service("Like", 6),
        _metric(
            "DynamoDB Read/Write",
            region,
            [
                ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", outputs["DynamoTable"]],
                [".", "ConsumedWriteCapacityUnits", ".", "."],
            ],
            at=(0, 12, 12, 6),
        ),
    ]


def lab2_xray_widget(region: str) -> dict[str, Any]:
    """What Lab 2 adds by hand: the X-Ray group's trace count, as a stacked area of the Sum."""
    return _metric(
        LAB2_XRAY_GROUP,
        region,
        [["AWS/X-Ray", "ApproximateTraceCount", "GroupName", LAB2_XRAY_GROUP]],
        at=(12, 12, 12, 6),
        stacked=True,
    )


def lab2_dashboard(region: str, outputs: Mapping[str, str]) -> dict[str, Any]:
    """The dashboard as Lab 2 leaves it: the single-region widgets plus the X-Ray widget."""
    return {"widgets": [*region_widgets(region, outputs), lab2_xray_widget(region)]}


def secondary_widgets(region: str, outputs: Mapping[str, str]) -> list[dict[str, Any]]:
    """What Lab 3's step 5 adds: the secondary region's widgets, each metric labelled with its
    region (`outputs` are the secondary stack's)."""
    alb, cluster = outputs["LoadBalancerFullName"], outputs["EcsClusterName"]
    here = {"region": region}

    def labelled(text: str) -> dict[str, str]:
        return {**here, "label": f"{region} {text}"}

    def service(index: int, kind: str) -> dict[str, Any]:
        name = outputs[f"{kind}EcsServiceName"]
        return _metric(
            f"{region} {kind} Service Metrics",
            region,
            [
                ["AWS/ECS", metric, "ServiceName", name, "ClusterName", cluster, here]
                for metric in ("CPUUtilization", "MemoryUtilization")
            ],
            at=(6 * index, 24, 6, 6),
            view="singleValue",
            stat="Average",
        )

    return [
        _metric(
            f"{region} ALB Requests Per Minute",
            region,
            [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb, labelled("ALB")]],
            at=(0, 18, 12, 6),
            stacked=True,
        ),
        _metric(
            f"{region} ALB HTTP Responses",
            region,
            [
                [
                    "AWS/ApplicationELB",
                    f"HTTPCode_Target_{code}_Count",
                    "LoadBalancer",
                    alb,
                    labelled(code),
                ]
                for code in ("2XX", "4XX", "5XX")
            ],
            at=(12, 18, 12, 6),
        ),
        *[service(index, kind) for index, kind in enumerate(SERVICES)],
        _metric(
            f"{region} X-Ray Errors and Faults",
            region,
            [
                [
                    "AWS/X-Ray",
                    "ApproximateTraceCount",
                    "GroupName",
                    LAB2_XRAY_GROUP,
                    labelled("errors and faults"),
                ]
            ],
            at=(12, 24, 12, 6),
            stacked=True,
            period=300,
        ),
    ]
