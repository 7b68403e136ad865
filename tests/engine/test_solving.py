"""What a solve says afterwards, for each status its step's checks can end in."""

from __future__ import annotations

import pytest

from mmtui.content.loader import load_guided_lab
from mmtui.engine.results import CheckResult, Status, StepResult
from mmtui.engine.solving import SolveOutcome, requirement_warning


def outcome(changed: list[str], *statuses: Status) -> SolveOutcome:
    step = load_guided_lab("3").step("data-tier")
    checks = [
        CheckResult(f"c{n}", f"check {n}", "us-east-1", s, "", "", f"message {n}")
        for n, s in enumerate(statuses)
    ]
    return SolveOutcome(step, changed, StepResult(step.id, step.number, step.title, checks))


@pytest.mark.parametrize(
    ("changed", "statuses", "summary", "details"),
    [
        (["made it"], [Status.PASS], "done", []),
        ([], [Status.PASS, Status.PASS], "already done, nothing changed", []),
        (
            ["made it"],
            [Status.PASS, Status.PENDING],
            "solved; pending: AWS is still converging, check again in a moment",
            ["pending: message 1"],
        ),
        (
            [],
            [Status.FAIL, Status.PENDING, Status.FAIL],
            "nothing more mmtui can change, but 2 of its checks still fail: not done",
            ["fail: message 0", "pending: message 1", "fail: message 2"],
        ),
        (
            ["made it"],
            [Status.ERROR],
            "solved; its checks could not look, so it is not known to be done",
            ["error: message 0"],
        ),
    ],
)
def test_done_only_when_the_checks_pass(
    changed: list[str], statuses: list[Status], summary: str, details: list[str]
) -> None:
    solved = outcome(changed, *statuses)
    assert solved.summary() == summary
    assert solved.details() == details
    assert solved.passed == (set(statuses) == {Status.PASS})


def test_the_warning_names_the_steps_and_what_will_happen() -> None:
    lab = load_guided_lab("3")
    failing = outcome([], Status.FAIL).result
    unmet = StepResult("pipeline", 3, "t", failing.checks)
    text = requirement_warning(lab.step("build-artifacts"), [unmet])
    assert text == (
        "step 4 (build-artifacts) builds on step 3 (pipeline), whose checks do not pass "
        "(message 0). Solving build-artifacts now does its own part, but its checks will keep "
        "failing until step 3 (pipeline) passes: solve step 3 (pipeline) first, then "
        "build-artifacts again (`mmtui solve --through build-artifacts` does them in order)."
    )
