"""`mmtui probe replication` on the sandbox: refuses without a global table, measures with one."""

from __future__ import annotations

import re
import time

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


def test_measures_the_lag_and_cleans_up(sandbox: Sandbox, creds: None) -> None:
    extension = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    extension.replica_create_seconds = 0.2  # type: ignore[attr-defined]
    extension.replication_lag = 0.15  # type: ignore[attr-defined]
    start_replica(sandbox)
    primary = sandbox.client("dynamodb", "us-west-2")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        replicas = primary.describe_table(TableName="mm-ddbtable")["Table"]["Replicas"]
        if replicas[0]["ReplicaStatus"] == "ACTIVE":
            break
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
