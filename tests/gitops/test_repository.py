"""Changing one file of an attendee's clone: nothing of theirs is ever committed or lost."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git
import pytest

from mmtui.exitcodes import MmtuiError
from mmtui.gitops.repository import TRAILER, commit_and_push, plan_change, revert_ours

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


def test_conflict_after_the_remote_moved_is_reported_and_aborted(
    clone: git.Repo, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    run(tmp_path, "clone", clone.remotes.origin.url, str(other))
    (other / FILE).write_text("theirs: 1\n")
    run(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-am", "theirs")
    run(other, "push", "origin", "master")
    with pytest.raises(MmtuiError, match="does not apply on top of it"):
        commit_and_push(plan_change(clone, FILE, "ours: 1\n"), "Updating")
    assert not (Path(clone.git_dir) / "rebase-merge").exists()
    assert remote_file(clone) == "theirs: 1\n"


def test_revert_puts_the_file_back_with_a_new_commit(clone: git.Repo) -> None:
    commit_and_push(plan_change(clone, FILE, "first\n"), "one")
    commit_and_push(plan_change(clone, FILE, "second\n"), "two")
    commits_before = len(list(clone.iter_commits("master")))
    revert_ours(clone, FILE)
    assert remote_file(clone) == "version: 0.2\n"
    assert len(list(clone.iter_commits("master"))) == commits_before + 1  # history kept
    assert revert_ours(clone, FILE) == ""  # nothing of ours left to revert


def test_revert_refuses_when_the_file_changed_since(clone: git.Repo) -> None:
    commit_and_push(plan_change(clone, FILE, "ours\n"), "one")
    work = Path(clone.working_dir)
    (work / FILE).write_text("attendee edit\n")
    run(work, "commit", "-am", "my own edit")
    with pytest.raises(MmtuiError, match="changed after mmtui's commit"):
        revert_ours(clone, FILE)


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


def test_a_commit_never_pushed_is_still_needed_and_gets_pushed(clone: git.Repo) -> None:
    """What the pipeline builds is the remote: a clone ahead of it is not "already done"."""
    work = Path(clone.working_dir)
    (work / FILE).write_text("finished: true\n")
    run(work, "commit", "-q", "-am", "mine, not pushed")
    change = plan_change(clone, FILE, "finished: true\n")
    assert change.needed and change.current == "version: 0.2\n"
    commits = len(list(clone.iter_commits("master")))
    commit_and_push(change, "Updating")
    assert remote_file(clone) == "finished: true\n"
    assert len(list(clone.iter_commits("master"))) == commits  # pushed as it was, no new commit
    assert not plan_change(clone, FILE, "finished: true\n").needed


def test_the_diff_is_against_what_the_remote_has(clone: git.Repo, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run(tmp_path, "clone", clone.remotes.origin.url, str(other))
    (other / FILE).write_text("someone else's\n")
    run(other, "-c", "user.name=o", "-c", "user.email=o@x", "commit", "-q", "-am", "theirs")
    run(other, "push", "-q", "origin", "master")
    assert plan_change(clone, FILE, "someone else's\n").needed is False
