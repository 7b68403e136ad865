"""The dashboard's widgets are defined once (mmtui/workshop_dashboard.py): the template the
sandbox deploys says the same, the sandbox's baseline is Lab 2's dashboard from that definition,
and step 5's solve adds exactly the definition's secondary widgets (issue 13)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

import mmtui.sandbox
from mmtui.engine.tasks import TaskContext, run_actions
from mmtui.labs.lab3.dashboards import expand_rows
from mmtui.labs.lab3.steps.dashboard import LAB_METRICS, solve_dashboard
from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop.primary_app import stack_outputs
from mmtui.workshop_dashboard import lab2_dashboard, region_widgets, secondary_widgets
from tests.engine.test_checks import context

PRIMARY, SECONDARY = "us-west-2", "us-east-1"
STACK, SECONDARY_STACK = "mm-multi-region", "mm-secondary-region"
DASHBOARD = f"{STACK}_Dashboard"
TEMPLATE = Path(mmtui.sandbox.__file__).parent / "workshop/assets/workshop/cfn/cwdashboard.yml"


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags read as their plain value (`!Sub x` → x)."""


_CloudFormationLoader.add_multi_constructor(
    "!", lambda loader, _suffix, node: loader.construct_scalar(node)
)


def _template_body(parameters: dict[str, str]) -> dict[str, Any]:
    """The template's DashboardBody with its `${...}` references filled in, as CloudFormation
    does on deploy."""
    template = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)
    (resource,) = template["Resources"].values()
    text = resource["Properties"]["DashboardBody"]
    unknown = set(re.findall(r"\$\{([^}]+)\}", text)) - set(parameters)
    assert not unknown, f"the template refers to {unknown}, which the test does not fill in"
    filled = re.sub(r"\$\{([^}]+)\}", lambda m: parameters[m.group(1)], text)
    body: dict[str, Any] = json.loads(filled)
    return body


def test_the_dashboard_template_is_the_definitions_single_region_dashboard() -> None:
    outputs = {
        "LoadBalancerFullName": "app/mm-alb/0123456789abcdef",
        "EcsClusterName": "mm-cluster",
        "CoreEcsServiceName": "mm-core",
        "LikeEcsServiceName": "mm-like",
        "DynamoTable": "mm-ddbtable",
    }
    body = _template_body(
        {
            "AWS::Region": PRIMARY,
            "PrimaryRegionALBFullName": outputs["LoadBalancerFullName"],
            "MythicalEcsCluster": outputs["EcsClusterName"],
            "CoreServiceName": outputs["CoreEcsServiceName"],
            "LikeServiceName": outputs["LikeEcsServiceName"],
            "DDBTable": outputs["DynamoTable"],
        }
    )
    assert body == {"widgets": region_widgets(PRIMARY, outputs)}


def test_the_baseline_dashboard_is_lab_2s_from_the_definition(sandbox: Sandbox) -> None:
    body = json.loads(
        sandbox.client("cloudwatch", PRIMARY).get_dashboard(DashboardName=DASHBOARD)[
            "DashboardBody"
        ]
    )
    assert body == lab2_dashboard(PRIMARY, stack_outputs(sandbox, STACK, PRIMARY))


def test_step_5_adds_exactly_the_definitions_secondary_widgets(
    sandbox: Sandbox, secondary_by_hand: Any
) -> None:
    secondary_by_hand()
    done = run_actions(solve_dashboard(TaskContext(context(sandbox))), lambda _line: None)
    assert done[-1] == f"added {SECONDARY}'s widgets to {DASHBOARD}"

    body = json.loads(
        sandbox.client("cloudwatch", PRIMARY).get_dashboard(DashboardName=DASHBOARD)[
            "DashboardBody"
        ]
    )
    lab2 = lab2_dashboard(PRIMARY, stack_outputs(sandbox, STACK, PRIMARY))
    secondary = secondary_widgets(SECONDARY, stack_outputs(sandbox, SECONDARY_STACK, SECONDARY))
    assert body == {"widgets": lab2["widgets"] + secondary}


def test_what_step_5_resets_is_what_the_definition_adds() -> None:
    """The reset takes back step 5's metrics by content (`LAB_METRICS`); that must be the
    metrics the definition's secondary widgets graph, no more and no fewer."""
    outputs = {
        "LoadBalancerFullName": "app/mm-alb/0123456789abcdef",
        "EcsClusterName": "mm-cluster",
        "CoreEcsServiceName": "mm-core",
        "LikeEcsServiceName": "mm-like",
    }
    graphed: dict[str, set[str]] = {}
    for widget in secondary_widgets(SECONDARY, outputs):
        for values, _options in expand_rows(widget["properties"]["metrics"]):
            graphed.setdefault(values[0], set()).add(values[1])
    assert graphed == {namespace: set(names) for namespace, names in LAB_METRICS.items()}
