"""Home: the workshop's six labs and where this account stands in each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Markdown, Static

from mmtui.content.render import render
from mmtui.engine.results import Status
from mmtui.guide import LabState, Snapshot
from mmtui.tui.cells import set_cell
from mmtui.tui.marks import mark
from mmtui.tui.sizing import GuideFooter, fit_to_terminal

if TYPE_CHECKING:
    from mmtui.tui.app import MmtuiApp

_ROLE = {"prerequisite": "verified", "guided": "guided", "later": "later"}


class LabTable(DataTable[object]):
    """The labs; enter (the main action) is named in the footer."""

    BINDINGS = [Binding("enter", "select_cursor", "Open lab")]


class HomeScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "open", "Open lab", show=False),
        Binding("e", "app.sandbox_env", "Use from a terminal"),
    ]

    @property
    def guide_app(self) -> MmtuiApp:
        from mmtui.tui.app import MmtuiApp

        assert isinstance(self.app, MmtuiApp)
        return self.app

    def on_resize(self) -> None:
        fit_to_terminal(self.app)

    def compose(self) -> ComposeResult:
        yield from self.guide_app.target_widgets()
        yield LabTable(id="labs", cursor_type="row", zebra_stripes=False)
        yield Markdown("", id="lab-detail")
        yield Static("", id="home-hint", classes="hint-line")
        yield GuideFooter()

    def on_mount(self) -> None:
        app = self.guide_app
        table = self.query_one("#labs", DataTable)
        table.add_column("lab", key="lab", width=4)
        table.add_column("title", key="title")
        table.add_column("state", key="state")
        for lab in app.guide.workshop.labs:
            table.add_row(lab.id, lab.title, mark(None, "checking…"), key=lab.id)
        table.move_cursor(row=[lab.id for lab in app.guide.workshop.labs].index(app.content.lab.id))
        self._hint()
        if app.snapshot is not None:
            self.show_snapshot(app.snapshot)

    def _hint(self) -> None:
        spec = self.guide_app.spec
        if spec.kind == "sandbox":
            text = "On the embedded sandbox. Press e to use it from your own terminal (aws, git)."
        else:
            text = "Enter opens the highlighted lab; ctrl+p lists every command."
        self.query_one("#home-hint", Static).update(text)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        table = self.query_one("#labs", DataTable)
        for state in self.guide_app.guide.labs(snapshot):
            set_cell(table, state.id, "state", self._state(state))
        self._detail()

    @staticmethod
    def _state(state: LabState) -> object:
        if state.role == "later":
            return mark(None, "coming later")
        if state.status is None:
            return mark(None, state.detail)
        if state.role == "guided":
            if state.status == Status.PASS:
                return mark(state.status, f"· {state.detail}")
            if state.done == 0:
                return Text("○ not started", style="cyan")
            return Text(f"◐ in progress · {state.detail}", style="cyan")
        label = "verified" if state.detail == "verified" else "missing something"
        return mark(state.status, f"· {label}")

    @on(DataTable.RowHighlighted, "#labs")
    def _highlighted(self) -> None:
        self._detail()

    def _detail(self) -> None:
        app = self.guide_app
        table = self.query_one("#labs", DataTable)
        if table.row_count == 0:
            return
        lab_id = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        lab = next(lab for lab in app.guide.workshop.labs if lab.id == lab_id)
        states = {s.id: s for s in app.guide.labs(app.snapshot)}
        text = f"**Lab {lab.id}: {lab.title}** ({_ROLE[lab.role]})\n\n{lab.summary.strip()}"
        state = states[lab.id]
        if lab.role == "prerequisite" and state.status is not None and state.detail != "verified":
            text += f"\n\n**Missing:** {state.detail}"
        if lab.role == "guided":
            text += "\n\nPress **enter** to open it."
        self.query_one("#lab-detail", Markdown).update(render(text, app.names))

    @on(DataTable.RowSelected, "#labs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(str(event.row_key.value))

    def action_open(self) -> None:
        table = self.query_one("#labs", DataTable)
        self._open(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    def _open(self, lab_id: str) -> None:
        app = self.guide_app
        role = next(lab.role for lab in app.guide.workshop.labs if lab.id == lab_id)
        if role == "guided":
            app.switch_lab(lab_id)
        elif role == "prerequisite":
            app.notify(f"Lab {lab_id} is checked, not guided: its state is shown here.")
        else:
            app.notify(f"Lab {lab_id} is not guided by mmtui yet.")

    def lab_switched(self) -> None:
        """Another lab is guided now: every row's state is stale until its round of checks."""
        table = self.query_one("#labs", DataTable)
        for state in self.guide_app.guide.labs(None):
            set_cell(table, state.id, "state", self._state(state))
        self._detail()
