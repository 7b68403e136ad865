"""What Lab 0's bootstrap and Labs 1-2 leave in the primary region besides the stack.

The stack (workshop.py) makes the network, table, registries, cluster and task definitions.
Lab 0's scripts then load the twelve mysfits, create the two ECS services by hand (they are not
in the stack) and push the initial commits, whose pipeline runs put real images in the
registries and deploy them. Lab 2 leaves a dashboard with an X-Ray widget. This module seeds
those, over the sandbox's AWS API.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.mysfits import mysfit_items

if TYPE_CHECKING:
    from mmtui.sandbox.server import Sandbox

# (label, container, ECR output, task definition output, service name suffix, commit message)
SERVICES = [
    (
        "Core",
        "service",
        "CoreServiceEcrRepo",
        "CoreServiceTaskDefinition",
        "_Core-Service",
        "Initial Commit of Core Service",
    ),
    (
        "Like",
        "like-service",
        "LikeServiceEcrRepo",
        "LikeServiceTaskDefinition",
        "_Like-Service",
        "Initial Commit of Like Service",
    ),
]


def stack_outputs(sandbox: Sandbox, stack: str, region: str) -> dict[str, str]:
    described = sandbox.client("cloudformation", region).describe_stacks(StackName=stack)
    return {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}


def commit_id(message: str) -> str:
    """A stable stand-in for the initial commit's id (the image tag the pipeline uses)."""
    return hashlib.sha1(message.encode()).hexdigest()


def image_manifest(name: str, tag: str) -> str:
    """A Docker image manifest (schema 2) for an image of ours; its digests are stable."""

    def digest(part: str) -> str:
        return "sha256:" + hashlib.sha256(f"{name}:{tag}:{part}".encode()).hexdigest()

    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1470,
                "digest": digest("config"),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 3_400_000 + index,
                    "digest": digest(f"layer{index}"),
                }
                for index in range(3)
            ],
        }
    )


def seed_primary_application(sandbox: Sandbox, stack: str) -> None:
    region = sandbox.options.primary_region
    outputs = stack_outputs(sandbox, stack, region)
    _load_mysfits(sandbox, region, outputs["DynamoTable"])
    ecr = sandbox.client("ecr", region)
    ecs = sandbox.client("ecs", region)
    for label, container, repo_output, definition_output, suffix, message in SERVICES:
        repository_uri = outputs[repo_output]
        repository = repository_uri.split("/", 1)[1]
        tag = commit_id(message)
        ecr.put_image(
            repositoryName=repository, imageTag=tag, imageManifest=image_manifest(repository, tag)
        )
        definition = register_with_image(
            ecs, outputs[definition_output], container, f"{repository_uri}:{tag}"
        )
        ecs.create_service(
            cluster=outputs["EcsClusterName"],
            serviceName=f"{stack}{suffix}",
            taskDefinition=definition,
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
                    "targetGroupArn": outputs[
                        "MythicalServiceTargetGroupArn"
                        if label == "Core"
                        else "LikeServiceTargetGroupArn"
                    ],
                    "containerName": container,
                    "containerPort": 8080,
                }
            ],
        )
    sandbox.client("cloudwatch", region).put_dashboard(
        DashboardName=f"{stack}_Dashboard",
        DashboardBody=json.dumps(lab2_dashboard(region, stack, outputs)),
    )


def _load_mysfits(sandbox: Sandbox, region: str, table: str) -> None:
    dynamodb = sandbox.client("dynamodb", region)
    items = mysfit_items()
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(
            RequestItems={
                table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            }
        )


def register_with_image(ecs: Any, definition_arn: str, container: str, image: str) -> str:
    """A new revision of the task definition running `image` (what an ECS deploy does)."""
    current = ecs.describe_task_definition(taskDefinition=definition_arn)["taskDefinition"]
    containers = [
        dict(spec, image=image) if spec["name"] == container else spec
        for spec in current["containerDefinitions"]
    ]
    keep = (
        "family",
        "taskRoleArn",
        "executionRoleArn",
        "networkMode",
        "cpu",
        "memory",
        "requiresCompatibilities",
    )
    registered = ecs.register_task_definition(
        containerDefinitions=containers, **{k: current[k] for k in keep if k in current}
    )
    return str(registered["taskDefinition"]["taskDefinitionArn"])


def lab2_dashboard(region: str, stack: str, outputs: dict[str, str]) -> dict[str, Any]:
    """The single-region dashboard of Lab 0's stack, plus Lab 2's X-Ray widget."""
    alb = outputs["LoadBalancerFullName"]
    cluster = outputs["EcsClusterName"]

    def service_widget(label: str, service: str, x: int) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": 6,
            "width": 6,
            "height": 6,
            "properties": {
                "title": f"{region} {label} Service Metrics",
                "view": "singleValue",
                "region": region,
                "stat": "Average",
                "period": 60,
                "metrics": [
                    ["AWS/ECS", "CPUUtilization", "ServiceName", service, "ClusterName", cluster],
                    [".", "MemoryUtilization", ".", ".", ".", "."],
                ],
            },
        }

    return {
        "widgets": [
            {
                "type": "metric",
                "x": 0,
                "y": 0,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": "ALB Requests Per Minute",
                    "view": "timeSeries",
                    "stacked": True,
                    "region": region,
                    "stat": "Sum",
                    "period": 60,
                    "metrics": [
                        [
                            "AWS/ApplicationELB",
                            "RequestCount",
                            "LoadBalancer",
                            alb,
                            {"label": f"{region} ALB"},
                        ]
                    ],
                },
            },
            service_widget("Core", outputs["CoreEcsServiceName"], 0),
            {
                "type": "metric",
                "x": 12,
                "y": 0,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": "ALB HTTP Responses",
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
                            {"label": f"{region} {code}"},
                        ]
                        for code in ("4XX", "5XX", "2XX")
                    ],
                },
            },
            {
                "type": "text",
                "x": 12,
                "y": 6,
                "width": 6,
                "height": 6,
                "properties": {"markdown": "# Multi-Region BCDR Workshop"},
            },
            service_widget("Like", outputs["LikeEcsServiceName"], 6),
            {
                "type": "metric",
                "x": 0,
                "y": 12,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": "DynamoDB Read/Write",
                    "view": "timeSeries",
                    "region": region,
                    "stat": "Sum",
                    "period": 60,
                    "metrics": [
                        [
                            "AWS/DynamoDB",
                            "ConsumedReadCapacityUnits",
                            "TableName",
                            outputs["DynamoTable"],
                        ],
                        [".", "ConsumedWriteCapacityUnits", ".", "."],
                    ],
                },
            },
            # Lab 2: the X-Ray group metric, as a stacked area of the Sum.
            {
                "type": "metric",
                "x": 12,
                "y": 12,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": "like-service-errors-faults",
                    "view": "timeSeries",
                    "stacked": True,
                    "region": region,
                    "stat": "Sum",
                    "period": 60,
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
        ]
    }
