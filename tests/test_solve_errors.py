"""AWS and network errors in solve, reset and probe are one line and an exit code of the
contract, never "internal error ... this is a bug" (audit W10, D5, D6; red team K1b, K8)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mmtui.engine.tasks import TaskContext, run_actions
from mmtui.exitcodes import ExitCode
from mmtui.labs.lab3.steps import dashboard as dashboard_step
from mmtui.labs.lab3.xray import XRAY_GROUPS
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.errors import describe_client_error
from mmtui.target.spec import TargetFlags, resolve_target
from tests.conftest import REPO, invoke
from tests.engine.test_checks import context
from tests.output_lines import line_queue, read_until
from tests.sandbox.test_sandbox_command import running_sandbox


def _until(lines: queue.Queue[str | None], text: str, seen: list[str], deadline: float) -> None:
    if not read_until(lines, lambda line: text in line, seen, deadline):
        raise AssertionError(f"never saw {text!r}; got {seen!r}")


def test_a_sandbox_gone_mid_solve_is_a_network_error_then_a_clean_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K1b: the endpoint disappears while the replica is CREATING."""
    monkeypatch.setenv("MMTUI_SANDBOX_REPLICA_CREATE_SECONDS", "5")
    state_dir = tmp_path / "sandbox"
    with running_sandbox("--dir", str(state_dir)) as first:
        solve = first.mmtui(state_dir, "solve", "--step", "2")
        seen: list[str] = []
        try:
            lines = line_queue(solve.stderr)
            _until(lines, "replica in us-east-1: CREATING", seen, time.monotonic() + 90)
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(timeout=10)
            solve.wait(timeout=120)
            _until(lines, "mmtui:", seen, time.monotonic() + 10)
        finally:
            if solve.poll() is None:
                solve.kill()
    errors = [line for line in seen if line.startswith("mmtui:")]
    assert solve.returncode == ExitCode.AWS_ERROR, seen
    assert len(errors) == 1, errors
    assert "internal error" not in errors[0]
    assert "cannot reach http://127.0.0.1:" in errors[0]
    assert "replica of mm-ddbtable" in errors[0]  # the action it stopped

    # Whatever AWS (here: the sandbox's last save) kept, the next solve finishes the step.
    monkeypatch.setenv("MMTUI_SANDBOX_REPLICA_CREATE_SECONDS", "0")
    with running_sandbox("--dir", str(state_dir)) as second:
        again = subprocess.run(
            [sys.executable, "-m", "mmtui", "solve", "--step", "2"],
            cwd=REPO,
            env={**os.environ, **second.env(state_dir)},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert again.returncode == 0, again.stderr
    assert "data-tier: " in again.stdout


def _sso_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str) -> None:
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(extra, encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))  # no SSO token cache of the developer's


def test_an_sso_profile_without_a_session_says_how_to_log_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D5: botocore's own SSO error (no token cached), for solve and reset alike."""
    _sso_config(
        tmp_path,
        monkeypatch,
        "[profile workshop]\n"
        "sso_start_url = https://example.awsapps.com/start\n"
        "sso_region = us-east-1\n"
        "sso_account_id = 123456789012\n"
        "sso_role_name = Admin\n",
    )
    for command in (["solve", "--step", "2"], ["reset", "--step", "2", "--dry-run"]):
        result = invoke(*command, "--profile", "workshop")
        assert result.code == ExitCode.CREDENTIALS, result.stderr
        assert "`aws sso login --profile workshop`" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_failing_credential_process_is_a_credentials_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sso_config(tmp_path, monkeypatch, "[profile broken]\ncredential_process = /bin/false\n")
    result = invoke("solve", "--step", "2", "--profile", "broken")
    assert result.code == ExitCode.CREDENTIALS, result.stderr
    assert "credentials could not be loaded" in result.stderr
    assert "internal error" not in result.stderr


def test_sandbox_keys_meeting_aws_get_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """D6: a shell that sourced sandbox.env, then `--aws`: AWS does not know the key."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    spec = resolve_target(TargetFlags(aws=True))
    refused = ClientError(
        {
            "Error": {
                "Code": "InvalidClientTokenId",
                "Message": "The security token included in the request is invalid.",
            }
        },
        "GetCallerIdentity",
    )

    error = describe_client_error(refused, "sts:GetCallerIdentity", spec)

    assert error.exit_code == ExitCode.CREDENTIALS
    assert "this shell has the sandbox's keys from sandbox.env" in str(error)
    assert "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL" in str(error)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    assert "sandbox.env" not in str(describe_client_error(refused, "sts", spec))


def test_an_x_ray_group_created_meanwhile_is_done(
    sandbox: Sandbox, secondary_by_hand: Callable[..., Sandbox]
) -> None:
    """K8: CreateGroup applied by AWS but answered with an error, so the retry (or another
    solve) meets "already exists": the group is there, which is what the solve wanted. (Step 1
    first: step 5's solve refuses up front without its stack.)"""
    secondary_by_hand()
    ctx = TaskContext(context(sandbox))
    xray = ctx.client("xray", "us-east-1")
    other = sandbox.client("xray", "us-east-1")
    group, expression = next(iter(XRAY_GROUPS.items()))

    def applied_first(params: dict[str, Any], **_: Any) -> None:
        if params.get("GroupName") == group:
            other.create_group(GroupName=group, FilterExpression=expression)

    xray.meta.events.register("provide-client-params.xray.CreateGroup", applied_first)
    try:
        (action, *_rest) = dashboard_step.solve_dashboard(ctx)
        assert run_actions([action], print) == []
    finally:
        xray.meta.events.unregister("provide-client-params.xray.CreateGroup", applied_first)
    names = {g["GroupName"] for g in other.get_groups()["Groups"]}
    assert group in names


def test_a_connection_closed_mid_solve_is_a_network_error_not_a_bug() -> None:
    """K1: the endpoint closed the connection before answering (the sandbox killed behind a
    proxy while step 1 waited on its stack): exit 4 naming the action, never "internal error"."""
    from botocore.exceptions import ConnectionClosedError

    from mmtui.engine.tasks import Action
    from mmtui.exitcodes import MmtuiError

    def closed() -> str:
        raise ConnectionClosedError(endpoint_url="http://127.0.0.1:18204/")

    with pytest.raises(MmtuiError) as raised:
        run_actions(
            [Action("us-east-1", "stack mm-secondary-region", "create", closed)], lambda _l: None
        )
    assert raised.value.exit_code == ExitCode.AWS_ERROR
    assert str(raised.value).startswith(
        "create stack mm-secondary-region (us-east-1): cannot reach "
        "http://127.0.0.1:18204/ (ConnectionClosedError)"
    ), str(raised.value)
