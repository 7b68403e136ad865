"""Which IAM action each AWS call needs: the one mapping the engine, the test suite and the
sandbox share.

Most calls need `<service prefix>:<OperationName>`. The prefix is the service's signing name
except where IAM names the service otherwise (CloudWatch signs as `monitoring`). The
operations that differ are listed in OPERATION_ACTIONS, from the AWS Service Authorization
Reference: S3's HEAD and list operations are authorised as actions on the bucket.

It sits at the top of the package, beside neither the engine nor the sandbox, because both use
it: the engine to build a lab's policy and prove each unit's declaration, the sandbox to enforce
a policy with the same mapping; neither may import the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
"""What IAM accepts as a role's name (a fleet's targets file names roles, the sandbox makes
them)."""
"""An IAM action as units declare it (no wildcards: a declaration names what it calls)."""

SIGNING_NAME_PREFIXES: dict[str, str] = {
    "monitoring": "cloudwatch",
}
"""Signing names (the credential scope's service) that are not the IAM service prefix."""

OPERATION_ACTIONS: dict[tuple[str, str], str] = {
    # S3: reading a bucket's listing or metadata is authorised as ListBucket; object metadata
    # as GetObject; a multi-object delete needs DeleteObject for each object.
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "GetBucketLocation"): "s3:GetBucketLocation",
}
"""(IAM prefix, API operation) → the IAM action, where it is not `prefix:Operation`.

Calls whose action is the operation's own name, listed because one might expect otherwise:
X-Ray GetGroups (xray:GetGroups), ECS ListServices (ecs:ListServices), CloudWatch GetDashboard
(cloudwatch:GetDashboard), CodePipeline ListPipelineExecutions."""

GIT_ACTIONS: dict[str, str] = {
    "git-upload-pack": "codecommit:GitPull",
    "git-receive-pack": "codecommit:GitPush",
}
"""CodeCommit's git over HTTPS: fetching and cloning need GitPull, pushing GitPush (the
`info/refs?service=...` request names the same service as the pack request that follows)."""

NEEDS_NO_PERMISSION = frozenset({"sts:GetCallerIdentity"})
"""Calls AWS answers whatever the caller's policies say (GetCallerIdentity, documented)."""

GLOBAL_PREFIXES = frozenset({"iam", "globalaccelerator"})
"""Services whose requests are signed for one fixed region whatever the lab's regions (IAM for
us-east-1, Global Accelerator's API for us-west-2): their statement cannot carry the lab's
`aws:RequestedRegion` condition."""


def service_prefix(signing_name: str) -> str:
    return SIGNING_NAME_PREFIXES.get(signing_name, signing_name)


def iam_action(signing_name: str, operation: str) -> str:
    """The IAM action an API call needs, from its signing name and operation name."""
    prefix = service_prefix(signing_name)
    return OPERATION_ACTIONS.get((prefix, operation), f"{prefix}:{operation}")


def git_action(path: str, query: str = "") -> str | None:
    """The CodeCommit action of a git smart-HTTP request, None if it is not one."""
    for service, action in GIT_ACTIONS.items():
        if path.endswith(f"/{service}") or f"service={service}" in query:
            return action
    return None


def client_action(client: Any, operation: str) -> str:
    """The IAM action of `operation` called on a boto3 client."""
    model = client.meta.service_model
    return iam_action(str(model.signing_name or model.endpoint_prefix), operation)


def invalid_actions(actions: Iterable[str]) -> list[str]:
    return sorted(a for a in actions if not ACTION.match(a))
