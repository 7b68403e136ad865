"""`mmtui probe replication` on the sandbox: refuses without a global table, measures with one."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import invoke, start_replica


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    access_key, secret = sandbox.credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


def test_refuses_when_the_table_is_not_global(sandbox: Sandbox, creds: None) -> None:
    result = invoke("probe", "replication", "--endpoint-url", sandbox.url)
    assert result.code == 1
    assert result.stderr.strip() == (
        "mmtui: cannot probe: mm-ddbtable is not a global table with a replica in us-east-1 "
        "(step 2 adds it), so nothing would replicate"
    )
    assert (
        sandbox.client("dynamodb", "us-west-2").scan(TableName="mm-ddbtable", Select="COUNT")[
            "Count"
        ]
        == 12
    )


def _make_global(sandbox: Sandbox, lag: float = 0.15) -> Any:
    extension = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    extension.replica_create_seconds = 0.2  # type: ignore[attr-defined]
    extension.replication_lag = lag  # type: ignore[attr-defined]
    start_replica(sandbox)
    primary = sandbox.client("dynamodb", "us-west-2")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        replicas = primary.describe_table(TableName="mm-ddbtable")["Table"]["Replicas"]
        if replicas[0]["ReplicaStatus"] == "ACTIVE":
            break
    return primary


def test_measures_the_lag_and_cleans_up(sandbox: Sandbox, creds: None) -> None:
    _make_global(sandbox)
    result = invoke("probe", "replication", "--endpoint-url", sandbox.url, "--samples", "3")
    assert result.code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["sample 1", "sample 2", "sample 3"]
    summary = re.fullmatch(
        r"replication lag: min (\d+) ms, median (\d+) ms, max (\d+) ms \(3 samples\)", lines[-1]
    )
    assert summary, lines[-1]
    low, middle, high = map(int, summary.groups())
    assert 150 <= low <= middle <= high  # never faster than the configured lag
    # The canaries are gone from both regions once the deletes have replicated.
    deadline = time.monotonic() + 10
    counts: tuple[int, int] = (0, 0)
    while time.monotonic() < deadline:
        counts = tuple(
            sandbox.client("dynamodb", r).scan(  # type: ignore[assignment]
                TableName="mm-ddbtable", Select="COUNT"
            )["Count"]
            for r in ("us-west-2", "us-east-1")
        )
        if counts == (12, 12):
            break
    assert counts == (12, 12)


def _ids(sandbox: Sandbox, region: str) -> set[str]:
    items = sandbox.client("dynamodb", region).scan(TableName="mm-ddbtable")["Items"]
    return {item["MysfitId"]["S"] for item in items}


def _checks(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    result = invoke("check", "--endpoint-url", sandbox.url, "--format", "json")
    return {c["id"]: c for s in json.loads(result.stdout)["steps"] for c in s["checks"]}


def test_canaries_a_killed_probe_left_are_not_mysfits_and_the_next_probe_removes_them(
    sandbox: Sandbox, creds: None
) -> None:
    """Red-team K10b: `kill -KILL` of a probe leaves its canaries in both regions (written here
    as it writes them). The checks do not count them; the next probe removes them, says so."""
    primary = _make_global(sandbox, lag=0.0)
    mysfits = _ids(sandbox, "us-west-2")
    leftovers = {f"mmtui-canary-{n}" for n in range(4)}
    for key in leftovers:
        primary.put_item(
            TableName="mm-ddbtable",
            Item={"MysfitId": {"S": key}, "Name": {"S": "replication canary"}},
        )
    gone = sorted(mysfits)[0]  # one mysfit fewer: canaries must not make up the number
    primary.delete_item(TableName="mm-ddbtable", Key={"MysfitId": {"S": gone}})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _ids(sandbox, "us-east-1") != _ids(sandbox, "us-west-2"):
        time.sleep(0.05)
    assert _ids(sandbox, "us-east-1") >= leftovers

    checks = _checks(sandbox)
    seeded = checks["prereq.table_seeded"]
    assert seeded["status"] == "fail", seeded
    assert seeded["observed"] == f"{len(mysfits) - 1} items"
    match = checks["data_tier.replica_items_match"]
    assert match["status"] == "pass", match
    assert match["observed"] == f"{len(mysfits) - 1} in us-west-2, {len(mysfits) - 1} here"

    result = invoke("probe", "replication", "--endpoint-url", sandbox.url, "--samples", "1")
    assert result.code == 0, result.stderr
    assert (
        "removed 4 canary items that an earlier probe, stopped before it could clean up, left "
        "in mm-ddbtable"
    ) in result.stderr
    for region in ("us-west-2", "us-east-1"):
        assert not {key for key in _ids(sandbox, region) if key.startswith("mmtui-canary-")}
