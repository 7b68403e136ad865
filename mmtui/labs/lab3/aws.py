"""What every step asks of AWS the same way: one way to say "not found" (`unless_missing`,
the error codes that mean it), the lab's facts as seen from a check, and the table scans that
the prerequisites and step 2 both make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mmtui.engine.checks import Checker
from mmtui.labs.lab3.facts import Lab3Facts

T = TypeVar("T")


def facts(check: Checker) -> Lab3Facts:
    found: Lab3Facts = check.ctx.facts
    return found


def unless_missing(fetch: Callable[[], T], *codes: str) -> T | None:
    """`fetch()`, or None when AWS answers that the thing does not exist (one of `codes`)."""
    from botocore.exceptions import ClientError

    try:
        return fetch()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in codes:
            return None
        raise


NO_TABLE = "ResourceNotFoundException"


def scan_table(check: Checker, region: str, **kwargs: Any) -> list[dict[str, Any]] | None:
    """Every page of a scan, or None when the table does not exist."""
    client = check.ctx.client("dynamodb", region)
    return unless_missing(lambda: list(client.get_paginator("scan").paginate(**kwargs)), NO_TABLE)


def count_items(check: Checker, region: str, table: str) -> int | None:
    pages = scan_table(check, region, TableName=table, Select="COUNT")
    return None if pages is None else sum(int(page.get("Count", 0)) for page in pages)


def count_mysfits(check: Checker, region: str, table: str) -> int | None:
    """The items of the lab's table that are mysfits: not the canaries of `mmtui probe
    replication`, which a probe killed before it could delete them leaves behind (red-team
    K10b)."""
    from mmtui.labs.lab3.probe import CANARY_PREFIX

    pages = scan_table(
        check,
        region,
        TableName=table,
        Select="COUNT",
        FilterExpression="NOT begins_with(MysfitId, :canary)",
        ExpressionAttributeValues={":canary": {"S": CANARY_PREFIX}},
    )
    return None if pages is None else sum(int(page.get("Count", 0)) for page in pages)


IMAGE_MISSING = ("ImageNotFoundException", "RepositoryNotFoundException")
"""ECR's answers that mean "no such image"; any other error (AccessDenied, throttling) says
nothing about the image and ends the check as an error with its code."""


def error_code_of(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
