"""Every solved step is proven: check fails → solve → check passes → solve again changes
nothing → reset (plan first) → check fails, and the Labs 0-2 baseline is intact."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from mmtui.sandbox.server import Sandbox
from tests.conftest import Result, invoke


@pytest.fixture
def target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    env = sandbox.env()
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "MMTUI_RESOLVE_FILE",
        "MMTUI_WORKSPACE",
    ):
        monkeypatch.setenv(name, env[name])
    tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 0.3  # type: ignore[attr-defined]
    tables.replica_delete_seconds = 0.3  # type: ignore[attr-defined]
    return ["--endpoint-url", sandbox.url]


def check(target: list[str], step: str | None = None) -> tuple[int, dict[str, Any]]:
    result = invoke("check", *target, "--format", "json", *(["--step", step] if step else []))
    return result.code, json.loads(result.stdout)


def step_status(target: list[str], step: str) -> str:
    status: str = check(target, step)[1]["steps"][0]["status"]
    return status


def solve(target: list[str], step: str) -> Result:
    return invoke("solve", *target, "--step", step)


def prerequisites_hold(target: list[str], step: str) -> bool:
    """The Labs 0-2 baseline is intact. Resetting step 4 alone pushes the primary-only buildspec
    while step 3's cross-region stage is still there: that run fails (and says why), so the
    pipelines' last run is the one prerequisite step 4's reset may leave failed."""
    _, document = check(target)
    allowed = {"prereq.pipelines_succeeded"} if step == "4" else set()
    return all(c["status"] == "pass" or c["id"] in allowed for c in document["steps"][0]["checks"])


def fingerprint(sandbox: Sandbox, step: str) -> Any:
    """What a second solve must leave exactly as it was."""
    if step == "1":
        stack = sandbox.client("cloudformation", "us-east-1").describe_stacks(
            StackName="mm-secondary-region"
        )["Stacks"][0]
        return stack["StackStatus"], stack.get("LastUpdatedTime"), len(stack["Outputs"])
    if step == "2":
        table = sandbox.client("dynamodb", "us-west-2").describe_table(TableName="mm-ddbtable")[
            "Table"
        ]
        return table["StreamSpecification"], table["Replicas"]
    if step == "4":
        codecommit = sandbox.client("codecommit", "us-west-2")
        return sorted(
            codecommit.get_branch(repositoryName=r["repositoryName"], branchName="master")[
                "branch"
            ]["commitId"]
            for r in codecommit.list_repositories()["repositories"]
        )
    if step == "3":
        client = sandbox.client("codepipeline", "us-west-2")
        return sorted((p["name"], p["version"]) for p in client.list_pipelines()["pipelines"])
    groups = sandbox.client("xray", "us-east-1").get_groups()["Groups"]
    body = sandbox.client("cloudwatch", "us-west-2").get_dashboard(
        DashboardName="mm-multi-region_Dashboard"
    )["DashboardBody"]
    return sorted(g["GroupARN"] for g in groups), body


@pytest.mark.parametrize("step", ["1", "2", "3", "4", "5"])
def test_solve_and_reset_cycle(sandbox: Sandbox, target: list[str], step: str) -> None:
    if step in ("3", "4", "5"):  # these need the secondary stack's outputs
        assert solve(target, "1").code == 0
    if step == "4":  # and deploying to the secondary needs the cross-region stage
        assert solve(target, "3").code == 0
        # The attendee's own work in the clones must survive solve and reset untouched.
        for clone in sandbox.workspace.glob("*-service-*"):
            (clone / "scratch.txt").write_text("untracked notes\n")
            (clone / "Dockerfile").write_text((clone / "Dockerfile").read_text() + "# mine\n")
    assert step_status(target, step) == "fail"

    solved = solve(target, step)
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "done" in solved.stdout and "nothing changed" not in solved.stdout
    assert step_status(target, step) == "pass"
    before = fingerprint(sandbox, step)

    again = solve(target, step)
    assert again.code == 0, again.stderr
    assert "already done, nothing changed" in again.stdout
    assert fingerprint(sandbox, step) == before

    planned = invoke("reset", *target, "--step", step, "--dry-run")
    assert planned.code == 0, planned.stderr
    assert planned.stdout.startswith("plan:\n")
    assert step_status(target, step) == "pass"  # a dry run changes nothing

    refused = invoke("reset", *target, "--step", step)  # no --yes, no terminal to ask
    assert refused.code != 0
    assert step_status(target, step) == "pass"

    reset = invoke("reset", *target, "--step", step, "--yes")
    assert reset.code == 0, reset.stderr
    assert "reset done" in reset.stdout
    assert step_status(target, step) == "fail"
    assert prerequisites_hold(target, step)

    if step == "4":
        for clone in sandbox.workspace.glob("*-service-*"):
            assert (clone / "scratch.txt").read_text() == "untracked notes\n"
            assert (clone / "Dockerfile").read_text().endswith("# mine\n")
            status = subprocess.run(
                ["git", "-C", str(clone), "status", "--porcelain"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert sorted(status.splitlines()) == [" M Dockerfile", "?? scratch.txt"]

    nothing = invoke("reset", *target, "--step", step, "--yes")
    assert nothing.stdout.strip() == "nothing to reset: the lab has created nothing here"


def test_plan_names_each_action_and_region(sandbox: Sandbox, target: list[str]) -> None:
    assert solve(target, "1").code == 0
    planned = invoke("reset", *target, "--step", "infrastructure", "--dry-run")
    lines = planned.stdout.splitlines()
    assert lines[0] == "plan:"
    assert lines[-1] == "  infrastructure: delete stack mm-secondary-region (us-east-1)"
    assert all(line.endswith("(us-east-1)") for line in lines[1:])


def test_catch_me_up_through_the_checkpoint(sandbox: Sandbox, target: list[str]) -> None:
    """`--through checkpoint` solves every step, in order: the whole lab then passes; a second
    catch-up changes nothing; the whole-lab reset brings back the Labs 0-2 baseline."""
    assert step_status(target, "checkpoint") == "fail"
    result = invoke("solve", *target, "--through", "checkpoint")
    assert result.code == 0, result.stderr
    code, document = check(target)
    assert code == 0
    assert document["status"] == "pass"
    again = invoke("solve", *target, "--through", "checkpoint")
    assert again.code == 0
    assert "done\n" not in again.stdout.replace("already done", "")
    planned = invoke("reset", *target, "--dry-run")
    steps_in_order = [line.split(":")[0].strip() for line in planned.stdout.splitlines()[1:]]
    assert list(dict.fromkeys(steps_in_order)) == [
        "dashboard",
        "pipeline",
        "build-artifacts",
        "data-tier",
        "infrastructure",
    ]
    reset = invoke("reset", *target, "--yes")
    assert reset.code == 0, reset.stderr
    code, document = check(target)
    statuses = {s["id"]: s["status"] for s in document["steps"]}
    assert statuses.pop("prerequisites") == "pass"
    assert set(statuses.values()) == {"fail"}
