"""Every solved step is proven: check fails → solve → check passes → solve again changes
nothing → reset (plan first) → check fails, and the Labs 0-2 baseline is intact."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import Result, cli_target, codecommit_git, invoke


@pytest.fixture
def target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    options = cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE")
    tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 0.3  # type: ignore[attr-defined]
    tables.replica_delete_seconds = 0.3  # type: ignore[attr-defined]
    return options


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
def test_solve_and_reset_cycle(
    sandbox: Sandbox, target: list[str], step: str, lab_solved: Callable[..., Sandbox]
) -> None:
    if step in ("3", "5"):  # these need the secondary stack's outputs
        lab_solved("1")
    if step == "4":  # and deploying to the secondary needs the cross-region stage
        lab_solved("1", "3")
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


# ---------------------------------------------------------------------- solves tell the truth
# The newcomer walkthrough's cases (problems 2-4): a step solved out of order is finished by
# solving it again, and a solve says "done" only when its step's checks pass.


def test_step_4_before_step_3_warns_says_not_done_and_is_finished_by_solving_again(
    sandbox: Sandbox, target: list[str]
) -> None:
    assert solve(target, "1").code == 0
    early = solve(target, "4")
    # Warned first, on stderr, with what the result will be; then went on.
    assert "warning: step 4 (build-artifacts) builds on step 3 (pipeline)" in early.stderr
    assert "its checks will keep failing until step 3 (pipeline) passes" in early.stderr
    # Not "done": the pipelines ran without a cross-region stage, and the check says so.
    assert early.code == 1, early.stdout + early.stderr
    assert "build-artifacts: solved, but" in early.stdout and "not done" in early.stdout
    assert "fail: The pipelines have not deployed to the secondary region yet" in early.stdout
    assert solve(target, "3").code == 0
    # The buildspecs are on the remote already; the runs are stale: solving again starts
    # the pipelines again, which now deploy to both regions.
    again = solve(target, "4")
    assert again.code == 0, again.stdout + again.stderr
    assert "build-artifacts: done" in again.stdout
    for kind in ("Core", "Like"):
        assert f"started {kind}Pipeline-" in again.stderr
    assert "again: its last run did not deploy" in again.stderr
    assert "to us-east-1" in again.stderr and "warning" not in again.stderr
    assert step_status(target, "4") == "pass"
    final = solve(target, "4")
    assert final.code == 0 and "already done, nothing changed" in final.stdout


def test_step_1_redone_after_the_later_steps_is_caught_up_by_solving_again(
    sandbox: Sandbox, target: list[str]
) -> None:
    assert invoke("solve", *target, "--through", "4").code == 0
    assert invoke("reset", *target, "--step", "1", "--yes").code == 0
    assert solve(target, "1").code == 0
    # New secondary services start from the template's placeholder image: steps 3 and 4 are
    # not done any more, and their solves say so until they are redone.
    assert step_status(target, "3") == "fail" and step_status(target, "4") == "fail"
    caught_up = invoke("solve", *target, "--through", "4")
    assert caught_up.code == 0, caught_up.stdout + caught_up.stderr
    assert "pipeline: done" in caught_up.stdout and "build-artifacts: done" in caught_up.stdout
    code, document = check(target)
    statuses = {s["id"]: s["status"] for s in document["steps"]}
    assert [
        statuses[s] for s in ("infrastructure", "data-tier", "pipeline", "build-artifacts")
    ] == ["pass"] * 4


def test_step_5_without_step_1_stops_before_changing_anything(
    sandbox: Sandbox, target: list[str]
) -> None:
    """The walkthrough's partial apply: the X-Ray groups were created, then the dashboard
    failed for want of step 1. Now the part that needs step 1 comes first."""
    result = solve(target, "5")
    assert result.code == 1, result.stdout + result.stderr
    assert "the dashboard needs mm-secondary-region (step 1) first" in result.stderr
    assert "nothing was changed" in result.stderr
    groups = sandbox.client("xray", "us-east-1").get_groups()["Groups"]
    assert [g["GroupName"] for g in groups] == ["Default"]


def test_resetting_a_step_warns_about_the_done_steps_built_on_it(
    sandbox: Sandbox, target: list[str], lab_solved: Callable[..., Sandbox]
) -> None:
    lab_solved("1", "3")
    plan = invoke("reset", *target, "--step", "1", "--dry-run")
    assert plan.code == 0, plan.stdout + plan.stderr
    assert "delete stack mm-secondary-region" in plan.stdout
    assert (
        "warning: step 3 (pipeline) builds on step 1 (infrastructure) and is done at least in "
        "part: after this reset it points at what it removes"
    ) in plan.stderr
    assert "`mmtui solve --through pipeline`" in plan.stderr
    # Nothing done is built on step 3 (step 4 is not done): no warning.
    alone = invoke("reset", *target, "--step", "3", "--dry-run")
    assert alone.code == 0 and "warning" not in alone.stderr, alone.stderr


def finished_buildspecs(sandbox: Sandbox) -> dict[Any, str]:
    """Clone → the finished buildspec_prod.yml, as the attendee would write it."""
    from mmtui.gitops.buildspecs import BuildspecValues, render_buildspec

    def outputs(region: str, stack: str) -> dict[str, str]:
        found = sandbox.client("cloudformation", region).describe_stacks(StackName=stack)
        return {o["OutputKey"]: o["OutputValue"] for o in found["Stacks"][0]["Outputs"]}

    primary = outputs("us-west-2", "mm-multi-region")
    secondary = outputs("us-east-1", "mm-secondary-region")
    wanted = {}
    for clone in sandbox.workspace.glob("*-service-*"):
        kind = "Core" if clone.name.startswith("core") else "Like"
        values = BuildspecValues(
            primary[f"{kind}ServiceEcrRepo"],
            secondary[f"Secondary{kind}ServiceEcrRepo"],
            "us-east-1",
        )
        wanted[clone] = render_buildspec(kind.lower(), values)
    return wanted


def test_catch_up_pushes_buildspecs_committed_but_never_pushed(
    sandbox: Sandbox, target: list[str]
) -> None:
    """A clone ahead of its remote (the attendee committed, never pushed) is not "already
    done": the pipeline builds the remote. The solve refuses to publish the attendee's commits
    (red team G5) and says how to push them; once pushed, the catch-up finishes the lab."""
    assert invoke("solve", *target, "--through", "3").code == 0
    clones = finished_buildspecs(sandbox)
    for clone, text in clones.items():
        (clone / "buildspec_prod.yml").write_text(text)
        for command in (["add", "buildspec_prod.yml"], ["commit", "-q", "-m", "mine"]):
            codecommit_git(*command, cwd=clone, aws=None)
    assert step_status(target, "4") == "fail"  # the remote still has the TODO buildspec
    refused = invoke("solve", *target, "--through", "checkpoint")
    assert refused.code == 2, refused.stdout + refused.stderr
    assert "build-artifacts: already done" not in refused.stdout
    assert "mine" in refused.stderr and "push them yourself" in refused.stderr
    for clone in clones:  # as the refusal says
        codecommit_git("push", "-q", "origin", "master", cwd=clone, aws=sandbox)
    result = invoke("solve", *target, "--through", "checkpoint")
    assert result.code == 0, result.stdout + result.stderr
    assert "build-artifacts: done" in result.stdout
    assert "checkpoint: " in result.stdout
    code, document = check(target)
    assert code == 0 and document["status"] == "pass"
    for clone in sandbox.workspace.glob("*-service-*"):
        ahead = codecommit_git(
            "rev-list", "--count", "origin/master..master", cwd=clone, aws=None
        ).stdout.strip()
        assert ahead == "0"


# ---------------------------------------------------------------------- names the user chose


def test_the_whole_lab_under_a_secondary_stack_name_of_ones_own(
    sandbox: Sandbox, target: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Solved and checked with `--secondary-stack`: every step uses that stack (its outputs
    feed the pipelines, buildspecs and dashboard), the whole-lab check passes with the name
    given as a flag or as MMTUI_SECONDARY_STACK, and the workshop's name is not created."""
    named = [*target, "--secondary-stack", "ana-standby"]
    solved = invoke("solve", *named, "--through", "checkpoint")
    assert solved.code == 0, solved.stdout + solved.stderr
    cloudformation = sandbox.client("cloudformation", "us-east-1")

    def stacks() -> list[str]:
        found = cloudformation.describe_stacks()["Stacks"]
        return [s["StackName"] for s in found if s["StackStatus"] != "DELETE_COMPLETE"]

    assert stacks() == ["ana-standby"]
    code, document = check(named)
    assert code == 0 and document["status"] == "pass", document
    monkeypatch.setenv("MMTUI_SECONDARY_STACK", "ana-standby")
    code, document = check(target)
    assert code == 0 and document["status"] == "pass"
    monkeypatch.delenv("MMTUI_SECONDARY_STACK")
    code, document = check(target, "1")
    assert code == 1
    assert "There is no stack mm-secondary-region" in json.dumps(document)
    # A primary stack name of one's own is where every check then looks.
    code, document = check([*target, "--primary-stack", "ana-mm"])
    assert code == 1 and "There is no stack ana-mm" in json.dumps(document)
    reset = invoke("reset", *named, "--yes")
    assert reset.code == 0, reset.stdout + reset.stderr
    assert stacks() == []
