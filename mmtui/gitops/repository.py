"""Changing one file in an attendee's clone, safely: commit only it, push, revert with a commit.

Rules, in order of importance: an attendee's uncommitted or untracked work is never committed,
lost or overwritten; history is never rewritten; a repository in an unusual state (another
branch, a merge or rebase in progress) is refused with the reason rather than "fixed".
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.sandbox.persistence import write_atomically

BRANCH = "master"
TRAILER = "Made-by: mmtui"
"""Marks mmtui's commits, so a reset reverts exactly those."""


AWS_IDENTITY: ContextVar[Callable[[], dict[str, str | None]] | None] = ContextVar(
    "mmtui_git_aws_identity", default=None
)
"""Who git acts as on AWS in this thread, when it is not the user's own environment (a fleet
target reached through a role or a profile): a callable giving AWS_* variables to set (None
removes one), asked at each git command so refreshed role credentials are used. CodeCommit's
credential helper signs with these, so a push goes to the attendee's account, never to the
account the instructor's environment happens to name."""


@contextmanager
def aws_identity_for_git(variables: Callable[[], dict[str, str | None]]) -> Iterator[None]:
    token = AWS_IDENTITY.set(variables)
    try:
        yield
    finally:
        AWS_IDENTITY.reset(token)


def git_environment() -> dict[str, str]:
    """Never prompt (a hidden prompt would hang the guide); the rest is the user's git."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    identity = AWS_IDENTITY.get()
    if identity is not None:
        for name, value in identity().items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
    return env


def open_clone(workspace: Path, name: str, clone_url: str | None) -> Any:
    """The attendee's clone `<workspace>/<name>`, cloned from `clone_url` when missing."""
    import git

    path = workspace / name
    if (path / ".git").exists():
        return git.Repo(path)
    if clone_url is None:
        raise MmtuiError(f"there is no clone of {name} in {workspace}, and no clone URL")
    try:
        repo = git.Repo.clone_from(clone_url, path, branch=BRANCH, env=git_environment())
    except git.GitCommandError as exc:
        raise MmtuiError(
            f"git clone {clone_url} failed: {_stderr(exc)}", ExitCode.AWS_ERROR
        ) from None
    if clone_url.startswith("https://git-codecommit."):
        # Real CodeCommit over HTTPS authenticates through the AWS CLI's credential helper.
        with repo.config_writer() as config:
            config.set_value("credential", "helper", "!aws codecommit credential-helper $@")
            config.set_value("credential", "UseHttpPath", "true")
    return repo


def _stderr(exc: Any) -> str:
    text = str(getattr(exc, "stderr", "") or exc).strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[:500]


def refuse_unsafe(repo: Any, file: str) -> None:
    """MmtuiError naming why `repo` must not be touched now, if it must not."""
    git_dir = Path(repo.git_dir)
    for marker, what in (
        ("MERGE_HEAD", "a merge"),
        ("rebase-merge", "a rebase"),
        ("rebase-apply", "a rebase"),
        ("CHERRY_PICK_HEAD", "a cherry-pick"),
        ("REVERT_HEAD", "a revert"),
    ):
        if (git_dir / marker).exists():
            raise MmtuiError(
                f"{repo.working_dir} is in the middle of {what}; finish or abort it first",
                ExitCode.USAGE,
            )
    if repo.head.is_detached or repo.active_branch.name != BRANCH:
        where = "a detached HEAD" if repo.head.is_detached else f"branch {repo.active_branch}"
        raise MmtuiError(
            f"{repo.working_dir} is on {where}; the pipeline builds {BRANCH}: "
            f"`git switch {BRANCH}` first",
            ExitCode.USAGE,
        )
    if repo.is_dirty(index=True, working_tree=True, untracked_files=True, path=file):
        raise MmtuiError(
            f"{file} in {repo.working_dir} has changes you have not committed; "
            "commit or discard them first, mmtui will not overwrite them",
            ExitCode.USAGE,
        )


def committed_text(repo: Any, file: str) -> str:
    try:
        blob = repo.head.commit.tree / file
    except KeyError:
        return ""
    text: str = blob.data_stream.read().decode("utf-8", "replace")
    return text


@dataclass
class FileChange:
    repo: Any
    file: str
    current: str
    wanted: str

    @property
    def needed(self) -> bool:
        return self.current != self.wanted

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.current.splitlines(keepends=True),
                self.wanted.splitlines(keepends=True),
                fromfile=f"a/{self.file}",
                tofile=f"b/{self.file}",
            )
        )


def remote_text(repo: Any, file: str) -> str | None:
    """`file` as the remote's master has it, after a fetch ("" when the remote has no such
    file; None when the clone has no remote master to compare with)."""
    import git

    if "origin" not in [remote.name for remote in repo.remotes]:
        return None
    try:
        repo.git.fetch("origin", BRANCH, env=git_environment())
    except git.GitCommandError as exc:
        raise MmtuiError(f"git fetch failed: {_stderr(exc)}", ExitCode.AWS_ERROR) from None
    try:
        tree = repo.commit(f"origin/{BRANCH}").tree
    except (ValueError, git.BadName):
        return None
    try:
        blob = tree / file
    except KeyError:
        return ""
    text: str = blob.data_stream.read().decode("utf-8", "replace")
    return text


def plan_change(repo: Any, file: str, wanted: str) -> FileChange:
    """What writing `wanted` changes, judged from the remote: the pipeline builds what was
    pushed, so a commit made here and never pushed (or a clone left ahead of a remote that
    was reset) still needs its push; the diff shows the remote's text."""
    remote = remote_text(repo, file)
    current = committed_text(repo, file) if remote is None else remote
    return FileChange(repo, file, current, wanted)


def commit_and_push(change: FileChange, message: str) -> str:
    """Write the file, commit only it (other staged or unstaged work stays as it was), push.

    A push rejected because the remote moved gets a fetch and a rebase of our one commit; a
    conflict there is aborted and reported. Returns the pushed commit id.
    """

    repo = change.repo
    refuse_unsafe(repo, change.file)
    env = git_environment()
    if committed_text(repo, change.file) == change.wanted:
        # Already committed here but not on the remote: the push is what is missing.
        _push(repo, env)
        return str(repo.head.commit.hexsha)
    path = Path(repo.working_dir) / change.file
    write_atomically(path, change.wanted.encode("utf-8"))
    if change.file not in {item.path for item in repo.tree().traverse()}:
        repo.git.add("--", change.file, env=env)
    # `git commit -- FILE` commits that file's contents only, whatever else is staged.
    repo.git.commit("-m", f"{message}\n\n{TRAILER}", "--", change.file, env=env)
    _push(repo, env)
    return str(repo.head.commit.hexsha)


def _push(repo: Any, env: dict[str, str]) -> None:
    import git

    try:
        repo.git.push("origin", f"{BRANCH}:{BRANCH}", env=env)
        return
    except git.GitCommandError as exc:
        if "rejected" not in _stderr(exc) and "fetch first" not in _stderr(exc):
            raise MmtuiError(f"git push failed: {_stderr(exc)}", ExitCode.AWS_ERROR) from None
    try:
        repo.git.fetch("origin", env=env)
        repo.git.rebase("--autostash", f"origin/{BRANCH}", env=env)
    except git.GitCommandError as exc:
        repo.git.rebase("--abort", env=env)
        raise MmtuiError(
            "the remote moved and our commit does not apply on top of it "
            f"({_stderr(exc)}); resolve it by hand: `git pull --rebase` then `git push`",
            ExitCode.USAGE,
        ) from None
    try:
        repo.git.push("origin", f"{BRANCH}:{BRANCH}", env=env)
    except git.GitCommandError as exc:
        raise MmtuiError(f"git push failed: {_stderr(exc)}", ExitCode.AWS_ERROR) from None


def our_commits(repo: Any, file: str) -> list[Any]:
    """mmtui's commits of `file` on the current branch not yet reverted, newest first."""
    reverted: set[str] = set()
    ours = []
    for commit in repo.iter_commits(BRANCH, paths=file):
        message = str(commit.message)
        for line in message.splitlines():
            if line.startswith("This reverts commit "):
                reverted.add(line.split()[-1].rstrip("."))
        if (
            TRAILER in message
            and commit.hexsha not in reverted
            and not message.startswith("Revert")
        ):
            ours.append(commit)
    return ours


def revert_ours(repo: Any, file: str) -> str:
    """Put `file` back as it was before mmtui's commits, with a new commit, and push."""
    commits = our_commits(repo, file)
    if not commits:
        return ""
    refuse_unsafe(repo, file)
    newest, oldest = commits[0], commits[-1]
    if committed_text(repo, file) != (newest.tree / file).data_stream.read().decode():
        raise MmtuiError(
            f"{file} changed after mmtui's commit {newest.hexsha[:8]}; "
            "mmtui will not overwrite that: revert it by hand",
            ExitCode.USAGE,
        )
    before = (oldest.parents[0].tree / file).data_stream.read().decode() if oldest.parents else ""
    change = FileChange(repo, file, committed_text(repo, file), before)
    lines = "\n".join(f"This reverts commit {c.hexsha}." for c in commits)
    return commit_and_push(change, f"Revert mmtui's change to {file}\n\n{lines}")
