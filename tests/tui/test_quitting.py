"""Quitting is never held up (red-team K4, K6b): while a solve runs the guide says what goes
on and quits when told, without waiting for the solve; against an endpoint that never
answers, the target line names the call it waits for and `q` quits at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

import mmtui.labs
from mmtui.engine.tasks import Action, TaskContext
from mmtui.target.calls import IN_FLIGHT
from mmtui.target.spec import TargetFlags, TargetSpec, resolve_target
from mmtui.tui.app import MmtuiApp, TargetLine
from mmtui.tui.dialogs import QuitWhileRunningScreen
from mmtui.tui.step import StepScreen
from tests.hanging import hanging_endpoint
from tests.labs.marker_lab import LAB_ID, SOLVE, TASKS, MarkerLab
from tests.tui.conftest import settle


async def until(pilot: Pilot[int], condition: object, what: str) -> None:
    for _ in range(400):
        if callable(condition) and condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def blocking_lab() -> Iterator[tuple[MarkerLab, threading.Event, threading.Event]]:
    """The test lab, whose solve waits on a gate the test opens: a solve that takes long."""
    gate, started = threading.Event(), threading.Event()

    def slow_solve(ctx: TaskContext) -> list[Action]:
        def wait() -> str:
            started.set()
            gate.wait(60)
            return ""

        return [Action(ctx.primary_region, "the gate", "wait for", wait)]

    original = TASKS.get(SOLVE)
    TASKS._items[SOLVE] = replace(original, run=slow_solve)
    lab = mmtui.labs.register(MarkerLab())
    assert isinstance(lab, MarkerLab)
    try:
        yield lab, gate, started
    finally:
        gate.set()
        mmtui.labs.unregister(LAB_ID)
        TASKS._items[SOLVE] = original


async def test_quitting_during_a_solve_asks_then_does_not_wait(
    blocking_lab: tuple[MarkerLab, threading.Event, threading.Event], spec: TargetSpec
) -> None:
    lab, gate, started = blocking_lab
    app = MmtuiApp(spec, lab.load_content(), lab, refresh_seconds=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_step("data-tier")
        await settle(pilot)
        assert isinstance(app.screen, StepScreen)
        await pilot.press("s")
        await until(pilot, started.is_set, "the solve to start")

        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitWhileRunningScreen), "the question")
        said = str(app.screen.query_one("#running", Static).render())
        assert "solve of data-tier" in said and "carries on" in said
        await pilot.press("escape")  # stay: the guide goes on, the solve too
        await until(pilot, lambda: isinstance(app.screen, StepScreen), "the step again")
        assert app.is_running and app.running == {"data-tier": "solve"}

        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitWhileRunningScreen), "the question")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the guide to quit")
    # The guide has quit while its solve still waits: nothing waited for it.
    assert not gate.is_set()
    assert any(t.is_alive() and t.daemon for t in threading.enumerate() if "worker" in t.name)


async def test_a_hanging_endpoint_is_named_and_q_quits_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("mmtui.target.calls.SLOW_AFTER", 0.2)
    lab, content = mmtui.labs.load("3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with hanging_endpoint() as url:
        spec = resolve_target(TargetFlags(endpoint_url=url), env={})
        app = MmtuiApp(spec, content, lab, refresh_seconds=0)
        async with app.run_test(size=(120, 40)) as pilot:

            def named() -> bool:
                line = str(app.screen.query_one(TargetLine).render())
                return "waiting on AWS: sts GetCallerIdentity in us-west-2 for" in line

            await until(pilot, named, "the target line to name the slow call")
            await pilot.press("q")  # nothing of the lab's is running: no question
            await until(pilot, lambda: not app.is_running, "the guide to quit")
        # Quit while its first call still waits: nothing waited for it.
        waiting = [c for c, _ in IN_FLIGHT.slow(after=0) if c.operation == "GetCallerIdentity"]
        assert waiting
