"""The workshop's CI/CD as Lab 0 leaves it: the pipelines' first runs.

The primary stack's CI/CD nested stack (assets/workshop/cfn/cicd.yml, created by the sandbox's
CloudFormation) makes the artifact bucket, the CodePipeline, CodeBuild and EventBridge roles,
one CodeBuild project and one pipeline per service (Source → Build_Docker_Container → Deploy),
and an EventBridge rule per repository. Lab 0's bootstrap then pushes the initial commits
(repositories.py), which start both pipelines, as on AWS: the images in the primary registries
and the services' task definitions come from those runs. The baseline is only ready once both
succeeded.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.behaviours.pipelines.engine import find
from mmtui.sandbox.behaviours.pipelines.records import SUCCEEDED, Execution
from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

SEED_TIMEOUT = 120.0
"""Seconds the two initial executions may take (they take one or two)."""
# key → pipeline name prefix (cicd.yml: `<prefix>-<nested stack name>`)
PIPELINES = {"core": "CorePipeline", "like": "LikePipeline"}


def nested_name(repo: str) -> str:
    """`mm-multi-region-MythicalCiCdStack-XXXX` from `core-service-<that>`."""
    return repo.split("-", 2)[2]


def seed_pipelines(sandbox: Sandbox, repos: dict[str, str], account: str = DEFAULT_ACCOUNT) -> None:
    """Wait for the executions the initial pushes started; fail loudly if one fails."""
    nested = nested_name(repos["core"])
    names = {key: f"{prefix}-{nested}" for key, prefix in PIPELINES.items()}
    wait_for_initial_executions(sandbox, repos, names, account)


def wait_for_initial_executions(
    sandbox: Sandbox, repos: dict[str, str], names: dict[str, str], account: str = DEFAULT_ACCOUNT
) -> None:
    """Wait until each pipeline ran on its repository's initial commit (the push started it a
    moment after git returned: the git server tells the pipelines once its answer is sent)."""
    region = sandbox.options.primary_region
    pipelines = find(sandbox)
    deadline = time.monotonic() + SEED_TIMEOUT
    started: list[str] = []
    for key, name in names.items():
        repo = repos[key]
        commit = git_store.head(sandbox, repo, git_store.DEFAULT_BRANCH, account=account)
        pinned = (repo, git_store.DEFAULT_BRANCH, commit)
        execution = _execution_of(pipelines, (account, region, name), pinned, deadline)
        if commit is None or execution is None:
            raise MmtuiError(
                f"the sandbox's pipeline {name} in account {account} did not start on the "
                f"initial commit of {repo}",
                ExitCode.AWS_ERROR,
            )
        started.append(execution.execution_id)
    finished = pipelines.wait(started, max(0.0, deadline - time.monotonic()))
    failed = [e for e in finished if e.status != SUCCEEDED]
    if failed or len(finished) != len(started):
        reasons = (
            "; ".join(f"{e.pipeline}: {e.status_summary or e.status}" for e in failed)
            or "an execution went missing"
        )
        raise MmtuiError(
            f"the sandbox's initial pipeline executions in account {account} did not succeed "
            f"({reasons}); build "
            f"logs are in {sandbox.state_dir / 'builds'}",
            ExitCode.AWS_ERROR,
        )


def _execution_of(
    pipelines: Any, key: tuple[str, str, str], pinned: tuple[str, str, str | None], deadline: float
) -> Execution | None:
    """The execution of pipeline `key` on the pushed commit, once it is queued."""
    while True:
        with pipelines.lock:
            for execution in pipelines.state.executions:
                if execution.key == key and execution.pinned == pinned:
                    found: Execution = execution
                    return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)  # the push's listener queues it within milliseconds
