"""The Labs 0-2 baseline, as an attendee's account stands when Lab 3 begins."""

from __future__ import annotations

import json

from mmtui.sandbox.core.server import Sandbox


def test_table_as_lab0_leaves_it(sandbox: Sandbox) -> None:
    dynamodb = sandbox.client("dynamodb", "us-west-2")
    table = dynamodb.describe_table(TableName="mm-ddbtable")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "MysfitId", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"LawChaosIndex", "GoodEvilIndex"}
    assert indexes["GoodEvilIndex"]["KeySchema"] == [
        {"AttributeName": "GoodEvil", "KeyType": "HASH"},
        {"AttributeName": "MysfitId", "KeyType": "RANGE"},
    ]
    assert all(i["Projection"]["ProjectionType"] == "ALL" for i in indexes.values())
    assert "StreamSpecification" not in table or not table["StreamSpecification"].get(
        "StreamEnabled"
    )
    assert "Replicas" not in table
    items = dynamodb.scan(TableName="mm-ddbtable")["Items"]
    assert len(items) == 12
    assert {i["Name"]["S"] for i in items} >= {"Evangeline", "Gretta", "Rujin"}
    assert all(i["Likes"] == {"N": "0"} for i in items)
    evil = dynamodb.query(
        TableName="mm-ddbtable",
        IndexName="GoodEvilIndex",
        KeyConditionExpression="GoodEvil = :v",
        ExpressionAttributeValues={":v": {"S": "Evil"}},
    )["Items"]
    assert evil and all(i["GoodEvil"]["S"] == "Evil" for i in evil)
    assert dynamodb.list_tables()["TableNames"] == ["mm-ddbtable"]
    assert sandbox.client("dynamodb", "us-east-1").list_tables()["TableNames"] == []


def test_services_registries_and_load_balancer(sandbox: Sandbox) -> None:
    ecs = sandbox.client("ecs", "us-west-2")
    (cluster,) = ecs.list_clusters()["clusterArns"]
    assert cluster.endswith("/Cluster-mm-multi-region")
    services = ecs.describe_services(
        cluster=cluster,
        services=["mm-multi-region_Core-Service", "mm-multi-region_Like-Service"],
    )["services"]
    assert [s["status"] for s in services] == ["ACTIVE", "ACTIVE"]
    assert all(s["desiredCount"] == 1 and s["launchType"] == "FARGATE" for s in services)
    repositories = sandbox.client("ecr", "us-west-2").describe_repositories()["repositories"]
    assert len(repositories) == 2
    (balancer,) = sandbox.client("elbv2", "us-west-2").describe_load_balancers()["LoadBalancers"]
    assert balancer["LoadBalancerName"] == "alb-mm-multi-region"
    # Nothing of Lab 3 exists yet in the secondary region.
    assert sandbox.client("ecs", "us-east-1").list_clusters()["clusterArns"] == []
    assert sandbox.client("cloudformation", "us-east-1").describe_stacks()["Stacks"] == []


def test_lab2_dashboard_has_its_xray_widget(sandbox: Sandbox) -> None:
    body = json.loads(
        sandbox.client("cloudwatch", "us-west-2").get_dashboard(
            DashboardName="mm-multi-region_Dashboard"
        )["DashboardBody"]
    )
    metrics = [m for w in body["widgets"] for m in w.get("properties", {}).get("metrics", [])]
    assert [
        "AWS/X-Ray",
        "ApproximateTraceCount",
        "GroupName",
        "like-service-errors-faults",
    ] in metrics
    assert any(m[:2] == ["AWS/ApplicationELB", "RequestCount"] for m in metrics)


def test_the_services_exist_before_the_initial_pushes_start_the_pipelines(
    sandbox: Sandbox,
) -> None:
    """The pipelines' Deploy stages deploy to the ECS services: seeding makes the services
    first, so a first run never finds them missing (the mysfits and dashboard come while the
    runs build)."""
    ecs = sandbox.client("ecs", "us-west-2")
    (cluster,) = ecs.list_clusters()["clusterArns"]
    services = ecs.describe_services(
        cluster=cluster,
        services=["mm-multi-region_Core-Service", "mm-multi-region_Like-Service"],
    )["services"]
    # A service's first event is its creation's (the task it started).
    created = max(min(e["createdAt"] for e in s["events"]) for s in services)
    codepipeline = sandbox.client("codepipeline", "us-west-2")
    names = [p["name"] for p in codepipeline.list_pipelines()["pipelines"]]
    assert len(names) == 2
    for name in names:
        (run,) = codepipeline.list_pipeline_executions(pipelineName=name)[
            "pipelineExecutionSummaries"
        ]
        assert run["status"] == "Succeeded"
        assert created <= run["startTime"], name
    # Each service runs what its pipeline's first run deployed, not the stack's placeholder.
    definitions = [s["taskDefinition"] for s in services]
    images = [
        ecs.describe_task_definition(taskDefinition=d)["taskDefinition"]["containerDefinitions"][0][
            "image"
        ]
        for d in definitions
    ]
    assert all(".dkr.ecr.us-west-2.amazonaws.com/" in image for image in images), images
