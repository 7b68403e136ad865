"""The sandbox's CodeCommit repositories on disk: one bare git repository per repository name.

They live in `<state dir>/git/<name>.git` (an attendee account's in
`<state dir>/git/accounts/<account>/<name>.git`: names are per account, as on AWS), so they
survive a restart with the rest of the state.
git_repos.py serves them over git's smart HTTP; the pipeline runner reads them with
the functions here (a branch head, a commit's files, its message) without going through HTTP.

Every git command runs isolated from the machine's and the user's git configuration, never
prompts, and never talks to a proxy for loopback: the sandbox must behave the same on every
machine, and nothing of it may reach the terminal.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

GIT_FOLDER = "git"
ACCOUNTS_FOLDER = "accounts"
"""Under the git folder: one folder of repositories per attendee account."""
POOL_FOLDER = ".pool"
"""Under the git folder: objects of deleted repositories, shared by all (git alternates)."""
DEFAULT_BRANCH = "master"
ZERO_SHA = "0" * 40
GIT_TIMEOUT = 600
"""Seconds any one git command may take (a huge push on a slow disk), so a hung git cannot
hold a request thread forever."""

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_ACCOUNT = re.compile(r"^\d{12}$")


class GitError(RuntimeError):
    pass


def valid_name(repo: str) -> bool:
    """A CodeCommit repository name that is also safe as a folder name (no `..`, no `/`)."""
    return bool(_NAME.match(repo)) and repo not in (".", "..") and not repo.endswith(".git")


def git_root(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> Path:
    """The folder holding the account's bare repositories."""
    root = sandbox.state_dir / GIT_FOLDER
    if account == DEFAULT_ACCOUNT:
        return root
    if not _ACCOUNT.match(account):
        raise ValueError(f"not an account id: {account!r}")
    return root / ACCOUNTS_FOLDER / account


def accounts_on_disk(sandbox: Sandbox) -> list[str]:
    """The attendee accounts that have a folder of repositories."""
    folder = sandbox.state_dir / GIT_FOLDER / ACCOUNTS_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _ACCOUNT.match(p.name))


def bare_path(sandbox: Sandbox, repo: str, account: str = DEFAULT_ACCOUNT) -> Path:
    if not valid_name(repo):
        raise ValueError(f"not a repository name: {repo!r}")
    return git_root(sandbox, account) / f"{repo}.git"


def git_env(**extra: str) -> dict[str, str]:
    """The environment of every git command the sandbox runs (and its tests)."""
    env = {
        key: value
        for key, value in os.environ.items()
        # GIT_DIR, GIT_WORK_TREE, ... from a calling hook or shell would redirect our commands.
        if not key.startswith("GIT_") and key not in ("SSH_ASKPASS", "EMAIL")
    }
    no_proxy = ",".join(
        part
        for part in ("127.0.0.1", "localhost", env.get("no_proxy") or env.get("NO_PROXY"))
        if part
    )
    env.update(
        {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "no_proxy": no_proxy,
            "NO_PROXY": no_proxy,
        }
    )
    env.update(extra)
    return env


def run_git(
    *args: str,
    cwd: Path | None = None,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run git quietly; GitError (with git's own message) when it fails and `check` is set."""
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            env=env or git_env(),
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (the sandbox's repositories need it)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {_verb(args)} took longer than {GIT_TIMEOUT} s") from None
    if check and completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git {_verb(args)} failed: {message or f'exit {completed.returncode}'}")
    return completed


def _verb(args: tuple[str, ...]) -> str:
    """The git command of `args` (`rev-parse` of `--git-dir X rev-parse ...`), for messages."""
    words = iter(args)
    for word in words:
        if word in ("--git-dir", "--work-tree", "-C", "-c"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return "command"


def _check_revision(revision: str) -> None:
    # A revision that git would read as an option (`--output=...`) is refused outright.
    if not revision or revision.startswith("-"):
        raise GitError(f"not a commit: {revision!r}")


def _git_dir(sandbox: Sandbox, repo: str, account: str) -> Path:
    path = bare_path(sandbox, repo, account)
    if not path.is_dir():
        raise GitError(f"the sandbox has no git repository {repo}")
    return path


# ---------------------------------------------------------------------- repositories


def repositories(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> list[str]:
    """Names of the account's bare repositories on disk."""
    root = git_root(sandbox, account)
    if not root.is_dir():
        return []
    return sorted(
        path.name[: -len(".git")]
        for path in root.iterdir()
        if path.name.endswith(".git") and path.is_dir() and valid_name(path.name[: -len(".git")])
    )


def create_bare(sandbox: Sandbox, repo: str, account: str = DEFAULT_ACCOUNT) -> Path:
    """An empty bare repository whose HEAD is `master` (CodeCommit's default branch in the
    workshop's days), accepting pushes over HTTP. Existing repositories are left as they are."""
    path = bare_path(sandbox, repo, account)
    if (path / "HEAD").is_file():
        return path
    pool = _pool(sandbox)
    pool.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Build it aside and rename it in place, so the git server never sees half a repository.
    staging = Path(tempfile.mkdtemp(prefix=f".{repo}.", dir=path.parent))
    try:
        # An empty --template: no sample hooks, nothing that could run on a push.
        run_git("init", "--quiet", "--bare", "--template=", str(staging))
        set_head_branch(staging)
        with open(staging / "config", "a", encoding="utf-8") as config:
            config.write(
                # Served over HTTP without credentials, as the sandbox's CodeCommit is.
                "[http]\n\treceivepack = true\n"
                # No gc in the background: it would outlive the request that started it and
                # race with a snapshot restore.
                "[gc]\n\tauto = 0\n[receive]\n\tautogc = false\n"
            )
        # Relative, so the state folder can be moved: the objects of deleted repositories,
        # which a restored snapshot may need again.
        (staging / "objects" / "info" / "alternates").write_text(
            f"{os.path.relpath(pool, path / 'objects')}\n", encoding="utf-8"
        )
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def remove_bare(sandbox: Sandbox, repo: str, account: str = DEFAULT_ACCOUNT) -> None:
    """Delete the repository; its objects move to the shared pool (one for all accounts: the
    objects are content-addressed), so that restoring a snapshot taken before the deletion
    brings its history back."""
    path = bare_path(sandbox, repo, account)
    if not path.exists():
        return
    # Rename first so a concurrent request sees either the whole repository or none.
    doomed = path.with_name(f".{path.name}.deleted-{secrets.token_hex(4)}")
    os.replace(path, doomed)
    try:
        _retire_objects(doomed / "objects", _pool(sandbox))
    finally:
        shutil.rmtree(doomed, ignore_errors=True)


RETIRED_FOLDER = ".retired"
"""Under the accounts folder: the folders of accounts a restored snapshot does not have."""


def retire_account(sandbox: Sandbox, account: str) -> None:
    """Set an attendee account's repositories aside, whole, with one rename: a snapshot
    without the account was restored, and the next restore may well bring it back (tests
    switch between the baseline and a state with many accounts)."""
    root = git_root(sandbox, account)
    if account == DEFAULT_ACCOUNT or not root.is_dir():
        return
    aside = root.parent / RETIRED_FOLDER / account
    if aside.exists():
        _discard(sandbox, aside)
    aside.parent.mkdir(parents=True, exist_ok=True)
    os.replace(root, aside)


def reinstate_account(sandbox: Sandbox, account: str) -> None:
    """Bring an account's repositories back from where `retire_account` put them, unless the
    account has a folder again (then the set-aside one is discarded)."""
    if account == DEFAULT_ACCOUNT:
        return
    root = git_root(sandbox, account)
    aside = root.parent / RETIRED_FOLDER / account
    if not aside.is_dir():
        return
    if root.exists():
        _discard(sandbox, aside)
    else:
        os.replace(aside, root)


def _discard(sandbox: Sandbox, folder: Path) -> None:
    """Delete a folder of bare repositories, their objects kept in the pool (see remove_bare)."""
    doomed = folder.with_name(f".{folder.name}.deleted-{secrets.token_hex(4)}")
    os.replace(folder, doomed)
    try:
        for repo in doomed.glob("*.git"):
            if (repo / "objects").is_dir():
                _retire_objects(repo / "objects", _pool(sandbox))
    finally:
        shutil.rmtree(doomed, ignore_errors=True)


def remove_account_folder(sandbox: Sandbox, account: str) -> None:
    """Remove an attendee account's folder once it holds no repositories."""
    if account == DEFAULT_ACCOUNT:
        return
    root = git_root(sandbox, account)
    sweep(sandbox, account)
    with contextlib.suppress(OSError):  # not there, or still holding something
        root.rmdir()


def remove_all(sandbox: Sandbox) -> None:
    """No repositories (of any account) and no pool: a fresh start."""
    root = git_root(sandbox)
    if root.exists():
        doomed = root.with_name(f".{root.name}.deleted-{secrets.token_hex(4)}")
        os.replace(root, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


def sweep(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> None:
    """Remove what a deletion interrupted by a crash left behind."""
    root = git_root(sandbox, account)
    if root.is_dir():
        for leftover in root.glob(".*.deleted-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def set_head_branch(git_dir: Path, branch: str = DEFAULT_BRANCH) -> None:
    """Point HEAD of a new repository at `branch` (written directly: `git init
    --initial-branch` needs git 2.28, and this works with any git)."""
    (git_dir / "HEAD").write_text(f"ref: refs/heads/{branch}\n", encoding="utf-8")


def _pool(sandbox: Sandbox) -> Path:
    return git_root(sandbox) / POOL_FOLDER / "objects"


def _retire_objects(objects: Path, pool: Path) -> None:
    """Move loose objects and packs into the pool (renames: same file system, and names that
    are their own content hashes never clash with different content)."""
    (pool / "pack").mkdir(parents=True, exist_ok=True)
    for folder in objects.iterdir():
        if len(folder.name) == 2 and folder.is_dir():
            (pool / folder.name).mkdir(exist_ok=True)
            for loose in folder.iterdir():
                os.replace(loose, pool / folder.name / loose.name)
    packs = objects / "pack"
    if packs.is_dir():
        # The pack before its index: an index never names a pack that is not there yet.
        for suffix in (".pack", ".rev", ".idx"):
            for pack in packs.glob(f"pack-*{suffix}"):
                os.replace(pack, pool / "pack" / pack.name)


def refs(sandbox: Sandbox, repo: str, account: str = DEFAULT_ACCOUNT) -> dict[str, str]:
    """Every ref of the repository (`refs/heads/master` → sha); {} for none or no repository."""
    path = bare_path(sandbox, repo, account)
    if not path.is_dir():
        return {}
    read = _read_refs(path)
    if read is not None:
        return read
    listed = run_git("--git-dir", str(path), "for-each-ref", "--format=%(refname) %(objectname)")
    found: dict[str, str] = {}
    for line in listed.stdout.decode().splitlines():
        name, _, sha = line.partition(" ")
        if name and sha:
            found[name] = sha
    return found


def _read_refs(path: Path) -> dict[str, str] | None:
    """The refs of the bare repository at `path` read from its files, as `git for-each-ref`
    lists them (loose refs over packed ones, a symbolic ref as the commit it leads to); None
    when the files are not in the form this reads (a reftable repository), for git to list.

    Every save lists the refs of every account's repositories under the sandbox lock: for a
    room of fifty accounts, a git process per repository kept every call waiting a quarter of
    a second each time (issue 15)."""
    if (path / "reftable").exists():
        return None
    found: dict[str, str] = {}
    packed = path / "packed-refs"
    try:
        lines = packed.read_text(encoding="utf-8").splitlines() if packed.exists() else []
        for line in lines:
            if line.startswith(("#", "^")):  # the header, a peeled tag's commit
                continue
            sha, _, name = line.partition(" ")
            if name:
                found[name] = sha
        symbolic: dict[str, str] = {}
        folder = path / "refs"
        for file in folder.rglob("*") if folder.is_dir() else []:
            if not file.is_file() or file.name.endswith(".lock"):
                continue  # a ref being written: git lists what it replaces
            name = file.relative_to(path).as_posix()
            text = file.read_text(encoding="utf-8").strip()
            if text.startswith("ref: "):
                symbolic[name] = text.removeprefix("ref: ")
            elif text:
                found[name] = text
    except (OSError, UnicodeDecodeError):
        return None
    for name, target in symbolic.items():
        if target in found:
            found[name] = found[target]
    return dict(sorted(found.items()))


def set_refs(
    sandbox: Sandbox, repo: str, wanted: dict[str, str], account: str = DEFAULT_ACCOUNT
) -> None:
    """Make the repository's refs exactly `wanted` (one atomic transaction). Refs to commits
    the repository does not hold are left out: they cannot be restored."""
    path = _git_dir(sandbox, repo, account)
    current = refs(sandbox, repo, account)
    if current == wanted:
        return
    present = _existing_objects(path, sorted(set(wanted.values())))
    restorable = {name: sha for name, sha in wanted.items() if sha in present}
    lines = [f"delete {name}" for name in sorted(current) if name not in restorable]
    lines += [
        f"update {name} {sha}"
        for name, sha in sorted(restorable.items())
        if current.get(name) != sha
    ]
    if lines:
        run_git(
            "--git-dir",
            str(path),
            "update-ref",
            "--stdin",
            input=("\n".join(lines) + "\n").encode(),
        )


def _existing_objects(git_dir: Path, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    checked = run_git(
        "--git-dir",
        str(git_dir),
        "cat-file",
        "--batch-check=%(objectname) %(objecttype)",
        input=("\n".join(shas) + "\n").encode(),
    )
    return {
        line.split()[0]
        for line in checked.stdout.decode().splitlines()
        if line.endswith((" commit", " tag"))
    }


# ---------------------------------------------------------------------- for the pipeline runner


def head(sandbox: Sandbox, repo: str, branch: str, account: str = DEFAULT_ACCOUNT) -> str | None:
    """The commit at the tip of `branch`, or None if the repository or branch does not exist."""
    path = bare_path(sandbox, repo, account)
    if not path.is_dir() or not branch or branch.startswith("-"):
        return None
    found = run_git(
        "--git-dir",
        str(path),
        "rev-parse",
        "--verify",
        "--quiet",
        f"refs/heads/{branch}^{{commit}}",
        check=False,
    )
    sha = found.stdout.decode().strip()
    return sha if found.returncode == 0 and sha else None


def export(
    sandbox: Sandbox, repo: str, commit: str, dest: Path, account: str = DEFAULT_ACCOUNT
) -> None:
    """Write the files of `commit` into `dest` (created if needed), as a checkout would: modes
    and symlinks kept, no `.git`. Uses a throwaway index, so the bare repository is untouched.
    GitError if the repository or commit does not exist."""
    path = _git_dir(sandbox, repo, account)
    _check_revision(commit)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mmtui-export-") as scratch:
        env = git_env(GIT_INDEX_FILE=str(Path(scratch) / "index"))
        git_dir = ("--git-dir", str(path), "--work-tree", str(dest))
        run_git(*git_dir, "read-tree", f"{commit}^{{tree}}", env=env)
        run_git(*git_dir, "checkout-index", "--all", "--force", env=env)


def commit_message(sandbox: Sandbox, repo: str, commit: str, account: str = DEFAULT_ACCOUNT) -> str:
    """The full message of `commit` (subject and body), without the trailing newline; GitError
    if the repository or commit does not exist."""
    path = _git_dir(sandbox, repo, account)
    _check_revision(commit)
    shown = run_git(
        "--git-dir", str(path), "show", "--no-patch", "--format=%B", f"{commit}^{{commit}}"
    )
    return shown.stdout.decode("utf-8", "replace").rstrip("\n")


def read_file(
    sandbox: Sandbox, repo: str, commit: str, path: str, account: str = DEFAULT_ACCOUNT
) -> tuple[str, bytes, str]:
    """(blob id, content, mode) of `path` at `commit`; GitError if either does not exist."""
    git_dir = _git_dir(sandbox, repo, account)
    _check_revision(commit)
    listed = (
        run_git(
            "--git-dir", str(git_dir), "ls-tree", f"{commit}^{{commit}}", "--", path.lstrip("/")
        )
        .stdout.decode()
        .strip()
    )
    if not listed:
        raise GitError(f"no file {path} at {commit}")
    mode, kind, blob = listed.split("\t", 1)[0].split()
    if kind != "blob":
        raise GitError(f"{path} is a {kind}, not a file")
    content = run_git("--git-dir", str(git_dir), "cat-file", "blob", blob).stdout
    return blob, content, mode
