"""Shared fixtures: a hermetic environment for every test, and one AWS endpoint per session.

No test may read the developer's AWS config, reach instance metadata (that would send traffic
off this machine) or write into the real user state folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAB3 = REPO / "labs" / "lab-3-multi-region-prep"


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("AWS_", "MMTUI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    monkeypatch.setenv("MMTUI_STATE_DIR", str(home / "state"))


@dataclass(frozen=True)
class Endpoint:
    url: str


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[Endpoint]:
    """One moto server on loopback for the whole session, reached over real HTTP."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield Endpoint(f"http://{host}:{port}")
    server.stop()


@pytest.fixture
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def run_mmtui(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the real command line in a subprocess, as a user or a script would."""
    completed = subprocess.run(
        [sys.executable, "-m", "mmtui", *args],
        cwd=cwd or REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def lab_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped content root (workshop.yaml and lab folders) to break."""
    root = tmp_path / "labs"
    shutil.copytree(REPO / "labs", root)
    return root


def invoke(*args: str) -> Result:
    """Run the command line in this process (fast), with main()'s error handling."""
    import contextlib
    import io

    from mmtui.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return Result(code, out.getvalue(), err.getvalue())
