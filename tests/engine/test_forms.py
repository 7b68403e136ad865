"""The forms of steps 2 and 3 on the sandbox: choices read from the account, every bad field
named before any call, and applying makes the step's checks pass, once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from mmtui.engine.checks import run_checks
from mmtui.engine.results import CheckResult, Status
from mmtui.engine.steps import find_step
from mmtui.engine.tasks import TaskContext, run_actions
from mmtui.labs.common.forms import FormInvalid
from mmtui.labs.lab3.steps import FORMS, open_form
from mmtui.labs.lab3.steps import pipeline as pipeline_step
from mmtui.labs.lab3.steps.data_tier import ReplicaForm
from mmtui.labs.lab3.steps.pipeline import CrossRegionStageForm
from mmtui.sandbox.core.server import Sandbox
from tests.conftest import start_replica
from tests.engine.test_checks import context

PRIMARY, SECONDARY = "us-west-2", "us-east-1"
TABLE = "mm-ddbtable"


def task_context(sandbox: Sandbox) -> TaskContext:
    return TaskContext(context(sandbox), poll_seconds=0.05, timeout_seconds=60)


def step_checks(sandbox: Sandbox, step: str, *, passing: bool = False) -> dict[str, CheckResult]:
    """The step's checks through the engine; with `passing`, polled (with a deadline) until
    they pass, while AWS converges (a replica CREATING reads as pending, its items as missing).

    A fresh context each time: a context keeps the facts it fetched (stack outputs)."""
    found = find_step(context(sandbox).content.lab, step)
    deadline = time.monotonic() + 30
    while True:
        (result,) = run_checks(context(sandbox), [found], prerequisites=False, workers=2)
        if not passing or result.status == Status.PASS or time.monotonic() > deadline:
            return {check.id: check for check in result.checks}
        time.sleep(0.1)


def statuses(checks: dict[str, CheckResult]) -> dict[str, str]:
    return {name: check.status.value for name, check in checks.items()}


def table(sandbox: Sandbox) -> dict[str, Any]:
    found: dict[str, Any] = sandbox.client("dynamodb", PRIMARY).describe_table(TableName=TABLE)[
        "Table"
    ]
    return found


def test_every_form_belongs_to_a_step_of_the_lab(sandbox: Sandbox) -> None:
    steps = {step.id for step in context(sandbox).content.lab.steps}
    assert set(FORMS) == {"data-tier", "pipeline"} <= steps
    with pytest.raises(KeyError):
        open_form("dashboard", context(sandbox))


# ---------------------------------------------------------------------- step 2


def test_replica_form_reads_the_account(sandbox: Sandbox) -> None:
    tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 60  # type: ignore[attr-defined]  # still CREATING when read
    form = open_form("data-tier", context(sandbox))
    assert isinstance(form, ReplicaForm)
    fields = {f.name: f for f in form.fields()}
    assert [f.name for f in form.fields()] == ["table", "stream", "region"]
    assert fields["table"].kind == fields["stream"].kind == "info"
    assert fields["table"].default == f"{TABLE} in {PRIMARY}"
    assert fields["stream"].default.startswith("off:")
    region = fields["region"]
    assert region.kind == "choice" and region.default == SECONDARY
    described = {
        r["RegionName"] for r in sandbox.client("ec2", PRIMARY).describe_regions()["Regions"]
    }
    assert SECONDARY in region.values() and "eu-west-1" in region.values()
    assert PRIMARY not in region.values()  # the table's own region
    assert set(region.values()) <= described
    assert form.defaults() == {"region": SECONDARY}  # info fields carry no value

    # What exists now shows: a stream of another kind, a replica and its status.
    dynamodb = sandbox.client("dynamodb", PRIMARY)
    dynamodb.update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )
    form = open_form("data-tier", context(sandbox))
    fields = {f.name: f for f in form.fields()}
    assert fields["stream"].default.startswith("on with KEYS_ONLY")
    # A replica needs the stream with both images (DynamoDB refuses it otherwise).
    dynamodb.update_table(TableName=TABLE, StreamSpecification={"StreamEnabled": False})
    dynamodb.update_table(
        TableName=TABLE,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    form = open_form("data-tier", context(sandbox))
    fields = {f.name: f for f in form.fields()}
    labels = {c.value: c.label for c in fields["region"].choices}
    assert labels["eu-west-1"] == "eu-west-1 (has a replica: CREATING)"
    assert labels[SECONDARY] == SECONDARY


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({}, "region", "Choose the region of the new replica."),
        ({"region": " "}, "region", "Choose the region of the new replica."),
        ({"region": PRIMARY}, "region", "us-west-2 is the table's own region; choose another."),
        ({"region": "us-est-1"}, "region", "'us-est-1' is not a region this account can use"),
        ({"region": "mars-north-1"}, "region", "'mars-north-1' is not a region"),
    ],
)
def test_replica_form_names_the_bad_field(
    sandbox: Sandbox, values: dict[str, str], field: str, message: str
) -> None:
    form = open_form("data-tier", context(sandbox))
    (problem,) = form.validate(values)
    assert problem.field == field
    assert problem.message.startswith(message)
    before = table(sandbox)
    with pytest.raises(FormInvalid) as raised:
        form.apply(values, task_context(sandbox))
    assert raised.value.problems == [problem]
    assert table(sandbox) == before  # refused before any call


def test_replica_form_without_the_table(sandbox: Sandbox) -> None:
    ctx = context(sandbox)
    ctx.overrides["table"] = "no-such-table"
    form = open_form("data-tier", ctx)
    assert [(p.field, p.message) for p in form.validate(form.defaults())] == [
        (None, f"There is no table no-such-table in {PRIMARY}.")
    ]


def test_replica_form_refuses_a_global_table_whose_stream_is_wrong(
    sandbox: Sandbox, quick_replicas: None
) -> None:
    start_replica(sandbox, "eu-west-1", TABLE, PRIMARY)
    # DynamoDB no longer lets a global table's stream be anything else (a replica is refused
    # without it, and the stream of a replica cannot change): the form still guards against
    # such a table, made here behind the API's back.
    from moto.dynamodb.models import dynamodb_backends

    dynamodb_backends[sandbox.account_id][PRIMARY].tables[TABLE].stream_specification = {
        "StreamEnabled": True,
        "StreamViewType": "KEYS_ONLY",
    }
    form = open_form("data-tier", context(sandbox))
    (problem,) = form.validate(form.defaults())
    assert problem.field == "stream"
    assert "the replicas must be removed first" in problem.message


def test_replica_form_does_step_2_once(sandbox: Sandbox, quick_replicas: None) -> None:
    assert statuses(step_checks(sandbox, "data-tier"))["data_tier.replica_active"] == "fail"
    form = open_form("data-tier", context(sandbox))
    values = form.defaults()
    assert form.validate(values) == []

    applied = form.apply(values, task_context(sandbox))
    assert applied.changes == (
        f"enabled the stream of {TABLE} (new and old images)",
        f"added a replica of {TABLE} in {SECONDARY}",
    )
    assert set(statuses(step_checks(sandbox, "data-tier", passing=True)).values()) == {"pass"}
    before = table(sandbox)["StreamSpecification"], table(sandbox)["Replicas"]

    # Applying again, from the same form or a fresh one, changes nothing.
    assert not form.apply(values, task_context(sandbox)).changed
    fresh = open_form("data-tier", context(sandbox))
    assert fresh.validate(values) == []
    assert fresh.apply(values, task_context(sandbox)).changes == ()
    assert (table(sandbox)["StreamSpecification"], table(sandbox)["Replicas"]) == before


def test_replica_form_turns_a_keys_only_stream_into_new_and_old_images(
    sandbox: Sandbox, quick_replicas: None
) -> None:
    sandbox.client("dynamodb", PRIMARY).update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )
    assert statuses(step_checks(sandbox, "data-tier"))["data_tier.stream_enabled"] == "fail"
    form = open_form("data-tier", context(sandbox))
    applied = form.apply(form.defaults(), task_context(sandbox))
    assert applied.changes[0] == (
        f"turned off the KEYS_ONLY stream of {TABLE}, then enabled the stream of {TABLE} "
        "(new and old images)"
    )
    assert set(statuses(step_checks(sandbox, "data-tier", passing=True)).values()) == {"pass"}


def test_replica_form_in_another_region_is_not_the_lab_step(
    sandbox: Sandbox, quick_replicas: None
) -> None:
    form = open_form("data-tier", context(sandbox))
    applied = form.apply({"region": "eu-west-1"}, task_context(sandbox))
    assert applied.changes[-1] == f"added a replica of {TABLE} in eu-west-1"
    checks = step_checks(sandbox, "data-tier")
    assert statuses(checks) == {
        "data_tier.stream_enabled": "pass",
        "data_tier.replica_active": "fail",
        "data_tier.replica_items_match": "fail",
    }
    assert checks["data_tier.replica_active"].message == (
        f"{TABLE} has no replica in {SECONDARY} yet."
    )
    assert "eu-west-1" in checks["data_tier.replica_active"].observed


# ---------------------------------------------------------------------- step 3


@pytest.fixture
def secondary_stack(lab_solved: Callable[..., Sandbox]) -> None:
    lab_solved("1")


def stage_form(sandbox: Sandbox) -> CrossRegionStageForm:
    form = open_form("pipeline", context(sandbox))
    assert isinstance(form, CrossRegionStageForm)
    return form


def pipeline_versions(sandbox: Sandbox) -> list[tuple[str, int]]:
    client = sandbox.client("codepipeline", PRIMARY)
    return sorted((p["name"], p["version"]) for p in client.list_pipelines()["pipelines"])


def secondary_services(sandbox: Sandbox) -> dict[str, list[str]]:
    ecs = sandbox.client("ecs", SECONDARY)
    return {
        arn.rsplit("/", 1)[-1]: sorted(
            s.rsplit("/", 1)[-1] for s in ecs.list_services(cluster=arn)["serviceArns"]
        )
        for arn in ecs.list_clusters()["clusterArns"]
    }


def test_stage_form_reads_the_account(sandbox: Sandbox, secondary_stack: None) -> None:
    # A cluster of the attendee's own is listed beside the lab's: the choices are the account's.
    sandbox.client("ecs", SECONDARY).create_cluster(clusterName="my-own-cluster")
    form = stage_form(sandbox)
    assert not form.stale()
    fields = {f.name: f for f in form.fields()}
    assert list(fields) == [
        "pipeline",
        "stage_name",
        "action_name",
        "provider",
        "region",
        "input_artifact",
        "cluster",
        "service",
        "file_name",
    ]
    names = [
        p["name"] for p in sandbox.client("codepipeline", PRIMARY).list_pipelines()["pipelines"]
    ]
    assert sorted(fields["pipeline"].values()) == sorted(names)
    core, like = sorted(names)
    assert fields["pipeline"].default == core
    assert (fields["stage_name"].default, fields["action_name"].default) == (
        "CrossRegionDeploy",
    ) * 2
    assert fields["provider"].values() == ("ECS",)
    assert fields["region"].default == SECONDARY and PRIMARY not in fields["region"].values()
    assert fields["input_artifact"].values() == ("SourceArtifact", "BuildArtifact")
    assert fields["input_artifact"].default == "BuildArtifact"
    services = secondary_services(sandbox)
    assert (
        set(fields["cluster"].values())
        == set(services)
        == {
            "Cluster-mm-secondary-region",
            "my-own-cluster",
        }
    )
    assert fields["cluster"].default == "Cluster-mm-secondary-region"
    assert list(fields["service"].values()) == services["Cluster-mm-secondary-region"]
    assert "CoreEcsService" in fields["service"].default
    assert fields["file_name"].default == "imagedefinitions_secondary.json"
    assert fields["service"].depends_on == ("pipeline", "region", "cluster")

    # The Like pipeline's service is the Like one; an empty cluster offers no service.
    like_fields = {f.name: f for f in form.fields({"pipeline": like})}
    assert "LikeEcsService" in like_fields["service"].default
    empty = {f.name: f for f in form.fields({"cluster": "my-own-cluster"})}
    assert empty["service"].choices == () and empty["service"].default == ""

    # Another region is read when chosen, and only then.
    sandbox.client("ecs", "eu-west-1").create_cluster(clusterName="Cluster-elsewhere")
    values = {"region": "eu-west-1"}
    assert form.stale(values)
    assert form.validate(form.defaults(values))[0].message == (
        "The clusters of eu-west-1 are not read yet: refresh."
    )
    refreshed = form.refreshed(context(sandbox), values)
    assert (
        not refreshed.stale(values) and refreshed.refreshed(context(sandbox), values) is refreshed
    )
    there = {f.name: f for f in refreshed.fields(values)}
    assert there["cluster"].values() == ("Cluster-elsewhere",)
    assert there["cluster"].default == "Cluster-elsewhere"


BAD_STAGE_VALUES = [
    ("pipeline", "", "Choose the pipeline to edit."),
    ("pipeline", "Core-x", "'Core-x' is not a service pipeline; choose one of CorePipeline-"),
    ("stage_name", "", "Give the stage a name."),
    ("stage_name", "Cross Region!", "A stage name holds only letters, digits and . @ - _"),
    ("stage_name", "Deploy", "already has a stage named Deploy (its stages: Source,"),
    ("action_name", "", "Give the action a name."),
    ("action_name", "x" * 101, "An action name holds only letters, digits and . @ - _"),
    ("provider", "CodeDeploy", "The cross-region deploy uses Amazon ECS (ECS)."),
    ("region", "", "Choose the region the action deploys to."),
    ("region", PRIMARY, "us-west-2 is the pipeline's own region, where Deploy already deploys"),
    ("region", "us-east-9", "'us-east-9' is not a region this account can use"),
    ("input_artifact", "Nope", "No action of CorePipeline-"),
    ("input_artifact", "", "Choose an input artifact (SourceArtifact, BuildArtifact)."),
    (
        "cluster",
        "Cluster-mm-multi-region",
        "'Cluster-mm-multi-region' is not a cluster in us-east-1",
    ),
    ("cluster", "", "Choose the cluster."),
    (
        "service",
        "mm-multi-region_Core-Service",
        "'mm-multi-region_Core-Service' is not a service of",
    ),
    ("service", "", "Choose the service."),
    ("file_name", "  ", "Give the name of the image definitions file."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_STAGE_VALUES)
def test_stage_form_names_the_bad_field(
    sandbox: Sandbox, secondary_stack: None, field: str, value: str, message: str
) -> None:
    form = stage_form(sandbox)
    values = {**form.defaults(), field: value}
    problems = form.validate(values)
    assert problems, values
    assert problems[0].field == field
    assert problems[0].message.startswith(message) or message in problems[0].message
    before = pipeline_versions(sandbox)
    with pytest.raises(FormInvalid):
        form.apply(values, task_context(sandbox))
    assert pipeline_versions(sandbox) == before  # refused before any call


def test_stage_form_before_step_1_has_no_cluster_to_offer(sandbox: Sandbox) -> None:
    form = stage_form(sandbox)
    fields = {f.name: f for f in form.fields()}
    assert fields["cluster"].choices == () and fields["service"].choices == ()
    assert [(p.field, p.message) for p in form.validate(form.defaults())] == [
        ("cluster", "There is no ECS cluster in us-east-1; step 1's stack creates one there.")
    ]


def test_stage_form_does_step_3_once(sandbox: Sandbox, secondary_stack: None) -> None:
    assert set(statuses(step_checks(sandbox, "pipeline")).values()) == {"fail"}
    form = stage_form(sandbox)
    pipelines = [p.name for p in form.pipelines]
    for name in pipelines:
        values = form.defaults({"pipeline": name})
        assert form.validate(values) == []
        changes = form.apply(values, task_context(sandbox)).changes
        assert changes[-1] == f"added the CrossRegionDeploy stage to {name}"
    assert set(statuses(step_checks(sandbox, "pipeline", passing=True)).values()) == {"pass"}
    before = pipeline_versions(sandbox)

    # Again, from the same form (read before the change) and from a fresh one: nothing changes.
    fresh = stage_form(sandbox)
    for each in (form, fresh):
        for name in pipelines:
            values = each.defaults({"pipeline": name})
            assert each.validate(values) == []  # the same stage is no conflict
            assert each.apply(values, task_context(sandbox)).changes == ()
    assert pipeline_versions(sandbox) == before

    # And `mmtui solve` agrees: the step is already done.
    assert run_actions(pipeline_step.solve_pipeline(task_context(sandbox)), lambda _l: None) == []


def test_stage_form_with_other_values_gets_what_the_checks_say(
    sandbox: Sandbox, secondary_stack: None
) -> None:
    form = stage_form(sandbox)
    core, like = (p.name for p in form.pipelines)
    # A stage named otherwise in the Core pipeline; the Core service in the Like pipeline.
    form.apply(form.defaults({"pipeline": core, "stage_name": "DeployEast"}), task_context(sandbox))
    like_values = form.defaults({"pipeline": like})
    like_values["service"] = form.defaults({"pipeline": core})["service"]
    form.apply(like_values, task_context(sandbox))

    checks = step_checks(sandbox, "pipeline")
    assert statuses(checks) == {
        "pipeline.core_cross_region_stage": "fail",
        "pipeline.like_cross_region_stage": "fail",
        "pipeline.artifact_stores": "pass",
    }
    assert checks["pipeline.core_cross_region_stage"].message == (
        f"{core} has no CrossRegionDeploy stage yet."
    )
    assert "stages: Source, Build_Docker_Container, Deploy, DeployEast" in (
        checks["pipeline.core_cross_region_stage"].observed
    )
    like_message = checks["pipeline.like_cross_region_stage"].message
    assert "CoreEcsService" in like_message and "(want mm-secondary-region-LikeEcsService" in (
        like_message
    )

    # Step 3's reset takes back whatever the form added, under any name, and mmtui's bucket.
    task_ctx = task_context(sandbox)
    run_actions(pipeline_step.reset_pipeline(task_ctx), lambda _l: None)
    client = sandbox.client("codepipeline", PRIMARY)
    for name in (core, like):
        pipeline = client.get_pipeline(name=name)["pipeline"]
        assert [s["name"] for s in pipeline["stages"]] == [
            "Source",
            "Build_Docker_Container",
            "Deploy",
        ]
        assert "artifactStores" not in pipeline and pipeline["artifactStore"]
    buckets = [b["Name"] for b in sandbox.client("s3", SECONDARY).list_buckets()["Buckets"]]
    assert pipeline_step.bucket_name(task_ctx) not in buckets


def test_stage_form_offers_no_deleted_service(sandbox: Sandbox, secondary_stack: None) -> None:
    """Step 1 reset and done again leaves the old stack's services deleted (INACTIVE) under the
    cluster of the same name; the form offered and pre-selected one (newcomer walkthrough).
    As on AWS, ListServices no longer lists a deleted service; DescribeServices still shows it."""
    ecs = sandbox.client("ecs", SECONDARY)
    cluster = "Cluster-mm-secondary-region"
    current = secondary_services(sandbox)[cluster]
    core = next(name for name in current if "CoreEcsService" in name)
    definition = ecs.describe_services(cluster=cluster, services=[core])["services"][0]
    old = "mm-secondary-region-CoreEcsService-0LD0LD0LD0LD"  # sorts before the current one
    ecs.create_service(
        cluster=cluster, serviceName=old, taskDefinition=definition["taskDefinition"]
    )
    ecs.update_service(cluster=cluster, service=old, desiredCount=0)
    ecs.delete_service(cluster=cluster, service=old)
    assert ecs.describe_services(cluster=cluster, services=[old])["services"][0]["status"] == (
        "INACTIVE"
    )
    assert secondary_services(sandbox)[cluster] == current

    fields = {f.name: f for f in stage_form(sandbox).fields()}
    assert old not in fields["service"].values()
    assert fields["service"].default == core


def test_stage_form_into_a_third_region_makes_its_bucket(
    sandbox: Sandbox, secondary_stack: None
) -> None:
    ecs = sandbox.client("ecs", "eu-west-1")
    ecs.create_cluster(clusterName="Cluster-elsewhere")
    ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "service", "image": "nginx", "memory": 64}]
    )
    ecs.create_service(
        cluster="Cluster-elsewhere", serviceName="Core-elsewhere", taskDefinition="web"
    )
    values = {"region": "eu-west-1"}
    form = stage_form(sandbox).refreshed(context(sandbox), values)
    values = form.defaults(values)
    assert (values["cluster"], values["service"]) == ("Cluster-elsewhere", "Core-elsewhere")
    task_ctx = task_context(sandbox)
    changes = form.apply(values, task_ctx).changes
    assert (
        changes[0]
        == f"created the artifact bucket {pipeline_step.bucket_name(task_ctx, 'eu-west-1')}"
    )
    pipeline = sandbox.client("codepipeline", PRIMARY).get_pipeline(name=values["pipeline"])
    assert sorted(pipeline["pipeline"]["artifactStores"]) == ["eu-west-1", PRIMARY]
    # The lab's check wants the secondary region, and says so.
    core = step_checks(sandbox, "pipeline")["pipeline.core_cross_region_stage"]
    assert core.status == Status.FAIL and "region eu-west-1 (want us-east-1)" in core.message

    run_actions(pipeline_step.reset_pipeline(task_ctx), lambda _l: None)
    buckets = [b["Name"] for b in sandbox.client("s3", "eu-west-1").list_buckets()["Buckets"]]
    assert pipeline_step.bucket_name(task_ctx, "eu-west-1") not in buckets


def test_stage_form_refuses_a_stage_added_since_it_was_read(
    sandbox: Sandbox, secondary_stack: None
) -> None:
    form = stage_form(sandbox)
    values = form.defaults({"file_name": "mine.json"})
    run_actions(pipeline_step.solve_pipeline(task_context(sandbox)), lambda _l: None)
    before = pipeline_versions(sandbox)
    with pytest.raises(FormInvalid) as raised:
        form.apply(values, task_context(sandbox))
    (problem,) = raised.value.problems
    assert problem.field == "stage_name"
    assert "already has a different stage named CrossRegionDeploy" in problem.message
    assert pipeline_versions(sandbox) == before
