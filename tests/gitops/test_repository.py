"""Changing one file of an attendee's clone: nothing of theirs is ever committed or lost."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git
import pytest

from mmtui.exitcodes import MmtuiError
from mmtui.gitops.repository import (
    TRAILER,
    FileChange,
    commit_and_push,
    plan_change,
    refuse_other_origin,
    remote_text,
    remote_versions,
    same_remote,
)

FILE = "buildspec_prod.yml"


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def run(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ}
    ).stdout


@pytest.fixture
def clone(tmp_path: Path) -> git.Repo:
    """A clone of a bare 'remote' with an initial commit on master, like the workspace's."""
    remote = tmp_path / "remote.git"
    run(tmp_path, "init", "--bare", "-b", "master", str(remote))
    work = tmp_path / "clone"
    run(tmp_path, "clone", str(remote), str(work))
    run(work, "config", "user.name", "attendee")
    run(work, "config", "user.email", "a@example.com")
    (work / FILE).write_text("version: 0.2\n")
    (work / "app.py").write_text("print('hi')\n")
    run(work, "add", ".")
    run(work, "commit", "-m", "initial")
    run(work, "push", "origin", "master")
    return git.Repo(work)


def remote_file(clone: git.Repo) -> str:
    remote = Path(clone.remotes.origin.url)
    return run(remote, "show", f"master:{FILE}")


def test_commits_only_the_file_and_keeps_the_attendees_work(clone: git.Repo) -> None:
    work = Path(clone.working_dir)
    (work / "app.py").write_text("print('work in progress')\n")  # unstaged
    (work / "notes.txt").write_text("mine\n")  # untracked
    (work / "staged.py").write_text("x = 1\n")
    clone.git.add("staged.py")  # staged, not ours to commit
    change = plan_change(clone, FILE, "version: 0.2\nphases: {}\n")
    assert change.needed and change.diff().startswith(f"--- a/{FILE}\n+++ b/{FILE}\n")
    commit_and_push(change, "Updating core buildspec")
    assert remote_file(clone) == "version: 0.2\nphases: {}\n"
    head = clone.head.commit
    assert list(head.stats.files) == [FILE]
    assert TRAILER in str(head.message)
    assert (work / "app.py").read_text() == "print('work in progress')\n"
    assert (work / "notes.txt").read_text() == "mine\n"
    assert "staged.py" in [d.a_path for d in clone.index.diff("HEAD")]  # still staged


def test_unchanged_file_needs_no_commit(clone: git.Repo) -> None:
    assert not plan_change(clone, FILE, "version: 0.2\n").needed


def test_refuses_uncommitted_edits_of_the_file(clone: git.Repo) -> None:
    (Path(clone.working_dir) / FILE).write_text("version: 0.2\n# my edit\n")
    with pytest.raises(MmtuiError, match="has changes you have not committed"):
        commit_and_push(plan_change(clone, FILE, "new\n"), "x")
    assert (Path(clone.working_dir) / FILE).read_text() == "version: 0.2\n# my edit\n"


def test_refuses_another_branch_and_a_merge_in_progress(clone: git.Repo) -> None:
    clone.git.switch("-c", "feature")
    with pytest.raises(MmtuiError, match="is on branch feature"):
        commit_and_push(plan_change(clone, FILE, "new\n"), "x")
    clone.git.switch("master")
    (Path(clone.git_dir) / "MERGE_HEAD").write_text(clone.head.commit.hexsha)
    with pytest.raises(MmtuiError, match="in the middle of a merge"):
        commit_and_push(plan_change(clone, FILE, "new\n"), "x")


def test_remote_moved_gets_fetch_and_rebase(clone: git.Repo, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run(tmp_path, "clone", clone.remotes.origin.url, str(other))
    (other / "app.py").write_text("print('someone else')\n")
    run(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-am", "elsewhere")
    run(other, "push", "origin", "master")
    commit_and_push(plan_change(clone, FILE, "rebased: true\n"), "Updating")
    assert remote_file(clone) == "rebased: true\n"
    log = run(Path(clone.working_dir), "log", "--format=%s", "origin/master")
    assert log.splitlines()[:2] == ["Updating", "elsewhere"]


def test_a_remote_changed_since_the_plan_is_not_overwritten(
    clone: git.Repo, tmp_path: Path
) -> None:
    change = plan_change(clone, FILE, "ours: 1\n")  # the diff the attendee was shown
    other = tmp_path / "other"
    run(tmp_path, "clone", clone.remotes.origin.url, str(other))
    (other / FILE).write_text("theirs: 1\n")
    run(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-am", "theirs")
    run(other, "push", "origin", "master")
    with pytest.raises(MmtuiError, match="changed since mmtui read it"):
        commit_and_push(change, "Updating")
    assert remote_file(clone) == "theirs: 1\n"


def test_conflict_of_our_unpushed_commit_is_reported_and_aborted(
    clone: git.Repo, tmp_path: Path
) -> None:
    """mmtui's commit whose push failed, and the remote's file changed since: the replay
    conflicts; it is aborted and reported, nothing is lost."""
    work = Path(clone.working_dir)
    (work / FILE).write_text("ours: 1\n")
    run(work, "commit", "-am", f"Updating\n\n{TRAILER}")
    other = tmp_path / "other"
    run(tmp_path, "clone", clone.remotes.origin.url, str(other))
    (other / "app.py").write_text("print('moved')\n")
    run(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-am", "moved")
    (other / FILE).write_text("theirs: 1\n")
    run(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-am", "theirs")
    run(other, "push", "origin", "master")
    change = plan_change(clone, FILE, "theirs: 2\n")
    with pytest.raises(MmtuiError, match="does not apply on top of it"):
        commit_and_push(change, "Updating")
    assert not (Path(clone.git_dir) / "rebase-merge").exists()
    assert remote_file(clone) == "theirs: 1\n"
    assert (work / FILE).read_text() == "ours: 1\n"


def test_going_back_is_a_new_commit_and_history_is_kept(clone: git.Repo) -> None:
    commit_and_push(plan_change(clone, FILE, "first\n"), "one")
    commit_and_push(plan_change(clone, FILE, "second\n"), "two")
    versions = list(remote_versions(clone, FILE))
    assert [text for _, text in versions] == ["second\n", "first\n", "version: 0.2\n"]
    commits_before = len(list(clone.iter_commits("master")))
    original = versions[-1][1]
    assert commit_and_push(FileChange(clone, FILE, "second\n", original), "Revert")
    assert remote_file(clone) == "version: 0.2\n"
    assert len(list(clone.iter_commits("master"))) == commits_before + 1  # history kept
    assert commit_and_push(FileChange(clone, FILE, original, original), "Revert") == ""


def test_the_remote_decides_what_is_done_not_the_clone(clone: git.Repo) -> None:
    """A commit whose push never happened leaves the clone ahead: the file is not done (the
    pipeline builds the remote), and the next call pushes that commit (red team K2, K3b)."""
    work = Path(clone.working_dir)
    (work / FILE).write_text("finished\n")
    run(work, "commit", "-am", f"Updating\n\n{TRAILER}")  # committed, push interrupted
    change = plan_change(clone, FILE, "finished\n")
    assert change.needed and change.current == "version: 0.2\n"
    pushed = commit_and_push(change, "Updating")
    assert pushed == clone.head.commit.hexsha
    assert remote_file(clone) == "finished\n"
    assert len(list(clone.iter_commits("master"))) == 2  # no second commit for the same text
    assert not plan_change(clone, FILE, "finished\n").needed


def test_a_push_that_changes_nothing_says_so(clone: git.Repo, tmp_path: Path) -> None:
    """Someone else pushed the very text meanwhile: nothing is pushed, "" is returned, so no
    caller waits for a pipeline run that will never start (red team R10)."""
    change = plan_change(clone, FILE, "same\n")
    other = tmp_path / "other"
    run(tmp_path, "clone", clone.remotes.origin.url, str(other))
    (other / FILE).write_text("same\n")
    run(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-am", "theirs")
    run(other, "push", "origin", "master")
    head = run(Path(clone.remotes.origin.url), "rev-parse", "master")
    assert commit_and_push(change, "Updating") == ""
    assert run(Path(clone.remotes.origin.url), "rev-parse", "master") == head


def test_the_attendees_unpushed_commits_are_never_pushed_along(clone: git.Repo) -> None:
    """Red team G5: a local commit of the attendee's is named in the refusal, not published."""
    work = Path(clone.working_dir)
    (work / "app.py").write_text("print('wip')\n")
    run(work, "commit", "-am", "WIP not meant to be pushed")
    with pytest.raises(MmtuiError, match=r"1 commit\(s\) not on the remote: [0-9a-f]{8} WIP not"):
        commit_and_push(plan_change(clone, FILE, "new\n"), "x")
    assert remote_file(clone) == "version: 0.2\n"
    assert remote_text(clone, "app.py") == "print('hi')\n"
    assert str(clone.head.commit.message).startswith("WIP")  # nothing committed on top


def test_a_detached_head_is_refused_even_at_an_old_commit_of_mmtui(clone: git.Repo) -> None:
    """Red team G3: HEAD detached at mmtui's earlier commit of the finished file, master
    reverted since: the remote is not done, and the detached HEAD is refused."""
    commit_and_push(plan_change(clone, FILE, "finished\n"), "one")
    ours = clone.head.commit.hexsha
    commit_and_push(plan_change(clone, FILE, "version: 0.2\n"), "revert")
    clone.git.checkout("--detach", ours)
    change = plan_change(clone, FILE, "finished\n")
    assert change.needed
    with pytest.raises(MmtuiError, match="detached HEAD"):
        commit_and_push(change, "x")


def test_origin_must_be_the_pipelines_repository(clone: git.Repo) -> None:
    url = "https://git-codecommit.us-west-2.amazonaws.com/v1/repos/core-service-x"
    assert same_remote(url + "/", url, "core-service-x")
    assert same_remote(
        "https://me:pw@git-codecommit.us-west-2.amazonaws.com/v1/repos/core-service-x",
        url,
        "core-service-x",
    )
    assert same_remote("codecommit::us-west-2://core-service-x", url, "core-service-x")
    assert same_remote("codecommit://core-service-x", url, "core-service-x")
    assert not same_remote("codecommit::us-east-1://core-service-x", url, "core-service-x")
    assert not same_remote(url.replace("core-service-x", "elsewhere"), url, "core-service-x")
    with pytest.raises(
        MmtuiError,
        match=r"origin of .* is .*remote\.git, but the pipeline builds from core-service-x",
    ):
        refuse_other_origin(clone, "core-service-x", [url])


def test_a_missing_clone_is_cloned_from_its_url(clone: git.Repo, tmp_path: Path) -> None:
    from mmtui.gitops.repository import open_clone

    workspace = tmp_path / "workspace"
    workspace.mkdir()
    fresh = open_clone(workspace, "core-service-x", clone.remotes.origin.url)
    assert Path(fresh.working_dir) == workspace / "core-service-x"
    assert fresh.active_branch.name == "master"
    assert (workspace / "core-service-x" / FILE).read_text() == "version: 0.2\n"
    assert open_clone(workspace, "core-service-x", None).working_dir == fresh.working_dir
    with pytest.raises(MmtuiError, match="no clone of other-repo"):
        open_clone(workspace, "other-repo", None)


def test_the_diff_is_against_what_the_remote_has(clone: git.Repo, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run(tmp_path, "clone", clone.remotes.origin.url, str(other))
    (other / FILE).write_text("someone else's\n")
    run(other, "-c", "user.name=o", "-c", "user.email=o@x", "commit", "-q", "-am", "theirs")
    run(other, "push", "-q", "origin", "master")
    assert plan_change(clone, FILE, "someone else's\n").needed is False
