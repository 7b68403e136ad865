"""The builds' `aws` fork server: a command through it is the command run alone (its arguments,
environment, folder, streams and exit status), a stopped client stops its command, and without
a server the client still runs it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmtui.sandbox.behaviours.pipelines import aws_launcher
from mmtui.sandbox.core.server import Sandbox
from tests.conftest import aws_keys


def client(path: Path | str, *argv: str) -> list[str]:
    return [sys.executable, "-I", "-S", str(aws_launcher.CLIENT), str(path), "--", *argv]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    path = tmp_path / "s"
    process = subprocess.Popen(
        [sys.executable, "-I", str(aws_launcher.SERVER), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    yield process, path
    process.terminate()
    process.wait(timeout=10)


def run(
    path: Path | str, *argv: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        client(path, *argv),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_command_through_the_server_is_the_command_itself(
    server: tuple[subprocess.Popen[str], Path], sandbox: Sandbox, tmp_path: Path
) -> None:
    _, path = server
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": sandbox.url,
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_EC2_METADATA_DISABLED": "true",
        **aws_keys(sandbox),
    }
    # A relative file:// path: read from the client's folder, not the server's.
    (tmp_path / "request.json").write_text(json.dumps({"TableName": "mm-ddbtable"}))
    shown = run(
        path,
        "dynamodb",
        "describe-table",
        "--cli-input-json",
        "file://request.json",
        "--query",
        "Table.TableName",
        "--output",
        "text",
        cwd=tmp_path,
        env=env,
    )
    assert (shown.returncode, shown.stdout.strip()) == (0, "mm-ddbtable"), shown.stderr

    # The environment is the client's: another region has no such table, and the exit status
    # and stderr are the CLI's own.
    missing = run(
        path,
        "dynamodb",
        "describe-table",
        "--table-name",
        "mm-ddbtable",
        cwd=tmp_path,
        env={**env, "AWS_DEFAULT_REGION": "eu-west-1"},
    )
    assert missing.returncode == 255  # version 1's status for an AWS error
    assert "ResourceNotFoundException" in missing.stderr

    # A command line the CLI cannot parse: its usage error, status 2.
    bad = run(path, "dynamodb", "no-such-operation", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "Invalid choice" in bad.stderr

    # Standard input and output are the client's: a copy in and back out through them.
    sandbox.client("s3", "us-west-2").create_bucket(
        Bucket="fork-server-test", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    into = subprocess.run(
        client(path, "s3", "cp", "-", "s3://fork-server-test/piped.txt"),
        input="through the client's stdin\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert into.returncode == 0, into.stderr
    back = run(path, "s3", "cp", "s3://fork-server-test/piped.txt", "-", cwd=tmp_path, env=env)
    assert (back.returncode, back.stdout) == (0, "through the client's stdin\n"), back.stderr


def test_a_client_stopped_mid_command_stops_its_command(
    server: tuple[subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    process, path = server
    # An endpoint that accepts and never answers: the command would wait on it for a minute.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    port = silent.getsockname()[1]
    stuck = subprocess.Popen(
        client(
            path,
            "sts",
            "get-caller-identity",
            "--endpoint-url",
            f"http://127.0.0.1:{port}",
            "--cli-read-timeout",
            "60",
        ),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + 30
    while not accepted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert accepted, "the command never reached the endpoint"
    forks = children.read_text().split()
    assert len(forks) == 1
    stuck.send_signal(signal.SIGKILL)
    stuck.wait(timeout=10)
    deadline = time.monotonic() + 10
    while children.read_text().split() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children.read_text().split() == [], "the command went on after its client stopped"
    silent.close()


def test_without_a_server_the_client_runs_the_command_itself(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    shown = run(tmp_path / "nothing-listens-here", "--version", cwd=tmp_path, env=env)
    assert shown.returncode == 0
    assert (shown.stdout + shown.stderr).startswith("aws-cli/1.")


def _stand_in_server(path: Path, *, answer: bool, delay: float) -> threading.Thread:
    """A server on `path` that takes one connection after `delay` seconds (as aws_server.py
    does while it still imports: it listens first), then either answers status 7 without
    running anything (`answer`) or closes the connection unanswered (a server dying)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)

    def serve() -> None:
        time.sleep(delay)
        conn, _ = listener.accept()
        with conn:
            if answer:
                _, fds, _, _ = socket.recv_fds(conn, 65536, 3)
                for fd in fds:  # the client's streams: held open here, its output never ends
                    os.close(fd)
                conn.sendall(b"+" + (7).to_bytes(4, "big"))
        listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_client_waits_for_a_server_still_starting(tmp_path: Path) -> None:
    """Connected before the server accepts (it listens before its imports), the client waits
    for it rather than running the command itself: the status is the server's."""
    path = tmp_path / "s"
    server = _stand_in_server(path, answer=True, delay=0.5)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    shown = run(path, "--version", cwd=tmp_path, env=env)
    server.join(timeout=10)
    assert shown.returncode == 7
    assert shown.stdout + shown.stderr == ""


def test_a_server_gone_before_taking_the_command_leaves_it_to_the_client(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s"
    server = _stand_in_server(path, answer=False, delay=0.2)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    shown = run(path, "--version", cwd=tmp_path, env=env)
    server.join(timeout=10)
    assert shown.returncode == 0
    assert (shown.stdout + shown.stderr).startswith("aws-cli/1.")
