"""The IAM actions `mmtui cleanup` needs, declared as the labs declare theirs, and its
least-privilege policy (`mmtui policy cleanup`).

`CALLS` is what cleanup itself calls (its reads, and the changes of each section); `ON_BEHALF`
is what AWS checks against the caller for the work those calls start: CloudFormation deletes
each stack's resources as the caller (no service role is passed), DynamoDB deletes the replica
in the other region as the caller.
"""

from __future__ import annotations

from typing import Any

from mmtui.engine.permissions import policy_document, split_global
from mmtui.engine.registry import LabPermissions, OnBehalf, declare_permissions
from mmtui.labs.lab3.permissions import ON_BEHALF as LAB3_ON_BEHALF
from mmtui.labs.lab4.permissions import TASKS as LAB4_TASKS


def _actions(*names: str) -> frozenset[str]:
    return frozenset(names)


CALLS = frozenset().union(
    # 1. The accelerator, taken apart as Lab 4's reset of its first step does.
    LAB4_TASKS["accelerator.reset"],
    # 2. The replica, removed as Lab 3's reset of step 2 does (its table read first).
    _actions("dynamodb:DescribeTable", "dynamodb:UpdateTable"),
    # 3 and 4. The stacks: found, their resources listed, deleted, their events read.
    _actions(
        "cloudformation:DescribeStacks",
        "cloudformation:ListStackResources",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DeleteStack",
    ),
    # Images out of the stacks' repositories.
    _actions("ecr:ListImages", "ecr:BatchDeleteImage"),
    # Lab 0's services, and the services of a cluster that blocks its stack.
    _actions("ecs:ListServices", "ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService"),
    # The pipelines' buckets: found through the pipelines, emptied, the other region's deleted.
    _actions(
        "codepipeline:ListPipelines",
        "codepipeline:GetPipeline",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:DeleteBucket",
    ),
    _actions("xray:GetGroups", "xray:DeleteGroup"),
    # A security group held by the interfaces of stopped tasks.
    _actions("ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"),
)

_STACK_DELETION = next(
    grant.actions
    for grant in LAB3_ON_BEHALF["infrastructure.reset"]
    if grant.sid == "CloudFormationDeletesTheTemplateResourcesAsTheCaller"
)

ON_BEHALF = (
    OnBehalf(
        "CloudFormationDeletesTheStacksResourcesAsTheCaller",
        _STACK_DELETION
        | _actions(
            # The primary's own resources beyond the secondary's, and its nested stacks'
            # (the CI/CD stack, the Lab 2 dashboard) and Lab 3 step 5's dashboard stack.
            "dynamodb:DeleteTable",
            "cloud9:DeleteEnvironmentMembership",
            "cloud9:DeleteEnvironment",
            "ec2:DeleteNetworkInterface",
            "codecommit:DeleteRepository",
            "codecommit:GetRepository",
            "codebuild:DeleteProject",
            "codebuild:BatchGetProjects",
            "codepipeline:DeletePipeline",
            "codepipeline:GetPipeline",
            "events:DescribeRule",
            "events:RemoveTargets",
            "events:DeleteRule",
            "s3:DeleteBucket",
            "cloudwatch:DeleteDashboards",
            "cloudwatch:GetDashboard",
        ),
    ),
    *LAB3_ON_BEHALF["data_tier.reset"],
)

PERMISSIONS = declare_permissions(
    "cleanup", LabPermissions({"cleanup": CALLS}, on_behalf={"cleanup": ON_BEHALF})
)


def cleanup_policy(regions: list[str]) -> dict[str, Any]:
    """The least-privilege policy of `mmtui cleanup` in the workshop's two `regions`."""
    grants = split_global("MmtuiCleanup", CALLS)
    granted = set(CALLS)
    for extra in ON_BEHALF:  # each action once, in the first statement that needs it
        grants += split_global(f"Mmtui{extra.sid}", extra.actions - granted)
        granted |= extra.actions
    return policy_document(grants, regions)
