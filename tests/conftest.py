"""Shared fixtures: a hermetic environment for every test, and one AWS endpoint per session.

No test may read the developer's AWS config, reach instance metadata (that would send traffic
off this machine) or write into the real user state folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mmtui.content.loader import load_lab
from mmtui.content.render import render
from mmtui.sandbox.behaviours.accounts import AccountRecord
from mmtui.sandbox.core.server import Sandbox, SandboxOptions
from mmtui.sandbox.workshop.baseline import WorkshopSeeder

REPO = Path(__file__).resolve().parent.parent
LAB3_STEPS = (
    "infrastructure",
    "data-tier",
    "pipeline",
    "build-artifacts",
    "dashboard",
    "checkpoint",
)
"""Lab 3's steps in order, after its prerequisites."""
LAB3 = REPO / "labs" / "lab-3-multi-region-prep"
LABS = {
    "4": REPO / "labs" / "lab-4-global-accelerator",
    "5": REPO / "labs" / "lab-5-load-and-failover",
}


SLOWEST_FILES_FIRST = (
    "tests/engine/test_lab5.py",
    "tests/engine/test_solve_reset.py",
    "tests/sandbox/test_sandbox_command.py",
    "tests/tui/test_app.py",
    "tests/test_lab3_by_hand.py",
    "tests/test_labs45_by_hand.py",
    "tests/engine/test_build_artifacts_remote.py",
    "tests/sandbox/test_accounts.py",
    "tests/test_fleet_accounts.py",
    "tests/engine/test_forms.py",
    "tests/tui/test_snapshots.py",
    "tests/tui/test_rough_edges.py",
    "tests/test_fleet.py",
    "tests/sandbox/test_git_repos.py",
    "tests/engine/test_permissions_declared.py",
    "tests/engine/test_real_verdicts.py",
    "tests/sandbox/test_load_balancers.py",
    "tests/engine/test_step1_states.py",
    "tests/tui/test_traffic.py",
    "tests/sandbox/test_pipelines.py",
    "tests/sandbox/test_cloudformation.py",
    "tests/tui/test_room.py",
    "tests/sandbox/test_auth.py",
    "tests/sandbox/test_global_accelerator.py",
    "tests/engine/test_permissions_labs45.py",
    "tests/engine/test_policy_lab5_commands.py",
    "tests/test_cleanup.py",
    "tests/sandbox/test_state_saving.py",
    "tests/sandbox/test_dynamodb_global.py",
    "tests/engine/test_inventory.py",
    "tests/engine/test_checks.py",
    "tests/tui/test_forms.py",
    "tests/sandbox/test_iam_enforcement.py",
    "tests/engine/test_lab4.py",
    "tests/tui/test_diff_dialog.py",
    "tests/engine/test_waits.py",
    "tests/engine/test_dashboard_verdicts.py",
    "tests/test_target.py",
    "tests/test_content_safety.py",
    "tests/test_solve_errors.py",
    "tests/tui/test_serve.py",
    "tests/test_policy.py",
    "tests/tui/test_terminal.py",
    "tests/test_lint.py",
    "tests/engine/test_workshop_scripts.py",
    "tests/load/test_generator.py",
    "tests/test_detached_sandbox.py",
    "tests/engine/test_reset_ownership.py",
)
"""Test files that take 4 s or more (measured with --junitxml on a quiet machine, 2026-12-05),
longest first. xdist hands each worker a whole file at a time (--dist loadfile, one sandbox per
worker), in collection order (--no-loadscope-reorder): starting with the longest files and
ending with short ones keeps the two workers finishing together."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOWEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


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
    sandbox = Sandbox(
        SandboxOptions(state_dir=state_dir, fresh=True, autosave=False), seeder=WorkshopSeeder()
    ).start()
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


TUNABLES = (
    "replica_create_seconds",
    "replica_delete_seconds",
    "replication_lag",
    "stack_create_seconds",
    "stack_delete_seconds",
    "stream_enable_seconds",
    "ecs_deploy_seconds",
    "accelerator_deploy_seconds",
    "accelerator_update_seconds",
    "health_check_scale",
)


def _restore(sandbox: Sandbox, snapshot: bytes, workspace: Path | None = None) -> None:
    """Put the sandbox back to a snapshot, and its workspace to a copy of it (by default the
    baseline's)."""
    sandbox.restore_snapshot(snapshot)
    shutil.rmtree(sandbox.workspace)
    shutil.copytree(
        workspace or sandbox.workspace_baseline,  # type: ignore[attr-defined]
        sandbox.workspace,
        symlinks=True,
    )
    # Copied files have new inodes and change times, so each clone's index looks stale to git
    # (`reset --keep` refuses "not uptodate"); refresh it as a `git status` would.
    for dot_git in sandbox.workspace.glob("*/.git"):
        subprocess.run(
            ["git", "-C", str(dot_git.parent), "update-index", "-q", "--refresh"],
            capture_output=True,
            env={
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_CONFIG_NOSYSTEM": "1",
                "PATH": os.environ["PATH"],
            },
            timeout=60,
        )


@contextmanager
def _tunables_kept(sandbox: Sandbox) -> Iterator[None]:
    """Timings a test tunes on the extensions are put back after it."""
    saved = [
        (e, name, getattr(e, name))
        for e in sandbox.extensions
        for name in TUNABLES
        if hasattr(e, name)
    ]
    try:
        yield
    finally:
        for extension, name, value in saved:
            setattr(extension, name, value)


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Iterator[Sandbox]:
    """The session sandbox, reset to the Labs 0-2 baseline before the test; timings a test
    tunes on the extensions are put back after it."""
    _restore(sandbox_session, sandbox_session.baseline)  # type: ignore[attr-defined]
    with _tunables_kept(sandbox_session):
        yield sandbox_session


@dataclass(frozen=True)
class _CachedState:
    snapshot: bytes
    workspace: Path


@pytest.fixture(scope="session")
def _state_cache() -> dict[tuple[str, ...], _CachedState]:
    return {}


@pytest.fixture
def cached_state(
    sandbox: Sandbox,
    _state_cache: dict[tuple[str, ...], _CachedState],
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[tuple[str, ...], Callable[[], None]], Sandbox]:
    """`cached_state(key, build)`: the sandbox and workspace as `build()` leaves the Labs 0-2
    baseline. `build` runs for real the first time a test process asks for `key`; the result
    is kept as a snapshot that later calls restore (a snapshot restore takes a tenth of a
    second, where solving or running the by-hand commands takes seconds)."""

    def make(key: tuple[str, ...], build: Callable[[], None]) -> Sandbox:
        cached = _state_cache.get(key)
        if cached is not None:
            _restore(sandbox, cached.snapshot, cached.workspace)
            return sandbox
        _restore(sandbox, sandbox.baseline)  # type: ignore[attr-defined]
        build()
        _pipelines_settled(sandbox)
        workspace = tmp_path_factory.mktemp("cached-" + "-".join(key)) / "workspace"
        shutil.copytree(sandbox.workspace, workspace, symlinks=True)
        _state_cache[key] = _CachedState(sandbox.snapshot(), workspace)
        return sandbox

    return make


@pytest.fixture
def lab_solved(
    sandbox: Sandbox, cached_state: Callable[[tuple[str, ...], Callable[[], None]], Sandbox]
) -> Callable[..., Sandbox]:
    """`lab_solved("1", "3")`: the sandbox (and the attendee's workspace) as `mmtui solve` of
    those Lab 3 steps, in that order, leaves the Labs 0-2 baseline: for tests whose subject
    comes after those steps. Solved for real (the CLI over HTTP) once per test process; the
    solves themselves are proven by tests/engine/test_solve_reset.py."""

    def make(*steps: str) -> Sandbox:
        def build() -> None:
            env = sandbox.env()
            with pytest.MonkeyPatch.context() as patch:
                for name in (
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "MMTUI_RESOLVE_FILE",
                    "MMTUI_WORKSPACE",
                ):
                    patch.setenv(name, env[name])
                for step in steps:
                    result = invoke("solve", "--endpoint-url", sandbox.url, "--step", step)
                    assert result.code == 0, f"solve {step}: {result.stdout}{result.stderr}"

        return cached_state(("solved", *steps), build)

    return make


LAB3_DONE = ("1", "2", "3", "4")
"""`lab_solved(*LAB3_DONE)`: Lab 3 finished, where Lab 4 begins."""


@pytest.fixture
def lab4_done(
    sandbox: Sandbox,
    cached_state: Callable[[tuple[str, ...], Callable[[], None]], Sandbox],
    lab_solved: Callable[..., Sandbox],
) -> Sandbox:
    """Labs 3 and 4 done, where Lab 5 begins (solved with the command line once per test
    process, then restored from a snapshot)."""

    def build() -> None:
        lab_solved(*LAB3_DONE)
        with pytest.MonkeyPatch.context() as patch:
            options = cli_target(sandbox, patch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE")
            done = invoke("solve", *options, "--lab", "4", "--through", "test")
            assert done.code == 0, done.stdout + done.stderr

    return cached_state(("lab4-done",), build)


@pytest.fixture
def secondary_by_hand(
    sandbox: Sandbox, cached_state: Callable[[tuple[str, ...], Callable[[], None]], Sandbox]
) -> Callable[..., Sandbox]:
    """`secondary_by_hand(is_secondary=True, region="us-east-1")`: the sandbox as
    `deploy_secondary_by_hand` with those arguments leaves the baseline (the lab's by-hand
    commands, run for real once per test process, then restored from a snapshot). For tests
    that start there; a test that changes the sandbox first calls deploy_secondary_by_hand."""

    def make(*, is_secondary: bool = True, region: str = "us-east-1") -> Sandbox:
        return cached_state(
            ("by-hand", str(is_secondary), region),
            lambda: deploy_secondary_by_hand(sandbox, is_secondary=is_secondary, region=region),
        )

    return make


def _pipelines_settled(sandbox: Sandbox, timeout: float = 120.0) -> None:
    """Wait until no pipeline execution of the primary region runs (a snapshot taken mid-run
    would restore a run that no worker drives)."""
    import time

    client = sandbox.client("codepipeline", sandbox.options.primary_region)
    deadline = time.monotonic() + timeout
    while True:
        running = [
            pipeline["name"]
            for pipeline in client.list_pipelines()["pipelines"]
            for run in client.list_pipeline_executions(pipelineName=pipeline["name"])[
                "pipelineExecutionSummaries"
            ]
            if run["status"] in ("InProgress", "Stopping")
        ]
        if not running:
            return
        assert time.monotonic() < deadline, f"pipelines still running: {running}"
        time.sleep(0.2)


ATTENDEE_EXTERNAL_ID = "mmtui-tests-external-id"
FIRST_ATTENDEE_ACCOUNT = 210_000_000_001
"""Attendee account ids are consecutive from this one."""


def assume_role(
    url: str,
    base: dict[str, str],
    role_arn: str,
    external_id: str = ATTENDEE_EXTERNAL_ID,
    session_name: str = "instructor",
) -> dict[str, str]:
    """`sts assume-role` on the endpoint with the keys of `base` (a sandbox.env); returns the
    session's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN."""
    import boto3

    sts = boto3.client(
        "sts",
        endpoint_url=url,
        region_name="us-west-2",
        aws_access_key_id=base["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=base["AWS_SECRET_ACCESS_KEY"],
    )
    answer = sts.assume_role(
        RoleArn=role_arn, RoleSessionName=session_name, ExternalId=external_id
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": answer["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": answer["SecretAccessKey"],
        "AWS_SESSION_TOKEN": answer["SessionToken"],
    }


@dataclass(frozen=True)
class AttendeeSandbox:
    """The session sandbox with attendee accounts, reached as an instructor reaches them."""

    sandbox: Sandbox
    accounts: list[AccountRecord]
    external_id: str = ATTENDEE_EXTERNAL_ID

    @property
    def url(self) -> str:
        return self.sandbox.url

    @property
    def ids(self) -> list[str]:
        return [record.account_id for record in self.accounts]

    def credentials(self, account: str, session_name: str = "instructor") -> dict[str, str]:
        """Environment variables of a session in `account`, got as at a real event: `sts
        assume-role` over HTTP with the instructor's keys (the sandbox's own, sandbox.env's)."""
        record = next(r for r in self.accounts if r.account_id == account)
        return assume_role(
            self.url, self.sandbox.env(), record.role_arn, self.external_id, session_name
        )

    def role_target(self, record: AccountRecord) -> Any:
        """The sandbox as mmtui's target in `record`'s account, reached as a fleet reaches it:
        the instructor's keys assume the account's role (session name mmtui-t)."""
        from mmtui.target.spec import AssumeRole, TargetSpec

        return TargetSpec(
            "endpoint",
            "us-west-2",
            "us-east-1",
            endpoint_url=self.url,
            role=AssumeRole(record.role_arn, self.external_id, "mmtui-t"),
            credentials=self.sandbox.credentials(),
        )

    def session(self, account: str) -> Any:
        """A boto3 session acting in `account` through an assumed role (make clients with
        `endpoint_url=self.url`)."""
        import boto3

        credentials = self.credentials(account)
        return boto3.session.Session(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            region_name="us-west-2",
        )


@dataclass
class _AttendeeCache:
    snapshot: bytes | None = None
    accounts: list[AccountRecord] = field(default_factory=list)


@pytest.fixture(scope="session")
def _attendee_cache(sandbox_session: Sandbox) -> _AttendeeCache:
    return _AttendeeCache()


@pytest.fixture
def attendee_accounts(
    sandbox_session: Sandbox, _attendee_cache: _AttendeeCache
) -> Iterator[Callable[[int], AttendeeSandbox]]:
    """`attendee_accounts(n)`: the session sandbox reset to the Labs 0-2 baseline with at least
    `n` attendee accounts, each also as Labs 0-2 leave it, each with the role
    `OrganizationAccountAccessRole` that trusts the default account and requires the external id
    ATTENDEE_EXTERNAL_ID.

    The accounts are seeded once per session and kept in a snapshot, which each call restores
    (with the workspace, which stays the default account's). Asking for more accounts than the
    session has seeded so far adds the missing ones and snapshots again. Timings a test tunes on
    the extensions are put back after it; the `sandbox` fixture still gives the baseline with no
    attendee accounts.
    """
    cache = _attendee_cache

    def make(count: int) -> AttendeeSandbox:
        if cache.snapshot is None:
            _restore(sandbox_session, sandbox_session.baseline)  # type: ignore[attr-defined]
        else:
            _restore(sandbox_session, cache.snapshot)
        missing = count - len(cache.accounts)
        if missing > 0:
            start = FIRST_ATTENDEE_ACCOUNT + len(cache.accounts)
            ids = [f"{start + index:012d}" for index in range(missing)]
            cache.accounts += sandbox_session.add_accounts(ids, external_id=ATTENDEE_EXTERNAL_ID)
            cache.snapshot = sandbox_session.snapshot()
        return AttendeeSandbox(sandbox_session, list(cache.accounts))

    with _tunables_kept(sandbox_session):
        yield make


@pytest.fixture
def aws_endpoint(sandbox: Sandbox) -> Endpoint:
    return Endpoint(sandbox.url)


@pytest.fixture
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys no endpoint knows (for tests that never reach one)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTAREALKEY00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")


@pytest.fixture
def sandbox_credentials(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    """The sandbox's own keys in the environment, as `source sandbox.env` leaves them."""
    access_key, secret = sandbox.credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


_AWS_NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
)


def aws_keys(source: Sandbox | dict[str, str]) -> dict[str, str]:
    """The AWS_* variables to act with: a sandbox's own keys (its default account, as
    sandbox.env exports them), or those of an env dict (a sandbox.env, `assume_role`'s
    answer), with the primary region when it names none."""
    if isinstance(source, Sandbox):
        access_key, secret = source.credentials()
        return {
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": source.options.primary_region,
        }
    return {"AWS_DEFAULT_REGION": "us-west-2"} | {
        name: source[name] for name in _AWS_NAMES if name in source
    }


def codecommit_git(
    *args: str,
    aws: Sandbox | dict[str, str] | None,
    cwd: Path | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real git, isolated from the developer's configuration (and never prompting), that
    authenticates to CodeCommit (the sandbox's git server) as the workshop's attendee does:
    through `aws codecommit credential-helper`, given on the command line, signing with the
    credentials of `aws` (None: no credentials at all)."""
    from mmtui.gitops.codecommit import credential_options
    from mmtui.sandbox.behaviours.git_store import git_env

    variables = {
        key: value for key, value in git_env().items() if not key.startswith(("AWS_", "MMTUI_"))
    }
    variables.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.environ.get("AWS_CONFIG_FILE", os.devnull),
        AWS_SHARED_CREDENTIALS_FILE=os.environ.get("AWS_SHARED_CREDENTIALS_FILE", os.devnull),
        GIT_AUTHOR_NAME="mmtui test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="mmtui test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    if aws is not None:
        variables.update(aws_keys(aws))
    variables.update(env or {})
    result = subprocess.run(
        ["git", *credential_options(), *args],
        cwd=cwd,
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result


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


def cli_target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, *env_names: str) -> list[str]:
    """The sandbox as the command line's target: its keys (and the other variables of
    `sandbox.env()` named) in this process's environment; returns the target's options."""
    env = sandbox.env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", *env_names):
        monkeypatch.setenv(name, env[name])
    return ["--endpoint-url", sandbox.url]


def check_target(target: list[str], step: str | None = None) -> tuple[int, dict[str, Any]]:
    """`mmtui check` as JSON (the whole lab, or `--step`): the exit code and the document."""
    result = invoke("check", *target, "--format", "json", *(["--step", step] if step else []))
    assert result.stdout, result.stderr
    return result.code, json.loads(result.stdout)


def step_status(target: list[str], step: str) -> str:
    """The status of one step as `mmtui check --step` reports it."""
    status: str = check_target(target, step)[1]["steps"][0]["status"]
    return status


def check_step(target: list[str], step: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """`mmtui check --step` as JSON: the exit code and the step's checks by id."""
    result = invoke("check", *target, "--format", "json", "--step", step)
    document = json.loads(result.stdout)
    return result.code, {c["id"]: c for c in document["steps"][0]["checks"]}


def start_replica(
    sandbox: Sandbox,
    replica_region: str = "us-east-1",
    table: str = "mm-ddbtable",
    region: str = "us-west-2",
) -> None:
    """Step 2 through the API: the table's stream with both images, then a replica asked for
    (not waited on: the replica is CREATING when this returns)."""
    dynamodb = sandbox.client("dynamodb", region)
    dynamodb.update_table(
        TableName=table,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.update_table(
        TableName=table, ReplicaUpdates=[{"Create": {"RegionName": replica_region}}]
    )


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


LAB_XRAY_GROUPS = {
    "like-service": 'service("Like Service") AND http.method = "POST"',
    "like-service-errors-faults": 'service("Like Service") { error = true OR fault = true }',
}
"""The X-Ray groups step 5 makes, each with its filter expression."""


def xray_group_by_hand(sandbox: Sandbox, name: str, region: str = "us-east-1") -> None:
    """One of step 5's X-Ray groups, made with the `aws` CLI as the attendee makes it."""
    aws_cli(
        sandbox,
        "xray",
        "create-group",
        "--group-name",
        name,
        "--filter-expression",
        LAB_XRAY_GROUPS[name],
        "--region",
        region,
    )


def secondary_template() -> str:
    """The sandbox's workshop template as step 1 deploys it in the secondary region: with
    the Lambda runtimes AWS no longer accepts for new functions raised (mmtui's table)."""
    from mmtui.labs.lab3.runtimes import raise_runtimes
    from mmtui.sandbox.workshop.stacks import template_body

    return raise_runtimes(template_body())[0]


def lab3_names(sandbox: Sandbox, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Every name Lab 3's texts use, as the guide shows them for this sandbox: the parameters
    (with `overrides`) and the live facts (account, stack outputs, generated pipeline and
    repository names) read from it now; a fact not there yet keeps its placeholder."""
    import mmtui.labs
    from mmtui.engine.context import CheckContext
    from mmtui.target.clients import ClientFactory
    from mmtui.target.connect import Connection
    from mmtui.target.spec import TargetFlags, resolve_target

    spec = resolve_target(TargetFlags(endpoint_url=sandbox.url), env={})
    factory = ClientFactory(spec, endpoint_url=sandbox.url, credentials=sandbox.credentials())
    lab, content = mmtui.labs.load("3")
    ctx = CheckContext(Connection(spec, factory, resolver=sandbox.resolve_map), content, lab)
    # The facts know only what they have fetched (the guide's checks fetch as they go): fetch
    # everything the texts may name.
    facts = ctx.facts
    facts.stack("primary")
    facts.stack("secondary")
    for which in ("core", "like"):
        facts.source_repository(which)
    known: dict[str, str] = facts.known()
    return content.names(overrides, known)


def lab_names(sandbox: Sandbox, lab_id: str) -> dict[str, str]:
    """Every name the texts of Lab 4 or 5 use, as the guide shows them for this sandbox (their
    facts' `fetch_all`)."""
    import mmtui.labs
    from mmtui.engine.context import CheckContext
    from mmtui.target.clients import ClientFactory
    from mmtui.target.connect import Connection
    from mmtui.target.spec import TargetFlags, resolve_target

    spec = resolve_target(
        TargetFlags(endpoint_url=sandbox.url, workspace=str(sandbox.workspace)), env={}
    )
    factory = ClientFactory(spec, endpoint_url=sandbox.url, credentials=sandbox.credentials())
    lab, content = mmtui.labs.load(lab_id)
    ctx = CheckContext(Connection(spec, factory, resolver=sandbox.resolve_map), content, lab)
    ctx.facts.fetch_all()
    known: dict[str, str] = ctx.facts.known()
    return content.names(None, known)


def by_hand_script(
    sandbox: Sandbox,
    step_id: str,
    *,
    situations: Collection[str] = (),
    overrides: dict[str, str] | None = None,
    only: Collection[str] = (),
    lab: str = "3",
) -> str:
    """A Lab 3 (or `lab`) step's "Do it by hand" as one bash script, read from lab.yaml and
    rendered with the sandbox's names (`lab3_names`, `lab_names`): the commands of each
    terminal action and the stand-in commands of each console, editor or browser action, in
    order. An action whose work others do from a terminal (`same_as`) adds nothing (those run
    in their own places); one that is only for a situation (`only_if`) runs only when its
    title is in `situations`. With `only`, just the actions of those titles (a test that needs
    one part of a step, done by hand).

    A test that makes an attendee's slip edits the returned script, as the attendee would
    have mistyped it."""
    content = load_lab(LAB3 if lab == "3" else LABS[lab])
    actions = content.step(step_id).manual.actions
    situational = {action.title for action in actions if action.only_if}
    unknown = set(situations) - situational
    assert not unknown, f"no action of {step_id} is only for {unknown} (those: {situational})"
    missing = set(only) - {action.title for action in actions}
    assert not missing, f"{step_id} has no action {missing}"
    names = lab3_names(sandbox, overrides) if lab == "3" else lab_names(sandbox, lab)
    # -x: a failing run's stderr shows each command as bash ran it.
    lines = ["set -euxo pipefail"]
    for action in actions:
        if only:
            if action.title not in only:
                continue
        elif action.same_as or (action.only_if and action.title not in situations):
            continue
        lines += [render(command, names) for command in action.commands or action.stand_in]
    return "\n".join(lines) + "\n"


STEP1_AFTER_ROLLBACK = "If an earlier attempt rolled back, delete it first"
"""The title of step 1's action for a stack an earlier attempt left rolled back."""


def attendee_bin(folder: Path) -> Path:
    """A folder holding the attendee's `aws`: the awscli installed next to this interpreter,
    run through the fork server the sandbox's builds use (command_server.py), so that awscli is
    imported once per test process rather than once per command (half a second each). The
    command lines, environment, folder and streams are the attendee's own
    (tests/sandbox/test_command_server.py proves a command through it is the command itself;
    test_sandbox_command's aws CLI test runs the installed `aws` executable)."""
    from mmtui.sandbox.behaviours.pipelines import command_launcher

    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "aws"
    if not shim.exists():
        shim.write_text(f'#!/bin/sh\nexec {command_launcher.command(sys.executable)} "$@"\n')
        shim.chmod(0o755)
    return folder


def run_by_hand(
    sandbox: Sandbox, script: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A shell script as the attendee runs it in a terminal where sandbox.env was sourced,
    with the `aws` CLI (`attendee_bin`), from `cwd` (by default the workspace, the
    attendee's ~/environment)."""
    shim = attendee_bin(sandbox.state_dir.parent / f"{sandbox.state_dir.name}-attendee-bin")
    bin_dir = str(shim) + os.pathsep + str(Path(sys.executable).parent)
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd or sandbox.workspace,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **sandbox.env(),
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            # git as the workspace's clones configure it (identity, credential helper), not
            # as the developer's own configuration would; never waiting for a password.
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
        },
        timeout=300,
    )


def deploy_secondary_by_hand(
    sandbox: Sandbox, *, is_secondary: bool = True, region: str = "us-east-1"
) -> None:
    """Lab 3 step 1 as its "Do it by hand" says, command by command, from the workshop folder
    of the workspace (in another region when a test makes the attendee's slip of deploying it
    to the wrong one)."""
    script = by_hand_script(sandbox, "infrastructure", overrides={"secondary_region": region})
    if not is_secondary:
        override = " --parameter-overrides IsSecondary=true"
        assert override in script, script
        script = script.replace(override, "")
    done = run_by_hand(sandbox, script)
    assert done.returncode == 0, done.stdout + done.stderr


def caller_account(env: dict[str, str]) -> str:
    """The account a sandbox.env's keys act in, as STS answers over HTTP."""
    import boto3

    sts = boto3.client(
        "sts",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-west-2",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    account: str = sts.get_caller_identity()["Account"]
    return account
