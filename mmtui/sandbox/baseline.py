"""The account as it stands after Labs 0-2 (workshop-facts.md), seeded over the sandbox's API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmtui.sandbox.pipelines import seed_pipelines
from mmtui.sandbox.primary_app import seed_primary_application
from mmtui.sandbox.repositories import seed_repositories
from mmtui.sandbox.workshop import PRIMARY_STACK, seed_workshop

if TYPE_CHECKING:
    from mmtui.sandbox.server import Sandbox

XRAY_GROUPS = {
    "like-service": 'service("Like Service") AND http.method = "POST"',
    "like-service-errors-faults": 'service("Like Service") { error = true OR fault = true }',
}


def seed_baseline(sandbox: Sandbox) -> None:
    region = sandbox.options.primary_region
    xray = sandbox.client("xray", region)
    for name, expression in XRAY_GROUPS.items():
        xray.create_group(GroupName=name, FilterExpression=expression)
    seed_workshop(sandbox)
    seed_primary_application(sandbox, PRIMARY_STACK)
    repos = seed_repositories(sandbox)
    seed_pipelines(sandbox, repos)
