"""Attendee accounts: more AWS accounts in one sandbox, reached as instructors reach theirs.

At a workshop every attendee has an AWS account of their own, and the instructor reaches each
one by assuming a role in it (a role ARN and an external id) from the instructor's own
credentials. The sandbox does the same behind the same API: `Sandbox.add_accounts()` registers
accounts here, creates the instructor role in each (its trust policy names the instructor's
account and, if given, requires the external id) and seeds each as Labs 0-2 leave it.
`sts assume-role` then answers credentials that act in that account; moto already maps a key
made by AssumeRole to the role's account (`protocol.account_of`).

moto lets anyone assume any role ARN, even one that does not exist. This extension answers
AssumeRole as AWS does instead: `AccessDenied` (HTTP 403, AWS's wording) unless the role exists
in its account and its trust policy allows the caller with the external id given. So a fleet
target with a wrong external id or a role that is not there fails as it would at a real event.

The sandbox itself also acts in each account (seeding, the load balancer stand-ins, the
pipelines' builds and deploys): for that every attendee account holds one access key of the
sandbox's own, made in that account's IAM (a temporary key bound to no user, so it shows in no
listing), kept here with the account's record.

moto internals relied on (moto is pinned to 5.2.1): `IAMBackend.create_temp_access_key()` and
`get_roles()`, and a role's `assume_role_policy_document` as given (moto/iam/models.py);
`STSBackend.get_caller_identity()` for who calls (moto/sts/models.py); `iam_backends` being a
dict of accounts, so that asking whether an account exists does not create it.

To authenticate requests (`moto_principal`), it reads the keys moto made: each IAM backend's
`access_keys` dict (key id → `AccessKey` with `secret_access_key`, `status` and, for a key
AssumeRole made, `role_arn`), and for those the `AssumedRole` in `STSBackend.assumed_roles`
of the role's account (`get_assumed_role_from_access_key()`: `session_token`, `expiration` as
a naive UTC datetime). GetSessionToken and GetFederationToken keep nothing in moto, so their
credentials are not accepted.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import unquote

from mmtui import iam_actions
from mmtui.sandbox.core.auth import Principal
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import (
    DEFAULT_ACCOUNT,
    TEMPLATE_ACCOUNT,
    AwsRequest,
    AwsResponse,
    aws_error,
)

ACCOUNT_ID = re.compile(r"^\d{12}$")
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
"""The role AWS Organizations makes in every member account for the management account."""
ADMINISTRATOR_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
_ROLE_NAME = iam_actions.ROLE_NAME
_ROLE_ARN = re.compile(r"^arn:(?P<partition>aws[\w-]*):iam::(?P<account>\d{12}):role/.+$")
_ASSUMED_ROLE = re.compile(r"^arn:aws[\w-]*:sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/")


@dataclass(frozen=True)
class AccountRecord:
    """One attendee account of the sandbox."""

    account_id: str
    role_name: str
    """The role the instructor assumes in it."""
    external_id: str | None
    """What its trust policy requires as `sts:ExternalId` (None: nothing)."""
    trusted_account: str
    """The instructor's account, which the role trusts."""
    access_key: str
    """The sandbox's own key in this account (seeding, load balancers, builds)."""
    secret_key: str

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"


@dataclass
class State:
    accounts: dict[str, AccountRecord] = field(default_factory=dict)


def trust_policy(trusted_account: str, external_id: str | None) -> dict[str, Any]:
    """The instructor role's trust policy: the instructor's account, with the external id."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


class Accounts(Extension):
    name = "accounts"

    def __init__(self) -> None:
        self.state = State()

    # -------------------------------------------------------------- persistence

    def get_state(self) -> Any:
        return self.state

    def set_state(self, state: Any) -> None:
        self.state = state if isinstance(state, State) else State()

    def drop_account(self, account: str) -> None:
        self.state.accounts.pop(account, None)

    # -------------------------------------------------------------- the accounts

    def get(self, account: str) -> AccountRecord | None:
        return self.state.accounts.get(account)

    def ids(self) -> list[str]:
        return sorted(self.state.accounts)

    def register(
        self, account: str, role_name: str, external_id: str | None, trusted_account: str
    ) -> AccountRecord:
        """Make the account's sandbox key and instructor role, and remember it (lock held)."""
        from moto.iam.models import iam_backends

        iam = iam_backends[account]["aws"]
        key = iam.create_temp_access_key()
        record = AccountRecord(
            account_id=account,
            role_name=role_name,
            external_id=external_id,
            trusted_account=trusted_account,
            access_key=str(key.access_key_id),
            secret_key=str(key.secret_access_key),
        )
        self.state.accounts[account] = record
        return record

    # -------------------------------------------------------------- requests

    def before(self, request: AwsRequest) -> AwsResponse | None:
        if request.service != "sts" or request.operation != "AssumeRole":
            return None
        role_arn = _first(request.form.get("RoleArn"))
        if role_arn is None:
            return None  # moto's own validation answers
        caller = _caller_arn(request)
        if _may_assume(role_arn, caller, request.account, _first(request.form.get("ExternalId"))):
            return None  # moto makes the credentials, in the role's account
        return aws_error(
            request,
            403,
            "AccessDenied",
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _caller_arn(request: AwsRequest) -> str:
    """Who calls, as STS GetCallerIdentity would say (moto's own answer for the key)."""
    from moto.sts.models import sts_backends

    backend = sts_backends[request.account]["aws"]
    _user_id, arn, _account = backend.get_caller_identity(request.access_key, request.region)
    return str(arn)


def _may_assume(role_arn: str, caller: str, caller_account: str, external_id: str | None) -> bool:
    """Whether AWS would let `caller` assume the role: it exists, and its trust policy allows
    the caller with this external id (lock held: reads moto's IAM)."""
    from moto.iam.models import iam_backends

    match = _ROLE_ARN.match(role_arn)
    if match is None or match["partition"] != "aws":
        return False
    if not dict.__contains__(iam_backends, match["account"]):
        return False  # an account nobody made has no roles (and looking would make one)
    roles = iam_backends[match["account"]]["aws"]
    role = next((r for r in roles.get_roles() if r.arn == role_arn), None)
    if role is None:
        return False
    try:
        document = json.loads(unquote(str(role.assume_role_policy_document)))
    except ValueError:
        return False
    principals = _caller_principals(caller, caller_account)
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    matching = [
        s
        for s in statements
        if isinstance(s, dict)
        and _allows_action(s.get("Action"))
        and _names_principal(s.get("Principal"), principals)
        and _conditions_hold(s.get("Condition"), external_id)
    ]
    if any(s.get("Effect") == "Deny" for s in matching):
        return False
    return any(s.get("Effect") == "Allow" for s in matching)


def _caller_principals(caller: str, account: str) -> set[str]:
    """What a trust policy's `AWS` principal may say to name the caller."""
    names = {"*", account, f"arn:aws:iam::{account}:root", caller}
    assumed = _ASSUMED_ROLE.match(caller)
    if assumed is not None:
        # A role session is named in trust policies by its role's ARN.
        names.add(f"arn:aws:iam::{assumed['account']}:role/{assumed['role']}")
    return names


def _allows_action(action: Any) -> bool:
    actions = action if isinstance(action, list) else [action]
    return any(
        isinstance(a, str) and fnmatch.fnmatchcase("sts:assumerole", a.lower()) for a in actions
    )


def _names_principal(principal: Any, names: set[str]) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    listed = principal.get("AWS", [])
    listed = listed if isinstance(listed, list) else [listed]
    return any(str(entry) in names for entry in listed)


def _conditions_hold(condition: Any, external_id: str | None) -> bool:
    """The `sts:ExternalId` conditions of a statement (StringEquals, StringLike, and their
    IfExists forms). Other condition keys are not evaluated: the sandbox has nothing to test
    them against, and the instructor roles it makes use none."""
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            return False
        for key, expected in tests.items():
            if key.lower() != "sts:externalid":
                continue
            base = operator.removesuffix("IfExists")
            if external_id is None:
                if operator.endswith("IfExists"):
                    continue
                return False
            values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
            if base == "StringEquals":
                held = external_id in values
            elif base == "StringLike":
                held = any(fnmatch.fnmatchcase(external_id, v) for v in values)
            elif base == "StringNotEquals":
                held = external_id not in values
            else:
                return False  # an operator the sandbox does not evaluate: not granted
            if not held:
                return False
    return True


def valid_account_id(account: str) -> bool:
    return bool(ACCOUNT_ID.match(account)) and account not in (DEFAULT_ACCOUNT, TEMPLATE_ACCOUNT)


def valid_role_name(name: str) -> bool:
    return bool(_ROLE_NAME.match(name))


def moto_principal(access_key: str) -> Principal | None:
    """The account, secret and (for AssumeRole's keys) session token of a key moto's IAM
    holds, in any account; None for a key it does not hold or an inactive one. Call with the
    sandbox lock held."""
    if not access_key or "moto.iam.models" not in sys.modules:
        return None
    from moto.iam.models import iam_backends

    for account, partitions in list(iam_backends.items()):
        # dict.items: the partitions made so far (indexing one would make it).
        for partition, backend in list(dict.items(partitions)):
            key = backend.access_keys.get(access_key)
            if key is None or key.status != "Active":
                continue
            if not key.role_arn:
                return Principal(access_key, str(key.secret_access_key), str(account))
            assumed = _assumed_role(str(account), str(partition), access_key)
            if assumed is None:
                return None
            return Principal(
                access_key,
                str(assumed.secret_access_key),
                str(account),
                session_token=str(assumed.session_token),
                expiration=assumed.expiration.replace(tzinfo=UTC),
            )
    return None


def _assumed_role(account: str, partition: str, access_key: str) -> Any:
    if "moto.sts.models" not in sys.modules:
        return None
    from moto.sts.models import sts_backends

    if not dict.__contains__(sts_backends, account):
        return None
    backend = dict.get(sts_backends[account], partition)
    return None if backend is None else backend.get_assumed_role_from_access_key(access_key)
