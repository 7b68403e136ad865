"""The behaviours mmtui adds to moto, in the order they see each request."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmtui.sandbox.core.extension import Extension
    from mmtui.sandbox.core.server import Sandbox


def default_extensions(sandbox: Sandbox) -> list[Extension]:
    from mmtui.sandbox.behaviours.accounts import Accounts
    from mmtui.sandbox.behaviours.cloudformation import CloudFormationFixes
    from mmtui.sandbox.behaviours.dynamodb_global import DynamoDBGlobalTables
    from mmtui.sandbox.behaviours.git_repos import GitRepositories
    from mmtui.sandbox.behaviours.global_accelerator import GlobalAccelerator
    from mmtui.sandbox.behaviours.iam_enforcement import IamEnforcement
    from mmtui.sandbox.behaviours.load_balancers import LoadBalancers
    from mmtui.sandbox.behaviours.pipelines import Pipelines
    from mmtui.sandbox.behaviours.xray_groups import XRayGroups

    return [
        # First: git's requests are recognised by their path and must not reach the others.
        GitRepositories(sandbox),
        # Before the others: an AssumeRole it refuses reaches nothing else.
        Accounts(),
        # Before any extension that answers an API itself: a call IAM refuses reaches nothing.
        IamEnforcement(),
        XRayGroups(),
        CloudFormationFixes(sandbox),
        DynamoDBGlobalTables(sandbox),
        LoadBalancers(sandbox),
        # After the load balancers: its endpoints are theirs, and it reads their health.
        GlobalAccelerator(sandbox),
        Pipelines(sandbox),
    ]
