"""What blocks a stack's deletion on AWS blocks it in the sandbox too, with AWS's words in the
failed resource's event: a bucket with objects, a repository with images, a cluster with
services. The workshop's own clean-up function (its CleanDelete custom resource) still does
what it does on AWS when the stack goes, and nothing more."""

from __future__ import annotations

import json
import re
from typing import Any

from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop import stacks as workshop

REGION = "us-east-1"
PRIMARY = "us-west-2"

BUCKET = """
Resources:
  Store:
    Type: AWS::S3::Bucket
"""

REPOSITORY = """
Parameters:
  Empty: {Type: String, Default: 'false'}
Resources:
  Images:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Sub '${AWS::StackName}-images'
      EmptyOnDelete: !Ref Empty
"""

CLUSTER = """
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
"""

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "a" * 64},
    }
)


def _failed(cloudformation: Any, stack: str) -> dict[str, Any]:
    """The stack's DELETE_FAILED resource event (the latest)."""
    events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    return next(
        e
        for e in events
        if e["ResourceStatus"] == "DELETE_FAILED"
        and e["PhysicalResourceId"] != e["StackId"]  # a resource's, not the stack's own
    )


def _physical(cloudformation: Any, stack: str, logical: str) -> str:
    return str(
        cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=logical)[
            "StackResourceDetail"
        ]["PhysicalResourceId"]
    )


def test_a_bucket_with_objects_blocks_its_stack_until_emptied(sandbox: Sandbox) -> None:
    cloudformation = sandbox.client("cloudformation", REGION)
    s3 = sandbox.client("s3", REGION)
    cloudformation.create_stack(StackName="kept", TemplateBody=BUCKET)
    bucket = _physical(cloudformation, "kept", "Store")
    s3.put_object(Bucket=bucket, Key="report.txt", Body=b"x")

    cloudformation.delete_stack(StackName="kept")

    stack = cloudformation.describe_stacks(StackName="kept")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == "The following resource(s) failed to delete: [Store]. "
    event = _failed(cloudformation, "kept")
    assert event["LogicalResourceId"] == "Store"
    assert event["PhysicalResourceId"] == bucket
    assert re.fullmatch(
        r"The bucket you tried to delete is not empty \(Service: Amazon S3; Status Code: 409; "
        r"Error Code: BucketNotEmpty; Request ID: [0-9A-Z]{16}; S3 Extended Request ID: \S+; "
        r"Proxy: null\)",
        event["ResourceStatusReason"],
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1  # nothing leaked, nothing lost

    s3.delete_object(Bucket=bucket, Key="report.txt")
    cloudformation.delete_stack(StackName="kept")  # a retry, as on AWS
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket not in names
    assert not [s for s in cloudformation.describe_stacks()["Stacks"] if s["StackName"] == "kept"]


def test_a_repository_with_images_blocks_its_stack_unless_empty_on_delete(
    sandbox: Sandbox,
) -> None:
    cloudformation = sandbox.client("cloudformation", REGION)
    ecr = sandbox.client("ecr", REGION)
    for stack, empty in (("images", "false"), ("emptied", "true")):
        cloudformation.create_stack(
            StackName=stack,
            TemplateBody=REPOSITORY,
            Parameters=[{"ParameterKey": "Empty", "ParameterValue": empty}],
        )
        repository = _physical(cloudformation, stack, "Images")
        ecr.put_image(repositoryName=repository, imageManifest=MANIFEST, imageTag="v1")
        cloudformation.delete_stack(StackName=stack)

    stack = cloudformation.describe_stacks(StackName="images")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    event = _failed(cloudformation, "images")
    repository = event["PhysicalResourceId"]
    assert event["LogicalResourceId"] == "Images"
    assert re.fullmatch(
        rf'Resource handler returned message: "The repository with name \'{repository}\' in '
        r"registry with id '123456789012' cannot be deleted because it still contains images "
        r"\(Service: Ecr, Status Code: 400, Request ID: [0-9a-f-]{36}\)\" \(RequestToken: "
        r"[0-9a-f-]{36}, HandlerErrorCode: GeneralServiceException\)",
        event["ResourceStatusReason"],
    )
    left = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert left == [repository]  # EmptyOnDelete's repository went with its image


def test_a_cluster_with_a_service_made_outside_blocks_its_stack(sandbox: Sandbox) -> None:
    cloudformation = sandbox.client("cloudformation", REGION)
    ecs = sandbox.client("ecs", REGION)
    cloudformation.create_stack(StackName="busy", TemplateBody=CLUSTER)
    cluster = _physical(cloudformation, "busy", "Cluster")
    ecs.register_task_definition(
        family="mine", containerDefinitions=[{"name": "c", "image": "nginx", "memory": 128}]
    )
    ecs.create_service(cluster=cluster, serviceName="mine", taskDefinition="mine", desiredCount=1)

    cloudformation.delete_stack(StackName="busy")

    assert cloudformation.describe_stacks(StackName="busy")["Stacks"][0]["StackStatus"] == (
        "DELETE_FAILED"
    )
    event = _failed(cloudformation, "busy")
    assert event["LogicalResourceId"] == "Cluster"
    assert re.fullmatch(
        r'Resource handler returned message: "The Cluster cannot be deleted while Services are '
        r"active. \(Service: Ecs, Status Code: 400, Request ID: [0-9a-f-]{36}\)\" "
        r"\(RequestToken: [0-9a-f-]{36}, HandlerErrorCode: GeneralServiceException\)",
        event["ResourceStatusReason"],
    )
    [service] = ecs.describe_services(cluster=cluster, services=["mine"])["services"]
    assert service["status"] == "ACTIVE"


def test_the_primary_stack_is_held_by_its_artifact_bucket_as_on_aws(sandbox: Sandbox) -> None:
    """The pipelines leave artifacts in the CI/CD stack's bucket, which nothing of the template
    empties: the nested stack fails, and so does the primary, naming it. The clean-up
    function still removes Lab 0's services and the repositories."""
    cloudformation = sandbox.client("cloudformation", PRIMARY)
    name = workshop.PRIMARY_STACK
    nested = _physical(cloudformation, name, "MythicalCiCdStack")
    bucket = _physical(cloudformation, nested, "MythicalArtifactBucket")
    s3 = sandbox.client("s3", PRIMARY)
    s3.put_object(Bucket=bucket, Key="CorePipeline/BuildArtifact/x", Body=b"zip")

    cloudformation.delete_stack(StackName=name)

    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    event = _failed(cloudformation, name)
    assert event["LogicalResourceId"] == "MythicalCiCdStack"
    assert event["ResourceStatusReason"].startswith(
        f"Embedded stack {nested} was not successfully deleted: The following resource(s) "
        "failed to delete: [MythicalArtifactBucket]. "
    )
    inner = _failed(cloudformation, nested)
    assert inner["LogicalResourceId"] == "MythicalArtifactBucket"
    assert inner["ResourceStatusReason"].startswith("The bucket you tried to delete is not empty")
    ecs = sandbox.client("ecs", PRIMARY)
    lab0 = [f"{name}_Core-Service", f"{name}_Like-Service"]
    described = ecs.describe_services(cluster=f"Cluster-{name}", services=lab0)["services"]
    assert {s["serviceName"]: s["status"] for s in described} == dict.fromkeys(lab0, "INACTIVE")
    assert sandbox.client("ecr", PRIMARY).describe_repositories()["repositories"] == []

    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
    cloudformation.delete_stack(StackName=name)
    assert [s["StackName"] for s in cloudformation.describe_stacks()["Stacks"]] == []
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


NETWORK = """
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.7.0.0/16}
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.7.1.0/24}
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties: {VpcId: !Ref Vpc, GroupDescription: tasks}
"""


def test_an_interface_left_in_a_subnet_blocks_its_group_and_subnet(sandbox: Sandbox) -> None:
    cloudformation = sandbox.client("cloudformation", REGION)
    ec2 = sandbox.client("ec2", REGION)
    cloudformation.create_stack(StackName="net", TemplateBody=NETWORK)
    group = _physical(cloudformation, "net", "Group")
    subnet = _physical(cloudformation, "net", "Subnet")
    interface = ec2.create_network_interface(
        SubnetId=subnet, Groups=[group], Description="left behind"
    )["NetworkInterface"]["NetworkInterfaceId"]

    cloudformation.delete_stack(StackName="net")

    stack = cloudformation.describe_stacks(StackName="net")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    events = cloudformation.describe_stack_events(StackName="net")["StackEvents"]
    reasons = {
        e["LogicalResourceId"]: e["ResourceStatusReason"]
        for e in events
        if e["ResourceStatus"] == "DELETE_FAILED" and e["PhysicalResourceId"] != e["StackId"]
    }
    assert set(reasons) == {"Group", "Subnet", "Vpc"}
    assert re.fullmatch(
        rf"resource {group} has a dependent object \(Service: AmazonEC2; Status Code: 400; "
        r"Error Code: DependencyViolation; Request ID: [0-9a-f-]{36}; Proxy: null\)",
        reasons["Group"],
    )
    assert reasons["Subnet"].startswith(
        f"The subnet '{subnet}' has dependencies and cannot be deleted. (Service: AmazonEC2"
    )

    ec2.delete_network_interface(NetworkInterfaceId=interface)
    cloudformation.delete_stack(StackName="net")
    assert not [s for s in cloudformation.describe_stacks()["Stacks"] if s["StackName"] == "net"]
