"""Step 4 judged from the remote, on the sandbox: what the pipeline builds is the CodeCommit
branch, never the attendee's clone (red team K2, K3b, G3, G5, G8, R10; audit B5; the newcomer
walkthrough's "already done" and "deployed to both regions" while the step is red)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mmtui.gitops.repository import TRAILER
from mmtui.sandbox.core.server import Sandbox
from tests.conftest import Result, by_hand_script, cli_target, codecommit_git, invoke, run_by_hand
from tests.engine.test_solve_reset import solve, step_status

PRIMARY, SECONDARY = "us-west-2", "us-east-1"


@pytest.fixture
def target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sandbox as the CLI's target, with the attendee's workspace (as test_solve_reset)."""
    return cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE")


def git(clone: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", "-C", str(clone), *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    ).stdout.strip()


def clone_of(sandbox: Sandbox, kind: str) -> Path:
    (clone,) = sandbox.workspace.glob(f"{kind}-service-*")
    return clone


def remote_head(sandbox: Sandbox, clone: Path) -> str:
    branch = sandbox.client("codecommit", PRIMARY).get_branch(
        repositoryName=clone.name, branchName="master"
    )
    return str(branch["branch"]["commitId"])


def remote_buildspec(sandbox: Sandbox, clone: Path) -> str:
    answer = sandbox.client("codecommit", PRIMARY).get_file(
        repositoryName=clone.name, filePath="buildspec_prod.yml", commitSpecifier="master"
    )
    return bytes(answer["fileContent"]).decode()


def test_an_interrupted_push_is_finished_by_the_next_solve(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """K2/K3b: mmtui's commit was made but its push never happened (here a pre-push hook
    fails it). The clone is ahead; the remote is not done, so the next solve pushes it."""
    lab_solved("1", "3")
    core = clone_of(sandbox, "core")
    hook = core / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\necho 'connection lost' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = remote_head(sandbox, core)
    first = solve(target, "4")
    assert first.code == 4, first.stdout + first.stderr
    assert "git push failed" in first.stderr
    assert remote_head(sandbox, core) == before
    assert TRAILER in git(core, "log", "-1", "--format=%B")  # committed, not pushed
    hook.unlink()

    again = solve(target, "4")
    assert again.code == 0, again.stdout + again.stderr
    assert remote_head(sandbox, core) == git(core, "rev-parse", "HEAD")
    assert step_status(target, "4") == "pass"
    assert "already done" in solve(target, "4").stdout


def test_the_attendees_unpushed_commit_is_refused_not_published(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """G5: a local commit of the attendee's would ride along with mmtui's push."""
    lab_solved("1")
    core = clone_of(sandbox, "core")
    (core / "NOTES.md").write_text("half-done idea\n")
    git(core, "add", "NOTES.md")
    git(core, "commit", "-m", "WIP attendee local commit")
    wip = git(core, "rev-parse", "HEAD")
    before = remote_head(sandbox, core)
    result = solve(target, "4")
    assert result.code == 2, result.stdout + result.stderr
    assert f"{wip[:8]} WIP attendee local commit" in result.stderr
    assert "push them yourself" in result.stderr
    assert remote_head(sandbox, core) == before
    assert git(core, "rev-parse", "HEAD") == wip


def test_a_detached_head_at_an_old_mmtui_commit_is_refused(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """G3: the clone sits at mmtui's earlier commit of the finished buildspec while master
    was reverted since; judged from that HEAD it looked done."""
    lab_solved("1", "3", "4")
    core = clone_of(sandbox, "core")
    ours = git(core, "rev-parse", "HEAD")
    assert invoke_reset(target).code == 0
    git(core, "checkout", "--quiet", "--detach", ours)
    result = solve(target, "4")
    assert result.code == 2, result.stdout + result.stderr
    assert "detached HEAD" in result.stderr
    assert "already done" not in result.stdout


def test_a_clone_of_another_repository_is_refused(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """G8: the clone's origin points elsewhere; pushing there never reaches the pipeline."""
    lab_solved("1")
    codecommit = sandbox.client("codecommit", PRIMARY)
    elsewhere = codecommit.create_repository(repositoryName="rt-elsewhere")["repositoryMetadata"]
    core = clone_of(sandbox, "core")
    git(core, "remote", "set-url", "origin", elsewhere["cloneUrlHttp"])
    result = solve(target, "4")
    assert result.code == 2, result.stdout + result.stderr
    assert elsewhere["cloneUrlHttp"] in result.stderr and core.name in result.stderr
    assert "git -C" in result.stderr and "remote set-url origin" in result.stderr
    assert (
        "defaultBranch"
        not in codecommit.get_repository(repositoryName="rt-elsewhere")["repositoryMetadata"]
    )


def test_a_stale_clone_of_a_finished_remote_pushes_nothing_and_waits_for_nothing(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """R10: the remote is done (here by an earlier solve), the clone is behind it: nothing to
    commit, nothing pushed, no wait for a pipeline run that would never start."""
    lab_solved("1", "3", "4")
    heads = {k: remote_head(sandbox, clone_of(sandbox, k)) for k in ("core", "like")}
    for kind in ("core", "like"):
        git(clone_of(sandbox, kind), "reset", "--quiet", "--keep", "HEAD~1")
    again = solve(target, "4")
    assert again.code == 0, again.stdout + again.stderr
    assert "already done, nothing changed" in again.stdout
    assert "waiting for" not in again.stdout + again.stderr
    assert {k: remote_head(sandbox, clone_of(sandbox, k)) for k in heads} == heads


def test_without_step_3_the_log_says_where_it_deployed(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """A pipeline with no stage in the secondary region deploys only in the primary: the solve
    says so before and after, never "deployed to both regions"."""
    lab_solved("1")
    result = solve(target, "4")
    # The solve ends by checking its step: the secondary services still run the placeholder.
    assert result.code == 1, result.stdout + result.stderr
    said = result.stdout + result.stderr
    outcomes = [line for line in said.splitlines() if line.startswith(f"{PRIMARY}: ")]
    assert outcomes and not any("deployed to both" in line for line in outcomes)
    assert f"has no stage deploying to {SECONDARY} (step 3 is not done)" in said
    assert f"deployed only in {PRIMARY}: no stage deploys to {SECONDARY} yet" in said


def test_step_3_then_step_4_says_both_regions(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    lab_solved("1", "3")
    result = solve(target, "4")
    assert result.code == 0, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "pushed to the registries of both regions and deployed to both" in said


def test_the_solve_logs_in_as_the_build_image_can(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """B5: the workshop's image (aws/codebuild/docker:17.09.0) has a CLI v1 without
    get-login-password: mmtui's buildspec logs in with get-login, and the builds succeed. On a
    project moved to a CLI v2 image, it writes get-login-password."""
    lab_solved("1", "3")
    codebuild = sandbox.client("codebuild", PRIMARY)
    like_project = next(p for p in codebuild.list_projects()["projects"] if p.startswith("like"))
    project = codebuild.batch_get_projects(names=[like_project])["projects"][0]
    assert project["environment"]["image"] == "aws/codebuild/docker:17.09.0"
    environment = {**project["environment"], "image": "aws/codebuild/standard:7.0"}
    codebuild.update_project(name=like_project, environment=environment)
    result = solve(target, "4")
    assert result.code == 0, result.stdout + result.stderr
    core = remote_buildspec(sandbox, clone_of(sandbox, "core"))
    like = remote_buildspec(sandbox, clone_of(sandbox, "like"))
    assert "get-login-password" not in core
    assert "$(aws ecr get-login --no-include-email --region $SECONDARY_REGION)" in core
    assert "ecr get-login " not in like and "aws ecr get-login-password" in like
    assert step_status(target, "4") == "pass"


def test_reset_reverts_a_buildspec_finished_by_hand(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """A buildspec finished by hand pushes to the secondary registries: the reset goes back
    to its last version that does not (a new commit), so the primary pipeline still builds
    once step 1's reset deletes those registries; its log says only what it did."""
    lab_solved("1", "3")
    core = clone_of(sandbox, "core")
    seeded = remote_buildspec(sandbox, core)
    # The lab's own edit (its stand-in finishes both clones); only Core's is committed here.
    edit = by_hand_script(sandbox, "build-artifacts", only=["Finish the Core buildspec"])
    edited = run_by_hand(sandbox, edit)
    assert edited.returncode == 0, edited.stderr
    git(clone_of(sandbox, "like"), "checkout", "--", "buildspec_prod.yml")
    assert "SECONDARY_CORE_REPO_URI" in (core / "buildspec_prod.yml").read_text()
    git(core, "commit", "-qam", "Updating core buildspec for multi-region deploy")
    codecommit_git("push", "-q", "origin", "master", cwd=core, aws=sandbox)
    by_hand = git(core, "rev-parse", "HEAD")

    planned = invoke("reset", *target, "--step", "4", "--dry-run")
    assert planned.code == 0, planned.stderr
    seeded_commit = git(core, "rev-parse", "HEAD~1")
    assert (
        f"revert buildspec_prod.yml of {core.name} to {seeded_commit[:8]}, which pushes to "
        f"{PRIMARY} only" in planned.stdout
    )
    assert "like-service" not in planned.stdout

    reset = invoke("reset", *target, "--step", "4", "--yes")
    assert reset.code == 0, reset.stdout + reset.stderr
    assert remote_buildspec(sandbox, core) == seeded
    assert git(core, "rev-parse", "HEAD~1") == by_hand  # a new commit, history kept
    assert f"reverted buildspec_prod.yml of {core.name} to {seeded_commit[:8]}" in reset.stderr
    assert "like-service" not in reset.stderr.replace("LikePipeline", "")
    nothing = invoke("reset", *target, "--step", "4", "--yes")
    assert nothing.stdout.strip() == "nothing to reset: the lab has created nothing here"


def invoke_reset(target: list[str]) -> Result:
    return invoke("reset", *target, "--step", "4", "--yes")


def test_step_4_before_step_3_is_finished_by_solving_it_again(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    """The newcomer's trap: step 4 solved before step 3 left the buildspecs done on the remote
    and nothing deployed to the secondary; after step 3, solving step 4 again runs the
    pipelines so the cross-region stage deploys, instead of "already done" while it is red."""
    lab_solved("1")
    assert solve(target, "4").code == 1  # pushed, deployed in the primary only: said so
    assert solve(target, "3").code == 0
    assert step_status(target, "4") == "fail"
    again = solve(target, "4")
    assert again.code == 0, again.stdout + again.stderr
    assert "already done" not in again.stdout
    assert "started CorePipeline-" in again.stderr and f"to {SECONDARY}" in again.stderr
    assert step_status(target, "4") == "pass"
    assert "already done, nothing changed" in solve(target, "4").stdout
