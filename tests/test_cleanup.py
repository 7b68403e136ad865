"""`mmtui cleanup` on the sandbox: the whole workshop removed in order and nothing else; a
deletion blocked by the workshop's own leftovers repaired and retried; a block that is not
the workshop's stops the run naming it; no confirmation, no change."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import LAB_XRAY_GROUPS, AttendeeSandbox, assume_role, cli_target, invoke
from tests.iam_roles import make_role

PRIMARY, SECONDARY = "us-west-2", "us-east-1"
PRIMARY_STACK, SECONDARY_STACK = "mm-multi-region", "mm-secondary-region"
XRAY = {"like-service", "like-service-errors-faults"}

DASHBOARD_TEMPLATE = json.dumps(
    {
        "Resources": {
            "Dashboard": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {
                    "DashboardName": "Multi-Region-Fully-Prepared-Dashboard",
                    "DashboardBody": json.dumps({"widgets": []}),
                },
            }
        }
    }
)
"""What Lab 3 step 5's script deploys as Fully-Prepared-Dashboard: one dashboard."""

UNRELATED_TEMPLATE = json.dumps(
    {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}}}}
)


def stacks(sandbox: Sandbox, region: str) -> set[str]:
    client = sandbox.client("cloudformation", region)
    return {s["StackName"] for s in client.describe_stacks()["Stacks"]}


def buckets(sandbox: Sandbox) -> set[str]:
    return {b["Name"] for b in sandbox.client("s3", PRIMARY).list_buckets()["Buckets"]}


def xray_groups(sandbox: Sandbox, region: str) -> set[str]:
    groups = sandbox.client("xray", region).get_groups()["Groups"]
    return {g["GroupName"] for g in groups} - {"Default"}


def tables(sandbox: Sandbox, region: str) -> set[str]:
    return set(sandbox.client("dynamodb", region).list_tables()["TableNames"])


def picture(sandbox: Sandbox) -> dict[str, Any]:
    """What a cleanup may change, read through the API."""
    table = sandbox.client("dynamodb", PRIMARY).describe_table(TableName="mm-ddbtable")["Table"]
    return {
        "stacks": (stacks(sandbox, PRIMARY), stacks(sandbox, SECONDARY)),
        "buckets": buckets(sandbox),
        "xray": (xray_groups(sandbox, PRIMARY), xray_groups(sandbox, SECONDARY)),
        "replicas": [r["RegionName"] for r in table.get("Replicas", [])],
        "repositories": [
            sorted(
                r["repositoryName"]
                for r in sandbox.client("ecr", region).describe_repositories()["repositories"]
            )
            for region in (PRIMARY, SECONDARY)
        ],
        "services": sandbox.client("ecs", PRIMARY).describe_services(
            cluster=f"Cluster-{PRIMARY_STACK}",
            services=[f"{PRIMARY_STACK}_Core-Service", f"{PRIMARY_STACK}_Like-Service"],
        )["services"][0]["status"],
    }


def add_unrelated(sandbox: Sandbox) -> None:
    """What the attendee has in the account besides the workshop."""
    sandbox.client("s3", PRIMARY).create_bucket(
        Bucket="attendee-own-bucket", CreateBucketConfiguration={"LocationConstraint": PRIMARY}
    )
    sandbox.client("s3", PRIMARY).put_object(Bucket="attendee-own-bucket", Key="k", Body=b"v")
    sandbox.client("dynamodb", PRIMARY).create_table(
        TableName="attendee-table",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sandbox.client("cloudformation", PRIMARY).create_stack(
        StackName="attendee-stack", TemplateBody=UNRELATED_TEMPLATE
    )
    sandbox.client("xray", SECONDARY).create_group(
        GroupName="attendee-group", FilterExpression='service("Checkout")'
    )


def test_cleanup_removes_the_whole_workshop_in_order_and_nothing_else(
    lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Labs 3 and 4 done, with what Lab 3 step 5's script adds (the X-Ray groups in the
    secondary region, the Fully-Prepared-Dashboard stack), beside the attendee's own things."""
    sandbox = lab4_done
    target = cli_target(sandbox, monkeypatch)
    for group, expression in LAB_XRAY_GROUPS.items():
        sandbox.client("xray", SECONDARY).create_group(GroupName=group, FilterExpression=expression)
    sandbox.client("cloudformation", PRIMARY).create_stack(
        StackName="Fully-Prepared-Dashboard", TemplateBody=DASHBOARD_TEMPLATE
    )
    add_unrelated(sandbox)
    accelerators = sandbox.client("globalaccelerator", PRIMARY)
    [accelerator] = accelerators.list_accelerators()["Accelerators"]
    assert accelerator["Name"] == "mm-global-accelerator"
    before = picture(sandbox)
    assert before["replicas"] == [SECONDARY]
    assert before["xray"] == (XRAY, XRAY | {"attendee-group"})

    dry = invoke("cleanup", *target, "--dry-run")

    assert dry.code == 0, dry.stderr
    assert picture(sandbox) == before
    assert [a["AcceleratorArn"] for a in accelerators.list_accelerators()["Accelerators"]] == [
        accelerator["AcceleratorArn"]
    ]
    described = accelerators.describe_accelerator(AcceleratorArn=accelerator["AcceleratorArn"])
    assert described["Accelerator"]["Enabled"]  # the dry run did not even disable it
    lines = dry.stdout.splitlines()
    assert lines[0].startswith("plan (account 123456789012, us-west-2 and us-east-1")
    headers = [line.strip() for line in lines if line.startswith("  ") and line[2].isdigit()]
    assert headers == [
        "1. Lab 4's accelerator",
        "2. Lab 3's replica of the table",
        "3. the secondary stack",
        "4. the primary stack and what the workshop made around it",
    ]
    order = [
        "delete endpoint group for us-west-2 (us-west-2)",
        "delete endpoint group for us-east-1 (us-west-2)",
        "delete listener TCP 80 (us-west-2)",
        "disable, then delete accelerator mm-global-accelerator (us-west-2)",
        "delete and wait replica of mm-ddbtable (us-east-1)",
        "empty repository mm-secondary-region-core-service (us-east-1)",
        "delete stack mm-secondary-region (us-east-1)",
        f"delete services {PRIMARY_STACK}_Core-Service, {PRIMARY_STACK}_Like-Service of "
        f"Cluster-{PRIMARY_STACK}",
        "empty repository mm-multi-region-core-service (us-west-2)",
        "empty bucket mm-multi-region-mythicalcicdstack-",
        "empty and delete bucket mmtui-pipeline-artifacts-123456789012-us-east-1",
        "delete X-Ray group like-service (us-west-2)",
        "delete X-Ray group like-service-errors-faults (us-east-1)",
        "delete stack Fully-Prepared-Dashboard (us-west-2)",
        "delete stack mm-multi-region (us-west-2)",
    ]
    positions = [next(i for i, line in enumerate(lines) if want in line) for want in order]
    assert positions == sorted(positions), dry.stdout
    assert "attendee" not in dry.stdout

    done = invoke("cleanup", *target, "--yes")

    assert done.code == 0, done.stdout + done.stderr
    assert "cleanup done: nothing of the workshop is left" in done.stdout
    assert "disabled and deleted mm-global-accelerator" in done.stderr
    assert accelerators.list_accelerators()["Accelerators"] == []
    assert stacks(sandbox, PRIMARY) == {"attendee-stack"}
    assert stacks(sandbox, SECONDARY) == set()
    assert tables(sandbox, PRIMARY) == {"attendee-table"}
    assert tables(sandbox, SECONDARY) == set()  # the replica went before the table
    assert xray_groups(sandbox, PRIMARY) == set()
    assert xray_groups(sandbox, SECONDARY) == {"attendee-group"}
    assert buckets(sandbox) == {"attendee-own-bucket"}
    own = sandbox.client("s3", PRIMARY).list_objects_v2(Bucket="attendee-own-bucket")
    assert [o["Key"] for o in own["Contents"]] == ["k"]
    for region in (PRIMARY, SECONDARY):
        assert sandbox.client("ecr", region).describe_repositories()["repositories"] == []
    services = sandbox.client("ecs", PRIMARY).describe_services(
        cluster=f"Cluster-{PRIMARY_STACK}", services=[f"{PRIMARY_STACK}_Core-Service"]
    )["services"]
    assert [s["status"] for s in services] == ["INACTIVE"]
    # mmtui removed Lab 0's services itself, before the stack's deletion.
    assert f"deleted the services {PRIMARY_STACK}_Core-Service" in done.stderr

    again = invoke("cleanup", *target, "--yes")

    assert again.code == 0, again.stderr
    assert again.stdout.startswith("nothing to clean up: no part of the workshop is left")
    assert stacks(sandbox, PRIMARY) == {"attendee-stack"}


def test_a_deletion_blocked_meanwhile_is_named_emptied_and_retried(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline run that writes an artifact after cleanup emptied the bucket (the race the
    workshop's README warns about) fails the deletion; cleanup reads why from the events."""
    import mmtui.labs.cleanup.stack_deletion as deletion

    target = cli_target(sandbox, monkeypatch)
    cloudformation = sandbox.client("cloudformation", PRIMARY)
    nested = cloudformation.describe_stack_resource(
        StackName=PRIMARY_STACK, LogicalResourceId="MythicalCiCdStack"
    )["StackResourceDetail"]["PhysicalResourceId"]
    bucket = cloudformation.describe_stack_resource(
        StackName=nested, LogicalResourceId="MythicalArtifactBucket"
    )["StackResourceDetail"]["PhysicalResourceId"]
    requested = deletion.request_deletion
    raced: list[str] = []

    def artifact_then_delete(client: Any, name: str) -> None:
        if name == PRIMARY_STACK and not raced:
            sandbox.client("s3", PRIMARY).put_object(Bucket=bucket, Key="late/zip", Body=b"z")
            raced.append(name)
        requested(client, name)

    monkeypatch.setattr(deletion, "request_deletion", artifact_then_delete)

    done = invoke("cleanup", *target, "--yes")

    assert raced == [PRIMARY_STACK]
    assert done.code == 0, done.stdout + done.stderr
    assert f"{PRIMARY_STACK} is DELETE_FAILED" in done.stderr
    assert "MythicalArtifactBucket (AWS::S3::Bucket" in done.stderr
    assert "The bucket you tried to delete is not empty" in done.stderr
    nested_name = nested.split("/")[1]
    assert (
        f"failed to delete: MythicalArtifactBucket (AWS::S3::Bucket {bucket}) of {nested_name}"
        in (done.stderr)
    )
    assert f"emptied the bucket {bucket} of {nested_name} (1 objects)" in done.stderr
    assert stacks(sandbox, PRIMARY) == set()
    assert bucket not in buckets(sandbox)


def test_a_deletion_that_failed_by_hand_is_continued(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workshop's README says to delete the stack in the console; on today's AWS that
    stops at the pipelines' bucket. cleanup picks it up from there."""
    target = cli_target(sandbox, monkeypatch)
    cloudformation = sandbox.client("cloudformation", PRIMARY)
    cloudformation.delete_stack(StackName=PRIMARY_STACK)
    stack = cloudformation.describe_stacks(StackName=PRIMARY_STACK)["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"

    dry = invoke("cleanup", *target, "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "delete again (its last deletion failed) stack mm-multi-region (us-west-2)" in dry.stdout

    done = invoke("cleanup", *target, "--yes")

    assert done.code == 0, done.stdout + done.stderr
    assert stacks(sandbox, PRIMARY) == set()
    assert xray_groups(sandbox, PRIMARY) == set()


def test_a_block_that_is_not_the_workshops_stops_the_run_naming_it(
    lab_solved: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = lab_solved("1")
    target = cli_target(sandbox, monkeypatch)
    ecs = sandbox.client("ecs", SECONDARY)
    cluster = f"Cluster-{SECONDARY_STACK}"
    ecs.register_task_definition(
        family="worker", containerDefinitions=[{"name": "w", "image": "busybox", "memory": 64}]
    )
    ecs.create_service(cluster=cluster, serviceName="attendee-worker", taskDefinition="worker")

    dry = invoke("cleanup", *target, "--dry-run")
    assert f"leave service attendee-worker of {cluster}: the workshop did not make it" in dry.stdout

    stopped = invoke("cleanup", *target, "--yes")

    assert stopped.code == 4, stopped.stdout + stopped.stderr
    message = stopped.stderr
    assert f"MythicalEcsCluster (AWS::ECS::Cluster {cluster}) of {SECONDARY_STACK}" in message
    assert "The Cluster cannot be deleted while Services are active" in message
    assert "services the workshop did not make (attendee-worker)" in message
    assert "aws ecs delete-service --cluster" in message
    assert "Traceback" not in message
    [service] = ecs.describe_services(cluster=cluster, services=["attendee-worker"])["services"]
    assert service["status"] == "ACTIVE"
    assert PRIMARY_STACK in stacks(sandbox, PRIMARY)  # the run stopped before the primary


def test_without_yes_and_without_a_terminal_nothing_changes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = cli_target(sandbox, monkeypatch)
    before = picture(sandbox)

    refused = invoke("cleanup", *target)

    assert refused.code == 2
    assert "refusing to clean up without --yes" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert picture(sandbox) == before

    elsewhere = invoke("cleanup", *target, "--yes", "--account-id", "999999999999")
    assert elsewhere.code == 3
    assert "account 123456789012, not 999999999999" in elsewhere.stderr
    assert picture(sandbox) == before

    bad = invoke("cleanup", *target, "--account-id", "12ab")
    assert bad.code == 2
    assert "--account-id: '12ab' is not a 12-digit AWS account ID" in bad.stderr


def test_cleanup_works_under_its_printed_policy_and_not_without_an_action(
    attendee_accounts: Callable[[int], AttendeeSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mmtui policy cleanup`, enforced by the sandbox on a role of an attendee account, is
    enough for the cleanup of that account (Labs 0-2: the primary stack, its services, images
    and artifacts, the X-Ray groups); without DeleteGroup the run stops, exit 3."""
    room = attendee_accounts(1)
    account = room.ids[0]
    printed = invoke("policy", "cleanup")
    assert printed.code == 0, printed.stderr
    document = json.loads(printed.stdout)

    def as_role(policy: dict[str, Any], name: str) -> None:
        for key, value in room.credentials(account).items():  # the administrator, to make it
            monkeypatch.setenv(key, value)
        arn = make_role(room, account, policy, name=name)
        keys = assume_role(room.url, room.sandbox.env(), arn, session_name="cleanup")
        for key, value in keys.items():
            monkeypatch.setenv(key, value)

    lacking = json.loads(printed.stdout)
    for statement in lacking["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "xray:DeleteGroup"]
    as_role(lacking, "MmtuiCleanupLacking")
    denied = invoke("cleanup", "--endpoint-url", room.url, "--yes")
    assert denied.code == 3, denied.stdout + denied.stderr
    assert "not authorized to perform: xray:DeleteGroup" in denied.stderr

    as_role(document, "MmtuiCleanup")
    done = invoke("cleanup", "--endpoint-url", room.url, "--yes")

    assert done.code == 0, done.stdout + done.stderr
    assert "cleanup done" in done.stdout
    admin = room.session(account)
    for region in (PRIMARY, SECONDARY):
        cloudformation = admin.client("cloudformation", region_name=region, endpoint_url=room.url)
        assert cloudformation.describe_stacks()["Stacks"] == []


@pytest.mark.parametrize(
    ("description", "released"),
    [
        (
            "arn:aws:ecs:us-east-1:123456789012:attachment/0b5e7d2c-5a6f-4f0e-9d8f-1c2b3a4d5e6f",
            True,
        ),
        ("the attendee's debugging instance", False),
    ],
)
def test_network_interfaces_in_the_stack_are_released_only_when_a_task_left_them(
    lab_solved: Callable[..., Sandbox],
    monkeypatch: pytest.MonkeyPatch,
    description: str,
    released: bool,
) -> None:
    sandbox = lab_solved("1")
    target = cli_target(sandbox, monkeypatch)
    cloudformation = sandbox.client("cloudformation", SECONDARY)

    def physical(logical: str) -> str:
        return str(
            cloudformation.describe_stack_resource(
                StackName=SECONDARY_STACK, LogicalResourceId=logical
            )["StackResourceDetail"]["PhysicalResourceId"]
        )

    group, subnet = physical("FargateContainerSecurityGroup"), physical("PrivateSubnetOne")
    ec2 = sandbox.client("ec2", SECONDARY)
    interface = ec2.create_network_interface(
        SubnetId=subnet, Groups=[group], Description=description
    )["NetworkInterface"]["NetworkInterfaceId"]

    done = invoke("cleanup", *target, "--yes")

    left = [i["NetworkInterfaceId"] for i in ec2.describe_network_interfaces()["NetworkInterfaces"]]
    if released:
        assert done.code == 0, done.stdout + done.stderr
        assert f"released {interface} from" in done.stderr
        assert interface not in left
        assert stacks(sandbox, SECONDARY) == set()
    else:
        assert done.code == 4, done.stdout + done.stderr
        assert "has a dependent object" in done.stderr
        assert f"{interface} (the attendee's debugging instance, available)" in done.stderr
        assert "remove them (or what they belong to) yourself" in done.stderr
        assert interface in left
        assert stacks(sandbox, SECONDARY) == {SECONDARY_STACK}


def test_a_deletion_already_running_is_waited_for_and_finished(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier run (or the console) started the primary stack's deletion: cleanup plans
    from what AWS shows, does the rest, and waits for it to end."""
    target = cli_target(sandbox, monkeypatch)
    extension = next(e for e in sandbox.extensions if e.name == "cloudformation")
    extension.stack_delete_seconds = 1.5  # type: ignore[attr-defined]
    cloudformation = sandbox.client("cloudformation", PRIMARY)
    cloudformation.delete_stack(StackName=PRIMARY_STACK)

    done = invoke("cleanup", *target, "--yes")

    assert done.code == 0, done.stdout + done.stderr
    assert (
        "wait for the deletion already running (then finish it) stack mm-multi-region (us-west-2)"
        in done.stdout
    )
    assert f"waiting for {PRIMARY_STACK} to be deleted" in done.stderr
    assert stacks(sandbox, PRIMARY) == set()
    assert xray_groups(sandbox, PRIMARY) == set()
