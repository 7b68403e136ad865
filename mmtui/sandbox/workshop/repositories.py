"""The services' CodeCommit repositories as Lab 0's bootstrap leaves them.

In the workshop, the nested CI/CD stack creates one repository per service, and the bootstrap
clones both into the Cloud9 home, copies the service code in (with the primary image
repository written into the buildspec) and pushes the initial commit to `master`. Here the
repositories are the sandbox's CI/CD nested stack's too (its CloudFormation creates them in
CodeCommit, moto_repairs/cloudformation/nested_stacks.py), their code is mmtui's own
(assets/services/), and the initial commits are pushed with the real `git push`, through the
sandbox's git server, from the clones in the workspace: exactly what the attendee has and what
they push from in Lab 3 step 4.

The initial commits are reproducible (fixed author, dates and content): seeding again after
`--fresh` makes the same commits, so a clone the attendee kept still shares its history with
the new repository.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.gitops.codecommit import config_section
from mmtui.sandbox.behaviours.git_store import (
    DEFAULT_BRANCH,
    GitError,
    git_env,
    run_git,
    set_head_branch,
)
from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT
from mmtui.sandbox.workshop.primary_app import stack_outputs
from mmtui.sandbox.workshop.stacks import PRIMARY_STACK

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

# key → (repository name prefix, primary ECR output, initial commit message)
SERVICES = {
    "core": ("core-service", "CoreServiceEcrRepo", "Initial Commit of Core Service"),
    "like": ("like-service", "LikeServiceEcrRepo", "Initial Commit of Like Service"),
}
AUTHOR_NAME = "workshop user"
AUTHOR_EMAIL = "workshop-user@example.com"
COMMIT_DATE = "2019-12-02T09:00:00-08:00"
"""When the initial commits say they were made (fixed, so that they are reproducible)."""
PLACEHOLDER = "REPLACEME_PRIMARY_REPO_URI"


def nested_stack_name(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> str:
    """The CI/CD nested stack's name: `<stack>-MythicalCiCdStack-<13 characters>`, as
    CloudFormation names it, but the same for the same account and region every time (and so
    different in each account, as on AWS): the sandbox's CloudFormation names it so."""
    from mmtui.sandbox.moto_repairs.cloudformation import nested_stacks  # imports moto

    region = sandbox.options.primary_region
    return nested_stacks.nested_stack_name(account, region, PRIMARY_STACK, "MythicalCiCdStack")


def repository_names(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> dict[str, str]:
    nested = nested_stack_name(sandbox, account)
    return {key: f"{prefix}-{nested}" for key, (prefix, _, _) in SERVICES.items()}


def service_files(key: str, primary_repo_uri: str) -> dict[str, bytes]:
    """The files of a service's initial commit (path → content), the buildspec filled in."""
    root = resources.files("mmtui.sandbox.workshop").joinpath("assets", "services", key)
    files = dict(_walk(root, ""))
    buildspec = files["buildspec_prod.yml"].decode("utf-8")
    files["buildspec_prod.yml"] = buildspec.replace(PLACEHOLDER, primary_repo_uri).encode("utf-8")
    return files


def _walk(folder: Traversable, prefix: str) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__" or entry.name.endswith(".pyc"):
            continue  # left by a developer running the code, never part of the service
        if entry.is_dir():
            found += _walk(entry, f"{prefix}{entry.name}/")
        else:
            found.append((f"{prefix}{entry.name}", entry.read_bytes()))
    return found


def seed_repositories(
    sandbox: Sandbox, account: str = DEFAULT_ACCOUNT, outputs: dict[str, str] | None = None
) -> dict[str, str]:
    """Push both repositories' initial commits from the workspace clones (from a scratch folder
    for an attendee account, which has no workspace here), as Lab 0's bootstrap does; returns
    {"core": name, "like": name}. `outputs`: the primary stack's, when the caller has read them
    already (else read here).

    The primary stack's CI/CD nested stack made the repositories (and the pipelines, which
    these pushes start); one that is gone (deleted by hand) is made again over the API.
    """
    region = sandbox.options.primary_region
    if outputs is None:
        outputs = stack_outputs(sandbox, PRIMARY_STACK, region, account)
    codecommit = sandbox.client("codecommit", region, account)
    names = repository_names(sandbox, account)

    def push(key: str) -> None:
        _, output, message = SERVICES[key]
        label = "Core" if key == "core" else "Like"
        try:
            metadata = codecommit.get_repository(repositoryName=names[key])["repositoryMetadata"]
        except codecommit.exceptions.RepositoryDoesNotExistException:
            metadata = codecommit.create_repository(
                repositoryName=names[key],
                repositoryDescription=f"The Mythical Mysfits {label} service",
            )["repositoryMetadata"]
        url = str(metadata["cloneUrlHttp"])
        try:
            push_initial_commit(
                sandbox.workspace / names[key] if account == DEFAULT_ACCOUNT else None,
                url,
                service_files(key, outputs[output]),
                message,
                git_credentials(sandbox, account, url),
            )
        except GitError as exc:
            raise MmtuiError(
                f"the sandbox could not push the initial commit of {names[key]}: {exc}",
                ExitCode.AWS_ERROR,
            ) from None

    # Both at once: each push starts its pipeline, and the later one's run ends the baseline.
    with ThreadPoolExecutor(len(SERVICES), thread_name_prefix="mmtui-seed-push") as pool:
        list(pool.map(push, SERVICES))  # list(): the first push that failed raises here
    return names


def git_credentials(sandbox: Sandbox, account: str, url: str) -> dict[str, str]:
    """Environment that makes git send the Basic credentials `aws codecommit credential-helper`
    would make for `url` with the sandbox's own key in `account`, computed here rather than by
    starting the CLI (seeding runs at every fresh start). Passed as GIT_CONFIG_* variables, not
    arguments: other users of the machine can read a process's arguments, not its environment.
    The password is good for 15 minutes, for this repository only."""
    import base64
    from urllib.parse import urlsplit

    from mmtui.sandbox.core.auth import codecommit_password

    access_key, secret = sandbox.credentials(account)
    parts = urlsplit(url)
    password = codecommit_password(secret, parts.netloc, parts.path, sandbox.options.primary_region)
    basic = base64.b64encode(f"{access_key}:{password}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


def push_initial_commit(
    clone: Path | None,
    url: str,
    files: dict[str, bytes],
    message: str,
    credentials: dict[str, str],
) -> None:
    """Make `clone` a clone of `url` holding one commit of `files` on master, and push it with
    git's `credentials` (`git_credentials`).

    A folder the attendee already has there (kept across `--fresh`) is theirs: the commit is
    made and pushed from a scratch folder instead, and theirs is left untouched. With no
    `clone`, the scratch folder is all there is.
    """
    if clone is None or clone.exists():
        with tempfile.TemporaryDirectory(prefix="mmtui-seed-") as scratch:
            _commit_and_push(Path(scratch) / "clone", url, files, message, credentials)
        return
    try:
        _commit_and_push(clone, url, files, message, credentials)
    except BaseException:
        shutil.rmtree(clone, ignore_errors=True)  # no half-made clone to trip over next time
        raise


def _commit_and_push(
    folder: Path, url: str, files: dict[str, bytes], message: str, credentials: dict[str, str]
) -> None:
    env = git_env(
        GIT_AUTHOR_NAME=AUTHOR_NAME,
        GIT_AUTHOR_EMAIL=AUTHOR_EMAIL,
        GIT_AUTHOR_DATE=COMMIT_DATE,
        GIT_COMMITTER_NAME=AUTHOR_NAME,
        GIT_COMMITTER_EMAIL=AUTHOR_EMAIL,
        GIT_COMMITTER_DATE=COMMIT_DATE,
    )
    folder.mkdir(parents=True, exist_ok=True)
    run_git("init", "--quiet", str(folder), env=env)
    set_head_branch(folder / ".git")
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    # The attendee commits from this clone later: it carries its own identity, so their
    # commits never depend on (or reveal) a global git configuration, and authenticates as
    # Lab 0 leaves Cloud9's clones, through the AWS CLI's credential helper (with the keys of
    # the shell that sourced sandbox.env). Written in one go rather than with eight `git
    # config` runs (seeding is part of every fresh start).
    with open(folder / ".git" / "config", "a", encoding="utf-8") as config:
        config.write(
            f"[user]\n\tname = {AUTHOR_NAME}\n\temail = {AUTHOR_EMAIL}\n"
            f'[remote "origin"]\n\turl = {url}\n'
            "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
            f'[branch "{DEFAULT_BRANCH}"]\n\tremote = origin\n'
            f"\tmerge = refs/heads/{DEFAULT_BRANCH}\n" + config_section()
        )
    run_git("add", "--all", cwd=folder, env=env)
    run_git("commit", "--quiet", "--no-verify", "--message", message, cwd=folder, env=env)
    run_git("push", "--quiet", "origin", DEFAULT_BRANCH, cwd=folder, env={**env, **credentials})


def write_initial_commit(git_dir: Path, files: dict[str, bytes], message: str) -> str:
    """Write the initial commit of `files` on master straight into a bare repository with one
    `git fast-import`, and return its id.

    It is the very commit `_commit_and_push` makes (same files, all mode 100644 as they are
    written there, same author, committer, date, and the message with the newline `git commit`
    ends it with), at a fraction of the cost: no clone, no push. Copies of the template account
    use it (account_image.py checks on the template that both ways give the same commit).
    """
    from datetime import datetime

    moment = datetime.fromisoformat(COMMIT_DATE)
    offset = moment.strftime("%z")
    who = f"{AUTHOR_NAME} <{AUTHOR_EMAIL}> {int(moment.timestamp())} {offset}"
    stream = io.BytesIO()
    for mark, (_path, content) in enumerate(sorted(files.items()), start=1):
        stream.write(f"blob\nmark :{mark}\ndata {len(content)}\n".encode() + content + b"\n")
    text = (message.rstrip("\n") + "\n").encode()
    stream.write(
        f"commit refs/heads/{DEFAULT_BRANCH}\nauthor {who}\ncommitter {who}\n"
        f"data {len(text)}\n".encode()
        + text
    )
    for mark, (path, _content) in enumerate(sorted(files.items()), start=1):
        stream.write(f"M 100644 :{mark} {path}\n".encode())
    stream.write(b"\n")
    run_git("--git-dir", str(git_dir), "fast-import", "--quiet", input=stream.getvalue())
    commit = run_git("--git-dir", str(git_dir), "rev-parse", f"refs/heads/{DEFAULT_BRANCH}")
    return commit.stdout.decode().strip()
