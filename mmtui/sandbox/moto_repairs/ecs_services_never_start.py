"""moto's ECS services never run; the sandbox settles them as healthy services would be.

moto stores services with `runningCount` 0 and a deployment that stays IN_PROGRESS
forever; a new task definition revision does not even start a new deployment. The sandbox has no
containers either, but the lab reads these fields (and the pipeline's ECS deploy waits on them),
so every ACTIVE service is settled as a healthy service would be: as many tasks running as
desired, none pending, its PRIMARY deployment COMPLETED on the service's task definition. A new
task definition (or `forceNewDeployment`) replaces the deployment with a new one, finished at
once: the old tasks drain instantly. This is patched into moto's ECS backend class, so it also
holds for the services of the saved baseline and of CloudFormation stacks.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "ecs_services_never_start"
ROLLOUT_SECONDS = 0.0
"""How long a new ECS deployment stays IN_PROGRESS before it completes (its old tasks keep
serving meanwhile, as the ACTIVE deployment). 0 finishes it at once; on AWS a rollout takes
minutes, and tests that prove the pending verdicts set this (and put it back)."""


def install() -> None:
    """Settle every ECS service as a healthy one would be (called once, by moto_repairs.install)."""
    from moto.ecs.models import EC2ContainerServiceBackend as Backend

    original_create = Backend.create_service
    original_update = Backend.update_service
    original_describe = Backend.describe_services

    @functools.wraps(original_create)
    def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = original_create(self, *args, **kwargs)
        settle(self, service)
        return service

    @functools.wraps(original_update)
    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        wanted = service_properties.get("task_definition")
        forced = bool(service_properties.get("force_new_deployment"))
        service = original_update(self, service_properties)
        if wanted:
            # moto keeps the string it was given (`family`, `family:3`); ECS answers an ARN.
            service.task_definition = self.describe_task_definition(wanted).arn
        new_definition = bool(service.deployments) and (
            service.deployments[0].get("taskDefinition") != service.task_definition
        )
        if new_definition or forced:
            _new_deployment(service)
        settle(self, service)
        return service

    @functools.wraps(original_describe)
    def describe_services(self: Any, *args: Any, **kwargs: Any) -> Any:
        services, failures = original_describe(self, *args, **kwargs)
        for service in services:
            settle(self, service)
        return services, failures

    for name, patched in (
        ("create_service", create_service),
        ("update_service", update_service),
        ("describe_services", describe_services),
    ):
        patch(REPAIR, Backend, name, patched)


def settle(backend: Any, service: Any) -> None:
    """Make an ACTIVE service run its desired count on its task definition, deployment done."""
    if service.status != "ACTIVE":
        return
    desired = int(service.desired_count or 0)
    cluster = backend.clusters.get(service.cluster_name)
    if cluster is not None and (service.running_count != desired or service.pending_count):
        backend.update_cluster_resources(cluster, desired - service.running_count, "RUNNING")
        backend.update_cluster_resources(cluster, -service.pending_count, "PENDING")
    service.running_count = desired
    service.pending_count = 0
    if not service.deployments:
        return
    deployment = service.deployments[0]
    if deployment.get("rolloutState") == "IN_PROGRESS" and _still_rolling(deployment):
        return
    changed = (
        deployment.get("rolloutState") != "COMPLETED"
        or deployment.get("runningCount") != desired
        or deployment.get("desiredCount") != desired
        or deployment.get("taskDefinition") != service.task_definition
    )
    if not changed:
        return
    if deployment.get("rolloutState") != "COMPLETED":
        service.events[:0] = [
            _event(f"(service {service.name}) has reached a steady state."),
            _event(
                f"(service {service.name}) (deployment {deployment['id']}) deployment completed."
            ),
        ]
    deployment.update(
        {
            "status": "PRIMARY",
            "desiredCount": desired,
            "runningCount": desired,
            "pendingCount": 0,
            "failedTasks": 0,
            "taskDefinition": service.task_definition,
            "rolloutState": "COMPLETED",
            "rolloutStateReason": f"ECS deployment {deployment['id']} completed.",
            "updatedAt": utcnow(),
        }
    )
    del service.deployments[1:]


def _still_rolling(deployment: dict[str, Any]) -> bool:
    created = deployment.get("createdAt")
    if not ROLLOUT_SECONDS or created is None:
        return False
    return bool((utcnow() - created).total_seconds() < ROLLOUT_SECONDS)


def _new_deployment(service: Any) -> None:
    previous = service.deployments[0]
    now = utcnow()
    deployment = dict(previous)
    deployment.update(
        {
            "id": f"ecs-svc/{mock_random.randint(0, 10**19 - 1):019d}",
            "createdAt": now,
            "updatedAt": now,
            "taskDefinition": service.task_definition,
            "rolloutState": "IN_PROGRESS",
            "runningCount": 0,
            "pendingCount": int(service.desired_count or 0),
        }
    )
    # The old deployment keeps its tasks (ACTIVE) until the new one completes.
    service.deployments = [deployment, {**previous, "status": "ACTIVE"}]
    label = service.task_definition.rsplit("/", 1)[-1]
    service.events.insert(
        0,
        _event(
            f"(service {service.name}) has started 1 tasks: (task {deployment['id'][8:20]}) "
            f"of {label}."
        ),
    )


def _event(message: str) -> dict[str, Any]:
    """A service event, as DescribeServices lists them (newest first)."""
    return {"id": str(mock_random.uuid4()), "createdAt": utcnow(), "message": message}


def deployment_id(service: dict[str, Any]) -> str | None:
    """The PRIMARY deployment's ID of a DescribeServices service."""
    for deployment in service.get("deployments", []):
        if deployment.get("status") == "PRIMARY":
            return str(deployment.get("id"))
    return None
