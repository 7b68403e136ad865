"""The ECS standard deploy action: the image definitions file → a new revision → the service.

What CodePipeline's ECS job worker does, in the action's region, through the sandbox's own API:
read the image definitions file from the input artifact, take the task definition the service
runs now, register a revision of it with each named container's image replaced, update the
service to it and wait for the deployment to finish. The failures AWS reports (a file missing
from the artifact or not valid JSON, a cluster, service or container that does not exist, an
image ECS cannot pull) fail the action with a message saying so. An image that is not in its
registry is found before the service changes: ECS would start a deployment whose tasks never
start (CannotPullContainerError); the sandbox registers the revision, leaves the service on the
tasks that work, and fails the action with ECS's reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmtui.sandbox.behaviours.pipelines.artifacts import read_zip
from mmtui.sandbox.moto_repairs.ecs_services_never_start import deployment_id

DEFAULT_FILE = "imagedefinitions.json"
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repo>[^:@]+)(?::(?P<tag>[^@]+)|@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
# The task definition fields RegisterTaskDefinition takes back (DescribeTaskDefinition also
# answers read-only ones: ARN, revision, status, compatibilities, registeredAt...).
_REGISTER_FIELDS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
)


class DeployFailure(Exception):
    """The action fails with this message (the errorDetails CodePipeline shows)."""


@dataclass
class DeployResult:
    task_definition: str
    deployment: str | None
    summary: str


def ecs_deploy(
    client: Callable[[str, str], Any],
    region: str,
    configuration: dict[str, str],
    artifact_name: str,
    artifact: bytes,
    still_wanted: Callable[[], None],
) -> DeployResult:
    """Deploy; raises DeployFailure with AWS's reason. `still_wanted()` is called before each
    change and raises to abandon the deploy (the execution was stopped or the state reset)."""
    from botocore.exceptions import ClientError

    file_name = configuration.get("FileName") or DEFAULT_FILE
    cluster = configuration.get("ClusterName", "")
    service_name = configuration.get("ServiceName", "")
    if not cluster or not service_name:
        missing = "ClusterName" if not cluster else "ServiceName"
        raise DeployFailure(f"Invalid action configuration: {missing} is required")
    definitions = _image_definitions(read_zip(artifact), file_name, artifact_name)
    ecs = client("ecs", region)
    try:
        described = ecs.describe_services(cluster=cluster, services=[service_name])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ClusterNotFoundException":
            raise DeployFailure(
                f"Invalid action configuration: The AWS ECS cluster {cluster} does not exist"
            ) from None
        raise
    services = described.get("services", [])
    if not services:
        raise DeployFailure(
            f"Invalid action configuration: The AWS ECS service {service_name} does not exist"
        )
    service = services[0]
    if service.get("status") != "ACTIVE":
        raise DeployFailure(
            f"Invalid action configuration: The AWS ECS service {service_name} is "
            f"{service.get('status')}"
        )
    current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
        "taskDefinition"
    ]
    containers = {spec["name"] for spec in current.get("containerDefinitions", [])}
    for name in definitions:
        if name not in containers:
            raise DeployFailure(
                f"Invalid action configuration: The AWS ECS container {name} does not exist"
            )
    unpullable = [image for image in definitions.values() if not _pullable(client, image)]
    still_wanted()
    registration = {key: current[key] for key in _REGISTER_FIELDS if key in current}
    registration["containerDefinitions"] = [
        dict(spec, image=definitions[spec["name"]]) if spec["name"] in definitions else spec
        for spec in current["containerDefinitions"]
    ]
    registered = ecs.register_task_definition(**registration)["taskDefinition"]
    revision = str(registered["taskDefinitionArn"])
    label = f"{registered['family']}:{registered['revision']}"
    if unpullable:
        image = unpullable[0]
        raise DeployFailure(
            f"The ECS service {service_name} could not start tasks of {label}: "
            f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed "
            f"to resolve ref {image}: {image}: not found"
        )
    still_wanted()
    ecs.update_service(cluster=cluster, service=service_name, taskDefinition=revision)
    after = ecs.describe_services(cluster=cluster, services=[service_name])["services"][0]
    if after.get("taskDefinition") != revision or after.get("runningCount") != after.get(
        "desiredCount"
    ):
        raise DeployFailure(
            f"The ECS service {service_name} did not reach a steady state on {label}"
        )
    return DeployResult(
        task_definition=revision,
        deployment=deployment_id(after),
        summary=f"Deployed {label} to {service_name} in {region}",
    )


def _image_definitions(files: dict[str, bytes], file_name: str, artifact: str) -> dict[str, str]:
    """Container name → image URI, from the image definitions file of the artifact."""
    if file_name not in files:
        raise DeployFailure(
            f"Invalid action configuration: The image definition file {file_name} does not "
            f"exist in the artifact {artifact}"
        )
    invalid = DeployFailure(f"The image definition file {file_name} contents invalid JSON format")
    try:
        loaded = json.loads(files[file_name])
    except ValueError:
        raise invalid from None
    if not isinstance(loaded, list) or not loaded:
        raise invalid
    found: dict[str, str] = {}
    for entry in loaded:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("imageUri"):
            raise invalid
        found[str(entry["name"])] = str(entry["imageUri"])
    return found


def _pullable(client: Callable[[str, str], Any], image: str) -> bool:
    """Whether ECS could pull the image: an ECR image must be in the registry it names (other
    registries are outside the sandbox and taken on trust)."""
    from botocore.exceptions import ClientError

    match = ECR_IMAGE.match(image)
    if match is None:
        return True
    reference = (
        {"imageDigest": match["digest"]}
        if match["digest"]
        else {"imageTag": match["tag"] or "latest"}
    )
    try:
        found = client("ecr", match["region"]).describe_images(
            registryId=match["account"], repositoryName=match["repo"], imageIds=[reference]
        )
    except ClientError:
        return False
    return bool(found.get("imageDetails"))
