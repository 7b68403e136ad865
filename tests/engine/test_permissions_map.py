"""The mapping from an SDK call (or a git request) to the IAM action AWS evaluates, and the
policy document's rules; the same mapping serves the suite's recorder and the sandbox."""

from __future__ import annotations

import boto3
import pytest

from mmtui.engine.permissions import (
    Grant,
    client_action,
    git_action,
    iam_action,
    lab_policy,
    policy_document,
    sid_words,
)
from mmtui.engine.registry import LabPermissions, OnBehalf


def client(service: str) -> object:
    return boto3.client(
        service,
        region_name="us-west-2",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        # The action is the operation's own name, with the IAM prefix of the service.
        ("xray", "GetGroups", "xray:GetGroups"),
        ("ecs", "ListServices", "ecs:ListServices"),
        ("cloudwatch", "GetDashboard", "cloudwatch:GetDashboard"),  # signs as "monitoring"
        ("elbv2", "DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancers"),
        ("ecr", "DescribeImages", "ecr:DescribeImages"),  # endpoint prefix "api.ecr"
        ("codepipeline", "ListPipelineExecutions", "codepipeline:ListPipelineExecutions"),
        # S3 authorises these as actions on the bucket or object.
        ("s3", "HeadBucket", "s3:ListBucket"),
        ("s3", "ListObjectVersions", "s3:ListBucketVersions"),
        ("s3", "HeadObject", "s3:GetObject"),
        ("s3", "DeleteObjects", "s3:DeleteObject"),
        ("s3", "CreateBucket", "s3:CreateBucket"),
    ],
)
def test_an_sdk_call_maps_to_its_iam_action(service: str, operation: str, action: str) -> None:
    assert client_action(client(service), operation) == action


def test_signing_names_map_as_clients_do() -> None:
    assert iam_action("monitoring", "PutDashboard") == "cloudwatch:PutDashboard"
    assert iam_action("s3", "HeadBucket") == "s3:ListBucket"


def test_git_over_https_is_gitpull_or_gitpush() -> None:
    path = "/v1/repos/core-service"
    assert git_action(f"{path}/info/refs", "service=git-upload-pack") == "codecommit:GitPull"
    assert git_action(f"{path}/git-upload-pack") == "codecommit:GitPull"
    assert git_action(f"{path}/info/refs", "service=git-receive-pack") == "codecommit:GitPush"
    assert git_action(f"{path}/git-receive-pack") == "codecommit:GitPush"
    assert git_action(f"{path}/HEAD") is None


def test_statement_ids_are_iam_safe_and_unique() -> None:
    assert sid_words("solve", "data-tier") == "SolveDataTier"
    with pytest.raises(ValueError, match="unique and alphanumeric"):
        policy_document([Grant("Bad-Sid", frozenset({"s3:ListBucket"}))], ["us-west-2"])
    with pytest.raises(ValueError, match="unique and alphanumeric"):
        policy_document(
            [Grant("Same", frozenset({"a:B"})), Grant("Same", frozenset({"c:D"}))], ["us-west-2"]
        )


def test_a_policy_grants_each_action_once_and_iam_without_regions() -> None:
    class Automated:
        def __init__(self, solve: str | None, reset: str | None) -> None:
            self.solve, self.reset = solve, reset

    class Step:
        def __init__(self, id: str, checks: list[str], solve: str | None) -> None:
            self.id, self.checks, self.automated = id, checks, Automated(solve, None)

    class Check:
        def __init__(self, name: str) -> None:
            self.name = name

    class Lab:
        prerequisites = [Check("pre")]
        steps = [Step("one", [Check("one.check")], "one.solve"), Step("two", [], "two.solve")]

        def every_check(self) -> list[Check]:
            return [*self.prerequisites, *(c for step in self.steps for c in step.checks)]

    declared = LabPermissions(
        {
            "pre": frozenset({"a:Describe"}),
            "one.check": frozenset({"a:Describe", "sts:GetCallerIdentity"}),
            "one.solve": frozenset({"a:Describe", "a:Create"}),
            "two.solve": frozenset({"a:Create", "b:Put"}),
        },
        on_behalf={"one.solve": (OnBehalf("ServiceDoesIt", frozenset({"iam:PassRole", "b:Put"})),)},
    )
    document = lab_policy("solve", Lab(), declared, ["r1", "r2"])
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert list(statements) == [
        "MmtuiCheckReadOnly",
        "MmtuiSolveOne",
        "MmtuiSolveTwo",
        "MmtuiServiceDoesItGlobal",
    ]
    assert statements["MmtuiCheckReadOnly"]["Action"] == ["a:Describe"]
    assert statements["MmtuiSolveOne"]["Action"] == ["a:Create"]
    assert statements["MmtuiSolveTwo"]["Action"] == ["b:Put"]
    assert statements["MmtuiServiceDoesItGlobal"]["Action"] == ["iam:PassRole"]
    assert "Condition" not in statements["MmtuiServiceDoesItGlobal"]
    assert statements["MmtuiSolveOne"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": ["r1", "r2"]}
    }
    assert lab_policy("check", Lab(), declared, ["r1", "r2"])["Statement"] == [
        statements["MmtuiCheckReadOnly"]
    ]
