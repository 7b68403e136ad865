"""A lab is a plugin: one that lives only in the tests (tests/labs/marker_lab) is registered
through `mmtui.labs.register`, without touching any core file, and is driven through `mmtui
check`, `solve`, `reset`, `lint` and the guide like Lab 3. Its step and its check reuse Lab 3's
names, which is only possible because each lab has registries of its own.

And the core stays generic: no Lab 3 id, step or name is written in the engine, the command
line, the guide, the TUI or the fleet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, RichLog, Static

import mmtui.labs
from mmtui.engine.results import Status
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.spec import TargetSpec
from mmtui.tui.app import MmtuiApp
from mmtui.tui.dialogs import ResetPlanScreen
from mmtui.tui.home import HomeScreen
from mmtui.tui.overview import OverviewScreen
from mmtui.tui.step import StepScreen
from tests.conftest import REPO, cli_target, invoke
from tests.labs.marker_lab import CHECK, CONTENT, LAB_ID, MarkerLab
from tests.tui.conftest import settle

MARKER = "mmtui-test-lab-marker"


@pytest.fixture
def marker_lab() -> Iterator[MarkerLab]:
    lab = mmtui.labs.register(MarkerLab())
    assert isinstance(lab, MarkerLab)
    yield lab
    mmtui.labs.unregister(LAB_ID)


@pytest.fixture
def spec(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> TargetSpec:
    """The sandbox reached as an endpoint, as the guide's own tests reach it."""
    from mmtui.target.spec import TargetFlags, resolve_target

    cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE")
    return resolve_target(TargetFlags(endpoint_url=sandbox.url), env={})


@pytest.fixture
def target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return [*cli_target(sandbox, monkeypatch), "--lab", LAB_ID]


def check(target: list[str]) -> tuple[int, dict[str, Any]]:
    result = invoke("check", *target, "--format", "json")
    assert result.stdout, result.stderr
    return result.code, json.loads(result.stdout)


def marker(sandbox: Sandbox) -> bool:
    """Whether the marker bucket exists (the sandbox's own view, not the lab's)."""
    buckets = sandbox.client("s3", "us-west-2").list_buckets()["Buckets"]
    return MARKER in {bucket["Name"] for bucket in buckets}


def test_the_lab_is_checked_solved_and_reset_through_the_command_line(
    marker_lab: MarkerLab, sandbox: Sandbox, target: list[str]
) -> None:
    code, document = check(target)
    assert code == 1
    assert document["lab"] == LAB_ID
    [step] = document["steps"]  # no prerequisites: the lab declares none
    assert step["id"] == "data-tier" and step["status"] == "fail"
    assert [c["id"] for c in step["checks"]] == [CHECK]
    assert "does not exist" in step["checks"][0]["message"]

    solved = invoke("solve", *target)
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "data-tier: done" in solved.stdout
    assert marker(sandbox)
    assert check(target)[0] == 0

    again = invoke("solve", *target, "--step", "data-tier")
    assert again.code == 0, again.stderr
    assert "already done, nothing changed" in again.stdout
    assert marker(sandbox)

    planned = invoke("reset", *target, "--dry-run")
    assert planned.code == 0
    assert f"data-tier: delete bucket {MARKER} (us-west-2)" in planned.stdout
    assert marker(sandbox)  # only planned
    reset = invoke("reset", *target, "--yes")
    assert reset.code == 0, reset.stderr
    assert "reset done" in reset.stdout
    assert not marker(sandbox)
    nothing = invoke("reset", *target, "--yes")
    assert nothing.stdout.strip() == "nothing to reset: the lab has created nothing here"

    code, document = check(target)
    assert code == 1 and document["steps"][0]["status"] == "fail"


def test_two_labs_own_the_same_names(marker_lab: MarkerLab) -> None:
    lab3 = mmtui.labs.get("3")
    mine = mmtui.labs.get(LAB_ID)
    assert mine is marker_lab
    assert lab3.checks.get(CHECK).run is not mine.checks.get(CHECK).run
    assert lab3.load_content().check(CHECK).title != mine.load_content().check(CHECK).title
    assert lab3.tasks.get("data_tier.solve").run is not mine.tasks.get("data_tier.solve").run
    assert (
        lab3.load_content().step("data-tier").title != mine.load_content().step("data-tier").title
    )


def test_the_lab_content_lints_clean_and_its_policy_prints(marker_lab: MarkerLab) -> None:
    linted = invoke("lint", str(CONTENT))
    assert linted.code == 0, linted.stdout + linted.stderr
    policy = invoke("policy", "solve", "--lab", LAB_ID)
    assert policy.code == 0, policy.stderr
    actions = {a for s in json.loads(policy.stdout)["Statement"] for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:CreateBucket"}


def test_a_lab_not_registered_is_refused_by_id(target: list[str]) -> None:
    result = invoke("check", *target)
    assert result.code == 2
    assert f"--lab: there is no Lab '{LAB_ID}'" in result.stderr


async def test_the_guide_walks_the_lab(
    marker_lab: MarkerLab, spec: TargetSpec, sandbox: Sandbox
) -> None:
    """Home lists the lab; its step opens with its check failing; solved with `s`, the check
    passes; reset with `x` (plan first), it fails again."""
    content = marker_lab.load_content()
    app = MmtuiApp(spec, content, marker_lab, refresh_seconds=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        labs = app.screen.query_one("#labs", DataTable)
        assert labs.row_count == 1
        assert str(labs.get_cell(LAB_ID, "state")) == "○ not started"  # 0 of 1 done

        app.open_lab()  # the lab draws no two-region picture: the overview shows its steps
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert not app.screen.query("#regions")  # no two-region picture: only its steps
        assert app.screen.query_one("#lab-steps", DataTable).row_count == 1

        app.open_step("data-tier")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StepScreen)
        title = str(screen.query_one("#step-title", Static).render())
        assert title == "Step 1: Put the marker"
        checks = screen.query_one("#checks", DataTable)
        assert str(checks.get_cell(CHECK, "check")) == "The marker bucket is in the primary region"
        assert [c.status for c in screen.results] == [Status.FAIL]
        assert not screen.query("#form-view") and not screen.query("#visit-button")

        await pilot.press("s")
        await settle(pilot)
        assert [c.status for c in screen.results] == [Status.PASS]
        assert marker(sandbox)

        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ResetPlanScreen)
        assert MARKER in str(app.screen.query_one("#plan").render())
        await pilot.click("#go")
        await settle(pilot)
        assert [c.status for c in screen.results] == [Status.FAIL]
        assert not marker(sandbox)
        lines = [line.text for line in screen.query_one("#log", RichLog).lines]
        assert "reset: reset done" in lines


LAB3_WORDS = re.compile(
    r"lab ?-?3|build.artifacts|data.tier|dashboard|infrastructure|\bpipelines\b|"
    r"checkpoint\.[a-z]|buildspec|\bcross.region",
    re.IGNORECASE,
)
GENERIC = ["mmtui/cli", "mmtui/guide.py", "mmtui/engine", "mmtui/tui", "mmtui/fleet"]


def test_no_lab3_knowledge_in_the_core() -> None:
    """The core's files name no Lab 3 id, step, check or resource (Lab 3's live in
    mmtui/labs/lab3; the words are those a leak would use)."""
    files = [p for g in GENERIC for p in sorted((REPO / g).rglob("*.py")) or [REPO / g]]
    leaks = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if LAB3_WORDS.search(line)
    ]
    assert leaks == []


def test_a_lab_folder_is_found_by_its_plugin_not_by_the_core(marker_lab: MarkerLab) -> None:
    assert marker_lab.load_content().folder == CONTENT
    assert not str(CONTENT).startswith(str(REPO / "labs"))
    assert isinstance(CONTENT, Path)


def test_the_fleet_runs_the_lab_over_a_room(
    marker_lab: MarkerLab, sandbox: Sandbox, tmp_path: Path
) -> None:
    """`fleet check`, `fleet solve` and `fleet reset --lab 90` over a room of one attendee."""
    keys = sandbox.credentials()
    targets = tmp_path / "room.yaml"
    targets.write_text(
        f"defaults:\n  endpoint_url: {sandbox.url}\n  access_key_id: {keys[0]}\n"
        f"  secret_access_key: {keys[1]}\n"
        "attendees:\n  - name: ann\n    account_id: '123456789012'\n"
    )

    def fleet(*args: str) -> tuple[int, dict[str, Any]]:
        result = invoke(
            "fleet", *args, "--targets", str(targets), "--lab", LAB_ID, "--format", "json"
        )
        assert result.stdout, result.stderr
        return result.code, json.loads(result.stdout)

    def cell(document: dict[str, Any]) -> str:
        (target,) = document["targets"]
        assert target["name"] == "ann"
        return {step["id"]: step["status"] for step in target["steps"]}["data-tier"]

    code, document = fleet("check")
    assert (code, cell(document)) == (1, "fail")
    code, _ = fleet("solve", "--through", "1")
    assert code == 0
    assert marker(sandbox)
    assert cell(fleet("check")[1]) == "pass"
    code, _ = fleet("reset", "--yes")
    assert code == 0
    assert not marker(sandbox)
    assert cell(fleet("check")[1]) == "fail"
