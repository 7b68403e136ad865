"""The primary stack as the workshop's template builds it: its two nested stacks (CI/CD and
dashboard) are real stacks of the sandbox's CloudFormation, the CI/CD resources are theirs, and
the primary shows the workshop's 30 outputs, which the workshop's own scripts read with the
`aws` CLI (workshop-facts.md: "Nested stacks", "Outputs", "cfn/cicd.yml", "cfn/cwdashboard.yml").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop import stacks as workshop
from mmtui.sandbox.workshop.repositories import nested_stack_name
from tests.conftest import aws_cli, codecommit_git, run_by_hand
from tests.sandbox.workshop_outputs import PRIMARY_OUTPUTS

PRIMARY, SECONDARY = "us-west-2", "us-east-1"
STACK = workshop.PRIMARY_STACK
CICD_RESOURCES = {
    "MythicalLikeGitRepository": "AWS::CodeCommit::Repository",
    "MythicalCoreGitRepository": "AWS::CodeCommit::Repository",
    "MythicalMysfitsServiceCodePipelineServiceRole": "AWS::IAM::Role",
    "MythicalMysfitsServiceCodeBuildServiceRole": "AWS::IAM::Role",
    "InfraCfnServiceRole": "AWS::IAM::Role",
    "CodeCommitCloudWatchEventRole": "AWS::IAM::Role",
    "MythicalArtifactBucket": "AWS::S3::Bucket",
    "DockerBuildCodeBuildProject": "AWS::CodeBuild::Project",
    "CoreBuildCodeBuildProject": "AWS::CodeBuild::Project",
    "MythicalLikeServicePipeline": "AWS::CodePipeline::Pipeline",
    "MythicalCoreServicePipeline": "AWS::CodePipeline::Pipeline",
    "CodeCommitCloudWatchEventRule": "AWS::Events::Rule",
    "CoreServiceCodeCommitCloudWatchEventRule": "AWS::Events::Rule",
}


def cloudformation(sandbox: Sandbox, region: str = PRIMARY) -> Any:
    return sandbox.client("cloudformation", region)


def stack(sandbox: Sandbox, name: str) -> dict[str, Any]:
    found: dict[str, Any] = cloudformation(sandbox).describe_stacks(StackName=name)["Stacks"][0]
    return found


def resources(sandbox: Sandbox, name: str) -> dict[str, tuple[str, str]]:
    """Logical ID → (type, physical ID), from ListStackResources."""
    summaries = cloudformation(sandbox).list_stack_resources(StackName=name)
    return {
        r["LogicalResourceId"]: (r["ResourceType"], r["PhysicalResourceId"])
        for r in summaries["StackResourceSummaries"]
    }


def outputs(sandbox: Sandbox, name: str, region: str = PRIMARY) -> dict[str, str]:
    described = cloudformation(sandbox, region).describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def test_the_primary_stack_holds_both_nested_stacks(sandbox: Sandbox) -> None:
    parent = stack(sandbox, STACK)
    described = {
        r["LogicalResourceId"]: r
        for r in cloudformation(sandbox).describe_stack_resources(StackName=STACK)["StackResources"]
    }
    cicd_name = nested_stack_name(sandbox)
    assert re.fullmatch(rf"{STACK}-MythicalCiCdStack-[A-Z0-9]{{13}}", cicd_name)
    for logical_id in ("MythicalCiCdStack", "MultiRegionCwDashboard"):
        resource = described[logical_id]
        assert resource["ResourceType"] == "AWS::CloudFormation::Stack"
        assert resource["ResourceStatus"] == "CREATE_COMPLETE"
        # The physical ID of a nested stack is its stack ARN, named after parent and logical ID.
        child = stack(sandbox, resource["PhysicalResourceId"])
        assert child["StackId"] == resource["PhysicalResourceId"]
        assert re.fullmatch(rf"{STACK}-{logical_id}-[A-Z0-9]{{13}}", child["StackName"])
        assert child["StackStatus"] == "CREATE_COMPLETE"
        assert child["ParentId"] == child["RootId"] == parent["StackId"]
    assert stack(sandbox, described["MythicalCiCdStack"]["PhysicalResourceId"])["StackName"] == (
        cicd_name
    )
    # The primary itself is a root stack; ListStacks shows the nested ones with their parent.
    assert "ParentId" not in parent and "RootId" not in parent
    summaries = {
        s["StackName"]: s
        for s in cloudformation(sandbox).list_stacks(StackStatusFilter=["CREATE_COMPLETE"])[
            "StackSummaries"
        ]
    }
    assert summaries[cicd_name]["ParentId"] == parent["StackId"]
    assert summaries[cicd_name]["RootId"] == parent["StackId"]


def test_the_ci_cd_resources_belong_to_the_ci_cd_nested_stack(sandbox: Sandbox) -> None:
    nested = nested_stack_name(sandbox)
    found = resources(sandbox, nested)
    assert {logical: kind for logical, (kind, _) in found.items()} == CICD_RESOURCES
    physical = {logical: ident for logical, (_, ident) in found.items()}
    # Named from the NESTED stack's name, as cicd.yml names them.
    assert physical["MythicalCoreServicePipeline"] == f"CorePipeline-{nested}"
    assert physical["MythicalLikeServicePipeline"] == f"LikePipeline-{nested}"
    assert physical["MythicalCoreGitRepository"] == f"core-service-{nested}"
    assert physical["MythicalLikeGitRepository"] == f"like-service-{nested}"
    assert physical["CoreBuildCodeBuildProject"] == f"core-service-build-{nested}"
    assert physical["DockerBuildCodeBuildProject"] == f"like-service-build-{nested}"

    # Each physical ID is a resource that exists, through its own service's API.
    pipelines = {
        p["name"] for p in sandbox.client("codepipeline", PRIMARY).list_pipelines()["pipelines"]
    }
    assert pipelines == {
        physical["MythicalCoreServicePipeline"],
        physical["MythicalLikeServicePipeline"],
    }
    repositories = {
        r["repositoryName"]
        for r in sandbox.client("codecommit", PRIMARY).list_repositories()["repositories"]
    }
    assert repositories == {
        physical["MythicalCoreGitRepository"],
        physical["MythicalLikeGitRepository"],
    }
    projects = set(sandbox.client("codebuild", PRIMARY).list_projects()["projects"])
    assert projects == {
        physical["CoreBuildCodeBuildProject"],
        physical["DockerBuildCodeBuildProject"],
    }
    iam = sandbox.client("iam", PRIMARY)
    for logical, (kind, ident) in found.items():
        if kind == "AWS::IAM::Role":
            assert iam.get_role(RoleName=ident)["Role"]["RoleName"] == ident, logical
    sandbox.client("s3", PRIMARY).head_bucket(Bucket=physical["MythicalArtifactBucket"])
    events = sandbox.client("events", PRIMARY)
    for logical, target in (
        ("CoreServiceCodeCommitCloudWatchEventRule", "MythicalCoreServicePipeline"),
        ("CodeCommitCloudWatchEventRule", "MythicalLikeServicePipeline"),
    ):
        targets = events.list_targets_by_rule(Rule=physical[logical])["Targets"]
        assert [t["Arn"].rsplit(":", 1)[1] for t in targets] == [physical[target]]

    # The pipelines run in the nested stack's names: the build project and repository are its.
    core = sandbox.client("codepipeline", PRIMARY).get_pipeline(
        name=physical["MythicalCoreServicePipeline"]
    )["pipeline"]
    actions = {a["name"]: a for s in core["stages"] for a in s["actions"]}
    assert actions["Source"]["configuration"]["RepositoryName"] == f"core-service-{nested}"
    assert actions["CodeBuild"]["configuration"]["ProjectName"] == f"core-service-build-{nested}"
    assert core["artifactStore"]["location"] == physical["MythicalArtifactBucket"]


def test_the_dashboard_belongs_to_the_dashboard_nested_stack(sandbox: Sandbox) -> None:
    (nested,) = [
        ident
        for logical, (_, ident) in resources(sandbox, STACK).items()
        if logical == "MultiRegionCwDashboard"
    ]
    assert resources(sandbox, nested) == {
        "MultiRegionWorkShopDashboard": ("AWS::CloudWatch::Dashboard", f"{STACK}_Dashboard")
    }
    sandbox.client("cloudwatch", PRIMARY).get_dashboard(DashboardName=f"{STACK}_Dashboard")


def test_the_primary_shows_the_workshops_30_outputs_and_they_are_true(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    found = outputs(sandbox, STACK)
    assert set(found) == PRIMARY_OUTPUTS and len(found) == 30
    nested = nested_stack_name(sandbox)
    cicd = outputs(sandbox, nested)
    assert found["MythicalCoreGitRepositoryName"] == f"core-service-{nested}"
    assert found["MythicalLikeGitRepositoryName"] == f"like-service-{nested}"
    assert found["CodeBuildRole"] == cicd["MythicalMysfitsServiceCodeBuildServiceRoleArn"]
    assert found["CodePipelineRole"] == cicd["MythicalMysfitsServiceCodePipelineServiceRoleArn"]

    # The role ARNs are roles of IAM, the ones the projects and pipelines run as.
    iam = sandbox.client("iam", PRIMARY)
    for key in ("CodeBuildRole", "CodePipelineRole"):
        name = found[key].rsplit("/", 1)[1]
        assert iam.get_role(RoleName=name)["Role"]["Arn"] == found[key]
    (project,) = sandbox.client("codebuild", PRIMARY).batch_get_projects(
        names=[f"core-service-build-{nested}"]
    )["projects"]
    assert project["serviceRole"] == found["CodeBuildRole"]
    pipeline = sandbox.client("codepipeline", PRIMARY).get_pipeline(name=f"CorePipeline-{nested}")
    assert pipeline["pipeline"]["roleArn"] == found["CodePipelineRole"]
    profile = iam.get_instance_profile(InstanceProfileName=found["ProfileName"])
    assert [r["Arn"] for r in profile["InstanceProfile"]["Roles"]] == [found["ECSTaskRole"]]
    sandbox.client("dynamodb", PRIMARY).describe_table(TableName=found["DynamoTable"])
    (registry,) = sandbox.client("ecr", PRIMARY).describe_repositories(
        repositoryNames=[found["CoreServiceEcrRepo"].split("/", 1)[1]]
    )["repositories"]
    assert registry["repositoryUri"] == found["CoreServiceEcrRepo"]

    # The clone URLs clone, through the CodeCommit credential helper, with the initial commit.
    for kind in ("Core", "Like"):
        url = found[f"Mythical{kind}GitRepositoryCloneUrl"]
        assert url.startswith(sandbox.url + "/v1/repos/")
        clone = tmp_path / kind
        codecommit_git("clone", "--quiet", url, str(clone), aws=sandbox)
        head = codecommit_git("log", "-1", "--format=%s", aws=sandbox, cwd=clone).stdout
        assert head.strip() == f"Initial Commit of {kind} Service"

    # Exported as the workshop exports them (the role outputs under their nested names).
    exports = {e["Name"]: e["Value"] for e in cloudformation(sandbox).list_exports()["Exports"]}
    assert exports[f"{STACK}:MythicalMysfitsServiceCodeBuildServiceRole"] == found["CodeBuildRole"]
    assert (
        exports[f"{STACK}:MythicalMysfitsServiceCodePipelineServiceRole"]
        == found["CodePipelineRole"]
    )
    assert f"{STACK}:CodeBuildRole" not in exports and f"{STACK}:ProfileName" not in exports


def test_the_workshops_scripts_read_the_outputs_with_the_aws_cli(sandbox: Sandbox) -> None:
    """bootstrap/fetch-outputs, as the workshop's: `aws cloudformation describe-stacks` flattened
    into cfn-output.json; and the CLI's own --query reads one value as a script would."""
    found = outputs(sandbox, STACK)
    name = aws_cli(
        sandbox,
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        STACK,
        "--query",
        "Stacks[0].Outputs[?OutputKey=='MythicalCoreGitRepositoryName'].OutputValue",
        "--output",
        "text",
    )
    assert name.strip() == found["MythicalCoreGitRepositoryName"]
    folder = workshop.workshop_folder(sandbox)
    written = folder / "cfn-output.json"
    try:
        done = run_by_hand(sandbox, f"cd {folder} && bootstrap/fetch-outputs")
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(written.read_text()) == found
    finally:
        written.unlink(missing_ok=True)


CHILD = """
Parameters:
  Cidr: {Type: String}
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: !Ref Cidr}
  Inside:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.5.1.0/24}
Outputs:
  VpcId: {Value: !Ref Vpc}
"""
PARENT = """
Parameters:
  Cidr: {Type: String}
Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://nested-templates.s3.amazonaws.com/child.yml
      Parameters: {Cidr: !Ref Cidr}
Outputs:
  ChildVpc: {Value: !GetAtt Child.Outputs.VpcId}
"""


def test_any_nested_template_from_s3_and_its_failure_rolls_the_parent_back(
    sandbox: Sandbox,
) -> None:
    """Beyond the workshop's two templates: a TemplateURL of the sandbox's S3, its outputs read
    by the parent, and a nested failure reported as AWS reports it."""
    s3 = sandbox.client("s3", SECONDARY)
    s3.create_bucket(Bucket="nested-templates")
    s3.put_object(Bucket="nested-templates", Key="child.yml", Body=CHILD.encode())
    client = cloudformation(sandbox, SECONDARY)

    client.create_stack(
        StackName="parent",
        TemplateBody=PARENT,
        Parameters=[{"ParameterKey": "Cidr", "ParameterValue": "10.5.0.0/16"}],
    )
    made = outputs(sandbox, "parent", SECONDARY)
    vpcs = sandbox.client("ec2", SECONDARY).describe_vpcs(VpcIds=[made["ChildVpc"]])["Vpcs"]
    assert [v["CidrBlock"] for v in vpcs] == ["10.5.0.0/16"]

    client.create_stack(
        StackName="broken",
        TemplateBody=PARENT,
        Parameters=[{"ParameterKey": "Cidr", "ParameterValue": "10.6.0.0/16"}],
    )
    broken = client.describe_stacks(StackName="broken")["Stacks"][0]
    assert broken["StackStatus"] == "ROLLBACK_COMPLETE"
    events = client.describe_stack_events(StackName="broken")["StackEvents"]
    (failed,) = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Child"
    assert failed["ResourceStatusReason"].startswith("Embedded stack arn:aws:cloudformation:")
    assert (
        "The following resource(s) failed to create: [Inside]" in (failed["ResourceStatusReason"])
    )
    # The failed nested stack is gone, as AWS deletes it with the parent's rollback.
    standing = {
        s["StackName"]
        for s in client.list_stacks(StackStatusFilter=["CREATE_COMPLETE", "ROLLBACK_COMPLETE"])[
            "StackSummaries"
        ]
    }
    assert not any(name.startswith("broken-Child-") for name in standing)
