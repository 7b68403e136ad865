"""Changing one file in an attendee's clone, safely: commit only it, push, revert with a commit.

Rules, in order of importance: an attendee's uncommitted or untracked work is never committed,
lost or overwritten; history is never rewritten; a repository in an unusual state (another
branch, a merge or rebase in progress) is refused with the reason rather than "fixed".
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.files import write_atomically
from mmtui.gitops.codecommit import helper_command, signing_options

BRANCH = "master"
TRAILER = "Made-by: mmtui"
"""Marks mmtui's commits, so a reset reverts exactly those."""


AWS_IDENTITY: ContextVar[Callable[[], dict[str, str | None]] | None] = ContextVar(
    "mmtui_git_aws_identity", default=None
)
"""Who git acts as on AWS in this thread: a callable giving AWS_* variables to set (None
removes one), asked at each git command so refreshed role credentials are used. The engine
sets it to the target's own credentials around a step's tasks (`target_git_identity`);
CodeCommit's credential helper signs with these, so a push goes to the target's account,
never to the account the user's environment or default profile happens to name."""


def target_git_identity(factory: Any, region: str) -> Callable[[], dict[str, str | None]]:
    """The AWS_* variables git's credential helper signs with for a target, whatever its kind
    (sandbox keys, a profile, a fleet's role): the credentials of the target's own session,
    frozen at each git command (a role's are refreshed before they expire), and `region`, the
    repository's. AWS_PROFILE goes: with it set, the CLI would skip the keys given here.

    A git command that talks to a remote runs as `git <signing_options()> <command>` in
    `git_environment()` (see `_remote_git`)."""

    def variables() -> dict[str, str | None]:
        # A role's shared credentials directly (a session would also read the caller's
        # AWS_PROFILE, which is not the target's business).
        credentials = (
            factory.role_credentials()
            if factory.spec.role is not None
            else factory.session_credentials()
        )
        if credentials is None:
            raise MmtuiError(
                "git needs AWS credentials to reach CodeCommit, and the target has none",
                ExitCode.CREDENTIALS,
            )
        frozen = credentials.get_frozen_credentials()
        return {
            "AWS_ACCESS_KEY_ID": frozen.access_key,
            "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
            "AWS_SESSION_TOKEN": frozen.token,
            "AWS_SECURITY_TOKEN": None,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_PROFILE": None,
            "AWS_DEFAULT_PROFILE": None,
        }

    return variables


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


def _remote_git(cwd: Path | None, *args: str) -> None:
    """A git command that talks to the remote (clone, fetch, push), authenticated by mmtui's
    credential helper (git_signer.py, the password the AWS CLI's helper would make) given on
    the command line, as the target (AWS_IDENTITY).

    Run without GitPython, which can add environment variables but not remove them (the
    user's AWS_PROFILE must go). Failures raise GitPython's GitCommandError like its calls."""
    import subprocess

    import git

    command = ["git", *signing_options(), *args]
    completed = subprocess.run(
        command, cwd=cwd, env=git_environment(), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise git.GitCommandError(
            ["git", *args], completed.returncode, completed.stderr, completed.stdout
        )


def open_clone(workspace: Path, name: str, clone_url: str | None) -> Any:
    """The attendee's clone `<workspace>/<name>`, cloned from `clone_url` when missing."""
    import git

    path = workspace / name
    if (path / ".git").exists():
        return git.Repo(path)
    if clone_url is None:
        raise MmtuiError(f"there is no clone of {name} in {workspace}, and no clone URL")
    try:
        _remote_git(None, "clone", "--quiet", "--branch", BRANCH, clone_url, str(path))
    except git.GitCommandError as exc:
        raise MmtuiError(
            f"git clone {clone_url} failed: {_stderr(exc)}", ExitCode.AWS_ERROR
        ) from None
    repo = git.Repo(path)
    # CodeCommit over HTTPS authenticates through the AWS CLI's credential helper: the clone
    # keeps it, as Lab 0 leaves the attendee's clones, for their own `git push`.
    with repo.config_writer() as config:
        config.set_value("credential", "helper", helper_command())
        config.set_value("credential", "UseHttpPath", "true")
    return repo


def _stderr(exc: Any) -> str:
    text = str(getattr(exc, "stderr", "") or exc).strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[:500]


REMOTE_BRANCH = f"origin/{BRANCH}"
"""What the pipeline builds is the remote's branch; the clone's own `master` is only where
mmtui prepares a commit. Every "done?" is answered from here, after a fetch."""


def origin_url(repo: Any) -> str:
    try:
        return str(repo.remotes.origin.url)
    except (AttributeError, ValueError):
        return ""


def fetch(repo: Any) -> None:
    """Bring `origin/master` up to date; MmtuiError (exit 4) when the remote cannot be read."""
    import git

    try:
        _remote_git(Path(repo.working_dir), "fetch", "origin")
    except git.GitCommandError as exc:
        raise MmtuiError(
            f"git fetch from {origin_url(repo) or 'origin'} failed: {_stderr(exc)}",
            ExitCode.AWS_ERROR,
        ) from None
    if _remote_head(repo) is None:
        raise MmtuiError(
            f"{origin_url(repo)} has no {BRANCH} branch; the pipeline builds {BRANCH}",
            ExitCode.USAGE,
        )


def _remote_head(repo: Any) -> Any:
    import git

    try:
        return repo.commit(REMOTE_BRANCH)
    except (git.BadName, ValueError):
        return None


def remote_head(repo: Any) -> str:
    """The commit `origin/master` points at (as of the last fetch)."""
    head = _remote_head(repo)
    return "" if head is None else str(head.hexsha)


def _text_at(commit: Any, file: str) -> str:
    try:
        blob = commit.tree / file
    except KeyError:
        return ""
    text: str = blob.data_stream.read().decode("utf-8", "replace")
    return text


def remote_text(repo: Any, file: str) -> str:
    """`file` as the remote's master has it ("" when it has none), as of the last fetch."""
    head = _remote_head(repo)
    return "" if head is None else _text_at(head, file)


def _normalised(url: str) -> str:
    url = url.strip().rstrip("/")
    url = re.sub(r"^(https?://)[^/@]+@", r"\1", url)  # credentials in the URL are not its identity
    return url.removesuffix(".git")


def same_remote(url: str, wanted: str, repository: str) -> bool:
    """`url` reaches the repository whose clone URL is `wanted`: the same URL, or
    git-remote-codecommit's `codecommit://NAME` / `codecommit::REGION://NAME` for it."""
    if _normalised(url) == _normalised(wanted):
        return True
    grc = re.fullmatch(r"codecommit(?:::([a-z0-9-]+))?://(?:[^@/]+@)?([^/]+)", url.strip())
    if grc is None or grc.group(2) != repository:
        return False
    region = re.search(r"git-codecommit\.([a-z0-9-]+)\.", wanted)
    return grc.group(1) is None or region is None or grc.group(1) == region.group(1)


def refuse_other_origin(repo: Any, repository: str, urls: list[str]) -> None:
    """MmtuiError unless the clone's `origin` is `repository`, the pipeline's source (one of
    its clone `urls`): a push anywhere else would never reach the pipeline."""
    current = origin_url(repo)
    if any(same_remote(current, url, repository) for url in urls if url):
        return
    raise MmtuiError(
        f"the origin of {repo.working_dir} is {current or 'not set'}, but the pipeline builds "
        f"from {repository} ({urls[0]}); point the clone at it "
        f"(`git -C {repo.working_dir} remote set-url origin {urls[0]}`) or move the clone away "
        "so mmtui clones it again",
        ExitCode.USAGE,
    )


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
    """`file` as the clone's HEAD has it ("" when it has none)."""
    return _text_at(repo.head.commit, file)


@dataclass
class FileChange:
    repo: Any
    file: str
    current: str
    """The file on the remote's master: what the pipeline builds now."""
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


def plan_change(repo: Any, file: str, wanted: str) -> FileChange:
    """What writing `wanted` would change on the remote (fetched first): the clone may be ahead
    of it (a push that never happened) or behind it (someone else pushed), and neither is
    what the pipeline builds."""
    fetch(repo)
    return FileChange(repo, file, remote_text(repo, file), wanted)


def unpushed(repo: Any) -> list[Any]:
    """Commits of the clone's HEAD that the remote's master lacks, newest first."""
    return list(repo.iter_commits(f"{REMOTE_BRANCH}..HEAD"))


def _refuse_foreign_commits(repo: Any) -> None:
    """mmtui pushes its own commit only: the attendee's unpushed commits would be published
    and deployed with it, unreviewed."""
    theirs = [c for c in unpushed(repo) if TRAILER not in str(c.message)]
    if not theirs:
        return
    listed = "; ".join(f"{c.hexsha[:8]} {str(c.summary)[:60]}" for c in theirs[:5])
    more = f" and {len(theirs) - 5} more" if len(theirs) > 5 else ""
    where = repo.working_dir
    raise MmtuiError(
        f"{BRANCH} in {where} has {len(theirs)} commit(s) not on the remote: {listed}{more}. "
        "A push would publish them and the pipeline would deploy them, so mmtui stops: "
        f"push them yourself if they are ready (`git -C {where} push origin {BRANCH}`), or "
        f"keep them on a branch of their own (`git -C {where} branch my-work` then "
        f"`git -C {where} reset --keep {REMOTE_BRANCH}`), then solve again",
        ExitCode.USAGE,
    )


def _catch_up(repo: Any, env: dict[str, str]) -> None:
    """Put the clone's master on top of the remote's (mmtui's own unpushed commits replayed
    over it; a commit the remote already has the content of drops out)."""
    import git

    if repo.is_ancestor(remote_head(repo), repo.head.commit.hexsha):
        return
    try:
        repo.git.rebase("--autostash", REMOTE_BRANCH, env=env)
    except git.GitCommandError as exc:
        with contextlib.suppress(git.GitCommandError):
            repo.git.rebase("--abort", env=env)
        raise MmtuiError(
            "the remote moved and mmtui's commit does not apply on top of it "
            f"({_stderr(exc)}); resolve it by hand: `git -C {repo.working_dir} pull --rebase` "
            "then `git push`",
            ExitCode.USAGE,
        ) from None


def commit_and_push(change: FileChange, message: str) -> str:
    """Make the remote's master hold `change.wanted`: catch up with the remote, commit only the
    file (other staged or unstaged work stays as it was) unless mmtui's own unpushed commit
    already holds it, and push.

    Returns the commit the remote's master now points at, or "" when nothing was pushed
    (the remote already had it): a caller waits for a pipeline run only after a real push.
    """
    repo = change.repo
    refuse_unsafe(repo, change.file)
    env = git_environment()
    fetch(repo)
    now = remote_text(repo, change.file)
    if now == change.wanted:
        return ""
    if now != change.current:
        # The change was planned (and its diff shown) against another text: writing it now
        # would silently undo whatever was pushed meanwhile.
        raise MmtuiError(
            f"{change.file} of {origin_url(repo)} changed since mmtui read it (master is now "
            f"{remote_head(repo)[:8]}); nothing was pushed: look at the new text and solve again",
            ExitCode.USAGE,
        )
    _refuse_foreign_commits(repo)
    _catch_up(repo, env)
    if committed_text(repo, change.file) != change.wanted:
        path = Path(repo.working_dir) / change.file
        write_atomically(path, change.wanted.encode("utf-8"))
        if change.file not in {item.path for item in repo.tree().traverse()}:
            repo.git.add("--", change.file, env=env)
        # `git commit -- FILE` commits that file's contents only, whatever else is staged.
        repo.git.commit("-m", f"{message}\n\n{TRAILER}", "--", change.file, env=env)
    if repo.head.commit.hexsha == remote_head(repo):
        return ""
    _push(repo, env)
    return str(repo.head.commit.hexsha)


def _push(repo: Any, env: dict[str, str]) -> None:
    """Push HEAD to the remote's master; when someone pushed meanwhile, catch up and retry once."""
    import git

    try:
        _remote_git(Path(repo.working_dir), "push", "origin", f"HEAD:{BRANCH}")
        return
    except git.GitCommandError as exc:
        if "rejected" not in _stderr(exc) and "fetch first" not in _stderr(exc):
            raise MmtuiError(f"git push failed: {_stderr(exc)}", ExitCode.AWS_ERROR) from None
    fetch(repo)
    _refuse_foreign_commits(repo)
    _catch_up(repo, env)
    try:
        _remote_git(Path(repo.working_dir), "push", "origin", f"HEAD:{BRANCH}")
    except git.GitCommandError as exc:
        raise MmtuiError(f"git push failed: {_stderr(exc)}", ExitCode.AWS_ERROR) from None


def remote_versions(repo: Any, file: str) -> Iterator[tuple[str, str]]:
    """(commit, text of `file`) for each commit of the remote's master that changed `file`,
    newest first, along the first-parent line (what the branch itself went through)."""
    for commit in repo.iter_commits(REMOTE_BRANCH, paths=file, first_parent=True):
        yield str(commit.hexsha), _text_at(commit, file)
