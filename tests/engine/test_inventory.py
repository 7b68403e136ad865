"""The two-region inventory on the sandbox: what exists is present, what does not is absent, and
an error on one part stays on that part."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import FrozenInstanceError
from types import SimpleNamespace
from typing import Any

import pytest

from mmtui.engine.context import CheckContext
from mmtui.engine.tasks import TaskContext, run_actions
from mmtui.labs.lab3.inventory import image_region, render_text, take_inventory
from mmtui.labs.lab3.steps import data_tier as data_tier_step
from mmtui.labs.lab3.steps import pipeline as pipeline_step
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.clients import ClientFactory
from tests.engine.test_checks import context

PRIMARY, SECONDARY = "us-west-2", "us-east-1"


def solve(ctx: CheckContext, *steps: Callable[[TaskContext], list[Any]]) -> None:
    task_ctx = TaskContext(ctx, poll_seconds=0.05, timeout_seconds=60)
    for step in steps:
        run_actions(step(task_ctx), lambda _line: None)


def test_baseline_primary_present_secondary_absent(sandbox: Sandbox) -> None:
    inventory = take_inventory(context(sandbox))
    assert inventory.errors() == []

    primary = inventory.primary
    assert (primary.region, primary.role) == (PRIMARY, "primary")
    assert [(s.name, s.status, s.is_secondary) for s in primary.stacks] == [
        ("mm-multi-region", "CREATE_COMPLETE", "false")
    ]
    assert primary.table.status == "ACTIVE"
    assert primary.table.stream_view_type is None
    assert primary.table.replicas == ()
    assert len(primary.registries.items) == 2
    assert all(r.present and r.image_count >= 1 and r.latest_tags for r in primary.registries.items)
    assert primary.cluster.name == "Cluster-mm-multi-region"
    assert primary.cluster.status == "ACTIVE"
    assert [(s.name, s.running, s.desired, s.image_region) for s in primary.cluster.services] == [
        ("mm-multi-region_Core-Service", 1, 1, PRIMARY),
        ("mm-multi-region_Like-Service", 1, 1, PRIMARY),
    ]
    assert primary.load_balancer.dns_name == "alb-mm-multi-region-1.us-west-2.elb.amazonaws.com"

    secondary = inventory.secondary
    assert (secondary.region, secondary.role) == (SECONDARY, "secondary")
    assert [(s.name, s.present) for s in secondary.stacks] == [("mm-secondary-region", False)]
    assert not secondary.table.present
    assert secondary.registries.items == ()
    assert not secondary.cluster.present
    assert not secondary.load_balancer.present

    pipelines = inventory.pipelines.items
    assert [p.kind for p in pipelines] == ["core", "like"]
    for pipeline in pipelines:
        assert pipeline.name.startswith(f"{pipeline.kind.title()}Pipeline-")
        assert [(s.name, s.regions, s.status) for s in pipeline.stages] == [
            ("Source", (PRIMARY,), "Succeeded"),
            ("Build_Docker_Container", (PRIMARY,), "Succeeded"),
            ("Deploy", (PRIMARY,), "Succeeded"),
        ]
        assert pipeline.artifact_store_regions == (PRIMARY,)
    assert inventory.dashboard.present
    assert inventory.dashboard.name == "mm-multi-region_Dashboard"
    assert inventory.dashboard.regions == (PRIMARY,)

    with pytest.raises(FrozenInstanceError):
        inventory.primary.table.status = "DELETING"  # type: ignore[misc]

    text = render_text(inventory)
    assert "us-east-1 (secondary)\n  stack        mm-secondary-region: absent\n" in text
    assert "  table        mm-ddbtable: ACTIVE, stream off\n" in text


def test_after_steps_1_to_3_both_regions_show(
    sandbox: Sandbox, quick_replicas: None, secondary_by_hand: Callable[..., Sandbox]
) -> None:
    secondary_by_hand()
    ctx = context(sandbox)
    solve(ctx, data_tier_step.solve_data_tier, pipeline_step.solve_pipeline)

    # A kept executor is what the guide passes, refresh after refresh.
    with ThreadPoolExecutor(4) as pool:
        inventory = take_inventory(ctx, executor=pool)
        again = take_inventory(ctx, executor=pool)
    assert inventory.errors() == []
    assert again == inventory  # equal pictures (the time it was taken does not count)

    secondary = inventory.secondary
    assert [(s.name, s.status, s.is_secondary) for s in secondary.stacks] == [
        ("mm-secondary-region", "CREATE_COMPLETE", "true")
    ]
    assert [(r.region, r.status) for r in inventory.primary.table.replicas] == [
        (SECONDARY, "ACTIVE")
    ]
    assert inventory.primary.table.stream_view_type == "NEW_AND_OLD_IMAGES"
    assert secondary.table.status == "ACTIVE"
    assert [(r.region, r.status) for r in secondary.table.replicas] == [(PRIMARY, "ACTIVE")]
    # Step 4 has not run: the secondary registries exist, empty, and the services still run
    # the stack's placeholder image, which comes from no ECR registry.
    assert [(r.present, r.image_count) for r in secondary.registries.items] == [(True, 0)] * 2
    assert secondary.cluster.name == "Cluster-mm-secondary-region"
    assert [(s.running, s.desired, s.image_region) for s in secondary.cluster.services] == [
        (1, 1, None),
        (1, 1, None),
    ]
    assert all(
        "CoreEcsService" in s.name or "LikeEcsService" in s.name for s in secondary.cluster.services
    )
    assert (
        secondary.load_balancer.dns_name == "alb-mm-secondary-region-1.us-east-1.elb.amazonaws.com"
    )

    for pipeline in inventory.pipelines.items:
        last = pipeline.stages[-1]
        assert (last.name, last.regions, last.status) == ("CrossRegionDeploy", (SECONDARY,), None)
        assert [a.provider for a in last.actions] == ["ECS"]
        assert pipeline.artifact_store_regions == (SECONDARY, PRIMARY)

    text = render_text(inventory)
    assert "replicas us-east-1 ACTIVE" in text
    assert "CrossRegionDeploy [us-east-1] not run" in text


def test_a_stack_deployed_in_the_wrong_region_shows_there(
    sandbox: Sandbox, secondary_by_hand: Callable[..., Sandbox]
) -> None:
    """The classic slip: step 1's command without `--region` lands in the primary region."""
    secondary_by_hand(region=PRIMARY)
    inventory = take_inventory(context(sandbox))
    assert [(s.name, s.present, s.expected) for s in inventory.primary.stacks] == [
        ("mm-multi-region", True, True),
        ("mm-secondary-region", True, False),
    ]
    assert not inventory.secondary.stack.present
    assert "mm-secondary-region: CREATE_COMPLETE (the other region's stack, deployed here)" in (
        render_text(inventory)
    )


class RefusingFactory(ClientFactory):
    """Clients on which one (service, region) answers AccessDenied to every call."""

    refuse: tuple[str, str] = ("", "")

    def client(self, service: str, region: str | None = None, **kwargs: Any) -> Any:
        client = super().client(service, region, **kwargs)
        if (service, region) == self.refuse:

            def deny(**_: Any) -> tuple[Any, dict[str, Any]]:
                error = {"Code": "AccessDeniedException", "Message": "not for you"}
                return SimpleNamespace(status_code=403, headers={}), {"Error": error}

            client.meta.events.register(f"before-call.{service}.*", deny, unique_id="refuse")
        return client


@pytest.mark.parametrize(
    ("service", "region", "where"),
    [
        ("ecs", PRIMARY, "us-west-2 (primary) cluster"),
        ("dynamodb", SECONDARY, "us-east-1 (secondary) table mm-ddbtable"),
        ("codepipeline", PRIMARY, "pipelines"),
    ],
)
def test_an_aws_error_stays_on_its_part(
    sandbox: Sandbox, service: str, region: str, where: str
) -> None:
    ctx = context(sandbox)
    factory = RefusingFactory(ctx.connection.factory.spec, sandbox.url, sandbox.credentials())
    factory.refuse = (service, region)
    ctx.connection.factory = factory
    inventory = take_inventory(ctx)
    errors = inventory.errors()
    assert [w for w, _ in errors] == [where]
    assert (errors[0][1].code, errors[0][1].message) == ("AccessDeniedException", "not for you")
    # Everything else is still there.
    assert inventory.primary.stack.status == "CREATE_COMPLETE"
    assert inventory.dashboard.present
    assert "unreadable (AccessDeniedException: not for you)" in render_text(inventory)


def test_image_region() -> None:
    uri = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/core:abc"
    assert image_region(uri) == "eu-central-1"
    assert image_region("docker.io/nginx:latest") is None
    assert image_region("nginx") is None
