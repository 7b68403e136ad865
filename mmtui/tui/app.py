"""The guide's first screens: the target, Lab 3's steps with live check results, each step's
instructions and hints. All AWS work runs in thread workers that only post messages."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Markdown, Static
from textual.worker import Worker, WorkerState

from mmtui.content.loader import LabContent
from mmtui.content.model import Step
from mmtui.content.render import render
from mmtui.engine.results import Status, StepResult
from mmtui.target.spec import TargetSpec

REFRESH_SECONDS = 10.0
_MARK = {
    Status.PASS: "✔ pass",
    Status.FAIL: "✘ fail",
    Status.PENDING: "… pending",
    Status.ERROR: "! error",
}


@dataclass
class Connected(Message):
    label: str


@dataclass
class ChecksDone(Message):
    steps: list[StepResult]
    names: dict[str, str]


class StepScreen(Screen[None]):
    """One step: its instructions, and hints revealed one at a time."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("h", "hint", "Next hint")]

    def __init__(self, step: Step, markdown: str, names: dict[str, str]) -> None:
        super().__init__()
        self.step = step
        self.markdown = markdown
        self.names = names
        self.shown = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Markdown(render(self.markdown, self.names), id="instructions")
        yield Static("Press h for a hint.", id="hints")
        yield Footer()

    def action_hint(self) -> None:
        self.shown = min(self.shown + 1, len(self.step.hints))
        hints = [
            f"Hint {n}: {render(text, self.names).strip()}"
            for n, text in enumerate(self.step.hints[: self.shown], start=1)
        ]
        more = "" if self.shown == len(self.step.hints) else "  (h: next hint)"
        self.query_one("#hints", Static).update("\n".join(hints) + more)


class MmtuiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mmtui"
    SUB_TITLE = "Lab 3: preparing for multi-region deployments"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("r", "refresh", "Check now")]

    def __init__(self, spec: TargetSpec, content: LabContent) -> None:
        super().__init__()
        self.spec = spec
        self.content = content
        self._resources = ExitStack()
        self.context: Any = None
        self.names: dict[str, str] = content.names(
            {"primary_region": spec.primary_region, "secondary_region": spec.secondary_region}
        )
        self.results: dict[str, StepResult] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"target: {self.spec.label()} — connecting…", id="target")
        yield DataTable(id="steps", cursor_type="row")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        for label in ("step", "title", "status"):
            table.add_column(label, key=label)
        for step in self.content.lab.steps:
            label = str(step.number) if step.number else "✓"
            table.add_row(label, render(step.title, self.names), "…", key=step.id)
        self.connect()

    def on_unmount(self) -> None:
        self._resources.close()

    @work(thread=True, group="connect", exit_on_error=False, description="Connecting")
    def connect(self) -> None:
        from mmtui.engine.context import CheckContext
        from mmtui.target.connect import connect
        from mmtui.target.identity import fetch_identity

        connection = self._resources.enter_context(connect(self.spec))
        identity = fetch_identity(connection.factory)
        self.context = CheckContext(connection, self.content)
        self.post_message(
            Connected(
                f"target: {self.spec.label()} · account {identity.account_id} · "
                f"{self.spec.primary_region} → {self.spec.secondary_region}"
            )
        )

    @on(Connected)
    def connected(self, message: Connected) -> None:
        self.query_one("#target", Static).update(message.label)
        self.run_checks()

    def action_refresh(self) -> None:
        if self.context is not None:
            self.run_checks()

    @work(thread=True, group="checks", exclusive=True, exit_on_error=False, description="Checking")
    def run_checks(self) -> None:
        from mmtui.engine.checks import run_checks

        steps = run_checks(self.context, list(self.content.lab.steps), prerequisites=False)
        self.post_message(ChecksDone(steps, self.context.names()))

    @on(ChecksDone)
    def checks_done(self, message: ChecksDone) -> None:
        self.names = message.names
        table = self.query_one("#steps", DataTable)
        for step in message.steps:
            self.results[step.id] = step
            table.update_cell(step.id, "status", _MARK[step.status])
        done = sum(step.status == Status.PASS for step in message.steps)
        self.query_one("#status", Static).update(
            f"{done} of {len(message.steps)} done · checks refresh every "
            f"{REFRESH_SECONDS:.0f} s · enter: open a step"
        )
        # Re-armed only once this run finished, so checks never overlap.
        self.set_timer(REFRESH_SECONDS, self.action_refresh)

    @on(DataTable.RowSelected, "#steps")
    def open_step(self, event: DataTable.RowSelected) -> None:
        step_id = str(event.row_key.value)
        step = self.content.step(step_id)
        self.push_screen(StepScreen(step, self.content.instructions[step_id], self.names))

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: shown, never a traceback or a frozen screen."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        text = str(error) if error is not None else "unknown error"
        self.query_one("#status", Static).update(f"{event.worker.description} failed: {text}")
        self.notify(text, title=f"{event.worker.description} failed", severity="error")
