"""Roles with a policy the sandbox enforces (tagged `mmtui:enforce-iam`), for the tests of
the sandbox's IAM enforcement and of `mmtui policy`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mmtui.sandbox.behaviours.iam_enforcement import ENFORCE_TAG
from tests.conftest import AttendeeSandbox, assume_role

ROLE = "MmtuiRestricted"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(*actions: str, regions: list[str] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
    if regions is not None:
        statement["Condition"] = {"StringEquals": {"aws:RequestedRegion": regions}}
    return statement


def make_role(
    room: AttendeeSandbox,
    account: str,
    document: dict[str, Any],
    *,
    enforce: bool = True,
    name: str = ROLE,
    managed: dict[str, Any] | None = None,
) -> str:
    """A role in `account` that the instructor's keys may assume, with `document` inline."""
    iam = room.session(account).client("iam", endpoint_url=room.url)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{room.sandbox.account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    tags = [{"Key": ENFORCE_TAG, "Value": "true"}] if enforce else []
    arn: str = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=tags
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="granted", PolicyDocument=json.dumps(document))
    if managed is not None:
        policy_arn = iam.create_policy(
            PolicyName=f"{name}-managed", PolicyDocument=json.dumps(managed)
        )["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return arn


def role_session(room: AttendeeSandbox, arn: str) -> Callable[[str, str], Any]:
    """`client(service, region)` acting as a session of the role."""
    import boto3

    keys = assume_role(room.url, room.sandbox.env(), arn, session_name="attendee")
    session = boto3.Session(
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys["AWS_SESSION_TOKEN"],
    )

    def client(service: str, region: str = "us-west-2") -> Any:
        from botocore.config import Config

        return session.client(
            service,
            region_name=region,
            endpoint_url=room.url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )

    return client
