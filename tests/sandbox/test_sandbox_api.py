"""The sandbox behind the AWS APIs: X-Ray groups, errors for what it lacks, resets, snapshots."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from mmtui.sandbox.core.server import Sandbox

LIKE = 'service("Like Service") AND http.method = "POST"'
ERRORS = 'service("Like Service") { error = true OR fault = true }'


def test_baseline_has_lab1_xray_groups_in_the_primary_only(sandbox: Sandbox) -> None:
    primary = {
        g["GroupName"]: g for g in sandbox.client("xray", "us-west-2").get_groups()["Groups"]
    }
    assert primary["like-service"]["FilterExpression"] == LIKE
    assert primary["like-service-errors-faults"]["FilterExpression"] == ERRORS
    assert "Default" in primary
    secondary = sandbox.client("xray", "us-east-1").get_groups()["Groups"]
    assert [g["GroupName"] for g in secondary] == ["Default"]


def test_xray_group_lifecycle_per_region(sandbox: Sandbox) -> None:
    xray = sandbox.client("xray", "us-east-1")
    created = xray.create_group(GroupName="like-service", FilterExpression=LIKE)["Group"]
    assert created["GroupARN"].startswith("arn:aws:xray:us-east-1:123456789012:group/like-service/")
    assert xray.get_group(GroupName="like-service")["Group"] == created
    assert xray.get_group(GroupARN=created["GroupARN"])["Group"]["GroupName"] == "like-service"
    updated = xray.update_group(GroupName="like-service", FilterExpression=ERRORS)["Group"]
    assert updated["FilterExpression"] == ERRORS
    assert xray.get_group(GroupName="like-service")["Group"]["FilterExpression"] == ERRORS
    # The primary's group of the same name is untouched.
    primary = sandbox.client("xray", "us-west-2").get_group(GroupName="like-service")["Group"]
    assert primary["FilterExpression"] == LIKE
    xray.delete_group(GroupName="like-service")
    with pytest.raises(ClientError) as missing:
        xray.get_group(GroupName="like-service")
    assert missing.value.response["Error"]["Code"] == "InvalidRequestException"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: x.create_group(GroupName="like-service"), "Group like-service already exists"),
        (lambda x: x.create_group(GroupName="bad name!"), "GroupName must be 1 to 32"),
        (lambda x: x.delete_group(GroupName="nope"), "Group not found"),
        (lambda x: x.update_group(GroupName="nope", FilterExpression="x"), "Group not found"),
        (lambda x: x.delete_group(GroupName="Default"), "Default group cannot be deleted"),
    ],
)
def test_xray_group_errors_are_aws_errors(sandbox: Sandbox, call: object, message: str) -> None:
    xray = sandbox.client("xray", "us-west-2")
    with pytest.raises(ClientError) as error:
        call(xray)  # type: ignore[operator]
    assert error.value.response["Error"]["Code"] == "InvalidRequestException"
    assert message in error.value.response["Error"]["Message"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("service", "operation", "params", "name"),
    [
        ("codepipeline", "list_webhooks", {}, "ListWebhooks (codepipeline)"),  # JSON 1.1
        ("cloudformation", "list_types", {}, "ListTypes (cloudformation)"),  # query / XML
        ("elbv2", "describe_trust_stores", {}, "DescribeTrustStores (elasticloadbalancing)"),
        (
            "xray",
            "get_insight_summaries",
            {"StartTime": 0, "EndTime": 1},
            "GetInsightSummaries (xray)",
        ),  # rest-json, named from botocore's model
        (
            "globalaccelerator",
            "list_custom_routing_accelerators",
            {},
            "ListCustomRoutingAccelerators (globalaccelerator)",
        ),  # the sandbox serves Global Accelerator's standard accelerators only
    ],
)
def test_what_the_sandbox_lacks_is_an_aws_error_naming_the_operation(
    sandbox: Sandbox, service: str, operation: str, params: dict[str, object], name: str
) -> None:
    client = sandbox.client(service, "us-west-2")
    with pytest.raises(ClientError) as error:
        getattr(client, operation)(**params)
    response = error.value.response
    assert response["Error"]["Code"] == "NotImplemented"
    assert response["Error"]["Message"].startswith(f"{name} is not available in the mmtui sandbox")
    # 501 is not retried by botocore, so the user gets the answer at once.
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["ResponseMetadata"]["RetryAttempts"] == 0


def test_snapshot_restores_state_and_extensions(sandbox: Sandbox) -> None:
    before = sandbox.snapshot()
    sandbox.client("xray", "eu-west-1").create_group(GroupName="temp")
    sandbox.client("sqs", "eu-west-1").create_queue(QueueName="temp")
    sandbox.restore_snapshot(before)
    assert sandbox.client("sqs", "eu-west-1").list_queues().get("QueueUrls", []) == []
    groups = sandbox.client("xray", "eu-west-1").get_groups()["Groups"]
    assert [g["GroupName"] for g in groups] == ["Default"]


def test_a_real_not_found_passes_through(sandbox: Sandbox) -> None:
    """moto's own 404s (an empty HEAD answer) are AWS's answers, not missing features."""
    with pytest.raises(ClientError) as error:
        sandbox.client("s3", "us-east-1").head_bucket(Bucket="no-such-bucket-here")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
