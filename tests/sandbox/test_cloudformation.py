"""CloudFormation in the sandbox as Lab 3 step 1 uses it: the workshop template, `aws cloudformation
deploy`, stack outputs and exports, events, rollback and deletion, all over HTTP."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mmtui.sandbox import moto_repairs
from mmtui.sandbox.behaviours import cloudformation as fixes
from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop import stacks as workshop
from tests.conftest import (
    REPO,
    STEP1_AFTER_ROLLBACK,
    by_hand_script,
    run_by_hand,
    secondary_template,
)
from tests.sandbox.workshop_outputs import (
    EXPORTED,
    PRIMARY_EXPORTS,
    PRIMARY_OUTPUTS,
    SECONDARY_OUTPUTS,
)

TEMPLATE = REPO / "mmtui" / "sandbox" / "workshop" / "assets" / "workshop" / "cfn" / "core.yml"
PRIMARY, SECONDARY = "us-west-2", "us-east-1"
WORKSHOP_STEP1 = (
    "aws cloudformation deploy --stack-name mm-secondary-region --template-file cfn/core.yml "
    "--capabilities CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND "
    "--parameter-overrides IsSecondary=true --region us-east-1"
)
"""The workshop's own step 1 command, with the template as the workshop ships it."""
STEP1 = WORKSHOP_STEP1.replace("cfn/core.yml", "cfn/core-secondary.yml")
"""The same with the copy whose Lambda runtime is raised (what the lab's by-hand path saves)."""
RUNTIME_REFUSED = (
    "The runtime parameter of python3.7 is no longer supported for creating or updating AWS "
    "Lambda functions. We recommend you use a supported runtime while creating or updating "
    "functions."
)
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create "
    "a change set."
)

# ------------------------------------------------------------------------------ helpers

_clients: dict[tuple[str, str, str], Any] = {}


def aws(sandbox: Sandbox, service: str, region: str) -> Any:
    """A boto3 client of the sandbox, made once per session (making one takes up to 0.2 s)."""
    key = (sandbox.url, service, region)
    if key not in _clients:
        _clients[key] = sandbox.client(service, region)
    return _clients[key]


def outputs(sandbox: Sandbox, stack: str, region: str) -> dict[str, str]:
    described = aws(sandbox, "cloudformation", region).describe_stacks(StackName=stack)
    return {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}


def export_names(sandbox: Sandbox, stack: str, region: str) -> dict[str, str]:
    described = aws(sandbox, "cloudformation", region).describe_stacks(StackName=stack)
    return {
        o["OutputKey"]: o["ExportName"]
        for o in described["Stacks"][0].get("Outputs", [])
        if "ExportName" in o
    }


def exports(sandbox: Sandbox, region: str) -> dict[str, str]:
    listed = aws(sandbox, "cloudformation", region).list_exports()["Exports"]
    return {e["Name"]: e["Value"] for e in listed}


def create_secondary(sandbox: Sandbox, stack: str = workshop.SECONDARY_STACK) -> dict[str, str]:
    aws(sandbox, "cloudformation", SECONDARY).create_stack(
        StackName=stack,
        TemplateBody=secondary_template(),
        Parameters=[{"ParameterKey": "IsSecondary", "ParameterValue": "true"}],
        Capabilities=workshop.CAPABILITIES,
    )
    return outputs(sandbox, stack, SECONDARY)


def save_secondary_template(sandbox: Sandbox) -> None:
    """The by-hand path's template copy, as its get-template | sed command saves it."""
    target = workshop.workshop_folder(sandbox) / "cfn" / "core-secondary.yml"
    target.write_text(secondary_template(), encoding="utf-8")


def extension(sandbox: Sandbox) -> Any:
    return next(e for e in sandbox.extensions if e.name == "cloudformation")


def wait_for_status(sandbox: Sandbox, stack: str, region: str, wanted: str) -> dict[str, Any]:
    """Poll the stack until it shows `wanted` (bounded: 30 s)."""
    cloudformation = aws(sandbox, "cloudformation", region)
    deadline = time.monotonic() + 30
    while True:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        if described["StackStatus"] == wanted or time.monotonic() > deadline:
            assert described["StackStatus"] == wanted
            return dict(described)
        time.sleep(0.1)


def tool(name: str) -> str:
    """A command installed with the test dependencies (next to this interpreter, or on PATH)."""
    bin_dir = str(Path(sys.executable).parent)
    executable = shutil.which(name, path=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    assert executable, f"{name} is not installed next to {sys.executable}"
    return executable


def aws_cli(sandbox: Sandbox, command: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run a command line as the attendee types it, from the workshop folder."""
    argv = shlex.split(command)
    return subprocess.run(
        [tool(argv[0]), *argv[1:], *extra],
        cwd=workshop.workshop_folder(sandbox),
        env={**os.environ, **sandbox.env()},
        capture_output=True,
        text=True,
        timeout=120,
    )


def non_default_vpcs(sandbox: Sandbox, region: str) -> list[str]:
    vpcs = aws(sandbox, "ec2", region).describe_vpcs()["Vpcs"]
    return [v["VpcId"] for v in vpcs if not v["IsDefault"]]


def resource_events(sandbox: Sandbox, stack: str, region: str) -> list[tuple[str, str]]:
    """(logical ID, status) of a stack's events, oldest first."""
    events = aws(sandbox, "cloudformation", region).describe_stack_events(StackName=stack)
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events["StackEvents"][::-1]]


# ------------------------------------------------------------------------------ the template


def test_template_passes_cfn_lint_but_for_the_workshops_runtime() -> None:
    linted = subprocess.run(
        [tool("cfn-lint"), str(TEMPLATE)], capture_output=True, text=True, timeout=120
    )
    # Only the workshop's deliberate python3.7 (E2531: deprecated, creation disabled).
    findings = [line for line in linted.stdout.splitlines() if re.match(r"[EW]\d{4} ", line)]
    assert len(findings) == 1 and findings[0].startswith("E2531 "), linted.stdout
    assert "'python3.7'" in findings[0]
    clean = subprocess.run(
        [tool("cfn-lint"), "--ignore-checks", "E2531", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # The CLI sends the template inline only up to 51,200 bytes; beyond, it wants an S3 bucket.
    assert TEMPLATE.stat().st_size < 51_200


def test_baseline_has_the_primary_stack_with_its_outputs(sandbox: Sandbox) -> None:
    found = outputs(sandbox, workshop.PRIMARY_STACK, PRIMARY)
    assert set(found) == PRIMARY_OUTPUTS
    alb = aws(sandbox, "elbv2", PRIMARY).describe_load_balancers(Names=["alb-mm-multi-region"])
    balancer = alb["LoadBalancers"][0]
    assert found["CurrentRegion"] == PRIMARY
    assert found["CurrentAccount"] == sandbox.account_id
    assert found["StackName"] == "mm-multi-region"
    assert found["DynamoTable"] == "mm-ddbtable"
    assert found["EcsClusterName"] == "Cluster-mm-multi-region"
    assert found["CoreEcsServiceName"] == "mm-multi-region_Core-Service"
    assert found["LikeEcsServiceName"] == "mm-multi-region_Like-Service"
    assert found["CoreServiceEcrRepo"] == (
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/mm-multi-region-core-service"
    )
    assert found["LikeServiceEcrRepo"].endswith("/mm-multi-region-like-service")
    assert found["LoadBalancerDNS"] == balancer["DNSName"]
    assert balancer["LoadBalancerArn"].endswith(":loadbalancer/" + found["LoadBalancerFullName"])
    assert re.fullmatch(r"app/alb-mm-multi-region/[0-9a-f]+", found["LoadBalancerFullName"])
    assert found["CoreServiceTaskDefinition"].endswith(
        ":task-definition/Core-Service-mm-multi-region:1"
    )
    assert len(found) == 30
    assert export_names(sandbox, workshop.PRIMARY_STACK, PRIMARY) == {
        key: f"mm-multi-region:{name}" for key, name in PRIMARY_EXPORTS.items()
    }
    assert exports(sandbox, PRIMARY)["mm-multi-region:VPCId"] == found["VPCId"]

    table = aws(sandbox, "dynamodb", PRIMARY).describe_table(TableName="mm-ddbtable")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "MysfitId", "KeyType": "HASH"}]
    assert {
        index["IndexName"]: index["KeySchema"][1] for index in table["GlobalSecondaryIndexes"]
    } == {
        "LawChaosIndex": {"AttributeName": "MysfitId", "KeyType": "RANGE"},
        "GoodEvilIndex": {"AttributeName": "MysfitId", "KeyType": "RANGE"},
    }
    assert "StreamSpecification" not in table  # enabling streams is Lab 3 step 2

    definition = aws(sandbox, "ecs", PRIMARY).describe_task_definition(
        taskDefinition=found["LikeServiceTaskDefinition"]
    )["taskDefinition"]
    like, xray = definition["containerDefinitions"]
    assert (like["name"], xray["name"]) == ("like-service", "xray-daemon")
    assert {"name": "CHAOSMODE", "value": "on"} in like["environment"]
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert definition["taskRoleArn"] == found["ECSTaskRole"]
    assert definition["executionRoleArn"] == found["EcsServiceRole"]

    # Lab 0 cloned the workshop: its template is in the workspace, where step 1 reads it.
    copied = workshop.workshop_folder(sandbox) / "cfn" / "core.yml"
    assert copied.read_text(encoding="utf-8") == TEMPLATE.read_text(encoding="utf-8")


def test_install_workspace_never_overwrites_the_attendees_file(tmp_path: Path) -> None:
    fake: Any = SimpleNamespace(workspace=tmp_path)
    written = workshop.install_workspace(fake)
    assert written == tmp_path / "aws-multi-region-bc-dr-workshop" / "cfn" / "core.yml"
    assert written.read_text(encoding="utf-8") == workshop.template_body()
    written.write_text("# my edits\n", encoding="utf-8")
    workshop.install_workspace(fake)
    assert written.read_text(encoding="utf-8") == "# my edits\n"


# ------------------------------------------------------------------------------ step 1


def test_step1_by_hand_creates_the_secondary_stack(sandbox: Sandbox) -> None:
    deployed = run_by_hand(sandbox, by_hand_script(sandbox, "infrastructure"))
    assert deployed.returncode == 0, deployed.stderr
    # The copy it deployed is the primary's template with the runtime raised, nothing else.
    copy = workshop.workshop_folder(sandbox) / "cfn" / "core-secondary.yml"
    assert copy.read_text(encoding="utf-8").strip() == secondary_template().strip()
    assert "Runtime: python3.12" in deployed.stdout
    assert "Waiting for changeset to be created.." in deployed.stdout
    assert "Successfully created/updated stack - mm-secondary-region" in deployed.stdout

    found = outputs(sandbox, "mm-secondary-region", SECONDARY)
    assert set(found) == SECONDARY_OUTPUTS
    assert len(found) == 24
    assert found["SecondaryRegion"] == found["CurrentRegion"] == SECONDARY
    assert found["SecondaryLoadBalancerDNS"] == found["LoadBalancerDNS"]
    prefix = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mm-secondary-region-"
    assert found["SecondaryCoreServiceEcrRepo"] == prefix + "core-service"
    assert found["SecondaryLikeServiceEcrRepo"] == prefix + "like-service"
    assert found["EcsClusterName"] == "Cluster-mm-secondary-region"
    assert re.fullmatch(
        r"mm-secondary-region-CoreEcsService-[A-Z0-9]{12}", found["CoreEcsServiceName"]
    )
    assert re.fullmatch(
        r"mm-secondary-region-LikeEcsService-[A-Z0-9]{12}", found["LikeEcsServiceName"]
    )
    assert re.fullmatch(r"app/alb-mm-secondary-region/[0-9a-f]+", found["LoadBalancerFullName"])
    names = export_names(sandbox, "mm-secondary-region", SECONDARY)
    assert names == {key: f"mm-secondary-region:{key}" for key in EXPORTED | {"SecondaryRegion"}}
    assert exports(sandbox, SECONDARY)["mm-secondary-region:SecondaryRegion"] == SECONDARY

    # What it made exists in us-east-1, through each service's own API.
    ecs = aws(sandbox, "ecs", SECONDARY)
    cluster = ecs.describe_clusters(clusters=[found["EcsClusterName"]])["clusters"][0]
    assert cluster["status"] == "ACTIVE"
    services = ecs.describe_services(
        cluster=found["EcsClusterName"],
        services=[found["CoreEcsServiceName"], found["LikeEcsServiceName"]],
    )["services"]
    core, like = services
    for service in services:
        assert service["launchType"] == "FARGATE"
        assert service["desiredCount"] == 1
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        assert set(network["subnets"]) == {found["PrivateSubnetOne"], found["PrivateSubnetTwo"]}
        assert network["securityGroups"] == [found["FargateContainerSecurityGroup"]]
        assert network["assignPublicIp"] == "DISABLED"
    assert core["loadBalancers"] == [
        {
            "targetGroupArn": found["MythicalServiceTargetGroupArn"],
            "containerName": "service",
            "containerPort": 8080,
        }
    ]
    assert like["loadBalancers"][0]["targetGroupArn"] == found["LikeServiceTargetGroupArn"]
    assert like["taskDefinition"] == found["SecondaryLikeServiceTaskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=like["taskDefinition"])[
        "taskDefinition"
    ]
    assert definition["family"] == "Secondary-Like-Service-mm-secondary-region"
    assert {"name": "CHAOSMODE", "value": "off"} in definition["containerDefinitions"][0][
        "environment"
    ]

    repositories = aws(sandbox, "ecr", SECONDARY).describe_repositories()["repositories"]
    assert {r["repositoryName"] for r in repositories} == {
        "mm-secondary-region-core-service",
        "mm-secondary-region-like-service",
    }
    elbv2 = aws(sandbox, "elbv2", SECONDARY)
    balancer = elbv2.describe_load_balancers(Names=["alb-mm-secondary-region"])["LoadBalancers"][0]
    assert balancer["DNSName"] == found["SecondaryLoadBalancerDNS"]
    assert balancer["Scheme"] == "internet-facing"
    listener = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]
    assert listener["Port"] == 80
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    like_rule = next(rule for rule in rules if rule["Priority"] == "1")
    assert like_rule["Conditions"][0]["PathPatternConfig"]["Values"] == ["/mysfits/*/like"]
    assert like_rule["Actions"][0]["TargetGroupArn"] == found["LikeServiceTargetGroupArn"]
    # The data tier is not part of step 1: the table reaches us-east-1 as a replica in step 2.
    assert aws(sandbox, "dynamodb", SECONDARY).list_tables()["TableNames"] == []


def test_step1_redeploy_without_changes(sandbox: Sandbox) -> None:
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    create_secondary(sandbox)
    save_secondary_template(sandbox)
    before = cloudformation.describe_stacks(StackName="mm-secondary-region")["Stacks"][0]

    tolerated = aws_cli(sandbox, STEP1, "--no-fail-on-empty-changeset")
    assert tolerated.returncode == 0, tolerated.stderr
    assert "No changes to deploy. Stack mm-secondary-region is up to date" in tolerated.stdout

    refused = aws_cli(sandbox, STEP1)
    assert refused.returncode == 255
    assert "No changes to deploy. Stack mm-secondary-region is up to date" in refused.stderr

    summaries = cloudformation.list_change_sets(StackName="mm-secondary-region")["Summaries"]
    assert [(s["Status"], s["StatusReason"]) for s in summaries] == [("FAILED", NO_CHANGES)] * 2
    after = cloudformation.describe_stacks(StackName="mm-secondary-region")["Stacks"][0]
    assert after["StackStatus"] == "CREATE_COMPLETE"
    assert after["Outputs"] == before["Outputs"]


# ------------------------------------------------------------------------------ the moto fixes


def test_change_sets_keep_outputs_and_exports(sandbox: Sandbox) -> None:
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    body = secondary_template()
    created = cloudformation.create_change_set(
        StackName="cs-stack",
        ChangeSetName="create",
        ChangeSetType="CREATE",
        TemplateBody=body,
        Parameters=[{"ParameterKey": "IsSecondary", "ParameterValue": "true"}],
        Capabilities=workshop.CAPABILITIES,
    )
    described = cloudformation.describe_change_set(ChangeSetName=created["Id"])
    assert described["Status"] == "CREATE_COMPLETE"
    added = {c["ResourceChange"]["LogicalResourceId"] for c in described["Changes"]}
    # Changes follow the parameters' conditions: no table, the secondary's services.
    assert "MythicalDynamoTable" not in added
    assert {"CoreEcsService", "SecondaryLikeServiceTaskDefinition"} <= added
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    assert set(outputs(sandbox, "cs-stack", SECONDARY)) == SECONDARY_OUTPUTS
    assert (
        exports(sandbox, SECONDARY)["cs-stack:VPCId"]
        == outputs(sandbox, "cs-stack", SECONDARY)["VPCId"]
    )

    updated = cloudformation.create_change_set(
        StackName="cs-stack",
        ChangeSetName="update",
        ChangeSetType="UPDATE",
        TemplateBody=body,
        Parameters=[
            {"ParameterKey": "IsSecondary", "UsePreviousValue": True},
            {"ParameterKey": "DDBTableName", "ParameterValue": "other-table"},
        ],
    )
    changes = cloudformation.describe_change_set(ChangeSetName=updated["Id"])["Changes"]
    modified = {c["ResourceChange"]["LogicalResourceId"] for c in changes}
    assert {"ECSTaskRole", "SecondaryCoreServiceTaskDefinition", "CoreEcsService"} <= modified
    assert {c["ResourceChange"]["Action"] for c in changes} == {"Modify"}
    cloudformation.execute_change_set(ChangeSetName=updated["Id"])

    stack = cloudformation.describe_stacks(StackName="cs-stack")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert set(outputs(sandbox, "cs-stack", SECONDARY)) == SECONDARY_OUTPUTS
    assert "cs-stack:SecondaryRegion" in exports(sandbox, SECONDARY)
    # The new task definition revision reached the service that refers to it.
    found = outputs(sandbox, "cs-stack", SECONDARY)
    assert found["SecondaryCoreServiceTaskDefinition"].endswith(":2")
    ecs = aws(sandbox, "ecs", SECONDARY)
    core = ecs.describe_services(cluster="Cluster-cs-stack", services=[found["CoreEcsServiceName"]])
    assert core["services"][0]["taskDefinition"] == found["SecondaryCoreServiceTaskDefinition"]
    summaries = cloudformation.list_stack_resources(StackName="cs-stack")["StackResourceSummaries"]
    statuses = {r["LogicalResourceId"]: r["ResourceStatus"] for r in summaries}
    assert statuses["ECSTaskRole"] == statuses["CoreEcsService"] == "UPDATE_COMPLETE"
    assert statuses["VPC"] == "CREATE_COMPLETE"
    role = found["ECSTaskRole"].rsplit("/", 1)[1]
    policy = aws(sandbox, "iam", SECONDARY).get_role_policy(
        RoleName=role, PolicyName="AmazonECSTaskRolePolicy"
    )["PolicyDocument"]
    assert "table/other-table" in str(policy)


def test_stack_events_list_every_resource_in_dependency_order(sandbox: Sandbox) -> None:
    create_secondary(sandbox)
    events = resource_events(sandbox, "mm-secondary-region", SECONDARY)
    assert events[0] == ("mm-secondary-region", "CREATE_IN_PROGRESS")
    assert events[-1] == ("mm-secondary-region", "CREATE_COMPLETE")
    resources = aws(sandbox, "cloudformation", SECONDARY).describe_stack_resources(
        StackName="mm-secondary-region"
    )["StackResources"]
    logical_ids = {r["LogicalResourceId"] for r in resources}
    assert len(logical_ids) == 43  # the workshop's secondary has 43
    assert {"CleanDeletionLambdaFunction", "SecondaryCleanDeletionCustomResource"} <= logical_ids
    for logical_id in logical_ids:
        started = events.index((logical_id, "CREATE_IN_PROGRESS"))
        assert events.index((logical_id, "CREATE_COMPLETE")) > started
    done = {name: events.index((name, "CREATE_COMPLETE")) for name in logical_ids}
    started_at = {name: events.index((name, "CREATE_IN_PROGRESS")) for name in logical_ids}
    assert done["VPC"] < started_at["PublicSubnetOne"]
    assert done["GatewayAttachement"] < started_at["MythicalLoadBalancer"]  # DependsOn
    assert done["MythicalListener"] < started_at["CoreEcsService"]
    assert done["NatGatewayOneAttachment"] < started_at["NatGatewayOne"]  # GetAtt


FEATURES = """
Parameters:
  Mode:
    Type: String
    Default: one
Conditions:
  IsOne: !Equals [!Ref Mode, one]
  IsNotOne: !Not [!Condition IsOne]
  Both: !And [!Condition IsOne, !Not [!Condition IsNotOne]]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.7.0.0/16}
  Always:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.7.1.0/24
      AvailabilityZone: !Select [1, !GetAZs '']
  OnlyOne:
    Type: AWS::EC2::Subnet
    Condition: IsOne
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.7.2.0/24
      AvailabilityZone: !Select [0, !GetAZs {Ref: 'AWS::Region'}]
  OnlyOther:
    Type: AWS::EC2::SecurityGroup
    Condition: IsNotOne
    Properties:
      GroupDescription: only when Mode is not one
      VpcId: !Ref Vpc
Outputs:
  Zone:
    Value: !Select [1, !GetAZs '']
  Other:
    Condition: IsNotOne
    Value: !Ref OnlyOther
    Export: {Name: !Sub '${AWS::StackName}-other'}
  Combined:
    Condition: Both
    Value: true
    Export: {Name: !Sub '${AWS::StackName}-both'}
"""


@pytest.mark.parametrize(("mode", "region"), [("one", "eu-west-1"), ("two", "us-west-2")])
def test_conditions_azs_and_conditional_exports(sandbox: Sandbox, mode: str, region: str) -> None:
    cloudformation = aws(sandbox, "cloudformation", region)
    cloudformation.create_stack(
        StackName="features",
        TemplateBody=FEATURES,
        Parameters=[{"ParameterKey": "Mode", "ParameterValue": mode}],
    )
    stack = cloudformation.describe_stacks(StackName="features")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    found = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert found["Zone"] == f"{region}b"  # the stack's own region, not us-east-1
    zones = {
        subnet["CidrBlock"]: subnet["AvailabilityZone"]
        for subnet in aws(sandbox, "ec2", region).describe_subnets()["Subnets"]
    }
    assert zones["10.7.1.0/24"] == f"{region}b"
    created = {
        r["LogicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName="features")["StackResources"]
    }
    exported = set(exports(sandbox, region))
    if mode == "one":
        assert created == {"Vpc", "Always", "OnlyOne"}
        assert found == {"Zone": f"{region}b", "Combined": "true"}
        assert "features-both" in exported and "features-other" not in exported
        assert zones["10.7.2.0/24"] == f"{region}a"
    else:
        assert created == {"Vpc", "Always", "OnlyOther"}
        assert set(found) == {"Zone", "Other"}
        assert "features-other" in exported and "features-both" not in exported


def test_failed_creation_rolls_back(sandbox: Sandbox) -> None:
    broken = """
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.8.0.0/16}
  Outside:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.9.0.0/24}
"""
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    cloudformation.create_stack(StackName="broken", TemplateBody=broken)
    stack = cloudformation.describe_stacks(StackName="broken")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cloudformation.describe_stack_events(StackName="broken")["StackEvents"][::-1]
    failed = next(e for e in events if e["ResourceStatus"] == "CREATE_FAILED")
    assert failed["LogicalResourceId"] == "Outside"
    assert "10.9.0.0/24" in failed["ResourceStatusReason"]
    assert [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events[-4:]] == [
        ("broken", "ROLLBACK_IN_PROGRESS"),
        ("Vpc", "DELETE_IN_PROGRESS"),
        ("Vpc", "DELETE_COMPLETE"),
        ("broken", "ROLLBACK_COMPLETE"),
    ]
    assert non_default_vpcs(sandbox, SECONDARY) == []


def test_delete_stack_removes_everything_it_made(sandbox: Sandbox) -> None:
    found = create_secondary(sandbox)
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    stack_id = cloudformation.describe_stacks(StackName="mm-secondary-region")["Stacks"][0][
        "StackId"
    ]
    cloudformation.delete_stack(StackName="mm-secondary-region")

    with pytest.raises(ClientError) as gone:
        cloudformation.describe_stacks(StackName="mm-secondary-region")
    assert gone.value.response["Error"]["Message"] == (
        "Stack with id mm-secondary-region does not exist"
    )
    deleted = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert deleted["StackStatus"] == "DELETE_COMPLETE"
    events = resource_events(sandbox, stack_id, SECONDARY)
    assert events[-1] == ("mm-secondary-region", "DELETE_COMPLETE")
    deleted_resources = {name for name, status in events if status == "DELETE_COMPLETE"}
    created_resources = {name for name, status in events if status == "CREATE_COMPLETE"}
    assert deleted_resources == created_resources  # the route tables too (moto's stumbling block)
    assert not any(status == "DELETE_FAILED" for _, status in events)
    assert not any(name.startswith("mm-secondary-region:") for name in exports(sandbox, SECONDARY))

    ec2 = aws(sandbox, "ec2", SECONDARY)
    assert non_default_vpcs(sandbox, SECONDARY) == []
    assert ec2.describe_internet_gateways()["InternetGateways"] == []
    assert ec2.describe_addresses()["Addresses"] == []
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
    assert {n["State"] for n in ec2.describe_nat_gateways()["NatGateways"]} == {"deleted"}
    ecs = aws(sandbox, "ecs", SECONDARY)
    cluster = ecs.describe_clusters(clusters=[found["EcsClusterName"]])["clusters"][0]
    assert cluster["status"] == "INACTIVE"
    assert ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == []
    assert aws(sandbox, "ecr", SECONDARY).describe_repositories()["repositories"] == []
    elbv2 = aws(sandbox, "elbv2", SECONDARY)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    assert aws(sandbox, "logs", SECONDARY).describe_log_groups()["logGroups"] == []
    roles = {r["RoleName"] for r in aws(sandbox, "iam", SECONDARY).list_roles()["Roles"]}
    assert not any(role.startswith("mm-secondary-region-") for role in roles)
    assert aws(sandbox, "lambda", SECONDARY).list_functions()["Functions"] == []
    # The primary stack, in its own region, is untouched.
    assert outputs(sandbox, workshop.PRIMARY_STACK, PRIMARY)["CurrentRegion"] == PRIMARY


LONE_VPC = """
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.6.0.0/16}
"""


def test_a_stack_that_cannot_be_deleted_stays_delete_failed(sandbox: Sandbox) -> None:
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    cloudformation.create_stack(StackName="held", TemplateBody=LONE_VPC)
    [vpc] = non_default_vpcs(sandbox, SECONDARY)
    # A subnet made outside the stack keeps its VPC alive, as it would on AWS.
    aws(sandbox, "ec2", SECONDARY).create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24")
    cloudformation.delete_stack(StackName="held")
    stack = cloudformation.describe_stacks(StackName="held")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to delete: [Vpc]. "
    assert resource_events(sandbox, "held", SECONDARY)[-2:] == [
        ("Vpc", "DELETE_FAILED"),
        ("held", "DELETE_FAILED"),
    ]
    assert non_default_vpcs(sandbox, SECONDARY) == [vpc]


def test_repairs_install_once() -> None:
    from moto.cloudformation import parsing

    moto_repairs.install()
    clean_json = parsing.clean_json
    moto_repairs.install()
    fixes.CloudFormationFixes()
    assert parsing.clean_json is clean_json


# ------------------------------------------------------------------------------ Lambda runtimes


def test_the_workshop_command_rolls_back_on_the_deprecated_runtime(sandbox: Sandbox) -> None:
    """Step 1 exactly as the workshop has it fails on AWS today; so it does here."""
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    failed = aws_cli(sandbox, WORKSHOP_STEP1)
    assert failed.returncode == 255
    assert "Failed to create/update the stack" in failed.stderr
    stack = cloudformation.describe_stacks(StackName="mm-secondary-region")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Outputs" not in stack
    events = cloudformation.describe_stack_events(StackName="mm-secondary-region")["StackEvents"]
    cause = next(
        e
        for e in events
        if e["ResourceStatus"] == "CREATE_FAILED"
        and e["ResourceStatusReason"] != "Resource creation cancelled"
    )
    assert cause["LogicalResourceId"] == "CleanDeletionLambdaFunction"
    assert cause["ResourceType"] == "AWS::Lambda::Function"
    assert re.fullmatch(
        rf'Resource handler returned message: "{re.escape(RUNTIME_REFUSED)} \(Service: Lambda, '
        r"Status Code: 400, Request ID: [0-9a-f-]{36}\)\" \(RequestToken: [0-9a-f-]{36}, "
        r"HandlerErrorCode: InvalidRequest\)",
        cause["ResourceStatusReason"],
    )
    rollback = next(e for e in events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS")
    assert rollback["ResourceStatusReason"] == (
        "The following resource(s) failed to create: [CleanDeletionLambdaFunction]. "
        "Rollback requested by user."
    )
    assert events[0]["ResourceStatus"] == "ROLLBACK_COMPLETE"
    # Everything it had made is gone again.
    assert non_default_vpcs(sandbox, SECONDARY) == []
    assert aws(sandbox, "ecr", SECONDARY).describe_repositories()["repositories"] == []

    # The same command again: a rolled-back stack cannot be updated.
    again = aws_cli(sandbox, WORKSHOP_STEP1)
    assert again.returncode == 255
    assert (
        f"Stack:{stack['StackId']} is in ROLLBACK_COMPLETE state and can not be updated."
        in again.stderr
    )
    # The lab's way out: delete it, then deploy the copy with the runtime raised.
    recovered = run_by_hand(
        sandbox, by_hand_script(sandbox, "infrastructure", situations=[STEP1_AFTER_ROLLBACK])
    )
    assert recovered.returncode == 0, recovered.stderr
    stack = cloudformation.describe_stacks(StackName="mm-secondary-region")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    function = aws(sandbox, "lambda", SECONDARY).list_functions()["Functions"][0]
    assert function["Runtime"] == "python3.12"


@pytest.mark.parametrize("runtime", ["python3.7", "python3.6", "nodejs12.x", "go1.x"])
def test_create_function_refuses_blocked_runtimes(sandbox: Sandbox, runtime: str) -> None:
    client = aws(sandbox, "lambda", SECONDARY)
    role = aws(sandbox, "iam", SECONDARY).create_role(
        RoleName="function-role",
        AssumeRolePolicyDocument=(
            '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
            '"Principal": {"Service": "lambda.amazonaws.com"}}]}'
        ),
    )["Role"]["Arn"]
    with pytest.raises(ClientError) as refused:
        client.create_function(
            FunctionName="old",
            Runtime=runtime,
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": b"PK"},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"] == RUNTIME_REFUSED.replace(
        "python3.7", runtime
    )
    client.create_function(
        FunctionName="new",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK"},
    )
    assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == ["new"]


def test_the_primary_stack_was_created_when_python37_was_accepted(sandbox: Sandbox) -> None:
    cloudformation = aws(sandbox, "cloudformation", PRIMARY)
    resources = {
        r["LogicalResourceId"]: r
        for r in cloudformation.describe_stack_resources(StackName=workshop.PRIMARY_STACK)[
            "StackResources"
        ]
    }
    assert resources["CleanDeletionLambdaFunction"]["ResourceStatus"] == "CREATE_COMPLETE"
    assert resources["CleanDeletionCustomResource"]["ResourceType"] == "Custom::CleanDelete"
    assert "SecondaryCleanDeletionCustomResource" not in resources
    name = resources["CleanDeletionLambdaFunction"]["PhysicalResourceId"]
    function = aws(sandbox, "lambda", PRIMARY).get_function(FunctionName=name)["Configuration"]
    assert function["Runtime"] == "python3.7"
    # The template it runs is the workshop's, unchanged.
    template = cloudformation.get_template(StackName=workshop.PRIMARY_STACK)["TemplateBody"]
    assert template == workshop.template_body()


def test_an_update_adding_a_function_on_a_blocked_runtime_rolls_back(sandbox: Sandbox) -> None:
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    cloudformation.create_stack(StackName="held", TemplateBody=LONE_VPC)
    with_function = (
        LONE_VPC
        + """  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Action: 'sts:AssumeRole',
        Principal: {Service: lambda.amazonaws.com}}]}
  Old:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs12.x
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: 'exports.handler = async () => 1;'}
"""
    )
    cloudformation.update_stack(StackName="held", TemplateBody=with_function)
    stack = cloudformation.describe_stacks(StackName="held")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    events = resource_events(sandbox, "held", SECONDARY)
    assert ("Old", "CREATE_FAILED") in events
    assert events[-3:] == [
        ("held", "UPDATE_ROLLBACK_IN_PROGRESS"),
        ("held", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("held", "UPDATE_ROLLBACK_COMPLETE"),
    ]
    described = cloudformation.describe_stack_events(StackName="held")["StackEvents"]
    rollback = next(e for e in described if e["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS")
    assert rollback["ResourceStatusReason"] == "The following resource(s) failed to create: [Old]. "


# ------------------------------------------------------------------------------ states and timing


def test_update_change_sets_are_refused_unless_the_stack_is_settled(sandbox: Sandbox) -> None:
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)

    def update(stack: str) -> str:
        with pytest.raises(ClientError) as refused:
            cloudformation.create_change_set(
                StackName=stack,
                ChangeSetName="again",
                ChangeSetType="UPDATE",
                TemplateBody=LONE_VPC,
            )
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        return str(refused.value.response["Error"]["Message"])

    # A CREATE change set not executed: the stack is under review, it was never created.
    cloudformation.create_change_set(
        StackName="review", ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=LONE_VPC
    )
    review = cloudformation.describe_stacks(StackName="review")["Stacks"][0]
    assert review["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert update("review") == "Stack [review] does not exist"

    # A creation in progress: busy.
    extension(sandbox).stack_create_seconds = 30
    created = cloudformation.create_stack(StackName="busy", TemplateBody=LONE_VPC)["StackId"]
    assert (
        update("busy") == f"Stack:{created} is in CREATE_IN_PROGRESS state and can not be updated."
    )
    # A CREATE change set for the stack under review is what AWS accepts (and it then waits).
    cloudformation.create_change_set(
        StackName="review", ChangeSetName="second", ChangeSetType="CREATE", TemplateBody=LONE_VPC
    )
    cloudformation.execute_change_set(ChangeSetName="second", StackName="review")
    assert (
        cloudformation.describe_stacks(StackName="review")["Stacks"][0]["StackStatus"]
        == "CREATE_IN_PROGRESS"
    )


def test_stack_creation_and_deletion_take_the_time_asked(sandbox: Sandbox) -> None:
    extension(sandbox).stack_create_seconds = 0.5
    extension(sandbox).stack_delete_seconds = 0.5
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    cloudformation.create_stack(
        StackName="mm-secondary-region",
        TemplateBody=secondary_template(),
        Parameters=[{"ParameterKey": "IsSecondary", "ParameterValue": "true"}],
        Capabilities=workshop.CAPABILITIES,
    )
    creating = cloudformation.describe_stacks(StackName="mm-secondary-region")["Stacks"][0]
    # Nothing is made yet, and a stack being created has no outputs.
    assert creating["StackStatus"] == "CREATE_IN_PROGRESS"
    assert "Outputs" not in creating
    assert non_default_vpcs(sandbox, SECONDARY) == []
    assert (
        cloudformation.describe_stack_resources(StackName="mm-secondary-region")["StackResources"]
        == []
    )
    done = wait_for_status(sandbox, "mm-secondary-region", SECONDARY, "CREATE_COMPLETE")
    assert {o["OutputKey"] for o in done["Outputs"]} == SECONDARY_OUTPUTS
    assert len(non_default_vpcs(sandbox, SECONDARY)) == 1

    cloudformation.delete_stack(StackName="mm-secondary-region")
    deleting = cloudformation.describe_stacks(StackName="mm-secondary-region")["Stacks"][0]
    assert deleting["StackStatus"] == "DELETE_IN_PROGRESS"
    deadline = time.monotonic() + 30
    while cloudformation.list_stacks(StackStatusFilter=["DELETE_IN_PROGRESS"])["StackSummaries"]:
        assert time.monotonic() < deadline, "the deletion never finished"
        time.sleep(0.1)
    assert non_default_vpcs(sandbox, SECONDARY) == []


def test_the_stack_timings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    saved = (fixes.TIMINGS.create, fixes.TIMINGS.delete)
    try:
        monkeypatch.setenv(fixes.CREATE_VARIABLE, "7")
        monkeypatch.setenv(fixes.DELETE_VARIABLE, "soon")
        notes: list[str] = []
        configured = fixes.CloudFormationFixes(SimpleNamespace(notes=notes))  # type: ignore[arg-type]
        assert (configured.stack_create_seconds, configured.stack_delete_seconds) == (7.0, 0.0)
        assert notes == [
            "MMTUI_SANDBOX_STACK_DELETE_SECONDS='soon' is not a number of seconds (0 or more); "
            "using 0"
        ]
        # Without the variables, the sandbox's time scale sizes them from AWS's durations.
        monkeypatch.delenv(fixes.CREATE_VARIABLE)
        monkeypatch.delenv(fixes.DELETE_VARIABLE)
        scaled = fixes.CloudFormationFixes(
            SimpleNamespace(notes=[], options=SimpleNamespace(time_scale=0.01))  # type: ignore[arg-type]
        )
        assert (scaled.stack_create_seconds, scaled.stack_delete_seconds) == (
            pytest.approx(7.2),
            pytest.approx(4.8),
        )
    finally:
        fixes.TIMINGS.create, fixes.TIMINGS.delete = saved


def test_a_waiting_stack_brought_back_by_a_restore_finishes_on_a_read(sandbox: Sandbox) -> None:
    """The waiting stacks are listed again after a restore (Sandbox.state_generation), not
    only after a call that changes state: a snapshot taken while a stack was being created
    finishes it when its time is up, with nothing but reads after the restore. (The stack's
    time is up when the test says: a window of half a second for two restores ran out on a
    busy machine.)"""
    from mmtui.sandbox.moto_repairs.cloudformation.lifecycle import pending_stacks

    extension(sandbox).stack_create_seconds = 600
    cloudformation = aws(sandbox, "cloudformation", SECONDARY)
    cloudformation.create_stack(StackName="restored", TemplateBody=LONE_VPC)
    waiting = sandbox.snapshot()
    sandbox.restore_snapshot(sandbox.baseline)  # type: ignore[attr-defined]
    # A read lists the waiting stacks of this state: none.
    assert not cloudformation.describe_stacks()["Stacks"]
    sandbox.restore_snapshot(waiting)
    status = cloudformation.describe_stacks(StackName="restored")["Stacks"][0]["StackStatus"]
    assert status == "CREATE_IN_PROGRESS"
    with sandbox.lock:
        (stack,) = [stack for _, stack in pending_stacks() if stack.name == "restored"]
        stack._mmtui_due = time.time()
    wait_for_status(sandbox, "restored", SECONDARY, "CREATE_COMPLETE")


def test_a_settled_stacks_outputs_are_evaluated_once_per_state_of_the_sandbox(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto evaluated every output on each DescribeStacks (a third of the answer's time, under
    the lock, while a room reads its stacks at once); now once while the state stays the same,
    and again after any change."""
    from moto.cloudformation import parsing

    evaluated: list[str] = []
    parse_output = parsing.parse_output

    def counting(key: str, *args: Any, **kwargs: Any) -> Any:
        evaluated.append(key)
        return parse_output(key, *args, **kwargs)

    monkeypatch.setattr(parsing, "parse_output", counting)
    cloudformation = sandbox.client("cloudformation")
    (stack,) = [
        s
        for s in cloudformation.describe_stacks()["Stacks"]
        if s["StackStatus"] == "CREATE_COMPLETE" and s.get("Outputs")
    ][:1]
    name = stack["StackName"]

    def outputs() -> list[dict[str, str]]:
        found: list[dict[str, str]] = cloudformation.describe_stacks(StackName=name)["Stacks"][0][
            "Outputs"
        ]
        return found

    first = outputs()
    counted = len(evaluated)
    assert outputs() == first
    assert len(evaluated) == counted  # the same state: not evaluated again
    sandbox.client("iam").create_user(UserName="a-change-of-state")
    assert outputs() == first
    assert len(evaluated) > counted  # evaluated anew after the change
