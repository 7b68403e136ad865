"""Verdicts that hold on real AWS data: another workshop deployment in the account, many
X-Ray groups, AWS errors inside checks, load balancer and rollout states, pipeline runs being
stopped, China-partition image URIs, a bucket HeadBucket will not show."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from botocore.stub import Stubber

from mmtui.engine.checks import run_one
from mmtui.engine.context import CheckContext
from mmtui.engine.results import CheckResult, Status
from mmtui.engine.tasks import TaskContext
from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.moto_repairs import ecs_services_never_start
from mmtui.sandbox.workshop.primary_app import stack_outputs
from tests.conftest import (
    check_step,
    cli_target,
    deploy_secondary_by_hand,
    invoke,
    xray_group_by_hand,
)
from tests.engine.test_checks import context

PRIMARY, SECONDARY = "us-west-2", "us-east-1"


@pytest.fixture
def target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE")


def run_check(ctx: CheckContext, name: str) -> CheckResult:
    return run_one(ctx, ctx.content.check(name))


@pytest.fixture
def stubbed() -> Iterator[dict[tuple[str, str], Stubber]]:
    """Stubbers a test attached to its context's clients (for answers the sandbox cannot
    give), by (service, region): every answer queued must have been used."""
    stubbers: dict[tuple[str, str], Stubber] = {}
    yield stubbers
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()


# ---------------------------------------------------------------------- W8


def test_another_workshop_deployment_in_the_account_is_ignored(
    sandbox: Sandbox, target: list[str]
) -> None:
    """A second deployment (stack `aaa-old`, whose pipelines sort first) is never read,
    solved or reset for this one."""
    codepipeline = sandbox.client("codepipeline", PRIMARY)
    ours = sorted(p["name"] for p in codepipeline.list_pipelines()["pipelines"])
    assert [n.split("-MythicalCiCdStack-")[0] for n in ours] == [
        "CorePipeline-mm-multi-region",
        "LikePipeline-mm-multi-region",
    ]
    theirs = []
    for name in ours:
        declaration = codepipeline.get_pipeline(name=name)["pipeline"]
        declaration.pop("version", None)
        declaration["name"] = name.replace("-mm-multi-region-", "-aaa-old-")
        codepipeline.create_pipeline(pipeline=declaration)
        theirs.append(declaration["name"])
    before = {n: codepipeline.get_pipeline(name=n)["pipeline"] for n in theirs}

    deploy_secondary_by_hand(sandbox)
    solved = invoke("solve", *target, "--step", "3")
    assert solved.code == 0, solved.stderr
    code, step = check_step(target, "3")
    assert code == 0, step
    for name in ours:
        stages = [s["name"] for s in codepipeline.get_pipeline(name=name)["pipeline"]["stages"]]
        assert stages[-1] == "CrossRegionDeploy", name
    assert {n: codepipeline.get_pipeline(name=n)["pipeline"] for n in theirs} == before
    assert invoke("reset", *target, "--step", "3", "--yes").code == 0
    assert {n: codepipeline.get_pipeline(name=n)["pipeline"] for n in theirs} == before


# ---------------------------------------------------------------------- W14


def test_xray_groups_on_a_later_page_are_found(sandbox: Sandbox, target: list[str]) -> None:
    xray = sandbox.client("xray", SECONDARY)
    for index in range(10):
        xray.create_group(GroupName=f"team-{index:02d}", FilterExpression='service("x")')
    first = xray.get_groups()
    assert len(first["Groups"]) == 10 and "NextToken" in first  # AWS pages GetGroups too
    second = xray.get_groups(NextToken=first["NextToken"])
    assert [g["GroupName"] for g in second["Groups"]] == ["team-09"]
    deploy_secondary_by_hand(sandbox)
    xray_group_by_hand(sandbox, "like-service", SECONDARY)
    # like-service-errors-faults is created by the solve; both lab groups are on page 2.
    solved = invoke("solve", *target, "--step", "5")
    assert solved.code == 0, solved.stdout + solved.stderr
    _, step = check_step(target, "5")
    assert step["dashboard.xray_groups_secondary"]["status"] == "pass"
    again = invoke("solve", *target, "--step", "5")
    assert again.code == 0 and "already done, nothing changed" in again.stdout
    reset = invoke("reset", *target, "--step", "5", "--yes")
    assert reset.code == 0
    names = [g["GroupName"] for g in xray.get_paginator("get_groups").paginate().search("Groups")]
    assert sorted(names) == ["Default", *[f"team-{i:02d}" for i in range(10)]]


# ---------------------------------------------------------------------- W4


def test_an_aws_error_reading_images_is_an_error_not_a_missing_image(
    sandbox: Sandbox,
    stubbed: dict[tuple[str, str], Stubber],
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    secondary_by_hand()
    ctx = context(sandbox)
    # On the sandbox: the images are not in the secondary registries yet: a plain failure.
    missing = run_check(ctx, "build_artifacts.images_in_both_regions")
    assert missing.status == Status.FAIL
    assert "is not in us-east-1" in missing.message

    ctx = context(sandbox)
    stubber = Stubber(ctx.client("ecr", SECONDARY))
    stubber.add_client_error(
        "describe_images",
        service_error_code="AccessDeniedException",
        service_message=(
            "User: arn:aws:sts::123456789012:assumed-role/attendee/mmtui is not authorized to "
            "perform: ecr:DescribeImages on resource: "
            "arn:aws:ecr:us-east-1:123456789012:repository/core because no identity-based "
            "policy allows the ecr:DescribeImages action"
        ),
        http_status_code=400,
    )
    stubber.activate()
    stubbed[("ecr", SECONDARY)] = stubber
    denied = run_check(ctx, "build_artifacts.images_in_both_regions")
    assert denied.status == Status.ERROR
    assert denied.error_code == "AccessDeniedException"
    assert "not authorized to perform: ecr:DescribeImages" in denied.message


# ---------------------------------------------------------------------- W12


@pytest.mark.parametrize("state", ["failed", "active_impaired"])
def test_a_load_balancer_that_failed_is_not_a_pass(
    sandbox: Sandbox,
    stubbed: dict[tuple[str, str], Stubber],
    state: str,
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    """moto's load balancers are always active: the failed states come from the Stubber."""
    secondary_by_hand()
    dns = stack_outputs(sandbox, "mm-secondary-region", SECONDARY)["SecondaryLoadBalancerDNS"]
    ctx = context(sandbox)
    stubber = Stubber(ctx.client("elbv2", SECONDARY))
    stubber.add_response(
        "describe_load_balancers",
        {
            "LoadBalancers": [
                {
                    "LoadBalancerName": "alb-mm-secondary-region",
                    "DNSName": dns,
                    "State": {"Code": state, "Reason": "Insufficient capacity in us-east-1a"},
                }
            ]
        },
    )
    stubber.activate()
    stubbed[("elbv2", SECONDARY)] = stubber
    result = run_check(ctx, "infrastructure.load_balancer")
    assert result.status == Status.FAIL
    assert result.observed == state
    assert (
        result.message
        == f"The load balancer {dns} is {state}: Insufficient capacity in us-east-1a."
    )


# ---------------------------------------------------------------------- D8


@pytest.mark.parametrize(
    ("status", "verdict"),
    [("Stopping", Status.PENDING), ("Stopped", Status.FAIL), ("Superseded", Status.FAIL)],
)
def test_a_run_being_stopped_is_pending(
    sandbox: Sandbox, stubbed: dict[tuple[str, str], Stubber], status: str, verdict: Status
) -> None:
    """The sandbox has Stopping, but only for as long as the running action takes: the
    Stubber holds it still for the check."""
    ctx = context(sandbox)
    names = sorted(
        p["name"] for p in sandbox.client("codepipeline", PRIMARY).list_pipelines()["pipelines"]
    )
    stubber = Stubber(ctx.client("codepipeline", PRIMARY))
    stubber.add_response("list_pipelines", {"pipelines": [{"name": n} for n in names]})
    for index, name in enumerate(names):
        stubber.add_response(
            "list_pipeline_executions",
            {
                "pipelineExecutionSummaries": [
                    {
                        "pipelineExecutionId": f"0000000{index}-aaaa-bbbb-cccc-dddddddddddd",
                        "status": status if index == 0 else "Succeeded",
                    }
                ]
            },
            {"pipelineName": name, "maxResults": 1},
        )
    stubber.activate()
    stubbed[("codepipeline", PRIMARY)] = stubber
    result = run_check(ctx, "prereq.pipelines_succeeded")
    assert result.status == verdict
    assert f"{names[0]}: {status}" in result.observed


# ---------------------------------------------------------------------- D9


def test_image_uris_of_the_china_partition_are_read() -> None:
    from mmtui.labs.lab3.steps.build_artifacts import _IMAGE

    found = _IMAGE.match("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/core-service:abc123")
    assert found is not None
    assert (found["region"], found["repo"], found["tag"]) == (
        "cn-north-1",
        "core-service",
        "abc123",
    )


# ---------------------------------------------------------------------- W13


def test_deployed_to_the_secondary_waits_for_the_rollout(
    sandbox: Sandbox,
    target: list[str],
    monkeypatch: pytest.MonkeyPatch,
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    """The secondary services already name the primary's build, but ECS is still replacing
    their tasks: pending until the rollout is COMPLETED."""
    secondary_by_hand()
    monkeypatch.setattr(ecs_services_never_start, "ROLLOUT_SECONDS", 3600.0)
    secondary = stack_outputs(sandbox, "mm-secondary-region", SECONDARY)
    primary = stack_outputs(sandbox, "mm-multi-region", PRIMARY)
    _run_the_primarys_build_in_the_secondary(sandbox, primary, secondary)
    ecs = sandbox.client("ecs", SECONDARY)
    services = ecs.describe_services(
        cluster=secondary["EcsClusterName"],
        services=[secondary["CoreEcsServiceName"], secondary["LikeEcsServiceName"]],
    )["services"]
    for service in services:
        assert [(d["status"], d["rolloutState"]) for d in service["deployments"]] == [
            ("PRIMARY", "IN_PROGRESS"),
            ("ACTIVE", "COMPLETED"),
        ]
    ctx = context(sandbox)
    rolling = run_check(ctx, "build_artifacts.deployed_to_secondary")
    assert rolling.status == Status.PENDING, rolling
    assert rolling.observed == "rollout IN_PROGRESS"

    monkeypatch.setattr(ecs_services_never_start, "ROLLOUT_SECONDS", 0.0)
    done = run_check(context(sandbox), "build_artifacts.deployed_to_secondary")
    assert done.status == Status.PASS, done


def test_a_failed_rollout_fails_with_its_reason(
    sandbox: Sandbox,
    stubbed: dict[tuple[str, str], Stubber],
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    """FAILED comes from ECS's deployment circuit breaker, whose configuration moto does not
    keep: the Stubber gives the services' answer, the rest is the sandbox."""
    secondary_by_hand()
    secondary = stack_outputs(sandbox, "mm-secondary-region", SECONDARY)
    primary = stack_outputs(sandbox, "mm-multi-region", PRIMARY)
    _run_the_primarys_build_in_the_secondary(sandbox, primary, secondary)
    names = [secondary["CoreEcsServiceName"], secondary["LikeEcsServiceName"]]
    sandbox_ecs = sandbox.client("ecs", SECONDARY)
    real = sandbox_ecs.describe_services(cluster=secondary["EcsClusterName"], services=names)
    real.pop("ResponseMetadata")
    definitions = []
    for service in real["services"]:
        answer = sandbox_ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
        answer.pop("ResponseMetadata")
        definitions.append(answer)
    failed = {
        "services": [
            {
                "serviceName": name,
                "deployments": [
                    {
                        "status": "PRIMARY",
                        "rolloutState": "FAILED" if name == names[0] else "COMPLETED",
                        "rolloutStateReason": "ECS deployment circuit breaker: tasks failed "
                        "to start",
                    }
                ],
            }
            for name in names
        ]
    }
    ctx = context(sandbox)
    stubber = Stubber(ctx.client("ecs", SECONDARY))
    # The sandbox's own answers for the images, then the rollout ECS would report.
    for method, answer in [
        ("describe_services", real),
        *[("describe_task_definition", d) for d in definitions],
        ("describe_services", failed),
    ]:
        stubber.add_response(method, answer)
    stubber.activate()
    stubbed[("ecs", SECONDARY)] = stubber
    result = run_check(ctx, "build_artifacts.deployed_to_secondary")
    assert result.status == Status.FAIL, result
    assert result.message == (
        f"The deployment to the secondary failed: {names[0]}: ECS deployment circuit breaker: "
        "tasks failed to start."
    )


def _run_the_primarys_build_in_the_secondary(
    sandbox: Sandbox, primary: dict[str, str], secondary: dict[str, str]
) -> None:
    """What step 4's pipelines do for the secondary: push the primary's build to the
    secondary registries and point the secondary services at it."""
    ecs_primary = sandbox.client("ecs", PRIMARY)
    ecs = sandbox.client("ecs", SECONDARY)
    for kind, container in (("Core", "service"), ("Like", "like-service")):
        running = ecs_primary.describe_services(
            cluster=primary["EcsClusterName"], services=[primary[f"{kind}EcsServiceName"]]
        )["services"][0]
        definition = ecs_primary.describe_task_definition(taskDefinition=running["taskDefinition"])[
            "taskDefinition"
        ]
        image = next(
            c["image"] for c in definition["containerDefinitions"] if c["name"] == container
        )
        tag = image.rsplit(":", 1)[1]
        repository_uri = secondary[f"Secondary{kind}ServiceEcrRepo"]
        repository = repository_uri.split("/", 1)[1]
        manifest = sandbox.client("ecr", PRIMARY).batch_get_image(
            repositoryName=image.split("/", 1)[1].rsplit(":", 1)[0], imageIds=[{"imageTag": tag}]
        )["images"][0]["imageManifest"]
        sandbox.client("ecr", SECONDARY).put_image(
            repositoryName=repository, imageTag=tag, imageManifest=manifest
        )
        service = ecs.describe_services(
            cluster=secondary["EcsClusterName"], services=[secondary[f"{kind}EcsServiceName"]]
        )["services"][0]
        current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
            "taskDefinition"
        ]
        keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "cpu", "memory")
        revision = ecs.register_task_definition(
            containerDefinitions=[
                dict(spec, image=f"{repository_uri}:{tag}") if spec["name"] == container else spec
                for spec in current["containerDefinitions"]
            ],
            **{k: current[k] for k in keep if k in current},
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.update_service(
            cluster=secondary["EcsClusterName"],
            service=secondary[f"{kind}EcsServiceName"],
            taskDefinition=revision,
        )


# ---------------------------------------------------------------------- D10


def test_reset_of_step3_leaves_a_bucket_it_cannot_see_and_says_so(
    sandbox: Sandbox,
    target: list[str],
    stubbed: dict[tuple[str, str], Stubber],
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    """HeadBucket 403 (the name is another account's, or looking is denied) is not "missing":
    the bucket is left, and the plan and the log say why. moto lets every account see every
    bucket, so the 403 comes from the Stubber."""
    secondary_by_hand()
    assert invoke("solve", *target, "--step", "3").code == 0
    ctx = context(sandbox)
    stubber = Stubber(ctx.connection.factory.client("s3", SECONDARY))
    stubber.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
    stubber.activate()
    stubbed[("s3", SECONDARY)] = stubber
    from mmtui.content.loader import load_guided_lab
    from mmtui.engine.tasks import run_actions, step_actions

    lab = load_guided_lab("3")
    (step,) = [s for s in lab.lab.steps if s.id == "pipeline"]
    logged: list[str] = []
    task = TaskContext(ctx, log=logged.append)
    actions = step_actions(task, step, "reset")
    bucket = f"mmtui-pipeline-artifacts-123456789012-{SECONDARY}"
    assert [a.describe() for a in actions][-1] == (
        f"leave (cannot tell: HeadBucket 403) bucket {bucket} ({SECONDARY})"
    )
    stubber.deactivate()
    run_actions(actions, logged.append)
    assert any(
        f"left the artifact bucket {bucket} alone: HeadBucket answered 403" in line
        for line in logged
    )
    assert (
        sandbox.client("s3", SECONDARY).head_bucket(Bucket=bucket)["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 200
    )
