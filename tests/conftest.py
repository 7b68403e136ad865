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

from mmtui.sandbox.server import Sandbox, SandboxOptions

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
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox for the whole session, on loopback, reached over real HTTP.

    moto's state is process-global, so there is exactly one; tests get it reset to the
    baseline through the `sandbox` fixture.
    """
    state_dir = tmp_path_factory.mktemp("sandbox")
    sandbox = Sandbox(SandboxOptions(state_dir=state_dir, fresh=True)).start()
    # moto builds a region's EC2 backend on first use (~0.4 s); build the secondary's once
    # here, so that restoring the baseline does not throw it away before every test.
    sandbox.client("ec2", "us-east-1").describe_vpcs()
    sandbox.baseline = sandbox.snapshot()  # type: ignore[attr-defined]
    # The workspace (clones, the workshop folder) is the attendee's disk, not sandbox state:
    # keep a copy to put back before each test.
    workspace_copy = state_dir.parent / f"{state_dir.name}-workspace-baseline"
    shutil.copytree(sandbox.workspace, workspace_copy, symlinks=True)
    sandbox.workspace_baseline = workspace_copy  # type: ignore[attr-defined]
    yield sandbox
    sandbox.stop()


TUNABLES = ("replica_create_seconds", "replica_delete_seconds", "replication_lag")


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Iterator[Sandbox]:
    """The session sandbox, reset to the Labs 0-2 baseline before the test; timings a test
    tunes on the extensions are put back after it."""
    sandbox_session.restore_snapshot(sandbox_session.baseline)  # type: ignore[attr-defined]
    shutil.rmtree(sandbox_session.workspace)
    shutil.copytree(
        sandbox_session.workspace_baseline,
        sandbox_session.workspace,  # type: ignore[attr-defined]
        symlinks=True,
    )
    saved = [
        (e, name, getattr(e, name))
        for e in sandbox_session.extensions
        for name in TUNABLES
        if hasattr(e, name)
    ]
    yield sandbox_session
    for extension, name, value in saved:
        setattr(extension, name, value)


@pytest.fixture
def aws_endpoint(sandbox: Sandbox) -> Endpoint:
    return Endpoint(sandbox.url)


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


def aws_cli(sandbox: Sandbox, *args: str, cwd: Path | None = None) -> str:
    """The real `aws` CLI against the sandbox, as an attendee types it; asserts it succeeded."""
    result = subprocess.run(
        [sys.executable, "-m", "awscli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **sandbox.env()},
        timeout=120,
    )
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


def deploy_secondary_by_hand(sandbox: Sandbox, *, is_secondary: bool = True) -> None:
    """Lab 3 step 1's command, verbatim, from the workshop folder of the workspace."""
    from mmtui.sandbox.workshop import workshop_folder

    overrides = ["--parameter-overrides", "IsSecondary=true"] if is_secondary else []
    aws_cli(
        sandbox,
        "cloudformation",
        "deploy",
        "--stack-name",
        "mm-secondary-region",
        "--template-file",
        "cfn/core.yml",
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "CAPABILITY_AUTO_EXPAND",
        *overrides,
        "--region",
        "us-east-1",
        cwd=workshop_folder(sandbox),
    )
