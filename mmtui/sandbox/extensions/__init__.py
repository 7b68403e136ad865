"""The behaviours mmtui adds to moto, in the order they see each request."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmtui.sandbox.app import Extension
    from mmtui.sandbox.server import Sandbox


def default_extensions(sandbox: Sandbox) -> list[Extension]:
    from mmtui.sandbox.extensions.accounts import Accounts
    from mmtui.sandbox.extensions.cloudformation import CloudFormationFixes
    from mmtui.sandbox.extensions.dynamodb_global import DynamoDBGlobalTables
    from mmtui.sandbox.extensions.git_repos import GitRepositories
    from mmtui.sandbox.extensions.iam_enforcement import IamEnforcement
    from mmtui.sandbox.extensions.load_balancers import LoadBalancers
    from mmtui.sandbox.extensions.xray_groups import XRayGroups
    from mmtui.sandbox.pipelines import Pipelines

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
        Pipelines(sandbox),
    ]
