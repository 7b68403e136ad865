"""Step 5 on real dashboards: the workshop's own scripted dashboard, CloudWatch's metric
shorthands, advice instead of failure for metrics that may not exist yet, and a reset that
takes out only what the lab adds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop.primary_app import stack_outputs
from tests.conftest import (
    LAB_XRAY_GROUPS,
    aws_cli,
    check_step,
    cli_target,
    invoke,
    xray_group_by_hand,
)

PRIMARY, SECONDARY = "us-west-2", "us-east-1"


@pytest.fixture
def target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return cli_target(sandbox, monkeypatch)


def secondary_groups(sandbox: Sandbox) -> None:
    for name in LAB_XRAY_GROUPS:
        xray_group_by_hand(sandbox, name, SECONDARY)


def fully_prepared_template(sandbox: Sandbox) -> str:
    """A CloudFormation template in the style of the workshop's setup script: one dashboard
    whose body is a JSON string written as the CloudWatch console writes it, with `"..."`
    and `"."` standing for what the row above already says."""
    primary = stack_outputs(sandbox, "mm-multi-region", PRIMARY)
    secondary = stack_outputs(sandbox, "mm-secondary-region", SECONDARY)
    here = {"region": SECONDARY}

    def ecs_widget(outputs: dict[str, str], kind: str, region: str) -> dict[str, Any]:
        options = [{"region": region}] if region == SECONDARY else []
        return {
            "type": "metric",
            "properties": {
                "title": f"{region} {kind} services",
                "view": "singleValue",
                "region": PRIMARY,
                "metrics": [
                    [
                        "AWS/ECS",
                        "CPUUtilization",
                        "ServiceName",
                        outputs[f"{kind}EcsServiceName"],
                        "ClusterName",
                        outputs["EcsClusterName"],
                        *options,
                    ],
                    [".", "MemoryUtilization", ".", ".", ".", ".", *options],
                ],
            },
        }

    body = {
        "widgets": [
            {
                "type": "metric",
                "properties": {
                    "title": "Requests, both regions",
                    "region": PRIMARY,
                    "metrics": [
                        [
                            "AWS/ApplicationELB",
                            "RequestCount",
                            "LoadBalancer",
                            primary["LoadBalancerFullName"],
                            {"label": f"{PRIMARY} ALB"},
                        ],
                        [
                            "...",
                            secondary["LoadBalancerFullName"],
                            {**here, "label": f"{SECONDARY} ALB"},
                        ],
                    ],
                },
            },
            {
                "type": "metric",
                "properties": {
                    "title": "Response codes, both regions",
                    "region": PRIMARY,
                    "metrics": [
                        [
                            "AWS/ApplicationELB",
                            "HTTPCode_Target_2XX_Count",
                            "LoadBalancer",
                            primary["LoadBalancerFullName"],
                            {"label": f"{PRIMARY} 2XX"},
                        ],
                        [
                            "...",
                            secondary["LoadBalancerFullName"],
                            {**here, "label": f"{SECONDARY} 2XX"},
                        ],
                        [".", "HTTPCode_Target_4XX_Count", ".", ".", {**here, "label": "4XX"}],
                        # The row above again (its 4XX count), whatever the label says: as in
                        # the workshop's file, the secondary 5XX line is not really there.
                        ["...", {**here, "label": f"{SECONDARY} 5XX"}],
                    ],
                },
            },
            ecs_widget(primary, "Core", PRIMARY),
            ecs_widget(secondary, "Core", SECONDARY),
            ecs_widget(secondary, "Like", SECONDARY),
            {
                "type": "metric",
                "properties": {
                    "title": "Errors and faults",
                    "region": PRIMARY,
                    "metrics": [
                        [
                            "AWS/X-Ray",
                            "ApproximateTraceCount",
                            "GroupName",
                            "like-service-errors-faults",
                        ]
                    ],
                },
            },
            {"type": "text", "properties": {"markdown": "# Both regions"}},
        ]
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Board": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {
                    "DashboardName": "Multi-Region-Fully-Prepared-Dashboard",
                    "DashboardBody": json.dumps(body, indent=1),
                },
            }
        },
    }
    return json.dumps(template, indent=1)


def test_the_workshops_scripted_dashboard_stack_passes_step5(
    sandbox: Sandbox,
    target: list[str],
    tmp_path: Path,
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    secondary_by_hand()
    secondary_groups(sandbox)
    code, before = check_step(target, "5")
    assert code == 1
    assert before["dashboard.secondary_alb_widgets"]["status"] == "fail"
    assert (
        "No dashboard in us-west-2 graphs us-east-1 yet"
        in (before["dashboard.secondary_alb_widgets"]["message"])
    )

    template = tmp_path / "cwdashboard_multiregion.json"
    template.write_text(fully_prepared_template(sandbox))
    aws_cli(
        sandbox,
        "cloudformation",
        "deploy",
        "--stack-name",
        "Fully-Prepared-Dashboard",
        "--template-file",
        str(template),
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "--region",
        PRIMARY,
    )
    code, step = check_step(target, "5")
    assert {k: c["status"] for k, c in step.items()} == {
        "dashboard.xray_groups_secondary": "pass",
        "dashboard.secondary_alb_widgets": "pass",
        "dashboard.secondary_service_widgets": "pass",
        "dashboard.secondary_xray_widget": "pass",
    }
    assert code == 0
    alb = step["dashboard.secondary_alb_widgets"]
    # "..." repeated the 4XX row: 5XX is not graphed, and the lab says it may not exist yet.
    assert alb["observed"] == (
        "Multi-Region-Fully-Prepared-Dashboard: all present; not graphed yet: "
        "HTTPCode_Target_5XX_Count"
    )
    assert "Advice: HTTPCode_Target_5XX_Count is not graphed" in alb["message"]
    xray = step["dashboard.secondary_xray_widget"]
    assert xray["observed"] == "Multi-Region-Fully-Prepared-Dashboard: the group in us-west-2 only"
    assert "Advice:" in xray["message"]
    # The advice shows in the table too, not only in JSON.
    table = invoke("check", *target, "--step", "5")
    assert table.code == 0
    assert "Advice" in table.stdout


def test_shorthands_expand_as_cloudwatch_reads_them() -> None:
    from mmtui.labs.lab3.dashboards import expand_rows

    rows = [
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/a/1", {"label": "a"}],
        ["...", "app/b/2", {"region": "us-east-1"}],
        [".", "HTTPCode_Target_2XX_Count", ".", "."],
        ["...", {"label": "again"}],
        [{"expression": "m1+m2", "label": "sum"}],
        ["AWS/ECS", "CPUUtilization", "ServiceName", "core", "ClusterName", "c1"],
        ["...", "MemoryUtilization", "ServiceName", "core", "ClusterName", "c1"],
        [".", ".", ".", "like", ".", "."],
    ]
    assert [values for values, _ in expand_rows(rows)] == [
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/a/1"],
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/b/2"],
        ["AWS/ApplicationELB", "HTTPCode_Target_2XX_Count", "LoadBalancer", "app/b/2"],
        ["AWS/ApplicationELB", "HTTPCode_Target_2XX_Count", "LoadBalancer", "app/b/2"],
        ["AWS/ECS", "CPUUtilization", "ServiceName", "core", "ClusterName", "c1"],
        ["AWS/ECS", "MemoryUtilization", "ServiceName", "core", "ClusterName", "c1"],
        ["AWS/ECS", "MemoryUtilization", "ServiceName", "like", "ClusterName", "c1"],
    ]


def test_labels_the_lab_never_asks_for_are_not_required(
    sandbox: Sandbox,
    target: list[str],
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    """The lab asks for a region label on the load balancer lines only; the X-Ray group line
    added in the console has none."""
    secondary_by_hand()
    assert invoke("solve", *target, "--step", "5").code == 0
    cloudwatch = sandbox.client("cloudwatch", PRIMARY)
    name = "mm-multi-region_Dashboard"
    body = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    for widget in body["widgets"]:
        for row in widget.get("properties", {}).get("metrics", []):
            if row[0] == "AWS/X-Ray" and isinstance(row[-1], dict):
                row[-1].pop("label", None)
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    code, step = check_step(target, "5")
    assert step["dashboard.secondary_xray_widget"]["status"] == "pass"
    assert step["dashboard.secondary_xray_widget"]["message"] == (
        f"{name} shows the X-Ray errors and faults group of us-east-1."
    )
    assert code == 0


def test_reset_takes_out_only_what_the_lab_adds(
    sandbox: Sandbox, target: list[str], secondary_by_hand: Callable[..., Sandbox]
) -> None:
    """The attendee's own widget reading the secondary region stays; a secondary line the
    attendee added inside a Lab 2 widget (as the workshop's console steps do) goes; the log
    says what went."""
    secondary_by_hand()
    assert invoke("solve", *target, "--step", "5").code == 0
    cloudwatch = sandbox.client("cloudwatch", PRIMARY)
    name = "mm-multi-region_Dashboard"
    body = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    lab2 = stack_outputs(sandbox, "mm-multi-region", PRIMARY)
    secondary = stack_outputs(sandbox, "mm-secondary-region", SECONDARY)
    own_queue = {
        "type": "metric",
        "properties": {
            "title": "My queue in us-east-1",
            "region": SECONDARY,
            "metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "mine"]],
        },
    }
    note = {"type": "text", "properties": {"markdown": "my notes"}}
    (requests,) = [
        w
        for w in body["widgets"]
        if any(
            row[:2] == ["AWS/ApplicationELB", "RequestCount"]
            and lab2["LoadBalancerFullName"] in row
            for row in w.get("properties", {}).get("metrics", [])
        )
    ]
    requests["properties"]["metrics"].append(
        ["...", secondary["LoadBalancerFullName"], {"region": SECONDARY, "label": "mine"}]
    )
    body["widgets"] += [own_queue, note]
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))

    # The plan names what goes, before anything changes.
    plan = invoke("reset", *target, "--step", "5", "--dry-run")
    assert plan.code == 0, plan.stderr
    assert (
        "remove the widgets us-east-1 ALB HTTP Responses, us-east-1 ALB Requests Per Minute, "
        "us-east-1 Core Service Metrics, us-east-1 Like Service Metrics, us-east-1 X-Ray Errors "
        "and Faults and 1 us-east-1 metric from other widgets from dashboard "
        "mm-multi-region_Dashboard (us-west-2)"
    ) in plan.stdout, plan.stdout
    assert "My queue" not in plan.stdout

    reset = invoke("reset", *target, "--step", "5", "--yes")
    assert reset.code == 0, reset.stderr
    after = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    assert own_queue in after["widgets"] and note in after["widgets"]
    (kept,) = [
        w
        for w in after["widgets"]
        if w["properties"].get("title") == requests["properties"].get("title")
    ]
    assert [row[:4] for row in kept["properties"]["metrics"]] == [
        ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", lab2["LoadBalancerFullName"]]
    ]
    titles = [w["properties"].get("title") for w in after["widgets"]]
    assert not [
        t for t in titles if t and t.startswith(SECONDARY) and t != own_queue["properties"]["title"]
    ]
    said = reset.stdout + reset.stderr
    assert (
        "removed the widgets us-east-1 ALB HTTP Responses, us-east-1 ALB Requests Per Minute, "
        "us-east-1 Core Service Metrics, us-east-1 Like Service Metrics, us-east-1 X-Ray Errors "
        "and Faults and 1 us-east-1 metric from other widgets from mm-multi-region_Dashboard"
    ) in said
    assert "My queue" not in said
    code, step = check_step(target, "5")
    assert step["dashboard.secondary_alb_widgets"]["status"] == "fail"


def test_the_lab2_body_put_back_by_a_stack_update_is_explained(
    sandbox: Sandbox,
    target: list[str],
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    """On AWS the Lab 2 dashboard is a nested stack's resource: an update of the workshop
    stack writes its Lab 2 body back. The check says that is the likely cause."""
    secondary_by_hand()
    cloudwatch = sandbox.client("cloudwatch", PRIMARY)
    name = "mm-multi-region_Dashboard"
    lab2_body = cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]
    assert invoke("solve", *target, "--step", "5").code == 0
    assert check_step(target, "5")[0] == 0
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=lab2_body)
    code, step = check_step(target, "5")
    assert code == 1
    message = step["dashboard.secondary_alb_widgets"]["message"]
    assert message.startswith(
        "No dashboard in us-west-2 graphs us-east-1 yet (mm-multi-region_Dashboard shows only "
        "us-west-2). If you had extended mm-multi-region_Dashboard before: it belongs to the "
        "workshop stack's nested dashboard stack"
    )


def test_a_missing_metric_is_named_once(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """The Core and Like services' CPU are two metrics of one name: a dashboard without them
    is said to miss CPUUtilization, not "CPUUtilization, CPUUtilization" (newcomer walkthrough)."""
    lab_solved("1")
    primary = stack_outputs(sandbox, "mm-multi-region", PRIMARY)
    secondary = stack_outputs(sandbox, "mm-secondary-region", SECONDARY)
    body = {
        "widgets": [
            {
                "type": "metric",
                "properties": {
                    "region": PRIMARY,
                    "metrics": [
                        [
                            "AWS/ApplicationELB",
                            "RequestCount",
                            "LoadBalancer",
                            primary["LoadBalancerFullName"],
                        ],
                        [
                            "AWS/ApplicationELB",
                            "RequestCount",
                            "LoadBalancer",
                            secondary["LoadBalancerFullName"],
                            {"region": SECONDARY},
                        ],
                    ],
                },
            }
        ]
    }
    sandbox.client("cloudwatch", PRIMARY).put_dashboard(
        DashboardName="mm-multi-region_Dashboard", DashboardBody=json.dumps(body)
    )
    _, checks = check_step(target, "5")
    messages = [c["message"] for c in checks.values() if "does not graph" in c["message"]]
    assert any("CPUUtilization" in m for m in messages), [c["message"] for c in checks.values()]
    for message in messages:
        named = message.split("does not graph ", 1)[1].split(" of ", 1)[0].split(", ")
        assert len(named) == len(set(named)), message
