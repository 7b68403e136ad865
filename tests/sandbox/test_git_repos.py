"""CodeCommit repositories as real git repositories, served by the sandbox over smart HTTP.

Everything goes through the real `git` command line and the sandbox's HTTP endpoint, with git
isolated from the developer's configuration and identity.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.behaviours.git_repos import GitRepositories
from mmtui.sandbox.core.server import PORT_FILE, Sandbox, SandboxOptions
from mmtui.sandbox.workshop.primary_app import stack_outputs
from mmtui.sandbox.workshop.repositories import repository_names, seed_repositories
from mmtui.sandbox.workshop.stacks import PRIMARY_STACK
from tests.conftest import codecommit_git
from tests.sandbox.test_sandbox_command import _stop, running_sandbox

ZERO = "0" * 40
NAME = re.compile(r"^(core|like)-service-mm-multi-region-MythicalCiCdStack-[A-Z0-9]{13}$")


def git(
    *args: str,
    cwd: Path | None = None,
    check: bool = True,
    aws: Sandbox | dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real git, isolated from the developer's configuration, authenticating (when it
    talks to the server) with the credentials of `aws` through the credential helper."""
    return codecommit_git(*args, aws=aws, cwd=cwd, check=check)


class Pushes:
    """A push listener that records what it hears; tests wait on it, never sleep."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str, str, str]] = []
        self._condition = threading.Condition()

    def __call__(self, repo: str, branch: str, old: str, new: str) -> None:
        with self._condition:
            self.heard.append((repo, branch, old, new))
            self._condition.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, str, str, str]]:
        with self._condition:
            assert self._condition.wait_for(lambda: len(self.heard) >= count, timeout), self.heard
            return list(self.heard)


@pytest.fixture
def pushes(sandbox: Sandbox) -> Iterator[Pushes]:
    listener = Pushes()
    sandbox.push_listeners.append(listener)
    try:
        yield listener
    finally:
        sandbox.push_listeners.remove(listener)


@pytest.fixture
def names(sandbox: Sandbox) -> dict[str, str]:
    return repository_names(sandbox)


def clone_url(sandbox: Sandbox, repo: str) -> str:
    metadata = sandbox.client("codecommit").get_repository(repositoryName=repo)
    return str(metadata["repositoryMetadata"]["cloneUrlHttp"])


def commit_change(clone: Path, path: str, text: str, message: str) -> str:
    target = clone / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", message, cwd=clone)
    return git("rev-parse", "HEAD", cwd=clone).stdout.strip()


def extension(sandbox: Sandbox) -> GitRepositories:
    (found,) = [e for e in sandbox.extensions if isinstance(e, GitRepositories)]
    return found


# ---------------------------------------------------------------------- the API


def test_clone_url_from_get_repository_works_with_git_clone(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    url = clone_url(sandbox, names["core"])
    assert url == f"{sandbox.url}/v1/repos/{names['core']}"
    git("clone", "--quiet", url, str(tmp_path / "core"), aws=sandbox)
    files = sorted(
        str(p.relative_to(tmp_path / "core"))
        for p in (tmp_path / "core").rglob("*")
        if p.is_file() and ".git" not in p.parts
    )
    assert files == [
        "Dockerfile",
        "buildspec_prod.yml",
        "service/mythicalMysfitsService.py",
        "service/requirements.txt",
    ]
    outputs = stack_outputs(sandbox, PRIMARY_STACK, "us-west-2")
    buildspec = (tmp_path / "core" / "buildspec_prod.yml").read_text()
    assert f"PRIMARY_CORE_REPO_URI={outputs['CoreServiceEcrRepo']}\n" in buildspec
    assert "REPLACEME" not in buildspec


def test_list_and_batch_get_repositories(sandbox: Sandbox, names: dict[str, str]) -> None:
    codecommit = sandbox.client("codecommit")
    listed = codecommit.list_repositories()["repositories"]
    assert [r["repositoryName"] for r in listed] == sorted(names.values())
    assert all(NAME.match(r["repositoryName"]) and r["repositoryId"] for r in listed)
    descending = codecommit.list_repositories(sortBy="repositoryName", order="descending")
    assert [r["repositoryName"] for r in descending["repositories"]] == sorted(
        names.values(), reverse=True
    )
    assert codecommit.list_repositories(sortBy="lastModifiedDate")["repositories"]
    assert sandbox.client("codecommit", "us-east-1").list_repositories()["repositories"] == []

    batch = codecommit.batch_get_repositories(repositoryNames=[names["like"], "missing"])
    (like,) = batch["repositories"]
    assert like["cloneUrlHttp"] == f"{sandbox.url}/v1/repos/{names['like']}"
    assert like["defaultBranch"] == "master"
    assert batch["repositoriesNotFound"] == ["missing"]


def test_create_push_and_delete_a_repository(
    sandbox: Sandbox, tmp_path: Path, pushes: Pushes
) -> None:
    codecommit = sandbox.client("codecommit")
    created = codecommit.create_repository(repositoryName="scratch")["repositoryMetadata"]
    url = created["cloneUrlHttp"]
    assert url == f"{sandbox.url}/v1/repos/scratch"
    clone = tmp_path / "scratch"
    git("clone", "--quiet", url, str(clone), aws=sandbox)  # empty, but a repository
    sha = commit_change(clone, "README", "hello\n", "first")
    git("push", "--quiet", "origin", "HEAD:master", cwd=clone, aws=sandbox)
    assert pushes.wait_for(1) == [("scratch", "master", ZERO, sha)]
    assert git_store.head(sandbox, "scratch", "master") == sha

    codecommit.delete_repository(repositoryName="scratch")
    assert not git_store.bare_path(sandbox, "scratch").exists()
    gone = git("ls-remote", url, check=False, aws=sandbox)
    assert gone.returncode != 0 and "not found" in gone.stderr

    # A new repository of the same name starts empty.
    codecommit.create_repository(repositoryName="scratch")
    assert git_store.head(sandbox, "scratch", "master") is None
    assert git("ls-remote", url, aws=sandbox).stdout == ""


def test_repository_names_the_sandbox_cannot_serve_are_refused(sandbox: Sandbox) -> None:
    codecommit = sandbox.client("codecommit")
    with pytest.raises(codecommit.exceptions.InvalidRepositoryNameException):
        codecommit.create_repository(repositoryName="thing.git")
    east = sandbox.client("codecommit", "us-east-1")
    name = next(iter(repository_names(sandbox).values()))
    with pytest.raises(east.exceptions.RepositoryNameExistsException, match="across regions"):
        east.create_repository(repositoryName=name)


# ---------------------------------------------------------------------- the workspace


def test_workspace_holds_clones_on_master_with_origin_and_identity(
    sandbox: Sandbox, names: dict[str, str]
) -> None:
    messages = {"core": "Initial Commit of Core Service", "like": "Initial Commit of Like Service"}
    for key, name in names.items():
        assert NAME.match(name) and name.startswith(f"{key}-service-")
        clone = sandbox.workspace / name
        assert git("symbolic-ref", "--short", "HEAD", cwd=clone).stdout.strip() == "master"
        assert git("remote", "get-url", "origin", cwd=clone).stdout.strip() == clone_url(
            sandbox, name
        )
        assert git("status", "--porcelain", cwd=clone).stdout == ""
        assert git("config", "--local", "user.name", cwd=clone).stdout.strip() == "workshop user"
        assert git("config", "--local", "user.email", cwd=clone).stdout.strip()
        head = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
        assert head == git_store.head(sandbox, name, "master")
        assert git("rev-parse", "origin/master", cwd=clone).stdout.strip() == head
        assert git("log", "--format=%an|%s", cwd=clone).stdout == f"workshop user|{messages[key]}\n"
        assert git_store.commit_message(sandbox, name, head) == messages[key]


def test_starting_buildspecs_are_the_primary_only_ones(
    sandbox: Sandbox, names: dict[str, str]
) -> None:
    core = (sandbox.workspace / names["core"] / "buildspec_prod.yml").read_text()
    like = (sandbox.workspace / names["like"] / "buildspec_prod.yml").read_text()
    assert len(re.findall(r"^\s*# - \[TODO\]:", core, re.MULTILINE)) == 7
    assert "[TODO]" not in like
    for text, variable, image, container in (
        (core, "PRIMARY_CORE_REPO_URI", "core-service", "service"),
        (like, "PRIMARY_LIKE_REPO_URI", "like-service", "like-service"),
    ):
        spec = yaml.safe_load(text)
        assert spec["version"] == 0.2
        assert spec["artifacts"]["files"] == ["imagedefinitions_primary.json"]
        phases = spec["phases"]
        assert "PRIMARY_REGION=$AWS_DEFAULT_REGION" in phases["pre_build"]["commands"]
        assert any(
            c == "$(aws ecr get-login --no-include-email --region $PRIMARY_REGION)"
            for c in phases["pre_build"]["commands"]
        )
        assert (
            f"docker build -t {image}:$CODEBUILD_RESOLVED_SOURCE_VERSION ."
            in (phases["build"]["commands"])
        )
        assert (
            f"docker push ${variable}:$CODEBUILD_RESOLVED_SOURCE_VERSION"
            in (phases["post_build"]["commands"])
        )
        assert any(
            f'"name":"{container}"' in c and c.endswith("> imagedefinitions_primary.json")
            for c in phases["post_build"]["commands"]
        )


def test_seeding_is_reproducible(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path, pushes: Pushes
) -> None:
    heads = {key: git_store.head(sandbox, name, "master") for key, name in names.items()}
    codecommit = sandbox.client("codecommit")
    for name in names.values():
        codecommit.delete_repository(repositoryName=name)
        (sandbox.workspace / name).rename(tmp_path / name)  # put back below
    try:
        # How long this takes is measured in benchmarks/sandbox_start.py, not asserted here.
        assert seed_repositories(sandbox) == names
        # The same commits again: a clone kept across `--fresh` still shares their history.
        assert {k: git_store.head(sandbox, n, "master") for k, n in names.items()} == heads
        assert sorted(pushes.wait_for(2)) == sorted(
            (name, "master", ZERO, heads[key]) for key, name in names.items()
        )
    finally:
        for name in names.values():
            shutil.rmtree(sandbox.workspace / name, ignore_errors=True)
            (tmp_path / name).rename(sandbox.workspace / name)


# ---------------------------------------------------------------------- pushes


def test_push_to_master_updates_the_server_and_tells_the_listeners(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path, pushes: Pushes
) -> None:
    repo = names["core"]
    old = git_store.head(sandbox, repo, "master")
    assert old is not None
    clone = tmp_path / "core"
    git("clone", "--quiet", clone_url(sandbox, repo), str(clone), aws=sandbox)
    new = commit_change(
        clone, "buildspec_prod.yml", "version: 0.2\n", "Updating core buildspec for multi-region"
    )
    git("push", "--quiet", "origin", "master", cwd=clone, aws=sandbox)

    assert pushes.wait_for(1) == [(repo, "master", old, new)]
    assert git_store.head(sandbox, repo, "master") == new
    assert (
        git_store.commit_message(sandbox, repo, new) == "Updating core buildspec for multi-region"
    )
    exported = tmp_path / "export"
    git_store.export(sandbox, repo, new, exported)
    assert (exported / "buildspec_prod.yml").read_text() == "version: 0.2\n"
    assert (exported / "service" / "mythicalMysfitsService.py").is_file()
    assert not (exported / ".git").exists()
    assert git_store.head(sandbox, "no-such-repo", "master") is None
    assert git_store.head(sandbox, repo, "no-such-branch") is None
    for bad in ("0" * 40, "--output=/tmp/x"):
        with pytest.raises(git_store.GitError):
            git_store.export(sandbox, repo, bad, tmp_path / "never")
        with pytest.raises(git_store.GitError):
            git_store.commit_message(sandbox, repo, bad)


def test_push_to_another_branch_reports_that_branch(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path, pushes: Pushes
) -> None:
    repo = names["like"]
    master = git_store.head(sandbox, repo, "master")
    clone = tmp_path / "like"
    git("clone", "--quiet", clone_url(sandbox, repo), str(clone), aws=sandbox)
    git("checkout", "--quiet", "-b", "feature", cwd=clone)
    sha = commit_change(clone, "notes.txt", "try\n", "a feature")
    git("push", "--quiet", "origin", "feature", cwd=clone, aws=sandbox)
    assert pushes.wait_for(1) == [(repo, "feature", ZERO, sha)]
    assert git_store.head(sandbox, repo, "feature") == sha
    assert git_store.head(sandbox, repo, "master") == master

    git("push", "--quiet", "origin", "--delete", "feature", cwd=clone, aws=sandbox)
    assert pushes.wait_for(2)[1] == (repo, "feature", sha, ZERO)


def test_a_large_push_is_sent_chunked_and_still_lands(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path, pushes: Pushes
) -> None:
    repo = names["like"]
    clone = tmp_path / "like"
    git("clone", "--quiet", clone_url(sandbox, repo), str(clone), aws=sandbox)
    (clone / "blob.bin").write_bytes(os.urandom(1_500_000))  # over git's 1 MiB post buffer
    git("add", "blob.bin", cwd=clone)
    git("commit", "--quiet", "-m", "big", cwd=clone)
    git("push", "--quiet", "origin", "master", cwd=clone, aws=sandbox)
    new = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    assert pushes.wait_for(1)[0][3] == new
    assert git_store.head(sandbox, repo, "master") == new


def test_pushing_to_an_unknown_repository_fails_cleanly(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path, pushes: Pushes, capfd: Any
) -> None:
    clone = tmp_path / "like"
    git("clone", "--quiet", clone_url(sandbox, names["like"]), str(clone), aws=sandbox)
    # `..` is resolved before it reaches the server: an unsigned request to `/v1/`, refused.
    for url, why in (
        (f"{sandbox.url}/v1/repos/no-such-repo", "not found"),
        (f"{sandbox.url}/v1/repos/..", "error: 403"),
    ):
        pushed = git("push", url, "master", cwd=clone, check=False, aws=sandbox)
        assert pushed.returncode != 0
        assert why in pushed.stderr
        assert "Username" not in pushed.stderr  # never asks for credentials
    cloned = git(
        "clone",
        f"{sandbox.url}/v1/repos/no-such-repo",
        str(tmp_path / "x"),
        check=False,
        aws=sandbox,
    )
    assert cloned.returncode != 0 and "not found" in cloned.stderr
    assert pushes.heard == []
    printed = capfd.readouterr()
    assert (printed.out, printed.err) == ("", "")


# ---------------------------------------------------------------------- state


def test_restoring_a_snapshot_resets_the_repositories(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    repo = names["core"]
    baseline_refs = git_store.refs(sandbox, repo)
    clone = tmp_path / "core"
    git("clone", "--quiet", clone_url(sandbox, repo), str(clone), aws=sandbox)
    commit_change(clone, "x.txt", "x\n", "change")
    git("push", "--quiet", "origin", "master", "master:topic", cwd=clone, aws=sandbox)
    codecommit = sandbox.client("codecommit")
    codecommit.create_repository(repositoryName="made-in-a-test")
    codecommit.delete_repository(repositoryName=names["like"])
    assert git_store.refs(sandbox, repo) != baseline_refs

    sandbox.restore_snapshot(sandbox.baseline)  # type: ignore[attr-defined]

    assert (
        git_store.refs(sandbox, repo)
        == baseline_refs
        == {"refs/heads/master": baseline_refs["refs/heads/master"]}
    )
    assert git_store.repositories(sandbox) == sorted(names.values())
    # The deleted repository is back with its history (its objects never left the disk).
    assert (
        git("ls-remote", clone_url(sandbox, names["like"]), aws=sandbox).stdout.count("refs/heads/")
        == 1
    )
    assert git_store.head(sandbox, names["like"], "master") is not None


def test_a_moved_port_is_fixed_in_the_workspace_clones_only(
    sandbox: Sandbox, names: dict[str, str], tmp_path: Path
) -> None:
    core, like = (sandbox.workspace / names[key] for key in ("core", "like"))
    git("remote", "set-url", "origin", f"http://127.0.0.1:1/v1/repos/{names['core']}", cwd=core)
    elsewhere = f"https://git.example.com/v1/repos/{names['like']}"
    git("remote", "set-url", "origin", elsewhere, cwd=like)
    try:
        extension(sandbox).on_start()
        assert git("remote", "get-url", "origin", cwd=core).stdout.strip() == clone_url(
            sandbox, names["core"]
        )
        assert git("remote", "get-url", "origin", cwd=like).stdout.strip() == elsewhere
    finally:
        git("remote", "set-url", "origin", clone_url(sandbox, names["like"]), cwd=like)


def test_the_previous_port_is_taken_again_when_it_is_free(tmp_path: Path) -> None:
    """Clone URLs embed the port: without --port the sandbox prefers the one it had."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    (tmp_path / PORT_FILE).write_text(f"{free}\n")

    def serve() -> int:
        # Only the HTTP server (no moto state): the session's sandbox keeps running meanwhile.
        server = Sandbox(SandboxOptions(state_dir=tmp_path), state_dir=tmp_path)
        server._serve()
        try:
            assert (tmp_path / PORT_FILE).read_text() == f"{server.port}\n"
            return server.port
        finally:
            server._server.shutdown()
            server._server.server_close()

    assert serve() == free
    # The saved port held by another listener: any free port rather than failing. The
    # listener takes a port of its own first (waiting for `free` to be bound again could race
    # with other processes' connections on a busy machine).
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        (tmp_path / PORT_FILE).write_text(f"{taken}\n")
        assert serve() != taken


def test_repositories_survive_a_restart_and_clones_follow_a_moved_port(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_sandbox("--dir", str(state)) as first:
        env = first.env(state)
        endpoint = env["AWS_ENDPOINT_URL"]
        workspace = Path(env["MMTUI_WORKSPACE"])
        (core,) = [p for p in workspace.iterdir() if p.name.startswith("core-service-")]
        url = git("remote", "get-url", "origin", cwd=core).stdout.strip()
        assert url == f"{endpoint}/v1/repos/{core.name}"
        clone = tmp_path / "clone"
        git("clone", "--quiet", url, str(clone), aws=env)
        pushed = commit_change(clone, "after.txt", "kept\n", "kept across restarts")
        git("push", "--quiet", "origin", "master", cwd=clone, aws=env)
        assert _stop(first)[0::2] == (0, "")

    # Its port is taken now: the sandbox takes another and repoints the workspace clone.
    port = int(endpoint.rsplit(":", 1)[1])
    with socket.socket() as busy:
        # The old server's connections may linger in TIME_WAIT: a listener may still bind.
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen()
        with running_sandbox("--dir", str(state)) as second:
            moved = second.env(state)["AWS_ENDPOINT_URL"]
            assert moved != endpoint
            assert git("remote", "get-url", "origin", cwd=core).stdout.strip() == (
                f"{moved}/v1/repos/{core.name}"
            )
            git("fetch", "--quiet", "origin", cwd=core, aws=second.env(state))
            assert git("rev-parse", "origin/master", cwd=core).stdout.strip() == pushed
            assert git("log", "-1", "--format=%s", "origin/master", cwd=core).stdout == (
                "kept across restarts\n"
            )
            assert _stop(second)[0::2] == (0, "")
