"""IAM for the roles that ask for it: a request made with an assumed role's credentials is
allowed only if the role's policies allow its action, as AWS decides.

moto authorises nothing by default, so a policy that lacks an action the lab needs would go
unnoticed until an attendee's real account refused it. A role tagged `mmtui:enforce-iam` =
`true` (or any role, when the sandbox is told to enforce everywhere) has its inline and
attached policies evaluated for each request its session keys sign: an explicit Deny wins,
then an Allow must match. What is evaluated:

- Action and NotAction, with `*` and `?` wildcards, case-insensitively, as IAM matches them.
- Conditions on `aws:RequestedRegion` (the region the request is signed for), with the
  String operators and their IfExists forms; a statement with any other condition key is not
  applied (an Allow grants nothing, a Deny refuses nothing), since the sandbox cannot test it.
- Resources are not evaluated: every statement applies to every resource. The policies mmtui
  prints grant `*`.

The action of a request is found as `mmtui.iam_actions` maps an SDK call, so the suite
and the sandbox agree on it. sts:GetCallerIdentity is always allowed (as on AWS). Not
evaluated: git's requests to CodeCommit (served before this extension sees them, so
codecommit:GitPull/GitPush are declared and recorded but not enforced), and presigned URLs
(their key is in the query string, which the sandbox does not read as a signature).

A refusal is the service's own AccessDenied in its protocol: `AccessDeniedException` for
JSON services (HTTP 400; 403 for REST-JSON), `AccessDenied` (403) for query and S3 (an empty
403 for a HEAD) and for query services spoken in JSON (CloudWatch, through the
`x-amzn-query-error` header), EC2's `UnauthorizedOperation`; the message is AWS's:
"User: <session ARN> is not authorized to perform: <action> on resource: <resource> because
no identity-based policy allows the <action> action".

moto internals relied on (moto is pinned to 5.2.1): keys made by AssumeRole start with
`ASIA` and are recorded in `sts_backends[<role's account>]["aws"].assumed_roles`, found with
`STSBackend.get_assumed_role_from_access_key()` (moto/sts/models.py; `AssumedRole.role_arn`
and `.arn`); `IAMBackend.get_role_by_arn()`, a role's `tags` (a list of Key/Value dicts),
`policies` (inline: name → document) and `managed_policies` (ARN → policy whose `versions`
carry `is_default` and `document`) (moto/iam/models.py).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote

from mmtui.iam_actions import NEEDS_NO_PERMISSION, iam_action, service_prefix
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, aws_error

ENFORCE_TAG = "mmtui:enforce-iam"
"""The tag (value `true`) that makes the sandbox enforce IAM for a role's sessions."""
ASSUMED_KEY_PREFIX = "ASIA"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool = False


class IamEnforcement(Extension):
    name = "iam_enforcement"

    def __init__(self, enforce_all_roles: bool = False) -> None:
        self.enforce_all_roles = enforce_all_roles
        """Enforce for every assumed role, tagged or not (never the default)."""

    def before(self, request: AwsRequest) -> AwsResponse | None:
        if not request.access_key.startswith(ASSUMED_KEY_PREFIX) or not request.service:
            return None  # long-term keys (the sandbox's own, sandbox.env's) are not evaluated
        session = _assumed_role(request)
        if session is None:
            return None
        role = _role(session.account_id, session.role_arn)
        if role is None or not (self.enforce_all_roles or enforced(role)):
            return None
        action = request_action(request)
        if action in NEEDS_NO_PERMISSION:
            return None
        decision = evaluate(role_documents(role), action, request.region)
        if decision.allowed:
            return None
        return access_denied(request, str(session.arn), action, decision.explicit_deny)


# ---------------------------------------------------------------------- who is calling


def _assumed_role(request: AwsRequest) -> Any:
    """moto's record of the role session whose key signed the request (lock held)."""
    from moto.sts.models import sts_backends

    if not dict.__contains__(sts_backends, request.account):
        return None  # looking would create the account
    return sts_backends[request.account]["aws"].get_assumed_role_from_access_key(request.access_key)


def _role(account: str, arn: str) -> Any:
    from moto.iam.models import iam_backends

    if not dict.__contains__(iam_backends, account):
        return None
    try:
        return iam_backends[account]["aws"].get_role_by_arn(arn)
    except Exception:  # noqa: BLE001  (moto's NotFoundException: a role deleted since)
        return None


def enforced(role: Any) -> bool:
    tags = getattr(role, "tags", None) or []
    return any(
        isinstance(t, dict)
        and t.get("Key") == ENFORCE_TAG
        and str(t.get("Value")).lower() == "true"
        for t in tags
    )


def role_documents(role: Any) -> list[dict[str, Any]]:
    """The role's inline policies and the default versions of its attached ones, parsed."""
    texts = [str(text) for text in (getattr(role, "policies", None) or {}).values()]
    texts += [
        str(version.document)
        for policy in (getattr(role, "managed_policies", None) or {}).values()
        for version in getattr(policy, "versions", [])
        if getattr(version, "is_default", False)
    ]
    documents = []
    for text in texts:
        try:
            loaded = json.loads(text)
        except ValueError:
            try:
                loaded = json.loads(unquote(text))
            except ValueError:
                continue  # IAM would not have accepted it; it grants nothing
        if isinstance(loaded, dict):
            documents.append(loaded)
    return documents


# ---------------------------------------------------------------------- what is asked


def request_action(request: AwsRequest) -> str:
    """The IAM action of a request, named as for the SDK call that sends it."""
    if service_prefix(request.service) == "s3":
        return iam_action("s3", s3_operation(request))
    return iam_action(request.service, request.operation)


def s3_operation(request: AwsRequest) -> str:
    """S3's operation from method, path and query (S3 tells many apart by query alone, so the
    generic REST route matching cannot name them). Path-style addressing, as the sandbox's
    clients use."""
    parts = [p for p in request.path.split("/") if p]
    query = parse_qs(request.query_string, keep_blank_values=True)
    method = request.method
    if not parts:
        return "ListBuckets"
    on_object = len(parts) > 1
    if on_object:
        if method in ("GET", "HEAD"):
            return "GetObject" if method == "GET" else "HeadObject"
        if method == "PUT":
            return "PutObject"
        if method == "DELETE":
            return "DeleteObjectVersion" if "versionId" in query else "DeleteObject"
        return "PutObject"  # multipart uploads are authorised as PutObject
    if method == "HEAD":
        return "HeadBucket"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if method == "GET":
        if "versions" in query:
            return "ListObjectVersions"
        if "location" in query:
            return "GetBucketLocation"
        subresource = next((k for k in query if not k.startswith(("list-", "prefix"))), None)
        if subresource and query[subresource] == [""]:
            return f"GetBucket{subresource[:1].upper()}{subresource[1:]}"
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    if method == "PUT":
        subresource = next((k for k in query if query[k] == [""]), None)
        if subresource:
            return f"PutBucket{subresource[:1].upper()}{subresource[1:]}"
        return "CreateBucket"
    if method == "DELETE":
        return "DeleteBucket"
    return f"{method}Bucket"


# ---------------------------------------------------------------------- the decision


def evaluate(documents: list[dict[str, Any]], action: str, region: str) -> Decision:
    """IAM's identity-policy logic for one action: an explicit Deny refuses, else an Allow
    grants, else the implicit deny."""
    allowed = False
    for document in documents:
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        for statement in statements:
            if not isinstance(statement, dict) or not _applies(statement, action, region):
                continue
            if statement.get("Effect") == "Deny":
                return Decision(False, explicit_deny=True)
            if statement.get("Effect") == "Allow":
                allowed = True
    return Decision(allowed)


def _applies(statement: dict[str, Any], action: str, region: str) -> bool:
    if "Action" in statement:
        matched = _matches(statement["Action"], action)
    elif "NotAction" in statement:
        matched = not _matches(statement["NotAction"], action)
    else:
        return False
    return matched and _conditions_hold(statement.get("Condition"), region)


def _matches(patterns: Any, action: str) -> bool:
    listed = patterns if isinstance(patterns, list) else [patterns]
    return any(
        isinstance(p, str) and fnmatch.fnmatchcase(action.lower(), p.lower()) for p in listed
    )


def _conditions_hold(condition: Any, region: str) -> bool:
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            return False
        base = str(operator).removesuffix("IfExists")
        for key, expected in tests.items():
            if str(key).lower() != "aws:requestedregion":
                return False  # a key the sandbox cannot test: the statement is not applied
            values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
            if base in ("StringEquals", "ForAnyValue:StringEquals"):
                held = region in values
            elif base == "StringEqualsIgnoreCase":
                held = region.lower() in (v.lower() for v in values)
            elif base in ("StringLike", "ForAnyValue:StringLike"):
                held = any(fnmatch.fnmatchcase(region, v) for v in values)
            elif base == "StringNotEquals":
                held = region not in values
            elif base == "StringNotLike":
                held = not any(fnmatch.fnmatchcase(region, v) for v in values)
            else:
                return False
            if not held:
                return False
    return True


# ---------------------------------------------------------------------- the refusal


def access_denied(request: AwsRequest, caller: str, action: str, explicit: bool) -> AwsResponse:
    resource = _resource(request, action)
    why = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {action} action"
    )
    message = f"User: {caller} is not authorized to perform: {action} on resource: {resource} {why}"
    prefix = action.split(":", 1)[0]
    if prefix == "ec2":
        return _ec2_denied(message)
    if prefix == "s3":
        if request.method == "HEAD":
            return AwsResponse(403, b"", {"Content-Type": "application/xml"})
        return aws_error(request, 403, "AccessDenied", message)
    if request.protocol == "json":
        if request.target and _query_compatible(request.service):
            # A query service spoken in JSON (CloudWatch) keeps its query error code, which
            # AWS sends in this header and botocore reports.
            answer = aws_error(request, 403, "AccessDeniedException", message)
            answer.headers["x-amzn-query-error"] = "AccessDenied;Sender"
            return answer
        status = 400 if request.target else 403  # JSON 1.0/1.1 answer 400; REST-JSON 403
        return aws_error(request, status, "AccessDeniedException", message)
    return aws_error(request, 403, "AccessDenied", message)


@lru_cache(maxsize=32)
def _query_compatible(signing_name: str) -> bool:
    """Whether botocore's model of the service marks it `awsQueryCompatible`."""
    import botocore.session

    session = botocore.session.get_session()
    name = service_prefix(signing_name)
    if name not in session.get_available_services():
        return False
    return "awsQueryCompatible" in session.get_service_model(name).metadata


def _ec2_denied(message: str) -> AwsResponse:
    from xml.sax.saxutils import escape

    body = (
        "<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
        f"<Message>You are not authorized to perform this operation. {escape(message)}"
        "</Message></Error></Errors><RequestID>mmtui-sandbox</RequestID></Response>"
    )
    return AwsResponse(403, body.encode(), {"Content-Type": "text/xml"})


def _resource(request: AwsRequest, action: str) -> str:
    """The resource AWS names in the refusal, where the request names one plainly; `*` for
    the calls that act on no single resource (lists, describes of many)."""
    prefix = action.split(":", 1)[0]
    region, account = request.region, request.account
    fields: dict[str, Any] = {}
    if request.protocol == "json" and request.body:
        try:
            fields = request.json()
        except ValueError:
            fields = {}
    elif request.is_form:
        fields = {k: v[0] for k, v in request.form.items() if v}
    if prefix == "dynamodb" and fields.get("TableName"):
        return f"arn:aws:dynamodb:{region}:{account}:table/{fields['TableName']}"
    if prefix == "cloudformation" and fields.get("StackName"):
        name = str(fields["StackName"])
        if name.startswith("arn:"):
            return name
        return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*"
    if prefix == "codepipeline" and fields.get("name"):
        return f"arn:aws:codepipeline:{region}:{account}:{fields['name']}"
    if prefix == "ecr" and fields.get("repositoryName"):
        return f"arn:aws:ecr:{region}:{account}:repository/{fields['repositoryName']}"
    if prefix == "codecommit" and fields.get("repositoryName"):
        return f"arn:aws:codecommit:{region}:{account}:{fields['repositoryName']}"
    if prefix == "cloudwatch" and fields.get("DashboardName"):
        return f"arn:aws:cloudwatch::{account}:dashboard/{fields['DashboardName']}"
    if prefix == "s3":
        parts = [p for p in request.path.split("/") if p]
        return f"arn:aws:s3:::{'/'.join(parts)}" if parts else "*"
    return "*"
