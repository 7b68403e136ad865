"""Lab 5's live traffic view under Pilot: likes charted per serving region beside the dials and
endpoint health, started and stopped with a key; the failover drill from the same screen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Static

import mmtui.labs
import mmtui.tui.app
from mmtui.load.chart import BARS
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.spec import TargetFlags, TargetSpec, resolve_target
from mmtui.tui.app import MmtuiApp
from mmtui.tui.traffic import TrafficScreen
from tests.conftest import cli_target
from tests.tui.conftest import FROZEN, MaskedGuide, settle


def extension(sandbox: Sandbox, name: str) -> Any:
    return next(e for e in sandbox.extensions if e.name == name)


@pytest.fixture
def lab5_app(lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[MmtuiApp]:
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")
    cli_target(lab4_done, monkeypatch, "MMTUI_RESOLVE_FILE")
    flags = TargetFlags(endpoint_url=lab4_done.url, workspace=str(lab4_done.workspace))
    spec: TargetSpec = resolve_target(flags, env={})
    balancers = extension(lab4_done, "load_balancers")
    accelerators = extension(lab4_done, "global_accelerator")
    before = (balancers.health_interval_seconds, accelerators.health_check_scale)
    balancers.health_interval_seconds, accelerators.health_check_scale = 0.1, 0.02
    lab, content = mmtui.labs.load("5")
    guide = MaskedGuide(spec, content, lab, clock=lambda: FROZEN)
    yield MmtuiApp(spec, content, guide=guide, refresh_seconds=0, lab_loader=mmtui.labs.load)
    balancers.health_interval_seconds, accelerators.health_check_scale = before


async def until(pilot: Pilot[int], condition: Any, timeout: float = 30.0) -> None:
    """Let the app run until `condition()` holds (the load runs on its own clock)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.1)


async def test_live_traffic_charts_the_serving_region(lab5_app: MmtuiApp) -> None:
    app = lab5_app
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_lab()
        app.open_step("split")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TrafficScreen) and screen.traffic is not None
        regions = screen.query_one("#traffic-regions", DataTable)
        assert regions.row_count == 2
        assert [str(regions.get_cell(r, "health")) for r in ("us-west-2", "us-east-1")] == [
            "HEALTHY",
            "HEALTHY",
        ]
        await pilot.press("space")
        await until(pilot, lambda: screen.load is not None and screen.load.elapsed() > 3.5)
        await pilot.pause(1.1)  # the next tick draws the chart
        chart = str(screen.query_one("#traffic-chart", Static).render())
        rows = {line.split()[0]: line for line in chart.splitlines() if line.strip()}
        assert {"us-west-2", "us-east-1", "failed"} <= set(rows), chart
        # Bars where the likes went (the primary: dials 100/100, the client nearest it), none
        # for the failures: the labels alone would not pass.
        assert any(bar in rows["us-west-2"] for bar in BARS[1:]), chart
        assert not any(bar in rows["failed"] for bar in BARS[1:]), chart
        totals = str(screen.query_one("#traffic-totals", Static).render())
        assert totals.startswith("sending · 10 likes/s") and "OK by region: us-west-2" in totals
        await pilot.press("space")
        await settle(pilot)
        assert screen.load is None
        await pilot.press("escape")
        assert not isinstance(app.screen, TrafficScreen)


async def test_a_drill_from_the_traffic_view_reports_and_restores(
    lab5_app: MmtuiApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = lab5_app
    monkeypatch.setattr(mmtui.tui.app, "DRILL_SECONDS", 8.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_lab()
        app.open_step("failover")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TrafficScreen)
        await pilot.press("d")
        await pilot.press("y")
        await until(pilot, lambda: not screen.drilling, timeout=60)
        await settle(pilot)
        log = "\n".join(str(line.text) for line in screen.query_one("#traffic-log", RichLog).lines)
        assert "break:" in log and "failover:" in log and "restore:" in log, log
        assert "RTO " in log and "RPO 0 likes" in log, log
        assert app.snapshot is not None
        assert app.snapshot.steps["restore"].status.value == "pass"
