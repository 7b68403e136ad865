"""Lab 3 done entirely by hand, from the content: each step's "Do it by hand" commands, read
from lab.yaml and rendered with the sandbox's names as the guide shows them, run in bash with
the real `aws` CLI and `git` from the attendee's workspace; after each step, `mmtui check` of
that step passes. Nothing here retypes a command: a typo in what attendees copy fails this."""

from __future__ import annotations

import json
import re
import shlex
import time
from typing import Any

import pytest

from mmtui.sandbox.core.server import ENV_FILE, Sandbox
from tests.conftest import (
    LAB3_STEPS,
    by_hand_script,
    cli_target,
    deploy_secondary_by_hand,
    invoke,
    run_by_hand,
)


def check(sandbox: Sandbox, step: str) -> tuple[int, dict[str, Any]]:
    result = invoke("check", "--endpoint-url", sandbox.url, "--format", "json", "--step", step)
    return result.code, json.loads(result.stdout)


def failing(document: dict[str, Any]) -> list[str]:
    return [
        f"{c['id']}: {c['status']}: {c['message']}"
        for s in document["steps"]
        for c in s["checks"]
        if c["status"] != "pass"
    ]


def passes(sandbox: Sandbox, step: str, seconds: float = 60) -> None:
    """`mmtui check --step` passes within `seconds`: what the content's commands started
    (replication of the items, the pipeline runs its push started) ends in the background."""
    deadline = time.monotonic() + seconds
    while True:
        code, document = check(sandbox, step)
        if code == 0:
            assert [c["status"] for s in document["steps"] for c in s["checks"]]
            assert not failing(document)
            return
        assert time.monotonic() < deadline, f"{step} still failing: {failing(document)}"
        time.sleep(0.2)


def sourcing_sandbox_env(sandbox: Sandbox, script: str) -> str:
    """`script` as run in a shell that first sourced sandbox.env: the checkpoint's
    `curl http://<load balancer DNS name>/` runs as written, the sandbox being that shell's
    HTTP proxy for the names it serves (http_proxy), while `aws` and git go direct (no_proxy)."""
    return f"source {shlex.quote(str(sandbox.state_dir / ENV_FILE))}\n{script}"


def test_the_whole_lab_by_hand(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # As `source sandbox.env` would, before any of the lab was done.
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "MMTUI_RESOLVE",
        "MMTUI_RESOLVE_FILE",
    ):
        monkeypatch.setenv(name, sandbox.env()[name])
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")
    tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 0.5  # type: ignore[attr-defined]

    code, document = check(sandbox, "1")
    assert code == 1, document

    for number, step in enumerate(LAB3_STEPS, start=1):
        if step == "infrastructure":
            deploy_secondary_by_hand(sandbox)  # the same content, as other tests start there
        else:
            script = by_hand_script(sandbox, step)
            if step == "checkpoint":
                assert re.search(r"curl -s http://alb-[^/\s]+\.elb\.amazonaws\.com/", script)
                script = sourcing_sandbox_env(sandbox, script)
            done = run_by_hand(sandbox, script)
            assert done.returncode == 0, f"{step}:\n{done.stdout}\n{done.stderr}"
            if step == "checkpoint":
                assert re.search(r"current region\W+us-east-1", done.stdout, re.I), done.stdout
        passes(sandbox, step if step == "checkpoint" else str(number))

    # Done by hand, the whole lab (prerequisites included) passes.
    result = invoke("check", "--endpoint-url", sandbox.url, "--format", "json")
    assert result.code == 0, result.stdout
    document = json.loads(result.stdout)
    assert [s["id"] for s in document["steps"]] == ["prerequisites", *LAB3_STEPS]

    # And each check's "see for yourself" command, as the results show it (the content's,
    # rendered with this account's names), runs as the attendee would paste it.
    commands = list(dict.fromkeys(c["command"] for s in document["steps"] for c in s["checks"]))
    assert all("…" not in command for command in commands), commands  # every name known
    script = sourcing_sandbox_env(sandbox, "set -euo pipefail\n" + "\n".join(commands) + "\n")
    seen = run_by_hand(sandbox, script)
    assert seen.returncode == 0, f"{seen.stdout}\n{seen.stderr}"


def test_step2_by_hand_when_the_stream_records_another_view_type(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The situational action of step 2, run where its situation holds: a stream that records
    keys only is turned off, then the rest of the step's commands finish it."""
    cli_target(sandbox, monkeypatch)
    tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 0.5  # type: ignore[attr-defined]
    sandbox.client("dynamodb", "us-west-2").update_table(
        TableName="mm-ddbtable",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    code, document = check(sandbox, "2")
    assert code == 1
    assert "KEYS_ONLY" in json.dumps(document["steps"][0]["checks"][0])

    # Without the situational action, the content's commands stop where DynamoDB refuses.
    plain = run_by_hand(sandbox, by_hand_script(sandbox, "data-tier"))
    assert plain.returncode != 0
    assert "already has an enabled stream" in plain.stderr, plain.stderr

    situation = "Or with the CLI, if the stream records another view type: turn it off first"
    done = run_by_hand(sandbox, by_hand_script(sandbox, "data-tier", situations=[situation]))
    assert done.returncode == 0, done.stdout + done.stderr
    passes(sandbox, "2")
