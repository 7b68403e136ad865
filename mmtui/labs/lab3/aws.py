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


def mysfit_ids(check: Checker, region: str, table: str) -> set[str] | None:
    """The ids of the lab's table's items in `region` that are mysfits (not the canaries of
    `mmtui probe replication`, which a probe killed before it could delete them leaves behind:
    red-team K10b), or None when the table is not there. Read once per round of checks: the
    prerequisites count them, step 2 compares the regions' (one scan, not two, in a region
    both read; 12 short ids)."""
    from mmtui.labs.lab3.probe import CANARY_PREFIX

    def fetch() -> set[str] | None:
        pages = scan_table(check, region, TableName=table, ProjectionExpression="MysfitId")
        if pages is None:
            return None
        ids = {item["MysfitId"]["S"] for page in pages for item in page.get("Items", [])}
        return {mysfit for mysfit in ids if not mysfit.startswith(CANARY_PREFIX)}

    return facts(check).once(f"mysfit-ids:{region}:{table}", fetch)


def describe_table(check: Checker, region: str) -> dict[str, Any] | None:
    """The lab's table as DescribeTable shows it in `region`, None when it is not there; read
    once per round (three of step 2's checks read it)."""
    client = check.ctx.client("dynamodb", region)
    name = check.ctx.param("table")

    def fetch() -> dict[str, Any] | None:
        found = unless_missing(lambda: client.describe_table(TableName=name), NO_TABLE)
        return None if found is None else dict(found["Table"])

    return facts(check).once(f"table:{region}:{name}", fetch)


IMAGE_MISSING = ("ImageNotFoundException", "RepositoryNotFoundException")
"""ECR's answers that mean "no such image"; any other error (AccessDenied, throttling) says
nothing about the image and ends the check as an error with its code."""


def error_code_of(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
