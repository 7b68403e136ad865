"""The newcomer walkthrough's rough edges on the guide's screens (issue 16), each shown fixed:
commands read whole and copied, panels that scroll, 80×24, keys for the tabs, and the polish.
Pilot on the session sandbox; waits on workers, never sleeps."""

from __future__ import annotations

from typing import Any

from textual.color import Color
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import DataTable, RichLog, Static, Tab, TabbedContent

from mmtui.content.fold import MARK
from mmtui.sandbox.core.server import Sandbox
from mmtui.tui.app import MmtuiApp
from mmtui.tui.code import CommandFence, FoldedCode
from mmtui.tui.form_view import FormView
from mmtui.tui.home import HomeScreen
from mmtui.tui.overview import OverviewScreen
from mmtui.tui.sizing import GuideFooter
from mmtui.tui.step import StepScreen
from tests.tui.conftest import settle
from tests.tui.test_snapshots import data_tier_done


async def open_step(app: MmtuiApp, pilot: Pilot[Any], step_id: str) -> StepScreen:
    await settle(pilot)
    app.open_step(step_id)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, StepScreen)
    return screen


def footer_keys(screen: Screen[Any]) -> dict[str, str]:
    """The footer's keys and what each says (FooterKey is not exported by Textual)."""
    keys = screen.query_one(GuideFooter).query("FooterKey")
    return {str(getattr(k, "key", "")): str(getattr(k, "description", "")) for k in keys}


def lines(widget: FoldedCode) -> list[str]:
    return widget.folded(widget.content_size.width).split("\n")


async def test_by_hand_commands_are_shown_whole_and_copied_as_written(app: MmtuiApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_step(app, pilot, "infrastructure")
        await pilot.press("2")
        await settle(pilot)
        fences = list(screen.query_one("#manual").query(CommandFence))
        deploy = next(f for f in fences if "cloudformation deploy" in f.code)
        assert "--region us-east-1" in deploy.code  # what the walkthrough could not see
        for fence in fences:
            code = fence.query_one(FoldedCode)
            width = code.content_size.width
            assert 0 < width < 80
            shown = lines(code)
            assert all(len(line) <= width for line in shown), shown
            # Shell folds with continuations; nothing is marked as cut.
            assert not any(line.startswith(MARK) for line in shown), shown
        shown = lines(deploy.query_one(FoldedCode))
        assert len(shown) > 1 and all(line.endswith(" \\") for line in shown[:-1])
        assert shown[-1].strip().endswith("--region us-east-1")
        # Tab reaches the commands; c copies the focused one, as written (one line).
        for _ in range(30):
            if screen.focused is deploy:
                break
            await pilot.press("tab")
        assert screen.focused is deploy
        await pilot.press("c")
        assert app.clipboard == deploy.code
        assert "\\\n" not in app.clipboard


async def test_a_picked_check_is_explained_and_its_command_copied(app: MmtuiApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_step(app, pilot, "infrastructure")
        text = screen.query_one("#detail-text", Static)
        assert str(text.render()).startswith("The secondary stack is deployed and complete:")
        table = screen.query_one("#checks", DataTable)
        table.focus()
        await pilot.press("down", "down")
        await settle(pilot)
        third = screen.step.checks[2]
        assert str(text.render()).startswith(f"{third.title}:")
        assert "Try:" in str(text.render())
        command = screen.query_one("#detail-command", FoldedCode)
        assert command.display and "describe-stacks" in command.code
        await pilot.press("c")
        assert app.clipboard == screen.shown_check().command  # type: ignore[union-attr]
        # The detail scrolls at its fixed height: the command is reachable at 80×24.
        detail = screen.query_one("#check-detail")
        assert detail.virtual_size.height > detail.size.height
        detail.scroll_end(animate=False)
        await pilot.pause()
        assert detail.scroll_y == detail.max_scroll_y > 0


async def test_every_hint_is_readable_and_h_says_what_it_did(app: MmtuiApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_step(app, pilot, "infrastructure")
        total = len(screen.step.hints)
        text = screen.query_one("#hints-text", Static)
        panel = screen.query_one("#hints")
        for shown in range(1, total + 1):
            await pilot.press("h")
            await settle(pilot)
            rendered = str(text.render())
            assert f"Hint {shown}:" in rendered
            feedback = f"({shown} of {total} · h: next hint)" if shown < total else "all"
            assert feedback in rendered.splitlines()[-1]
            # Scrolled to the end: the newest hint and the feedback line are on screen.
            assert panel.scroll_y == panel.max_scroll_y
        assert panel.virtual_size.height > panel.size.height  # four hints do not fit: it scrolls
        # Hints are paragraphs: no hard line breaks from the lab's file.
        second = rendered.split("Hint 2: ", 1)[1].split("\nHint 3:")[0]
        assert "\n" not in second


async def test_at_80x24_the_region_and_status_columns_and_the_log_are_usable(
    app: MmtuiApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_step(app, pilot, "build-artifacts")
        table = screen.query_one("#checks", DataTable)
        widths = [c.get_render_width(table) for c in table.columns.values()]
        assert sum(widths) <= table.scrollable_content_region.width, widths
        assert str(table.get_cell_at(Coordinate(0, 1))) == "us-west-2"
        longest = max(screen.step.checks, key=lambda c: len(c.title))
        assert str(table.get_cell(longest.name, "check")).endswith("…")
        await pilot.press("3")  # Do it for me
        await settle(pilot)
        log = screen.query_one("#log", RichLog)
        assert log.scrollable_content_region.height >= 3
        # The summary is paragraphs (reflowed), wrapped by the screen, not by the lab's file.
        summary = str(screen.query_one("#auto-summary Static", Static).render())
        paragraphs = summary.split("\n\n")
        assert summary.startswith("mmtui writes the finished buildspec_prod.yml into both")
        assert all("\n" not in paragraph for paragraph in paragraphs), summary
        keys = set(footer_keys(screen))
        assert {"escape", "1", "2", "3", "h", "c", "s", "x", "q", "r"} <= keys


async def test_tabs_have_keys_and_palette_entries_and_agree_with_the_text(app: MmtuiApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_step(app, pilot, "data-tier")
        tabs = screen.query_one("#paths", TabbedContent)
        assert screen.tab_ids == ["read", "hand", "form", "auto"]
        for key, tab in (("2", "hand"), ("3", "form"), ("4", "auto"), ("1", "read")):
            await pilot.press(key)
            assert tabs.active == tab
        assert "4" in footer_keys(screen) and "5" not in footer_keys(screen)
        labels = [str(tab.label) for tab in tabs.query(Tab)]
        assert labels == ["1 Read", "2 Do it by hand", "3 Form", "4 Do it for me"]
        # The lab's text says "Do it by hand": the tab is called that.
        assert "**Do it by hand**" in screen.query_one("#instructions").source  # type: ignore[attr-defined]
        commands = [c.title for c in app.get_system_commands(screen)]
        assert {"Tab: Read", "Tab: Do it by hand", "Tab: Form", "Tab: Do it for me"} <= set(
            commands
        )
        await settle(pilot)


async def test_home_shows_enter_and_says_not_started(app: MmtuiApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert footer_keys(app.screen).get("enter") == "Open lab"
        labs = app.screen.query_one("#labs", DataTable)
        assert str(labs.get_cell("3", "state")) == "○ not started"


async def test_the_overview_keeps_its_cursor_and_looks_again_on_return(
    app: MmtuiApp, sandbox: Sandbox
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        overview = app.screen
        assert isinstance(overview, OverviewScreen)
        steps = overview.query_one("#lab-steps", DataTable)
        assert str(steps.get_cell("checkpoint", "step")) not in ("✓", "✔")
        await pilot.press("down", "down", "enter")  # step 3
        await settle(pilot)
        assert isinstance(app.screen, StepScreen) and app.screen.step.id == "pipeline"
        regions = overview.query_one("#regions", DataTable)
        assert "no replica" in str(regions.get_cell("data tier", "secondary"))
        data_tier_done(sandbox)  # by hand, in another terminal, while the step is open
        await pilot.press("escape")
        await settle(pilot)
        back: object = app.screen
        assert back is overview
        assert steps.cursor_row == 2  # where it was left, not row 0
        assert "no replica" not in str(regions.get_cell("data tier", "secondary"))


async def test_the_step_2_form_follows_the_account(app: MmtuiApp, sandbox: Sandbox) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_step(app, pilot, "data-tier")
        await pilot.press("3")
        await settle(pilot)
        view = screen.query_one("#form-view", FormView)
        assert "off: it will be turned on" in view.form._stream_text()
        data_tier_done(sandbox)
        await pilot.press("r")
        await settle(pilot)
        await settle(pilot)  # the re-read form is drawn by a callback after its worker
        info = " ".join(str(w.render()) for w in view.query(".form-info"))
        assert "on, with new and old images" in info and "turned on" not in info


async def test_a_passing_step_is_green_and_the_detail_keeps_its_height(
    app: MmtuiApp, sandbox: Sandbox
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_step(app, pilot, "data-tier")
        detail = screen.query_one("#check-detail")
        before = detail.size.height
        assert not detail.has_class("-done")
        data_tier_done(sandbox)
        await pilot.press("r")
        await settle(pilot)
        assert str(screen.query_one("#detail-text").render()) == (
            "All checks pass: this step is done."
        )
        assert detail.has_class("-done")
        success, warning = (Color.parse(app.theme_variables[n]) for n in ("success", "warning"))
        assert detail.styles.color == success != warning
        assert detail.size.height == before  # no layout jump


async def test_a_refused_solve_replaces_the_last_runs_log(app: MmtuiApp) -> None:
    """Step 4 with step 1 missing: the last run's "solve: done" goes, the refusal is logged."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.logs["build-artifacts"] = ["solve: done"]  # an earlier run of the step
        screen = await open_step(app, pilot, "build-artifacts")
        await pilot.press("3")  # the log draws its lines once it is on screen
        await settle(pilot)
        log = screen.query_one("#log", RichLog)
        assert [line.text for line in log.lines] == ["solve: done"]
        await pilot.press("s")
        await settle(pilot)
        shown = [line.text for line in log.lines]
        assert "solve: done" not in shown
        whole = "".join(shown)  # the log wraps long lines
        assert whole.startswith("solve not started: Preparing the changes failed:"), shown
        assert "the buildspecs need mm-secondary-region (step 1) first" in whole


async def test_a_terminal_resized_to_80x24_gets_the_compact_layout(app: MmtuiApp) -> None:
    """Textual hands a terminal's resize to the screens, not to the app's handler: the compact
    panels and footer used to follow only the size the guide started with."""
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_step(app, pilot, "infrastructure")
        footer = screen.query_one(GuideFooter)
        assert not app.has_class("-small") and not footer.compact
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert app.has_class("-small") and footer.compact
        assert screen.query_one("#check-detail").size.height == 3
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert not app.has_class("-small") and not footer.compact
