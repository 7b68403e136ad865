"""`mmtui sandbox` as a user runs it: a real process, its env file, signals and restarts."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from mmtui.target.connect import read_env_file
from tests.conftest import REPO, run_mmtui
from tests.output_lines import line_queue, read_until

KNOWN_PREFIXES = ("state:", "endpoint:", "workspace:", "time:", "site:", "ready:", "stopped;")


@dataclass
class Running:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def env(self, state_dir: Path) -> dict[str, str]:
        return read_env_file(state_dir / "sandbox.env")

    def mmtui(self, state_dir: Path, *args: str) -> subprocess.Popen[str]:
        """`mmtui ARGS` started in the background against this sandbox (its sandbox.env in
        the environment), its output and log piped."""
        return subprocess.Popen(
            [sys.executable, "-m", "mmtui", *args],
            cwd=REPO,
            env={**os.environ, **self.env(state_dir)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _read_until_ready(process: subprocess.Popen[str], deadline: float) -> list[str]:
    """Lines up to the ready line, read on a thread (a pipe's buffer defeats select)."""
    assert process.stdout is not None
    stdout = process.stdout
    ready: Callable[[str], bool] = lambda line: line.startswith("ready:")  # noqa: E731
    seen: list[str] = []
    if read_until(line_queue(stdout, last=ready), ready, seen, deadline):
        return seen
    raise AssertionError(f"no ready line; got {seen!r}, stderr {_stderr(process)!r}")


def _stderr(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        return "(still running)"
    assert process.stderr is not None
    return process.stderr.read()


@contextmanager
def running_sandbox(*args: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mmtui", "sandbox", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield Running(process, _read_until_ready(process, time.monotonic() + 120))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _stop(running: Running) -> tuple[int, str, str]:
    running.process.send_signal(signal.SIGTERM)
    out, err = running.process.communicate(timeout=30)
    return running.process.returncode, out, err


GRETTA = "da5303ae-5aba-495c-b5d6-eb5c4a66b941"


@pytest.fixture(scope="module")
def seeded_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state folder as a first `mmtui sandbox` leaves it (seeded, saved, stopped). Tests about
    what a running sandbox does start from a copy of it rather than seed one each (a fresh seed
    is tested by test_ready_env_file_state_survives_restart_and_fresh_resets and the aws CLI
    test)."""
    folder = tmp_path_factory.mktemp("seeded") / "state"
    with running_sandbox("--dir", str(folder)) as running:
        assert _stop(running)[0] == 0
    return folder


def seeded(seeded_folder: Path, where: Path) -> Path:
    """A copy of the seeded state folder at `where`, for one test to start a sandbox on."""
    shutil.copytree(seeded_folder, where, symlinks=True)
    return where


def _client(service: str, env: dict[str, str], region: str = "us-west-2") -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _xray(env: dict[str, str], region: str = "us-west-2") -> Any:
    return _client("xray", env, region)


def test_ready_env_file_state_survives_restart_and_fresh_resets(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with running_sandbox("--dir", str(state_dir)) as first:
        assert all(line.startswith(KNOWN_PREFIXES) for line in first.lines), first.lines
        env = first.env(state_dir)
        assert set(env) >= {
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "MMTUI_WORKSPACE",
            "MMTUI_RESOLVE",
        }
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert env["AWS_DEFAULT_REGION"] == "us-west-2"
        xray = _xray(env, "us-east-1")
        xray.create_group(GroupName="canary", FilterExpression='service("x")')  # type: ignore[attr-defined]
        _client("dynamodb", env).update_item(
            TableName="mm-ddbtable",
            Key={"MysfitId": {"S": GRETTA}},
            UpdateExpression="SET Likes = Likes + :n",
            ExpressionAttributeValues={":n": {"N": "7"}},
        )
        code, out, err = _stop(first)
    assert code == 0
    assert err == ""  # no log line of moto or werkzeug, ever
    assert out.strip().startswith("stopped; the state is saved in")

    with running_sandbox("--dir", str(state_dir)) as second:
        names = {
            g["GroupName"] for g in _xray(second.env(state_dir), "us-east-1").get_groups()["Groups"]
        }  # type: ignore[attr-defined]
        assert "canary" in names
        assert _stop(second)[0] == 0

    with running_sandbox("--dir", str(state_dir), "--fresh") as fresh:
        names = {
            g["GroupName"] for g in _xray(fresh.env(state_dir), "us-east-1").get_groups()["Groups"]
        }  # type: ignore[attr-defined]
        assert "canary" not in names
        assert _stop(fresh)[0] == 0


def test_a_time_scale_makes_aws_s_minutes_last_and_says_so(
    tmp_path: Path, seeded_folder: Path
) -> None:
    """A rehearsal at a hundredth of AWS's durations: a replica takes 12 s instead of 20 min,
    and both the start lines and sandbox.env say what was simulated."""
    state_dir = seeded(seeded_folder, tmp_path / "state")
    with running_sandbox("--dir", str(state_dir), "--time-scale", "0.01") as running:
        (time_line,) = [line for line in running.lines if line.startswith("time:")]
        assert "0.01 × AWS's durations" in time_line
        assert "replica create 12 s" in time_line and "stack create 7.2 s" in time_line
        assert "ecs deploy 1.8 s" in time_line
        env_text = (state_dir / "sandbox.env").read_text(encoding="utf-8")
        assert "# time scale: 0.01 × AWS's durations" in env_text
        dynamodb = _client("dynamodb", running.env(state_dir))
        dynamodb.update_table(
            TableName="mm-ddbtable",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        answer: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not answer:
            try:  # the stream is enabling for a moment: DynamoDB refuses the replica meanwhile
                answer = dynamodb.update_table(
                    TableName="mm-ddbtable",
                    ReplicaUpdates=[{"Create": {"RegionName": "us-east-1"}}],
                )["TableDescription"]
            except dynamodb.exceptions.ResourceInUseException:
                time.sleep(0.05)
        assert answer["Replicas"] == [{"RegionName": "us-east-1", "ReplicaStatus": "CREATING"}]
        assert _stop(running)[0] == 0
    with running_sandbox("--dir", str(seeded(seeded_folder, tmp_path / "instant"))) as instant:
        assert "time:      0 (instant: AWS's minutes are skipped)" in instant.lines


def test_ctrl_c_stops_cleanly(tmp_path: Path, seeded_folder: Path) -> None:
    with running_sandbox("--dir", str(seeded(seeded_folder, tmp_path / "state"))) as running:
        running.process.send_signal(signal.SIGINT)
        out, err = running.process.communicate(timeout=30)
        assert running.process.returncode == 0
        assert "stopped;" in out
        assert "Traceback" not in err


def test_the_aws_cli_talks_to_it_with_the_env_file(tmp_path: Path) -> None:
    """And a rehearsal on a faulty AWS says so, and the CLI meets the faults it asked for; the
    sandbox's own baseline (its X-Ray groups, made through the API) is seeded before they
    apply."""
    faulty = ["--fault", "503:100%@monitoring:ListDashboards", "--fault", "503:1@xray:CreateGroup"]
    faulty += ["--latency", "1ms", "--seed", "5"]
    with running_sandbox("--dir", str(tmp_path), *faulty) as running:
        said = (
            "latency 1 ms (all); faults 503 for 100% (monitoring:ListDashboards), 503 for 100% "
            "(xray:CreateGroup); seed 5"
        )
        assert f"realism:   {said}" in running.lines
        assert running.env(tmp_path)["MMTUI_SANDBOX_REALISM"] == said
        env = {**os.environ, **running.env(tmp_path)}
        failing = subprocess.run(
            [sys.executable, "-m", "awscli", "cloudwatch", "list-dashboards"],
            env={**env, "AWS_MAX_ATTEMPTS": "1"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert failing.returncode != 0 and "ServiceUnavailable" in failing.stderr
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "awscli",
                "xray",
                "get-groups",
                "--query",
                "Groups[].GroupName",
                "--output",
                "text",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert set(result.stdout.split()) >= {"like-service", "like-service-errors-faults"}
        unknown = subprocess.run(
            [
                sys.executable,
                "-m",
                "awscli",
                "globalaccelerator",
                "list-custom-routing-accelerators",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert unknown.returncode != 0
        assert (
            "ListCustomRoutingAccelerators (globalaccelerator) is not available in the mmtui "
            "sandbox" in unknown.stderr
        )
        _stop(running)


def test_port_in_use_and_second_sandbox_on_same_dir_exit_2(
    tmp_path: Path, seeded_folder: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_mmtui("sandbox", "--dir", str(tmp_path / "a"), "--port", str(port))
    assert result.code == 2
    assert result.stderr.strip() == (
        f"mmtui: --port: port {port} on 127.0.0.1 is already in "
        "use; choose another or omit --port for a free one"
    )
    with running_sandbox("--dir", str(seeded(seeded_folder, tmp_path / "b"))) as running:
        second = run_mmtui("sandbox", "--dir", str(tmp_path / "b"))
        assert second.code == 2
        assert "another sandbox is already running on" in second.stderr
        _stop(running)


def test_a_realism_flag_that_cannot_be_read_exits_2_naming_it(tmp_path: Path) -> None:
    result = run_mmtui("sandbox", "--dir", str(tmp_path), "--fault", "404:0.1")
    assert result.code == 2
    assert "--fault: '404' is not one of 500, 503, reset, timeout" in result.stderr
    assert not (tmp_path / "sandbox.env").exists()


def test_dir_that_is_a_file_exits_2(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    result = run_mmtui("sandbox", "--dir", str(afile / "state"))
    assert result.code == 2
    assert result.stderr.startswith(f"mmtui: --dir: cannot write to {afile / 'state'}")


def test_other_commands_connect_to_a_running_sandbox(tmp_path: Path, seeded_folder: Path) -> None:
    """With no target option, mmtui uses the sandbox that already runs on its state folder."""
    state = tmp_path / "state"
    seeded(seeded_folder, state / "sandbox")
    with running_sandbox("--dir", str(state / "sandbox")) as running:
        endpoint = running.env(state / "sandbox")["AWS_ENDPOINT_URL"]
        shared = run_mmtui("target", env={"MMTUI_STATE_DIR": str(state)})
        other = run_mmtui("target", env={"MMTUI_STATE_DIR": str(tmp_path / "elsewhere")})
        _stop(running)
    assert shared.code == 0, shared.stderr
    assert f"endpoint:          {endpoint}\n" in shared.stdout
    # Another state folder: an embedded sandbox of its own starts there instead.
    assert other.code == 0, other.stderr
    assert endpoint not in other.stdout
    assert str(tmp_path / "elsewhere" / "sandbox") in other.stdout


def test_target_sandbox_flag_uses_a_temporary_embedded_sandbox(tmp_path: Path) -> None:
    result = run_mmtui("target", "--sandbox", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "target:            sandbox (embedded)" in result.stdout
    assert "account:           123456789012" in result.stdout
    assert result.stderr == ""


def test_killed_it_says_exactly_what_it_lost_and_keeps_what_it_saved(
    tmp_path: Path, seeded_folder: Path
) -> None:
    """SIGKILL between two saves: the restarted sandbox names each change it had acknowledged
    and no longer has, and keeps everything it saved."""
    state_dir = seeded(seeded_folder, tmp_path / "state")
    env = {**os.environ, "MMTUI_SANDBOX_AUTOSAVE_SECONDS": "3600"}  # no save before the kill
    with running_sandbox("--dir", str(state_dir), env=env) as running:
        xray = _client("xray", running.env(state_dir))
        xray.create_group(GroupName="made-before-the-kill")
        _client("dynamodb", running.env(state_dir)).update_table(
            TableName="mm-ddbtable",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        running.process.kill()
        running.process.wait(timeout=30)
    with running_sandbox("--dir", str(state_dir)) as again:
        groups = _client("xray", again.env(state_dir)).get_groups()["Groups"]
        code, _, err = _stop(again)
    assert code == 0
    (note,) = [line for line in err.splitlines() if "stopped without saving" in line]
    assert "2 changes it had acknowledged after its last save" in note
    assert re.search(
        r"\d\d:\d\d:\d\d xray CreateGroup in us-west-2; "
        r"\d\d:\d\d:\d\d dynamodb UpdateTable in us-west-2",
        note,
    ), note
    assert "made-before-the-kill" not in {g["GroupName"] for g in groups}
    assert {"like-service", "like-service-errors-faults"} <= {g["GroupName"] for g in groups}
    with running_sandbox("--dir", str(state_dir)) as third:  # told once, not at every start
        _, _, err = _stop(third)
    assert "stopped without saving" not in err


def test_killed_mid_solve_then_the_solve_finishes_after_a_restart(
    tmp_path: Path, seeded_folder: Path
) -> None:
    """The sandbox killed while `mmtui solve --step 2` waits for its replica: the solve stops
    with a network error (exit 4), the restarted sandbox says which of its changes it lost,
    and the same solve run again finishes the step from what the sandbox then holds."""
    state_dir = seeded(seeded_folder, tmp_path / "state")
    slow = {
        **os.environ,
        "MMTUI_SANDBOX_AUTOSAVE_SECONDS": "3600",
        "MMTUI_SANDBOX_REPLICA_CREATE_SECONDS": "600",
    }
    with running_sandbox("--dir", str(state_dir), env=slow) as running:
        solve = running.mmtui(state_dir, "solve", "--step", "2")
        assert solve.stderr is not None  # the solve's log goes to stderr
        seen: list[str] = []
        waiting = lambda line: "waiting for" in line and "replica" in line  # noqa: E731
        lines = line_queue(solve.stderr)
        assert read_until(lines, waiting, seen, time.monotonic() + 60), seen
        running.process.kill()
        running.process.wait(timeout=30)
        solve.wait(timeout=120)
        read_until(lines, lambda _line: False, seen, time.monotonic() + 5)
        err = "\n".join(seen)
    assert solve.returncode == 4, err
    assert "Traceback" not in err and "internal error" not in err
    with running_sandbox("--dir", str(state_dir)) as again:
        env = {**os.environ, **again.env(state_dir)}
        rerun = run_mmtui("solve", "--step", "2", env=env)
        assert rerun.code == 0, rerun.stdout + rerun.stderr
        checked = run_mmtui("check", "--step", "2", env=env)
        assert checked.code == 0, checked.stdout
        _, _, notes = _stop(again)
    (note,) = [line for line in notes.splitlines() if "stopped without saving" in line]
    assert "dynamodb UpdateTable in us-west-2" in note
