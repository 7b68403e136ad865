"""Labs 4 and 5 done by hand: every step's "Do it by hand" commands, as the content writes them
and the guide renders them for this account, run in bash with the `aws` CLI against the
sandbox; each step's checks pass afterwards, and each check's "see for yourself" command runs.
Lab 5's load is sent with curl loops, and with ab where it is installed, at the accelerator's
loopback address."""

from __future__ import annotations

import re
import shlex
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest

from mmtui.sandbox.core.server import ENV_FILE, Sandbox
from tests.conftest import LAB3_DONE, by_hand_script, check_target, cli_target, run_by_hand

LAB4_STEPS = ["accelerator", "listener", "endpoint-groups", "endpoints", "test"]
LAB5_STEPS = ["load-test", "primary-only", "secondary-only", "split", "failover", "restore"]
AB = "Or with ab, where it is installed"


def passes(target: list[str], step: str, timeout: float = 30.0) -> None:
    """The step's checks pass (waiting out the pending ones: a deploy, metrics to flush)."""
    deadline = time.monotonic() + timeout
    while True:
        code, document = check_target(target, step)
        if code == 0:
            return
        failing = [
            (c["id"], c["status"], c["message"])
            for s in document["steps"]
            for c in s["checks"]
            if c["status"] != "pass"
        ]
        assert time.monotonic() < deadline, f"{step} still failing: {failing}"
        time.sleep(0.3)


def sourcing_sandbox_env(sandbox: Sandbox, script: str) -> str:
    """`script` as run in a shell that first sourced sandbox.env: `curl http://<load balancer
    or accelerator DNS name>/` runs as written, the sandbox being that shell's HTTP proxy for
    the names it serves (http_proxy)."""
    return f"source {shlex.quote(str(sandbox.state_dir / ENV_FILE))}\n{script}"


def see_for_yourself(sandbox: Sandbox, document: dict[str, Any]) -> None:
    commands = list(dict.fromkeys(c["command"] for s in document["steps"] for c in s["checks"]))
    assert all("…" not in command for command in commands), commands  # every name known
    script = sourcing_sandbox_env(sandbox, "set -euo pipefail\n" + "\n".join(commands) + "\n")
    seen = run_by_hand(sandbox, script)
    assert seen.returncode == 0, f"{seen.stdout}\n{seen.stderr}"


def test_lab_4_by_hand(
    sandbox: Sandbox, lab_solved: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab_solved(*LAB3_DONE)
    target = [
        *cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE"),
        "--lab",
        "4",
    ]
    assert check_target(target, "1")[0] == 1
    for step in LAB4_STEPS:
        script = sourcing_sandbox_env(sandbox, by_hand_script(sandbox, step, lab="4"))
        done = run_by_hand(sandbox, script)
        assert done.returncode == 0, f"{step}:\n{done.stdout}\n{done.stderr}"
        if step == "test":
            assert re.search(r"current region\W+us-(west-2|east-1)", done.stdout, re.I)
            assert done.stdout.split().count("HEALTHY") == 2, done.stdout
        passes(target, step)
    code, document = check_target(target)
    assert code == 0, document
    see_for_yourself(sandbox, document)


def test_lab_5_by_hand_with_curl_and_ab(
    lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = lab4_done
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")
    balancers = next(e for e in sandbox.extensions if e.name == "load_balancers")
    monkeypatch.setattr(balancers, "metrics_flush_seconds", 0.3)  # CloudWatch counts sooner
    target = [
        *cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE"),
        "--lab",
        "5",
    ]
    situations = [AB] if shutil.which("ab") else []
    for step in LAB5_STEPS:
        script = by_hand_script(
            sandbox, step, lab="5", situations=situations if step == "load-test" else ()
        )
        # The accelerator is reached at its loopback address, as the guide renders it here.
        assert "awsglobalaccelerator.com" not in script, script
        done = run_by_hand(sandbox, script)
        assert done.returncode == 0, f"{step}:\n{done.stdout}\n{done.stderr}"
        if step in ("load-test", "primary-only", "secondary-only", "split"):
            assert re.search(r"^\s*\d+ 200$", done.stdout, re.M), done.stdout  # uniq -c
        if step == "load-test" and situations:
            assert "Complete requests:      20" in done.stdout, done.stdout
        passes(target, step)
    code, document = check_target(target)
    statuses = {s["id"]: s["status"] for s in document["steps"]}
    # The dials steps each leave the dials their own way: the last one done by hand (50/50)
    # holds; the restore and failover steps are the primary's state.
    assert statuses["split"] == "pass" and statuses["restore"] == "pass", statuses
    see_for_yourself(sandbox, document)
