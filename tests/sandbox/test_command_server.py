"""The builds' `aws` and `docker` fork server: a command through it is the command run alone (its
arguments, environment, folder, streams and exit status), a stopped client stops its command,
and without a server the client still runs it; botocore's files preloaded by the server give
what a fresh load gives, once each."""

from __future__ import annotations

import base64
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import awscli  # type: ignore[import-untyped]
import botocore.session
import pytest
from botocore import loaders

from mmtui.sandbox.behaviours.pipelines import command_launcher, model_preload
from mmtui.sandbox.core.server import Sandbox
from tests.conftest import aws_keys


def client(path: Path | str, *argv: str, program: str = "aws") -> list[str]:
    return [
        sys.executable,
        "-I",
        "-S",
        str(command_launcher.CLIENT),
        str(path),
        program,
        "--",
        *argv,
    ]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    path = tmp_path / "s"
    process = subprocess.Popen(
        [sys.executable, "-I", str(command_launcher.SERVER), str(path)],
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
    """A server on `path` that takes one connection after `delay` seconds (as command_server.py
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


# ---------------------------------------------------------------------- docker through the server


def _docker_session(sandbox: Sandbox, folder: Path, how: list[str]) -> list[tuple[int, str, str]]:
    """The same docker commands, run in `folder` by `how` (the words before the command's
    arguments): every command's (status, stdout, stderr), the sandbox's ECR included."""
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /app.txt\n")
    (folder / "app.txt").write_text("hello\n")
    host = f"{sandbox.account_id}.dkr.ecr.us-west-2.amazonaws.com"
    token = sandbox.client("ecr", "us-west-2").get_authorization_token()["authorizationData"][0]
    password = base64.b64decode(token["authorizationToken"]).decode().split(":")[1]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "MMTUI_DOCKER_ENDPOINT": sandbox.url,
        "MMTUI_DOCKER_ACCESS_KEY": sandbox.credentials()[0],
        "MMTUI_DOCKER_SECRET_KEY": sandbox.credentials()[1],
        "MMTUI_DOCKER_ROOT": str(folder / "images"),
    }
    commands: list[tuple[list[str], str]] = [
        (["version"], ""),
        (["build", "-t", "app:1", "."], ""),
        (["images", "-q"], ""),
        (["tag", "app:1", f"{host}/app:1"], ""),
        (["tag", "nothing:1", "other:1"], ""),
        (["push", f"{host}/app:1"], ""),  # no login yet
        (["login", "-u", "AWS", "-p", "x", "-e", "none", host], ""),
        (["login", "--username", "AWS", "--password-stdin", host], password),
        (["push", f"{host}/app:1"], ""),
        (["run", "app:1"], ""),
        (["--bogus"], ""),
    ]
    results = []
    for argv, stdin in commands:
        done = subprocess.run(
            [*how, *argv],
            cwd=folder,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        shown = (done.stdout.replace(str(folder), "DIR"), done.stderr.replace(str(folder), "DIR"))
        results.append((done.returncode, *shown))
    return results


def test_docker_through_the_server_is_docker_itself(
    server: tuple[subprocess.Popen[str], Path], sandbox: Sandbox, tmp_path: Path
) -> None:
    """Each docker command gives the same status, stdout and stderr through the server, through
    the client's fallback (no server) and as the script run alone, its stdin included."""
    _, path = server
    sandbox.client("ecr", "us-west-2").create_repository(repositoryName="app")
    alone = [sys.executable, "-I", "-S", str(command_launcher.HERE / "docker.py")]
    direct = _docker_session(sandbox, tmp_path / "direct", alone)
    sandbox.client("ecr", "us-west-2").batch_delete_image(
        repositoryName="app", imageIds=[{"imageTag": "1"}]
    )
    served = _docker_session(sandbox, tmp_path / "served", client(path, program="docker"))
    sandbox.client("ecr", "us-west-2").batch_delete_image(
        repositoryName="app", imageIds=[{"imageTag": "1"}]
    )
    fallback = _docker_session(
        sandbox, tmp_path / "fallback", client(tmp_path / "nothing-here", program="docker")
    )
    assert served == direct
    assert fallback == direct
    statuses = [status for status, _, _ in direct]
    # The session means something: successes, docker's errors and their statuses.
    assert statuses == [0, 0, 0, 0, 1, 1, 125, 0, 0, 1, 125], direct
    assert "Login Succeeded" in direct[7][1]
    assert "digest: sha256:" in direct[8][1]


# ---------------------------------------------------------------------- botocore's preloaded files


KINDS = model_preload.LISTED_TYPES


@pytest.fixture
def preloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """model_preload's preloaded files, installed in this process for one test only."""
    monkeypatch.setattr(model_preload, "_preloaded", {})
    monkeypatch.setattr(model_preload, "_listings", {})
    monkeypatch.setattr(loaders.JSONFileLoader, "_load_file", model_preload._original_load_file)
    monkeypatch.setattr(
        loaders.Loader, "list_available_services", loaders.Loader.list_available_services
    )
    model_preload.preload()
    model_preload.install()


def _fresh(path: Path) -> object:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        return json.loads(file.read().decode(), object_pairs_hook=OrderedDict)


def test_a_preloaded_file_is_what_a_fresh_load_gives_once(preloaded: None) -> None:
    endpoints = Path(loaders.Loader.BUILTIN_DATA_PATH) / "endpoints.json"
    assert model_preload.preloaded_paths()[str(endpoints)] == 1
    first = loaders.create_loader().load_data("endpoints")
    assert first == _fresh(endpoints)
    assert model_preload.preloaded_paths()[str(endpoints)] == 0
    # A second load in the same command is a load of its own, never the same objects.
    second = loaders.create_loader().load_data("endpoints")
    assert second == first and second is not first

    # The ECR model, loaded twice by an `ecr` command: two copies, each used once.
    ecr = [p for p in model_preload.preloaded_paths() if "/ecr/" in p and "service-2" in p]
    assert len(ecr) == 1 and model_preload.preloaded_paths()[ecr[0]] == 2
    models = [botocore.session.get_session().get_service_model("ecr") for _ in range(3)]
    assert model_preload.preloaded_paths()[ecr[0]] == 0
    assert models[0].operation_names == models[2].operation_names
    assert models[0]._service_description is not models[1]._service_description
    assert models[0]._service_description == _fresh(Path(ecr[0]))


def test_a_file_changed_since_it_was_preloaded_is_read_again(
    preloaded: None, tmp_path: Path
) -> None:
    changed = tmp_path / "data.json"
    changed.write_text('{"version": 1}')
    status = changed.stat()
    stamp = (status.st_size, status.st_mtime_ns, status.st_ino)
    model_preload._preloaded[str(changed)] = [(stamp, {"version": 1})]
    changed.write_text('{"version": 22}')
    assert loaders.JSONFileLoader().load_file(str(tmp_path / "data")) == {"version": 22}
    assert model_preload.preloaded_paths()[str(changed)] == 0


def test_the_preloaded_listing_is_botocore_s_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    awscli_data = str(Path(awscli.__file__).parent / "data")
    search = os.pathsep.join([awscli_data, str(tmp_path / "no-such-folder")])
    own = {kind: loaders.create_loader(search).list_available_services(kind) for kind in KINDS}
    assert len(own["service-2"]) > 400 and "ecr" in own["waiters-2"]
    monkeypatch.setattr(model_preload, "_listings", {})
    monkeypatch.setattr(
        loaders.Loader, "list_available_services", loaders.Loader.list_available_services
    )
    model_preload.preload()
    model_preload.install()
    listed = {kind: loaders.create_loader(search).list_available_services(kind) for kind in KINDS}
    assert listed == own
    assert (loaders.Loader.BUILTIN_DATA_PATH, "service-2") in model_preload._listings

    # A folder that changed since it was listed is listed again.
    (tmp_path / "models" / "lately" / "2024-01-01").mkdir(parents=True)
    folder = str(tmp_path / "models")
    status = os.stat(folder)
    stamp = (status.st_size, status.st_mtime_ns, status.st_ino)
    model_preload._listings[(folder, "service-2")] = (stamp, frozenset({"lately"}))
    loader = loaders.create_loader(folder)
    assert "lately" in loader.list_available_services("service-2")  # as listed, not read
    (tmp_path / "models" / "later" / "2024-01-01").mkdir(parents=True)
    (tmp_path / "models" / "later" / "2024-01-01" / "service-2.json").write_text("{}")
    # Its modification time moves on (a file system's clock may be coarser than the test).
    os.utime(folder, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
    fresh = loaders.create_loader(folder).list_available_services("service-2")
    assert "later" in fresh and "lately" not in fresh
