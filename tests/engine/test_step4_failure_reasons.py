"""Step 4 done by hand with one line missing (the secondary `docker login`), as in the newcomer
walkthrough: only the check about that line fails among the buildspec's pieces, the failed
pipeline run is explained (pipeline, failing action, the build log's error), and the registry
check names the commit that was pushed, not the one before it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import by_hand_script, cli_target, invoke, run_by_hand

SECONDARY_LOGIN = '"- $(aws ecr get-login --no-include-email --region $SECONDARY_REGION)",\n'


def step4(target: list[str]) -> dict[str, dict[str, str]]:
    done = invoke("check", *target, "--format", "json", "--step", "4")
    return {c["id"]: c for c in json.loads(done.stdout)["steps"][0]["checks"]}


def test_a_missing_secondary_login_is_named_by_its_check_and_the_failed_run(
    sandbox: Sandbox, lab_solved: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab_solved("1", "2", "3")
    target = cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE")
    script = by_hand_script(
        sandbox,
        "build-artifacts",
        only=["Finish the Core buildspec", "Commit and push both repositories"],
    )
    assert SECONDARY_LOGIN in script, script
    done = run_by_hand(sandbox, script.replace(SECONDARY_LOGIN, ""))
    assert done.returncode == 0, done.stdout + done.stderr
    pushed = {
        kind: sandbox.client("codecommit", "us-west-2").get_branch(
            repositoryName=clone.name, branchName="master"
        )["branch"]["commitId"]
        for kind in ("core", "like")
        for clone in sandbox.workspace.glob(f"{kind}-service-*")
    }

    deadline = time.monotonic() + 120
    while (checks := step4(target))["build_artifacts.pipelines_succeeded"]["status"] == "pending":
        assert time.monotonic() < deadline, checks["build_artifacts.pipelines_succeeded"]
        time.sleep(0.2)

    pieces = {
        name: c["status"]
        for name, c in checks.items()
        if name.startswith(("build_artifacts.core_", "build_artifacts.like_"))
    }
    failing = sorted(name for name, status in pieces.items() if status != "pass")
    assert failing == ["build_artifacts.core_login", "build_artifacts.like_login"], pieces

    runs = checks["build_artifacts.pipelines_succeeded"]
    assert runs["status"] == "fail"
    message = runs["message"]
    for kind in ("Core", "Like"):
        assert f"{kind}Pipeline-" in message and "failed at Build_Docker_Container/" in message, (
            message
        )
    assert "no basic auth credentials" in message, message
    assert "docker push" in message, message
    assert message.endswith("Fix what failed in the buildspec, then commit and push it again.")

    images = checks["build_artifacts.images_in_both_regions"]
    assert images["status"] == "fail"
    assert pushed["core"][:12] in images["message"], (pushed, images["message"])
    assert pushed["like"][:12] in images["message"], (pushed, images["message"])
