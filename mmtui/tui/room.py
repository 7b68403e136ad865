"""`mmtui fleet watch`: the instructor's live room, a grid of attendees × steps over the fleet
runner (mmtui.fleet.watch) and the room's history (mmtui.fleet.room).

As in the guide (mmtui.tui.app): all AWS work runs in thread workers, in the groups
"room-round" (a round of checks) and "room-action" (a solve, a reset or its plan); workers only
post messages, and only handlers touch widgets. A round re-arms the timer for the next only when
it has ended, so two rounds never overlap; a round asked for during one is queued. Worker errors
all land in one handler, as a notice and a line in the action log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Markdown, RichLog, Static
from textual.worker import Worker, WorkerState

from mmtui.background import DaemonPool
from mmtui.engine.results import CheckResult
from mmtui.fleet.room import DONE, UNKNOWN, Room, Round, elapsed
from mmtui.fleet.run import TargetOutcome
from mmtui.fleet.watch import Watch, try_line
from mmtui.tui.dialogs import Confirm
from mmtui.tui.marks import mark
from mmtui.tui.rounds import Rounds

ROUND_SECONDS = 30.0
"""Between the end of a round and the start of the next."""
FIXED_COLUMNS = ("attendee", "at", "on step")
_CELL = {
    "pass": ("✔", "green"),
    "fail": ("✘", "red"),
    "pending": ("…", "yellow"),
    "error": ("!", "magenta"),
    "": ("·", "dim"),
}


# ---------------------------------------------------------------------- messages


@dataclass
class RoundDone(Message):
    round: Round


@dataclass
class ActionLine(Message):
    text: str


@dataclass
class ActionDone(Message):
    name: str
    kind: str
    """solve, catch up, reset."""
    column: str
    outcome: TargetOutcome


@dataclass
class PlanReady(Message):
    name: str
    column: str
    outcome: TargetOutcome


# ---------------------------------------------------------------------- dialogs and screens


class RoomResetScreen(Confirm):
    """The plan of a reset in one attendee's account, before anything is changed."""

    GO_LABEL = "Reset (y)"

    def __init__(self, title: str, plan: list[str]) -> None:
        super().__init__()
        self.heading = title
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.heading, classes="dialog-title")
            lines = [f"{n}. {action}" for n, action in enumerate(self.plan, 1)]
            with VerticalScroll(classes="dialog-body"):
                yield Static("\n".join(lines), id="plan", markup=False)
            yield Static(
                "Only what the lab creates is touched, in this attendee's account only. "
                "Nothing happens until you confirm.",
                classes="dialog-note",
            )
            yield from self.buttons()


class AttendeeScreen(Screen[None]):
    """The attendee's current step as their guide shows it: its title, the instructions in
    their names, and their checks as the latest round saw them."""

    BINDINGS = [Binding("escape", "back", "Back to the room")]

    def __init__(self, name: str, column: str) -> None:
        super().__init__()
        self.attendee = name
        self.column = column

    @property
    def room_app(self) -> RoomApp:
        assert isinstance(self.app, RoomApp)
        return self.app

    def compose(self) -> ComposeResult:
        from mmtui.content.render import render
        from mmtui.tui.step import step_heading

        watch = self.room_app.watcher
        lab, step = watch.lab_of(self.column)
        names = lab.content.names(watch.overrides(self.attendee))
        title = step_heading(step, render(step.title, names).strip())
        yield Header()
        yield Static(f"{self.attendee} · Lab {lab.id} · {title}", id="attendee-title", markup=False)
        with VerticalScroll(id="attendee-body"):
            text = render(lab.content.instructions[step.id], names).strip()
            first, _, rest = text.partition("\n")
            yield Markdown(rest.lstrip("\n") if first.startswith("# ") else text)
        yield DataTable(id="attendee-checks", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#attendee-checks", DataTable)
        table.add_columns("check", "region", "status", "message")
        results: list[CheckResult] = self.room_app.watcher.checks.get(self.attendee, {}).get(
            self.column, []
        )
        for check in results:
            table.add_row(check.title, check.region, mark(check.status), check.message)
        if not results:
            table.add_row("no round has reached this account yet", "", mark(None), "")

    def action_back(self) -> None:
        self.app.pop_screen()


class RoomScreen(Screen[None]):
    AUTO_FOCUS = "#grid"
    BINDINGS = [
        Binding("r", "refresh", "Check now"),
        Binding("t", "sort", "Stuck first"),
        Binding("e", "errors", "Errors only"),
        Binding("slash", "find", "Find"),
        Binding("s", "solve", "Solve step"),
        Binding("c", "catch_up", "Catch up to"),
        Binding("x", "reset", "Reset step"),
        Binding("o", "open", "As they see it"),
        Binding("w", "export", "Export"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stuck_first = False
        self.errors_only = False
        self.name_filter = ""
        self.shown: list[str] = []

    @property
    def room_app(self) -> RoomApp:
        assert isinstance(self.app, RoomApp)
        return self.app

    @property
    def room(self) -> Room:
        return self.room_app.watcher.room

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="room-counts", markup=False)
        yield Input(placeholder="attendee name (enter: find, escape: all)", id="find")
        yield DataTable(id="grid", cursor_type="cell", zebra_stripes=True)
        with Horizontal(id="room-chart"):
            yield Static("", id="chart-label", markup=False)
            yield Static("", id="chart", markup=False)
        with Horizontal(id="room-bottom"):
            yield Static("", id="room-detail", markup=False)
            yield RichLog(id="room-log", wrap=True, markup=False, max_lines=1000)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#find", Input).display = False
        grid = self.query_one("#grid", DataTable)
        for label in FIXED_COLUMNS:
            grid.add_column(label, key=label)
        for column in self.room.columns:
            grid.add_column(column.label, key=column.key)
        self.show_room()

    # ------------------------------------------------------------------ drawing

    def show_room(self) -> None:
        """The grid, the counts, the chart and the selected attendee, from the room's rounds."""
        app = self.room_app
        room = self.room
        now = app.clock()
        grid = self.query_one("#grid", DataTable)
        cursor = grid.cursor_coordinate
        selected = self.selected()
        self.shown = room.ordered(
            now, stuck_first=self.stuck_first, errors_only=self.errors_only, name=self.name_filter
        )
        grid.clear()
        for name in self.shown:
            row = room.row(name)
            current = room.current(name)
            cells: list[Any] = [
                Text(name, style="bold magenta" if row is not None and row.has_error else ""),
                room.label(current) if current not in (DONE, UNKNOWN) else current,
                elapsed(room.on_step_seconds(name, now)),
            ]
            for index in range(len(room.columns)):
                symbol, style = _CELL[row.status(index) if row is not None else ""]
                cells.append(Text(symbol, style=style))
            grid.add_row(*cells, key=name)
        if selected in self.shown:
            grid.cursor_coordinate = Coordinate(self.shown.index(selected), cursor.column)
        self._counts(now)
        self._chart()
        self.show_detail()

    def _counts(self, now: float) -> None:
        room = self.room
        latest = room.latest
        labs = ", ".join(lab.id for lab in self.room_app.watcher.labs)
        head = f"Lab{'s' if ',' in labs else ''} {labs} · {len(room.names)} attendees · "
        if latest is None:
            head += "first round of checks running…"
        else:
            head += f"round {len(room.rounds)} at {clock_time(latest.at)}"
        where = " · ".join(
            f"{room.label(key) if key not in (DONE, UNKNOWN) else key}: {count}"
            for key, count in room.counts().items()
        )
        views = [
            label
            for on_, label in (
                (self.stuck_first, "stuck longest first"),
                (self.errors_only, "errors only"),
                (bool(self.name_filter), f"names with {self.name_filter!r}"),
            )
            if on_
        ]
        shown = f"\nshowing {len(self.shown)}: {', '.join(views)}" if views else ""
        self.query_one("#room-counts", Static).update(f"{head}\nat each step: {where}{shown}")

    def _chart(self) -> None:
        """Steps passed in the room, a bar per round (the latest on the right), scaled to every
        step of every attendee: a full bar is a room that has finished."""
        series = [n for _, n in self.room.completed()]
        total = len(self.room.columns) * len(self.room.names)
        chart = self.query_one("#chart", Static)
        width = chart.size.width or len(series)
        chart.update(bars(series[-width:] if width else series, total))
        if series:
            label = f"steps passed: {series[-1]} of {total} (round 1: {series[0]})"
        else:
            label = f"steps passed: - of {total}"
        self.query_one("#chart-label", Static).update(label)

    def selected(self) -> str | None:
        grid = self.query_one("#grid", DataTable)
        if not self.shown or grid.row_count == 0:
            return None
        return self.shown[min(grid.cursor_row, len(self.shown) - 1)]

    def selected_column(self) -> str | None:
        """The step under the cursor (None on the name, step and time columns)."""
        index = self.query_one("#grid", DataTable).cursor_column - len(FIXED_COLUMNS)
        return self.room.columns[index].key if 0 <= index < len(self.room.columns) else None

    def show_detail(self) -> None:
        detail = self.query_one("#room-detail", Static)
        name = self.selected()
        if name is None:
            detail.update("No attendee to show." if self.room.rounds else "")
            return
        watch = self.room_app.watcher
        room = self.room
        row = room.row(name)
        current = room.current(name)
        lines = [name]
        if row is not None:
            lines.append(f"account {row.account or '-'} · {row.identity or 'identity unknown'}")
        if current == DONE:
            lines.append("Every step passes.")
        elif current != UNKNOWN:
            column = room.column(current)
            assert column is not None
            seconds = room.on_step_seconds(name, self.room_app.clock())
            lines.append(f"On {column.label} {column.title} for {elapsed(seconds)}")
        if row is not None and row.error:
            lines.append(f"{row.state}: {row.error}")
        if row is not None and row.failing is not None:
            failing = row.failing
            lines.append(f"First {failing.status}: {failing.title}: {failing.message}")
            lab, step = watch.lab_of(failing.column)
            hint = try_line(lab, step, failing.check_id, watch.overrides(name))
            if hint:
                lines.append(f"Try: {hint}")
        detail.update("\n".join(lines))

    @on(DataTable.CellHighlighted, "#grid")
    def _highlighted(self) -> None:
        self.show_detail()

    def log_line(self, text: str) -> None:
        stamp = clock_time(self.room_app.clock())
        self.query_one("#room-log", RichLog).write(f"{stamp} {text}")

    # ------------------------------------------------------------------ views

    def action_refresh(self) -> None:
        self.room_app.run_round()

    def action_sort(self) -> None:
        self.stuck_first = not self.stuck_first
        self.show_room()

    def action_errors(self) -> None:
        self.errors_only = not self.errors_only
        self.show_room()

    def action_find(self) -> None:
        find = self.query_one("#find", Input)
        find.display = True
        find.focus()

    @on(Input.Submitted, "#find")
    def _found(self, event: Input.Submitted) -> None:
        self.name_filter = event.value.strip()
        self._close_find()

    def key_escape(self) -> None:
        find = self.query_one("#find", Input)
        if find.display:
            find.value = ""
            self.name_filter = ""
            self._close_find()

    def _close_find(self) -> None:
        find = self.query_one("#find", Input)
        find.display = False
        self.query_one("#grid", DataTable).focus()
        self.show_room()

    # ------------------------------------------------------------------ actions

    def _attendee_and(self, column: str | None, what: str) -> tuple[str, str] | None:
        name = self.selected()
        if name is None:
            self.app.notify("No attendee selected.", severity="warning")
            return None
        if column is None:
            self.app.notify(f"Put the cursor on a step's column to {what}.", severity="warning")
            return None
        return name, column

    def action_solve(self) -> None:
        name = self.selected()
        if name is None:
            return
        current = self.room.current(name)
        if current == DONE:
            self.app.notify(f"{name}: every step passes already.")
            return
        if current == UNKNOWN:
            self.app.notify(f"{name}: no round has reached their account yet.", severity="warning")
            return
        self.room_app.start_action(name, "solve", current)

    def action_catch_up(self) -> None:
        chosen = self._attendee_and(self.selected_column(), "catch up through it")
        if chosen is not None:
            self.room_app.start_action(chosen[0], "catch up", chosen[1])

    def action_reset(self) -> None:
        chosen = self._attendee_and(self.selected_column(), "reset it")
        if chosen is not None:
            self.room_app.start_action(chosen[0], "plan", chosen[1])

    def action_open(self) -> None:
        name = self.selected()
        if name is None:
            return
        column = self.selected_column()
        current = self.room.current(name)
        if column is None:
            column = current if current not in (DONE, UNKNOWN) else self.room.columns[-1].key
        self.app.push_screen(AttendeeScreen(name, column))

    def action_export(self) -> None:
        self.room_app.export()


# ---------------------------------------------------------------------- the app


class RoomApp(App[int]):
    CSS_PATH = ["app.tcss", "room.tcss"]
    TITLE = "mmtui fleet watch"
    SUB_TITLE = "the room"

    def __init__(
        self,
        watch: Watch,
        history: Path | None = None,
        round_seconds: float = ROUND_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.watcher = watch
        watch.clock = clock
        self.history = history
        """Where the room's rounds are saved after each one (None: not saved)."""
        self.round_seconds = round_seconds
        self.clock = clock
        self.acting: str | None = None
        """The action running now, in words, or None: one at a time."""
        self._rounds = Rounds(self, self._round, lambda: self.round_seconds)
        self.room_screen = RoomScreen()

    def on_mount(self) -> None:
        # As in the guide: a call stuck on an endpoint must not keep the app from quitting.
        asyncio.get_running_loop().set_default_executor(DaemonPool(8, name="mmtui-room"))
        if self.history is not None:
            notice = self.watcher.room.load(self.history)
            if notice:
                self.notify(notice, title="Room history", severity="warning", timeout=20)
        self.push_screen(self.room_screen)
        self.run_round()

    async def action_quit(self) -> None:
        """Quit at once, unless an action runs in an attendee's account: then ask first."""
        if self.acting is None:
            self.exit()
            return
        from mmtui.tui.dialogs import QuitWhileRunningScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(QuitWhileRunningScreen([self.acting]), answered)

    def on_resize(self) -> None:
        self.set_class(self.size.height < 32, "-small")

    def log_line(self, text: str) -> None:
        self.room_screen.log_line(text)

    # ------------------------------------------------------------------ rounds

    def run_round(self) -> None:
        """Start a round, or queue one if a round is running."""
        self._rounds.request()

    @work(thread=True, group="room-round", exit_on_error=False, description="Checking the room")
    def _round(self) -> None:
        round_ = self.watcher.check_round()
        if self.history is not None:
            try:
                self.watcher.room.save(self.history)
            except OSError as exc:  # a full disk: the room goes on, the history says why not
                self.post_message(ActionLine(f"history not saved to {self.history}: {exc}"))
        self.post_message(RoundDone(round_))

    def _round_ended(self) -> None:
        self._rounds.ended()

    @on(RoundDone)
    def round_done(self, message: RoundDone) -> None:
        self.room_screen.show_room()
        self._round_ended()

    # ------------------------------------------------------------------ actions

    def start_action(self, name: str, kind: str, column: str) -> None:
        if self.acting is not None:
            self.notify(f"Wait for {self.acting} to finish first.", severity="warning")
            return
        label = self.watcher.room.label(column)
        self.acting = f"the {kind} of {label} for {name}"
        words = {"plan": f"planning a reset of {label}", "catch up": f"catching up through {label}"}
        self.log_line(f"{name}: {words.get(kind, f'{kind} {label}')}…")
        self._act(name, kind, column)

    @work(thread=True, group="room-action", exit_on_error=False, description="Acting")
    def _act(self, name: str, kind: str, column: str) -> None:
        def log(line: str) -> None:
            self.post_message(ActionLine(f"{name}: {line}"))

        watch = self.watcher
        if kind == "plan":
            self.post_message(PlanReady(name, column, watch.reset_plan(name, column)))
        elif kind == "reset":
            self.post_message(ActionDone(name, kind, column, watch.reset(name, column, log)))
        else:
            outcome = watch.solve(name, column, log, through=kind == "catch up")
            self.post_message(ActionDone(name, kind, column, outcome))

    @on(ActionLine)
    def action_line(self, message: ActionLine) -> None:
        self.log_line(f"  {message.text}")

    @on(PlanReady)
    def plan_ready(self, message: PlanReady) -> None:
        self.acting = None
        outcome, name = message.outcome, message.name
        label = self.watcher.room.label(message.column)
        if outcome.state in ("error", "refused"):
            self.log_line(f"{name}: reset of {label} {outcome.state}: {outcome.error}")
            self.notify(f"{name}: {outcome.error}", title="Not reset", severity="error")
            return
        plan = [action for step in outcome.steps for action in step.plan]
        if not plan:
            self.log_line(f"{name}: nothing to reset in {label}")
            return
        self.log_line(f"{name}: the reset of {label} plans {len(plan)} action(s)")

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.start_action(name, "reset", message.column)
            else:
                self.log_line(f"{name}: reset of {label} cancelled, nothing changed")

        title = f"Reset {label} for {name} (account {outcome.account}): this plan runs in order"
        self.push_screen(RoomResetScreen(title, plan), confirmed)

    @on(ActionDone)
    def action_done(self, message: ActionDone) -> None:
        self.acting = None
        outcome, name = message.outcome, message.name
        label = self.watcher.room.label(message.column)
        lab = message.column.split(":")[0]
        cells = ", ".join(
            f"{self.watcher.room.label(f'{lab}:{s.id}')} {s.cell}" for s in outcome.steps if s.cell
        )
        summary = f"{name}: {message.kind} {label}: {outcome.state}"
        self.log_line(summary + (f" ({cells})" if cells else ""))
        if outcome.error:
            self.log_line(f"  {outcome.error}")
        self.notify(
            summary,
            title=message.kind.capitalize(),
            severity="information" if outcome.state == "pass" else "warning",
        )
        self.run_round()

    # ------------------------------------------------------------------ export

    def export(self) -> None:
        """The room's history as CSV and JSON beside the history file (small, and on the UI
        thread: no AWS)."""
        from mmtui.files import write_atomically
        from mmtui.paths import state_dir

        base = self.history or state_dir() / "fleet" / "rooms" / "room.json"
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.clock()))
        base.parent.mkdir(parents=True, exist_ok=True)
        written = []
        for suffix, text in (
            ("csv", self.watcher.room.as_csv()),
            ("json", self.watcher.room.as_json()),
        ):
            path = base.with_name(f"{base.stem}-{stamp}.{suffix}")
            write_atomically(path, text.encode())
            written.append(path)
        self.log_line(f"exported: {written[0]} and {written[1].name}")
        self.notify(f"{written[0]}\n{written[1]}", title="Exported")

    # ------------------------------------------------------------------ errors

    @on(Worker.StateChanged)
    def worker_state(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: a notice and a line in the log, no traceback."""
        if event.state != WorkerState.ERROR:
            return
        from mmtui.tui.errors import explain

        title, text = explain(event.worker.description, event.worker.error)
        self.log_line(f"{title}: {text}")
        self.notify(text, title=title, severity="error", timeout=15)
        if event.worker.group == "room-action":
            self.acting = None
        if event.worker.group == "room-round":
            self._round_ended()


BARS = "▁▂▃▄▅▆▇█"


def bars(values: list[int], top: int) -> str:
    """A bar per value, from ▁ (none) to █ (`top`)."""
    last = len(BARS) - 1
    return "".join(BARS[min(last, round(last * n / top))] if top else BARS[0] for n in values)


def clock_time(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at))
