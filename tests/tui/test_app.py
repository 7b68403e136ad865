"""The guide's first screens, driven with Pilot against the session sandbox."""

from __future__ import annotations

import contextlib

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Markdown, Static
from textual.worker import WorkerFailed

from mmtui.content.loader import load_guided_lab
from mmtui.sandbox.server import Sandbox
from mmtui.target.spec import TargetFlags, resolve_target
from mmtui.tui.app import MmtuiApp, StepScreen


async def settle(pilot: Pilot[int]) -> None:
    """Wait until no worker runs (a finished worker may start the next one via a message)."""
    for _ in range(20):
        with contextlib.suppress(WorkerFailed):  # the app shows worker errors itself
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            return


@pytest.fixture
def app(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> MmtuiApp:
    env = sandbox.env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MMTUI_RESOLVE_FILE"):
        monkeypatch.setenv(name, env[name])
    spec = resolve_target(TargetFlags(endpoint_url=sandbox.url), env={})
    return MmtuiApp(spec, load_guided_lab("3"))


async def test_steps_show_live_check_results(app: MmtuiApp, sandbox: Sandbox) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        target = str(app.query_one("#target", Static).render())
        assert f"endpoint {sandbox.url}" in target and "account 123456789012" in target
        table = app.query_one("#steps", DataTable)
        assert table.row_count == 6
        statuses = [str(table.get_cell(step.id, "status")) for step in app.content.lab.steps]
        assert statuses == ["✘ fail"] * 6
        assert "0 of 6 done" in str(app.query_one("#status", Static).render())


async def test_a_step_opens_with_its_instructions_and_hints(app: MmtuiApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, StepScreen)
        markdown = app.screen.query_one("#instructions", Markdown)
        assert "mm-secondary-region" in markdown.source and "{{" not in markdown.source
        await pilot.press("h")
        hints = str(app.screen.query_one("#hints", Static).render())
        assert hints.startswith("Hint 1:") and "Hint 2" not in hints
        await pilot.press("h")
        assert "Hint 2:" in str(app.screen.query_one("#hints", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, StepScreen)


async def test_a_failing_target_is_a_notice_not_a_crash(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = resolve_target(TargetFlags(aws=True), env={})  # no credentials in this test
    app = MmtuiApp(spec, load_guided_lab("3"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        status = str(app.query_one("#status", Static).render())
        assert status.startswith("Connecting failed: no AWS credentials found")
