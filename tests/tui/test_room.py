"""`mmtui fleet watch` under Pilot: the live room over the session's sandbox hosting attendee
accounts, each reached through its role as at a real event (tests/test_fleet_accounts.py).

Cheap on purpose: four attendees, Lab 3 only, a round per action, no timed rounds (the test
asks for them; it never sleeps: it waits for the workers). The clock is injected, so the time
on a step and the log's stamps are known.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Static

import mmtui.labs
from mmtui.fleet.room import Room, history_path
from mmtui.fleet.targets import load_targets
from mmtui.fleet.watch import Watch, WatchedLab
from mmtui.sandbox.core.server import ENV_FILE
from mmtui.tui.dialogs import QuitWhileRunningScreen
from mmtui.tui.room import AttendeeScreen, RoomApp, RoomResetScreen, bars
from tests.conftest import AttendeeSandbox
from tests.test_fleet_accounts import Attendees, attendee, write_yaml
from tests.tui.conftest import FROZEN, settle

STEP_1 = 3  # the grid's column of step 3.1 (after attendee, at, on step)


class Clock:
    """A clock the test moves: rounds and the log are stamped with it."""

    def __init__(self) -> None:
        self.now = FROZEN

    def __call__(self) -> float:
        return self.now


def room_app(
    room: AttendeeSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> RoomApp:
    """a00 and a01 with their account ids, a02 without one (fleet reset refuses it), and typo
    with last year's external id (STS denies the role): Lab 3 only."""
    monkeypatch.setenv("MMTUI_RESOLVE_FILE", str(room.sandbox.state_dir / ENV_FILE))
    entries = [attendee(room, 0), attendee(room, 1), attendee(room, 2)]
    del entries[2]["account_id"]
    entries.append(attendee(room, 3, name="typo", external_id="not-the-room-id"))
    path = write_yaml(tmp_path / "room.yaml", room, entries)
    watch = Watch([WatchedLab(*mmtui.labs.load("3"))], load_targets(path), concurrency=4)
    return RoomApp(watch, history_path(path, ["3"]), round_seconds=0, clock=clock)


def text(app: RoomApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def log_text(app: RoomApp) -> str:
    return "\n".join(line.text for line in app.room_screen.query_one("#room-log", RichLog).lines)


async def select(pilot: Pilot[Any], row: int, column: int = STEP_1) -> None:
    app = pilot.app
    assert isinstance(app, RoomApp)
    app.room_screen.query_one("#grid", DataTable).cursor_coordinate = Coordinate(row, column)
    await pilot.pause()


async def test_the_live_room(
    attendee_accounts: Attendees, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = attendee_accounts(4)
    clock = Clock()
    app = room_app(room, tmp_path, monkeypatch, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        history = app.watcher.room

        # ---------------------------------------------------------- the first round
        assert len(history.rounds) == 1
        grid = app.room_screen.query_one("#grid", DataTable)
        assert grid.row_count == 4 and len(grid.columns) == 3 + 6
        assert [history.current(n) for n in ("a00", "a01", "a02")] == ["3:infrastructure"] * 3
        assert history.current("typo") == "?"
        row = grid.get_row("a00")
        assert (str(row[1]), str(row[2])) == ("3.1", "0s")
        assert [str(cell) for cell in row[3:]] == ["✘"] * 6  # Labs 0-2 only: nothing of Lab 3
        assert [str(cell) for cell in grid.get_row("typo")[3:]] == ["!"] * 6
        counts = text(app, "#room-counts")
        assert "round 1 at" in counts and "3.1: 3 · ?: 1" in counts
        detail = text(app, "#room-detail")
        assert detail.splitlines()[0] == "a00"
        assert f"account {room.ids[0]} · arn:aws:sts::{room.ids[0]}:assumed-role/" in detail
        assert "On 3.1 " in detail and "First fail: " in detail and "\nTry: " in detail
        await select(pilot, 3)
        assert "error: sts:AssumeRole of" in text(app, "#room-detail")
        assert "AccessDenied" in text(app, "#room-detail")

        # ---------------------------------------------------------- solve a01's current step
        clock.now += 90
        await select(pilot, 1, 0)
        await pilot.press("s")
        await settle(pilot)
        assert len(history.rounds) == 2
        assert "a01: solve 3.1: pass (3.1 done)" in log_text(app)
        assert history.current("a01") == "3:data-tier"
        assert history.current("a00") == "3:infrastructure"
        assert str(grid.get_row("a01")[STEP_1]) == "✔"
        assert str(grid.get_row("a00")[2]) == "1m30"  # on step 1 since round 1, 90 s ago
        assert str(grid.get_row("a01")[2]) == "0s"  # on step 2 since this round
        assert "3.1: 2 · 3.2: 1 · ?: 1" in text(app, "#room-counts")
        assert history.completed() == [(FROZEN, 0), (FROZEN + 90, 1)]

        # ---------------------------------------------------------- the account-id guard
        await select(pilot, 2)
        await pilot.press("x")
        await settle(pilot)
        assert not isinstance(app.screen, RoomResetScreen)
        assert "a02: reset of 3.1 refused: the targets file names no account_id" in log_text(app)

        # ---------------------------------------------------------- reset: the plan, then asks
        await select(pilot, 1)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, RoomResetScreen)
        plan = str(app.screen.query_one("#plan", Static).render())
        assert "mm-secondary-region" in plan and room.ids[1] in app.screen.heading
        await pilot.press("escape")
        await settle(pilot)
        assert "a01: reset of 3.1 cancelled, nothing changed" in log_text(app)
        assert len(history.rounds) == 2 and history.current("a01") == "3:data-tier"
        clock.now += 30
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "a01: reset 3.1: pass" in log_text(app)
        assert len(history.rounds) == 3 and history.current("a01") == "3:infrastructure"

        # ---------------------------------------------------------- sorting and filtering
        await pilot.press("t")
        # Stuck longest: a00 and a02 since round 1, then a01 (back on step 1 since round 3);
        # typo never reached, last.
        assert app.room_screen.shown == ["a00", "a02", "a01", "typo"]
        await pilot.press("t", "e")
        assert app.room_screen.shown == ["typo"]
        assert "showing 1: errors only" in text(app, "#room-counts")
        await pilot.press("e", "slash")
        await pilot.press(*"A01", "enter")
        assert app.room_screen.shown == ["a01"]
        await pilot.press("slash", "escape")
        assert app.room_screen.shown == ["a00", "a01", "a02", "typo"]

        # ---------------------------------------------------------- catch up through a step
        await select(pilot, 0)
        await pilot.press("c")
        await settle(pilot)
        assert "a00: catch up 3.1: pass (3.1 done)" in log_text(app)
        assert len(history.rounds) == 4 and history.current("a00") == "3:data-tier"

        # ---------------------------------------------------------- as the attendee sees it
        await select(pilot, 0, 0)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, AttendeeScreen)
        assert "a00 · Lab 3 · Step 2: Replicate the data tier" in text(app, "#attendee-title")
        checks = app.screen.query_one("#attendee-checks", DataTable)
        assert checks.row_count >= 1
        assert "fail" in str(checks.get_row_at(0)[2])
        await pilot.press("escape")
        assert app.screen is app.room_screen

        # ---------------------------------------------------------- quitting asks while acting
        app.acting = "the solve of 3.2 for a00"  # as while the worker runs
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitWhileRunningScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.room_screen and app.is_running
        app.acting = None

        # ---------------------------------------------------------- history and exports
        await pilot.press("w")
        await pilot.pause()
    saved = Room(history.columns, history.names)
    assert app.history is not None and saved.load(app.history) is None
    assert len(saved.rounds) == 4 and saved.current("a01") == "3:infrastructure"
    exported = sorted(app.history.parent.glob(f"{app.history.stem}-*.csv"))
    assert len(exported) == 1 and exported[0].with_suffix(".json").exists()
    rows = list(csv.DictReader(io.StringIO(exported[0].read_text())))
    assert len(rows) == 4 * 4
    assert [(r["round"], r["current"]) for r in rows if r["attendee"] == "a01"] == [
        ("1", "3.1"),
        ("2", "3.2"),
        ("3", "3.1"),
        ("4", "3.1"),
    ]
    assert [r["3:infrastructure"] for r in rows if r["round"] == "4"] == [
        "pass", "fail", "fail", "error"
    ]  # fmt: skip


def test_snapshot_of_the_room(
    snap_compare: Any,
    attendee_accounts: Attendees,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The room at 120×40 after its first round, the first attendee selected: deterministic by
    construction (a frozen clock, accounts and identities the sandbox makes the same each time,
    no sandbox URL on screen)."""
    app = room_app(attendee_accounts(4), tmp_path, monkeypatch, Clock())

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run)


def test_the_chart_scales_to_the_whole_room() -> None:
    assert bars([0, 12, 24], 24) == "▁▅█"
    assert bars([0, 1], 0) == "▁▁"  # a room of no steps draws a flat line, not a crash
