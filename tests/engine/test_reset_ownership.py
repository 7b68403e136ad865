"""Resets take back what the lab adds and nothing of the attendee's that looks like it, and
their plans say exactly what goes (red-team R3, R4's plan, R6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import invoke

PRIMARY, SECONDARY, THIRD = "us-west-2", "us-east-1", "eu-west-1"


@pytest.fixture
def target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    env = sandbox.env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MMTUI_WORKSPACE"):
        monkeypatch.setenv(name, env[name])
    return ["--endpoint-url", sandbox.url]


def _core_pipeline(sandbox: Sandbox) -> dict[str, Any]:
    client = sandbox.client("codepipeline", PRIMARY)
    (name,) = [p["name"] for p in client.list_pipelines()["pipelines"] if "Core" in p["name"]]
    pipeline: dict[str, Any] = client.get_pipeline(name=name)["pipeline"]
    return pipeline


def _add_own_stage_in_a_third_region(sandbox: Sandbox) -> None:
    """The red team's R3: the attendee's own ECS deploy stage to eu-west-1, reading from a
    bucket of their own there."""
    ecs = sandbox.client("ecs", THIRD)
    ecs.create_cluster(clusterName="rt-eu-cluster")
    ecs.register_task_definition(
        family="rt-web", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 64}]
    )
    ecs.create_service(cluster="rt-eu-cluster", serviceName="rt-eu-web", taskDefinition="rt-web")
    sandbox.client("s3", THIRD).create_bucket(
        Bucket="rt-own-eu-artifacts", CreateBucketConfiguration={"LocationConstraint": THIRD}
    )
    pipeline = _core_pipeline(sandbox)
    pipeline["stages"].append(
        {
            "name": "RtDeployEuStaging",
            "actions": [
                {
                    "name": "RtDeployEu",
                    "region": THIRD,
                    "runOrder": 1,
                    "actionTypeId": {
                        "category": "Deploy",
                        "owner": "AWS",
                        "provider": "ECS",
                        "version": "1",
                    },
                    "inputArtifacts": [{"name": "BuildArtifact"}],
                    "outputArtifacts": [],
                    "configuration": {
                        "ClusterName": "rt-eu-cluster",
                        "ServiceName": "rt-eu-web",
                        "FileName": "imagedefinitions.json",
                    },
                }
            ],
        }
    )
    pipeline["artifactStores"][THIRD] = {"type": "S3", "location": "rt-own-eu-artifacts"}
    sandbox.client("codepipeline", PRIMARY).update_pipeline(pipeline=pipeline)


def test_step3_reset_keeps_the_attendees_own_cross_region_stage_and_its_store(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    lab_solved("1", "3")
    _add_own_stage_in_a_third_region(sandbox)
    name = _core_pipeline(sandbox)["name"]
    before = _core_pipeline(sandbox)
    assert set(before["artifactStores"]) == {SECONDARY, THIRD, PRIMARY}

    plan = invoke("reset", *target, "--step", "3", "--dry-run")
    assert plan.code == 0, plan.stderr
    said = plan.stdout + plan.stderr
    assert (
        f"keep the artifact store of {THIRD} (a stage that is not the lab's uses it), remove "
        f"the stage CrossRegionDeploy and the artifact store of {SECONDARY} from pipeline {name}"
    ) in said, said
    assert "RtDeployEuStaging" not in said
    assert _core_pipeline(sandbox) == before  # a plan changes nothing

    reset = invoke("reset", *target, "--step", "3", "--yes")
    assert reset.code == 0, reset.stderr
    after = _core_pipeline(sandbox)
    assert [s["name"] for s in after["stages"]] == [
        "Source",
        "Build_Docker_Container",
        "Deploy",
        "RtDeployEuStaging",
    ]
    assert after["stages"][-1] == before["stages"][-1]
    assert set(after["artifactStores"]) == {THIRD, PRIMARY}
    assert after["artifactStores"][THIRD] == {"type": "S3", "location": "rt-own-eu-artifacts"}
    buckets = {b["Name"] for b in sandbox.client("s3", THIRD).list_buckets()["Buckets"]}
    assert "rt-own-eu-artifacts" in buckets
    # The Like pipeline had only the lab's stage: back to one store, as Labs 0-2 made it.
    client = sandbox.client("codepipeline", PRIMARY)
    (like,) = [p["name"] for p in client.list_pipelines()["pipelines"] if "Like" in p["name"]]
    like_after = client.get_pipeline(name=like)["pipeline"]
    assert "artifactStores" not in like_after and like_after["artifactStore"]

    checks = invoke("check", *target, "--step", "3", "--format", "json")
    statuses = {c["id"]: c["status"] for c in json.loads(checks.stdout)["steps"][0]["checks"]}
    assert statuses["pipeline.core_cross_region_stage"] == "fail"


def _stream(sandbox: Sandbox) -> dict[str, Any]:
    table = sandbox.client("dynamodb", PRIMARY).describe_table(TableName="mm-ddbtable")["Table"]
    return dict(table.get("StreamSpecification") or {})


def test_step2_reset_leaves_on_a_stream_the_attendee_had_before_the_lab(
    sandbox: Sandbox, target: list[str], quick_replicas: None
) -> None:
    """Red-team R6: mmtui turns off only the stream its solve turned on (tagged with that
    stream's label); the attendee's own stays on, and the plan says so with the command."""
    sandbox.client("dynamodb", PRIMARY).update_table(
        TableName="mm-ddbtable",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    solved = invoke("solve", *target, "--step", "2")
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "enabled the stream" not in solved.stderr

    how = (
        "aws dynamodb update-table --table-name mm-ddbtable --stream-specification "
        "StreamEnabled=false --region us-west-2"
    )
    plan = invoke("reset", *target, "--step", "2", "--dry-run")
    assert plan.code == 0, plan.stderr
    assert (
        f"leave on (mmtui did not turn it on; to turn it off: {how}) the stream of table "
        "mm-ddbtable (us-west-2)"
    ) in plan.stdout, plan.stdout
    assert "turn off" not in plan.stdout.replace("to turn it off", "")

    reset = invoke("reset", *target, "--step", "2", "--yes")
    assert reset.code == 0, reset.stderr
    assert _stream(sandbox) == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "reset done" in reset.stdout
    assert "the stream of mm-ddbtable stays on: mmtui did not turn it on" in reset.stderr
    replicas = sandbox.client("dynamodb", PRIMARY).describe_table(TableName="mm-ddbtable")
    assert not replicas["Table"].get("Replicas")


def test_step2_reset_turns_off_the_stream_mmtui_turned_on_and_only_that_one(
    sandbox: Sandbox, target: list[str], quick_replicas: None
) -> None:
    solved = invoke("solve", *target, "--step", "2")
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "enabled the stream of mm-ddbtable" in solved.stderr
    plan = invoke("reset", *target, "--step", "2", "--dry-run")
    assert "turn off mmtui's stream of table mm-ddbtable (us-west-2)" in plan.stdout, plan.stdout
    assert invoke("reset", *target, "--step", "2", "--yes").code == 0
    assert not _stream(sandbox).get("StreamEnabled")
    dynamodb = sandbox.client("dynamodb", PRIMARY)
    arn = dynamodb.describe_table(TableName="mm-ddbtable")["Table"]["TableArn"]
    assert dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", []) == []

    # The attendee turns a stream on by hand afterwards: a new stream with a new label, theirs,
    # even where a tag from an earlier stream of mmtui's was left behind.
    dynamodb.update_table(
        TableName="mm-ddbtable",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.tag_resource(
        ResourceArn=arn, Tags=[{"Key": "mmtui:stream-enabled", "Value": "2020-01-01T00:00:00.000"}]
    )
    again = invoke("reset", *target, "--step", "2", "--dry-run")
    assert again.stdout.startswith("nothing to reset"), again.stdout
    assert "leave on (mmtui did not turn it on" in again.stdout, again.stdout
