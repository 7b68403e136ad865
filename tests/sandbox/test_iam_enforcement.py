"""The sandbox enforces IAM for a role tagged `mmtui:enforce-iam`: its sessions may do what its
policies allow and get each service's own AccessDenied for the rest; other roles are not
evaluated (moto's default)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import AttendeeSandbox
from tests.iam_roles import ROLE, allow, make_role, policy, role_session

TABLE = "mm-ddbtable"


def denied(call: Callable[[], Any]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_an_enforced_role_may_do_only_what_its_policy_allows_in_its_regions(
    attendee_accounts: Callable[[int], AttendeeSandbox],
) -> None:
    room = attendee_accounts(1)
    account = room.ids[0]
    arn = make_role(room, account, policy(allow("dynamodb:Describe*", regions=["us-west-2"])))
    client = role_session(room, arn)

    table = client("dynamodb").describe_table(TableName=TABLE)["Table"]
    assert table["TableName"] == TABLE

    scan = denied(lambda: client("dynamodb").scan(TableName=TABLE))
    assert scan.response["Error"]["Code"] == "AccessDeniedException"
    assert scan.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert scan.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{account}:assumed-role/{ROLE}/attendee is not authorized to perform:"
        f" dynamodb:Scan on resource: arn:aws:dynamodb:us-west-2:{account}:table/{TABLE}"
        " because no identity-based policy allows the dynamodb:Scan action"
    )
    elsewhere = denied(lambda: client("dynamodb", "us-east-1").describe_table(TableName=TABLE))
    assert elsewhere.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:DescribeTable" in elsewhere.response["Error"]["Message"]

    # Who am I needs no permission, as on AWS.
    identity = client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{account}:assumed-role/{ROLE}/attendee"


def test_each_service_refuses_in_its_own_protocol(
    attendee_accounts: Callable[[int], AttendeeSandbox],
) -> None:
    room = attendee_accounts(1)
    arn = make_role(room, room.ids[0], policy(allow("sts:GetCallerIdentity")))
    client = role_session(room, arn)

    cases: list[tuple[str, Callable[[], Any], str, int]] = [
        ("query", lambda: client("cloudformation").describe_stacks(), "AccessDenied", 403),
        ("query", lambda: client("elbv2").describe_load_balancers(), "AccessDenied", 403),
        ("rest-json", lambda: client("xray").get_groups(), "AccessDeniedException", 403),
        ("json", lambda: client("ecs").list_clusters(), "AccessDeniedException", 400),
        ("json", lambda: client("codepipeline").list_pipelines(), "AccessDeniedException", 400),
        (
            "json",
            lambda: client("cloudwatch").get_dashboard(DashboardName="mm-multi-region_Dashboard"),
            "AccessDenied",  # a query service spoken in JSON keeps its query error code
            403,
        ),
        ("rest-xml", lambda: client("s3").list_buckets(), "AccessDenied", 403),
        ("ec2", lambda: client("ec2").describe_regions(), "UnauthorizedOperation", 403),
    ]
    for protocol, call, code, status in cases:
        error = denied(call)
        assert (protocol, error.response["Error"]["Code"]) == (protocol, code)
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert "is not authorized to perform:" in error.response["Error"]["Message"]
    # S3 answers a refused HEAD with an empty 403, which botocore reports as "403".
    head = denied(lambda: client("s3").head_bucket(Bucket="any-bucket"))
    assert head.response["Error"]["Code"] == "403"


def test_an_explicit_deny_wins_and_attached_policies_count(
    attendee_accounts: Callable[[int], AttendeeSandbox],
) -> None:
    room = attendee_accounts(1)
    arn = make_role(
        room,
        room.ids[0],
        policy(allow("*"), {"Effect": "Deny", "Action": "dynamodb:Scan", "Resource": "*"}),
        managed=policy({"Effect": "Deny", "NotAction": ["dynamodb:*", "sts:*"], "Resource": "*"}),
    )
    client = role_session(room, arn)
    assert client("dynamodb").describe_table(TableName=TABLE)["Table"]["TableName"] == TABLE
    scan = denied(lambda: client("dynamodb").scan(TableName=TABLE))
    assert "with an explicit deny in an identity-based policy" in scan.response["Error"]["Message"]
    ecs = denied(lambda: client("ecs").list_clusters())
    assert "ecs:ListClusters" in ecs.response["Error"]["Message"]
    assert "explicit deny" in ecs.response["Error"]["Message"]


def test_a_role_not_marked_is_not_evaluated(
    attendee_accounts: Callable[[int], AttendeeSandbox],
) -> None:
    room = attendee_accounts(1)
    arn = make_role(room, room.ids[0], policy(allow("sts:GetCallerIdentity")), enforce=False)
    client = role_session(room, arn)
    assert client("dynamodb").scan(TableName=TABLE)["Count"] == 12


def test_the_decision_follows_iam_rules() -> None:
    from mmtui.sandbox.behaviours.iam_enforcement import evaluate

    def region_allow(operator: str, values: list[str]) -> dict[str, Any]:
        return policy(
            {
                "Effect": "Allow",
                "Action": "ecs:*",
                "Resource": "*",
                "Condition": {operator: {"aws:RequestedRegion": values}},
            }
        )

    assert evaluate([policy(allow("ECS:Describe*"))], "ecs:DescribeServices", "us-west-2").allowed
    assert not evaluate([policy(allow("ecs:Describe?"))], "ecs:DescribeServices", "x").allowed
    assert evaluate([region_allow("StringLike", ["us-*"])], "ecs:ListServices", "us-east-1").allowed
    assert not evaluate(
        [region_allow("StringNotEquals", ["us-east-1"])], "ecs:A", "us-east-1"
    ).allowed
    # A condition key the sandbox cannot test: the statement is not applied.
    unknown = policy(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    )
    assert not evaluate([unknown], "ecs:ListServices", "us-west-2").allowed
    assert not evaluate([], "ecs:ListServices", "us-west-2").allowed


@pytest.mark.parametrize(
    ("method", "path", "query", "operation"),
    [
        ("HEAD", "/bucket", "", "HeadBucket"),
        ("PUT", "/bucket", "", "CreateBucket"),
        ("DELETE", "/bucket", "", "DeleteBucket"),
        ("GET", "/bucket", "versions", "ListObjectVersions"),
        ("GET", "/bucket", "list-type=2&prefix=a", "ListObjectsV2"),
        ("GET", "/bucket", "location", "GetBucketLocation"),
        ("POST", "/bucket", "delete", "DeleteObjects"),
        ("GET", "/bucket/key/of/object", "", "GetObject"),
        ("PUT", "/bucket/key", "", "PutObject"),
        ("DELETE", "/bucket/key", "versionId=3", "DeleteObjectVersion"),
        ("GET", "/", "", "ListBuckets"),
    ],
)
def test_s3_requests_are_named_from_method_path_and_query(
    method: str, path: str, query: str, operation: str
) -> None:
    from mmtui.sandbox.behaviours.iam_enforcement import s3_operation
    from mmtui.sandbox.core.protocol import AwsRequest

    request = AwsRequest(method, path, query, {}, b"", service="s3")
    assert s3_operation(request) == operation
