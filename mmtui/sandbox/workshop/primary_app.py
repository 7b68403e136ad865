"""What Lab 0's bootstrap and Labs 1-2 leave in the primary region besides the stack.

The stack (workshop.py) makes the network, table, registries, cluster and task definitions.
Lab 0's scripts then load the twelve mysfits and create the two ECS services by hand (they are
not in the stack), on the stack's task definitions, whose image is still the placeholder: the
real images come from the pipelines' first runs on the initial commits (workshop/pipelines.py),
which build them, push them to the registries and deploy them to these services. Lab 2 leaves
a dashboard with an X-Ray widget. This module seeds the mysfits, services and dashboard, over
the sandbox's API: the services before the initial pushes start the pipelines, the rest while
they build (baseline.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT
from mmtui.sandbox.workshop.mysfits import mysfit_items
from mmtui.workshop_dashboard import lab2_dashboard

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

# (label, container, task definition output, service name suffix, target group output)
SERVICES = [
    (
        "Core",
        "service",
        "CoreServiceTaskDefinition",
        "_Core-Service",
        "MythicalServiceTargetGroupArn",
    ),
    (
        "Like",
        "like-service",
        "LikeServiceTaskDefinition",
        "_Like-Service",
        "LikeServiceTargetGroupArn",
    ),
]


def stack_outputs(
    sandbox: Sandbox, stack: str, region: str, account: str = DEFAULT_ACCOUNT
) -> dict[str, str]:
    described = sandbox.client("cloudformation", region, account).describe_stacks(StackName=stack)
    return {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}


def seed_services(sandbox: Sandbox, stack: str, account: str = DEFAULT_ACCOUNT) -> dict[str, str]:
    """The two ECS services Lab 0's scripts create; returns the stack's outputs.

    The pipelines' Deploy stages deploy to them: they must exist before the initial pushes
    start the pipelines (baseline.py)."""
    region = sandbox.options.primary_region
    outputs = stack_outputs(sandbox, stack, region, account)
    ecs = sandbox.client("ecs", region, account)
    for _label, container, definition_output, suffix, target_group_output in SERVICES:
        # bootstrap/docker/create-fargate-service: the stack's task definition, as it is.
        ecs.create_service(
            cluster=outputs["EcsClusterName"],
            serviceName=f"{stack}{suffix}",
            taskDefinition=outputs[definition_output],
            desiredCount=1,
            launchType="FARGATE",
            deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 0},
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": [outputs["PrivateSubnetOne"], outputs["PrivateSubnetTwo"]],
                    "securityGroups": [outputs["FargateContainerSecurityGroup"]],
                    "assignPublicIp": "DISABLED",
                }
            },
            loadBalancers=[
                {
                    "targetGroupArn": outputs[target_group_output],
                    "containerName": container,
                    "containerPort": 8080,
                }
            ],
        )
    return outputs


def seed_application_data(
    sandbox: Sandbox, stack: str, outputs: dict[str, str], account: str = DEFAULT_ACCOUNT
) -> None:
    """The twelve mysfits in the table and Lab 2's dashboard: nothing the pipelines use, so
    the baseline seeds them while the pipelines' first runs build."""
    region = sandbox.options.primary_region
    _load_mysfits(sandbox, region, outputs["DynamoTable"], account)
    sandbox.client("cloudwatch", region, account).put_dashboard(
        DashboardName=f"{stack}_Dashboard",
        DashboardBody=json.dumps(lab2_dashboard(region, outputs)),
    )


def _load_mysfits(sandbox: Sandbox, region: str, table: str, account: str) -> None:
    dynamodb = sandbox.client("dynamodb", region, account)
    items = mysfit_items()
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(
            RequestItems={
                table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
        )
