"""The guide driven with Pilot against the session sandbox: keys and buttons, never sleeps."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from textual.widgets import DataTable, Markdown, RichLog, Static

import mmtui.labs
from mmtui.engine.results import Status
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.spec import TargetFlags, TargetSpec, resolve_target
from mmtui.tui.app import MmtuiApp
from mmtui.tui.code import FoldedCode
from mmtui.tui.dialogs import DiffScreen, RequirementScreen, ResetPlanScreen, SandboxEnvScreen
from mmtui.tui.home import HomeScreen
from mmtui.tui.overview import OverviewScreen
from mmtui.tui.step import StepScreen
from tests.conftest import cli_target, invoke, start_replica
from tests.tui.conftest import settle


def cell(table: DataTable[object], row: str, column: str) -> str:
    return str(table.get_cell(row, column))


def statuses(screen: StepScreen) -> list[Status]:
    return [check.status for check in screen.results]


async def test_home_shows_the_six_labs_with_their_state(app: MmtuiApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        target = str(app.screen.query_one(".target", Static).render())
        assert "account 123456789012" in target and "us-west-2 → us-east-1" in target
        labs = app.screen.query_one("#labs", DataTable)
        assert labs.row_count == 6
        for lab in ("0", "1", "2"):
            assert cell(labs, lab, "state") == "✔ pass · verified"
        assert cell(labs, "3", "state") == "○ not started"  # not "in progress · 0 of 6 done"
        assert cell(labs, "4", "state") == "· open it to check"
        assert cell(labs, "5", "state") == "· open it to check"


async def test_home_opens_lab_4_on_the_same_target_and_back_to_lab_3(app: MmtuiApp) -> None:
    """Enter on Lab 4 guides Lab 4 with the same connection: its steps and checks, Labs 0-2
    said to be checked with Lab 3; enter on Lab 3 comes back to it."""
    from mmtui.tui.overview import OverviewScreen

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        connection = app.guide.connection
        await pilot.press("down", "enter")  # from Lab 3 to Lab 4
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert app.content.lab.id == "4" and app.guide.connection is connection
        steps = app.screen.query_one("#lab-steps", DataTable)
        assert steps.row_count == 5
        assert not app.screen.query("#regions")  # Lab 4 has no two-region picture
        assert app.snapshot is not None and set(app.snapshot.steps) == {
            "accelerator",
            "listener",
            "endpoint-groups",
            "endpoints",
            "test",
        }
        assert cell(steps, "accelerator", "status") == "✘ fail"
        await pilot.press("escape")
        labs = app.screen.query_one("#labs", DataTable)
        assert cell(labs, "0", "state") == "· checked with the lab that builds on it"
        assert cell(labs, "4", "state") == "○ not started"
        await pilot.press("up", "enter")  # back to Lab 3
        await settle(pilot)
        assert app.content.lab.id == "3"
        await pilot.press("escape")
        assert cell(app.screen.query_one("#labs", DataTable), "0", "state") == "✔ pass · verified"


async def test_a_missing_prerequisite_is_named_on_home(app: MmtuiApp, sandbox: Sandbox) -> None:
    xray = sandbox.client("xray", "us-west-2")
    for group in xray.get_groups()["Groups"]:
        if group["GroupName"] != "Default":
            xray.delete_group(GroupName=group["GroupName"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        labs = app.screen.query_one("#labs", DataTable)
        assert cell(labs, "1", "state") == "✘ fail · missing something"
        await pilot.press("up", "up")  # from Lab 3 to Lab 1
        detail = app.screen.query_one("#lab-detail", Markdown).source
        assert "Lab 1" in detail and "**Missing:**" in detail and "X-Ray" in detail


async def test_the_whole_lab_through_the_guide(app: MmtuiApp, sandbox: Sandbox) -> None:
    """Home → Lab 3 → each step solved with its key, checks green one after another."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        assert isinstance(app.screen, OverviewScreen)
        for index, step in enumerate(app.content.lab.steps):
            overview = app.screen
            assert isinstance(overview, OverviewScreen)
            table = overview.query_one("#lab-steps", DataTable)
            table.focus()
            table.move_cursor(row=index)
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, StepScreen) and screen.step.id == step.id
            await settle(pilot)
            if step.kind == "checkpoint":
                await pilot.press("v")
                await settle(pilot)
                assert "Current region: us-east-1" in str(screen.query_one("#site").render())
            else:
                assert Status.FAIL in statuses(screen)
                await pilot.press("s")
                await settle(pilot)
                if step.id == "build-artifacts":
                    assert isinstance(app.screen, DiffScreen)
                    await pilot.press("y")
                    await settle(pilot)
                log = screen.query_one("#log", RichLog)
                assert any("solve: done" in line.text for line in log.lines)
            assert statuses(screen) and set(statuses(screen)) == {Status.PASS}, screen.results
            assert "this step is done" in str(screen.query_one("#detail-text").render())
            await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)
        table = app.screen.query_one("#lab-steps", DataTable)
        assert [cell(table, s.id, "status") for s in app.content.lab.steps] == ["✔ pass"] * 6
        # The two-region picture, read live, now shows the secondary side built.
        await pilot.press("i")
        await settle(pilot)
        regions = app.screen.query_one("#regions", DataTable)
        for layer in ("infrastructure", "data tier", "images", "application", "pipeline"):
            assert cell(regions, layer, "secondary").startswith("✔"), layer
        assert cell(regions, "dashboard", "secondary").startswith("✔")
        await pilot.press("escape")
        labs = app.screen.query_one("#labs", DataTable)
        assert cell(labs, "3", "state") == "✔ pass · 6 of 6 done"


async def test_a_step_reads_with_learn_more_and_hints_one_at_a_time(app: MmtuiApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("infrastructure")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StepScreen)
        instructions = screen.query_one("#instructions", Markdown).source
        assert "mm-secondary-region" in instructions and "{{" not in instructions
        assert screen.query("Collapsible")  # learn-more sections, folded
        hints = screen.query_one("#hints-text", Static)
        assert "press h for the first" in str(hints.render())
        await pilot.press("h")
        assert str(hints.render()).startswith("Hint 1:") and "Hint 2" not in str(hints.render())
        await pilot.press("h")
        assert "Hint 2:" in str(hints.render())
        detail = str(screen.query_one("#detail-text").render())
        assert (
            'Try: Deploy the template with its Lambda runtime raised (see "Do it by hand") '
            "against us-east-1; if the stack shows ROLLBACK_COMPLETE, delete it" in detail
        )
        assert "See for yourself (c copies it):" in detail
        command = screen.query_one("#detail-command", FoldedCode)
        assert command.display and command.code.startswith("aws cloudformation describe-stacks")


async def test_by_hand_shows_commands_with_real_names_and_checks_follow(
    app: MmtuiApp, sandbox: Sandbox
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("data-tier")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StepScreen)
        manual = screen.query_one("#manual", Markdown).source
        assert "mm-ddbtable" in manual and "--region us-west-2" in manual
        assert f"source {sandbox.state_dir / 'sandbox.env'}" in manual
        # The console way points at its terminal form; a situational action says when it is for.
        assert (
            "Or from a terminal: 3. Or with the CLI: enable the stream and 4. Or with the CLI: "
            "add the replica." in manual
        )
        assert "*Only if the check says the stream records something other than" in manual
        # The attendee enables the stream by hand, in another terminal: the guide sees it.
        sandbox.client("dynamodb", "us-west-2").update_table(
            TableName="mm-ddbtable",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        await pilot.press("r")
        await settle(pilot)
        checks = screen.query_one("#checks", DataTable)
        assert cell(checks, "data_tier.stream_enabled", "status") == "✔ pass"
        assert cell(checks, "data_tier.replica_active", "status") == "✘ fail"


async def test_a_pending_check_shows_for_how_long(app: MmtuiApp, sandbox: Sandbox) -> None:
    for extension in sandbox.extensions:
        if hasattr(extension, "replica_create_seconds"):
            extension.replica_create_seconds = 600.0
    start_replica(sandbox)
    now = [1000.0]
    app.guide.clock = lambda: now[0]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("data-tier")
        await settle(pilot)
        checks = app.screen.query_one("#checks", DataTable)
        assert cell(checks, "data_tier.replica_active", "status") == "… pending for 0 s"
        now[0] += 75
        await pilot.press("r")
        await settle(pilot)
        assert cell(checks, "data_tier.replica_active", "status") == "… pending for 1 min 15 s"


async def test_reset_shows_its_plan_and_asks(app: MmtuiApp, sandbox: Sandbox) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("data-tier")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StepScreen) and set(statuses(screen)) == {Status.PASS}
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ResetPlanScreen)
        plan = str(app.screen.query_one("#plan").render())
        assert "us-east-1" in plan and "1." in plan
        await pilot.press("escape")  # cancelled: nothing changes
        await settle(pilot)
        assert app.screen is screen and set(statuses(screen)) == {Status.PASS}
        await pilot.press("x")
        await settle(pilot)
        await pilot.click("#go")
        await settle(pilot)
        assert Status.FAIL in statuses(screen)
        lines = [line.text for line in screen.query_one("#log", RichLog).lines]
        assert "reset: reset done" in lines


async def test_the_reset_plan_warns_about_done_steps_built_on_it(
    app: MmtuiApp, lab_solved: Callable[..., Sandbox]
) -> None:
    """Resetting step 1 under a done step 3: the plan says what that leaves broken."""
    lab_solved("1", "3")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("infrastructure")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ResetPlanScreen)
        warning = str(app.screen.query_one("#dependants", Static).render())
        assert "step 3 (pipeline) builds on step 1 (infrastructure)" in warning
        await pilot.press("escape")  # nothing is reset


async def test_errors_are_a_notice_on_the_step(app: MmtuiApp) -> None:
    """Step 4 before step 1: the engine refuses with a message the step shows."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("build-artifacts")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StepScreen)
        detail = str(screen.query_one("#detail-text").render())
        assert "the buildspecs need mm-secondary-region (step 1) first" in detail


async def test_progress_is_saved_and_restored(spec: TargetSpec, tmp_path: object) -> None:
    lab, content = mmtui.labs.load("3")
    first = MmtuiApp(spec, content, lab, refresh_seconds=0)
    async with first.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        first.open_step("pipeline")
        await settle(pilot)
        await pilot.press("h", "h")
    assert first.guide.store is not None
    saved = json.loads(first.guide.store.path.read_text())
    assert saved["steps"]["pipeline"]["hints"] == 2
    assert saved["steps"]["infrastructure"]["status"] == "fail"
    second = MmtuiApp(spec, content, lab, refresh_seconds=0)
    async with second.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # It opens where the attendee left off, with the hints they had revealed.
        assert isinstance(second.screen, StepScreen) and second.screen.step.id == "pipeline"
        assert "Hint 2:" in str(second.screen.query_one("#hints-text", Static).render())
        await pilot.press("escape")
        assert isinstance(second.screen, OverviewScreen)
    assert first.guide.store.load().current_step is None  # closed: the next start is home


async def test_damaged_progress_is_set_aside_with_a_message(spec: TargetSpec) -> None:
    lab, content = mmtui.labs.load("3")
    probe = MmtuiApp(spec, content, lab, refresh_seconds=0)
    async with probe.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
    assert probe.guide.store is not None
    path = probe.guide.store.path
    path.write_text("{ not json", encoding="utf-8")
    app = MmtuiApp(spec, content, lab, refresh_seconds=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        notices = [n.message for n in app._notifications]
        assert any("could not be read" in text and "set aside" in text for text in notices)
    aside = list(path.parent.glob(f"{path.stem}.damaged-*.json"))
    assert len(aside) == 1 and aside[0].read_text() == "{ not json"


async def test_a_progress_folder_that_cannot_be_written_is_a_notice_not_a_crash(
    spec: TargetSpec,
) -> None:
    """Red-team P4: the guide starts and works, says once that progress cannot be saved, and
    keeps it in memory. The lab's progress folder is a file here (root ignores chmod)."""
    from mmtui.paths import state_dir

    blocked = state_dir() / "progress" / "lab-3"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a folder", encoding="utf-8")
    lab, content = mmtui.labs.load("3")
    app = MmtuiApp(spec, content, lab, refresh_seconds=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("pipeline")
        await settle(pilot)
        await pilot.press("h", "h")
        await settle(pilot)
        assert isinstance(app.screen, StepScreen) and app.screen.step.id == "pipeline"
        assert "Hint 2:" in str(app.screen.query_one("#hints-text", Static).render())
        assert app.guide.progress.step("pipeline").hints == 2  # kept in memory
        assert app.guide.progress.step("infrastructure").status == "fail"
        notices = [n.message for n in app._notifications if "cannot save progress" in n.message]
        assert app.guide.store is not None
        assert len(notices) == 1, notices
        assert notices[0].startswith(f"cannot save progress: {app.guide.store.path}: {blocked}: ")
    assert app.return_code in (None, 0)
    assert blocked.read_text(encoding="utf-8") == "not a folder"


def test_an_error_while_closing_the_target_is_kept_for_the_command_line(spec: TargetSpec) -> None:
    """An embedded sandbox whose last save fails raises at stop (red-team S9); the guide keeps
    that error for `mmtui run` to print once the screen is back, instead of a traceback."""
    from mmtui.exitcodes import MmtuiError
    from mmtui.guide import Guide

    lab, content = mmtui.labs.load("3")
    guide = Guide(spec, content, lab)

    def stop() -> None:
        raise MmtuiError("/x: cannot save the sandbox state (No space left on device)")

    guide._resources.callback(stop)
    guide.close()
    assert str(guide.closing_error) == "/x: cannot save the sandbox state (No space left on device)"


async def test_the_sandbox_screen_says_what_to_source(app: MmtuiApp, sandbox: Sandbox) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, SandboxEnvScreen)
        text = app.screen.query_one("#env-text", Markdown).source
        assert f"source {sandbox.state_dir / 'sandbox.env'}" in text
        assert "MMTUI_WORKSPACE" in text
        # Quitting the guide does not take that terminal's AWS away (newcomer walkthrough).
        assert "keeps running when you quit the guide" in text
        assert "`mmtui sandbox stop`" in text
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_the_palette_has_every_step_and_the_step_commands(app: MmtuiApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Check all" in titles and "Step 1: Replicate the infrastructure" in titles
        assert "Checkpoint: the secondary site answers" in titles
        assert not any("Checkpoint: Checkpoint" in title for title in titles)  # walkthrough
        assert "Solve this step" not in titles
        app.open_step("dashboard")
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Solve this step" in titles and "Reset this step" in titles


async def test_a_failing_target_is_a_notice_not_a_crash(sandbox: Sandbox) -> None:
    no_credentials = resolve_target(TargetFlags(aws=True), env={})
    lab, content = mmtui.labs.load("3")
    app = MmtuiApp(no_credentials, content, lab, refresh_seconds=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        notices = [n.message for n in app._notifications]
        assert any("no AWS credentials found" in text for text in notices)
        assert isinstance(app.screen, HomeScreen)


async def test_checks_refresh_on_their_own_and_never_overlap(spec: TargetSpec) -> None:
    import threading

    lab, content = mmtui.labs.load("3")
    app = MmtuiApp(spec, content, lab, refresh_seconds=0.01)
    original = app.guide.check_all
    state = {"running": 0, "most": 0, "rounds": 0}
    lock = threading.Lock()

    def counted() -> object:
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        try:
            return original()
        finally:
            with lock:
                state["running"] -= 1
                state["rounds"] += 1

    app.guide.check_all = counted  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(3):
            await pilot.press("r")  # an impatient attendee asks while a round may be running
        for _ in range(2000):
            if state["rounds"] >= 2:
                break
            await pilot.pause(0.01)
        # Rounds that find what the previous found leave the labs' table as it is: an update
        # of any cell makes the table render (and cache) every cell anew (tui/cells.py).
        table = app.screen.query_one("#labs", DataTable)
        updates: list[object] = []
        update_cell = table.update_cell
        table.update_cell = lambda *a, **k: updates.append(a) or update_cell(*a, **k)  # type: ignore[method-assign]
        seen = state["rounds"]
        for _ in range(2000):
            if state["rounds"] >= seen + 3:
                break
            await pilot.pause(0.01)
        assert state["rounds"] >= 4  # the timer started new rounds by itself
        assert state["most"] == 1  # and never two at once
        assert updates == []
        app.refresh_seconds = 0  # let the last round end without a successor
        await settle(pilot)


async def test_a_step_whose_required_step_fails_asks_first_and_says_why(
    app: MmtuiApp, sandbox: Sandbox
) -> None:
    """Step 3 needs step 1's stack: `s` asks first, saying what the solve would leave;
    cancelling changes nothing."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("pipeline")
        await settle(pilot)
        screen = app.screen
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, RequirementScreen)
        warning = str(app.screen.query_one("#requirement").render())
        assert "step 3 (pipeline) builds on step 1 (infrastructure)" in warning
        assert "There is no stack mm-secondary-region in us-east-1" in warning
        assert "its checks will keep failing until step 1 (infrastructure) passes" in warning
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and not app.running
        assert not screen.query_one("#log", RichLog).lines


async def test_step_4_before_step_3_warns_in_the_diff_and_the_log_says_not_done(
    app: MmtuiApp, sandbox: Sandbox
) -> None:
    # Step 1 done beforehand (the guide opens one step screen only: switching step screens
    # twice in a row is another test's subject).
    assert invoke("solve", "--endpoint-url", sandbox.url, "--step", "1").code == 0
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("build-artifacts")
        await settle(pilot)
        screen = app.screen
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        warning = str(app.screen.query_one("#requirement").render())
        assert "builds on step 3 (pipeline)" in warning
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(screen, StepScreen)
        lines = [line.text for line in screen.query_one("#log", RichLog).lines]
        assert any(x.startswith("solve: solved, but") and x.endswith("not done") for x in lines)
        assert any("The pipelines have not deployed to the secondary region" in x for x in lines)
        assert "solve: done" not in lines


async def test_the_header_names_the_resources_chosen_by_the_user(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_target(sandbox, monkeypatch)
    flags = TargetFlags(endpoint_url=sandbox.url, names={"secondary_stack": "ana-standby"})
    spec = resolve_target(flags, env={})
    lab, content = mmtui.labs.load("3")
    app = MmtuiApp(spec, content, lab, refresh_seconds=0)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        target = str(app.screen.query_one(".target", Static).render())
        assert target.endswith("us-west-2 → us-east-1 · secondary stack ana-standby"), target
        # The checks look for that stack, and say so.
        await pilot.press("enter")
        await settle(pilot)
        app.open_step("infrastructure")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StepScreen)
        assert any("ana-standby" in check.message for check in screen.results)
