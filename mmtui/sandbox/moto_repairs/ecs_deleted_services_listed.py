"""ECS's ListServices lists only the services that are not deleted.

AWS: once deleted, a service is DRAINING while its tasks stop, then INACTIVE, and from the
moment it is deleted it "is no longer visible in the console or in the ListServices API
operation"; DescribeServices still shows it (DeleteService's documentation). moto marks a deleted
service INACTIVE and keeps listing it. The workshop meets this when step 1 is reset and done
again: the secondary stack's new services are listed beside the old, deleted ones, under the
cluster of the same name, and step 3's form offered a deleted service (newcomer walkthrough).
"""

from __future__ import annotations

import functools
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "ecs_deleted_services_listed"


def install() -> None:
    """ListServices without the deleted services (called once, by moto_repairs.install)."""
    from moto.ecs.models import EC2ContainerServiceBackend as Backend

    original = Backend.list_services

    @functools.wraps(original)
    def list_services(self: Any, cluster_str: str, *args: Any, **kwargs: Any) -> list[str]:
        listed: list[str] = original(self, cluster_str, *args, **kwargs)
        deleted = {s.arn for s in self.services.values() if s.status != "ACTIVE"}
        return [arn for arn in listed if arn not in deleted]

    patch(REPAIR, Backend, "list_services", list_services)
