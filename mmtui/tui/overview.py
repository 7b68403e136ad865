"""A lab's overview: what must exist twice, what exists now in each region (the lab's picture,
`LabPlugin.overview_rows`), and the steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from mmtui.content.render import render
from mmtui.engine.results import Status
from mmtui.guide import Snapshot
from mmtui.tui.cells import set_cell
from mmtui.tui.marks import mark
from mmtui.tui.sizing import GuideFooter, fit_to_terminal

if TYPE_CHECKING:
    from mmtui.tui.app import MmtuiApp


CHECKPOINT_MARK = "⚑"


class StepTable(DataTable[object]):
    """The lab's steps; enter (the main action) is named in the footer."""

    BINDINGS = [Binding("enter", "select_cursor", "Open step")]


class OverviewScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("i", "inventory", "Look again"),
        Binding("e", "app.sandbox_env", "Use from a terminal", show=False),
    ]

    @property
    def guide_app(self) -> MmtuiApp:
        from mmtui.tui.app import MmtuiApp

        assert isinstance(self.app, MmtuiApp)
        return self.app

    def on_resize(self) -> None:
        fit_to_terminal(self.app)

    def compose(self) -> ComposeResult:
        app = self.guide_app
        yield from app.target_widgets()
        lead = app.guide.lab.overview_lead
        with VerticalScroll(id="overview"):
            if lead:  # a lab with a two-region picture
                yield Static(
                    lead.format(secondary_region=app.spec.secondary_region), id="lab-summary"
                )
                yield DataTable(id="regions", cursor_type="none", show_cursor=False)
            yield Static("Steps", classes="section")
            yield StepTable(id="lab-steps", cursor_type="row")
            yield Static("About this lab", classes="section")
            yield Static(" ".join(render(app.content.lab.summary, app.names).split()))
        yield Static("", id="overview-status", classes="hint-line")
        yield GuideFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A lab without a picture has nothing to look at again: no key for it in the footer.
        return self.has_picture if action == "inventory" else True

    @property
    def has_picture(self) -> bool:
        return bool(self.guide_app.guide.lab.overview_lead)

    def on_mount(self) -> None:
        app = self.guide_app
        if self.has_picture:
            regions = self.query_one("#regions", DataTable)
            regions.add_column("layer", key="layer")
            regions.add_column(f"{app.spec.primary_region} (primary)", key="primary")
            regions.add_column(f"{app.spec.secondary_region} (secondary)", key="secondary")
        steps = self.query_one("#lab-steps", DataTable)
        steps.add_column("step", key="step", width=4)
        steps.add_column("title", key="title")
        steps.add_column("status", key="status")
        for step in app.content.lab.steps:
            # The checkpoint has no number; a flag, not a tick that would read as a pass.
            number = str(step.number) if step.number else CHECKPOINT_MARK
            title = render(step.title, app.names).strip()
            steps.add_row(number, title, mark(None, "checking…"), key=step.id)
        steps.focus()
        self._cursor_on_last_step()
        if app.snapshot is not None:
            self.show_snapshot(app.snapshot)
        if not self.has_picture:
            return
        if app.inventory is not None:
            self.show_inventory(app.inventory)
        else:
            self.query_one("#regions", DataTable).loading = True  # until the first look
        app.load_inventory()

    def on_screen_resume(self) -> None:
        """Back from a step: the cursor on that step, and a new look at both regions (the
        step may have changed what they hold)."""
        self._cursor_on_last_step()
        if self.has_picture and self.guide_app.inventory is not None:
            self.guide_app.load_inventory()

    def _cursor_on_last_step(self) -> None:
        last = self.guide_app.last_step
        steps = self.query_one("#lab-steps", DataTable)
        ids = [step.id for step in self.guide_app.content.lab.steps]
        if last in ids and steps.row_count == len(ids):
            steps.move_cursor(row=ids.index(last))

    def action_inventory(self) -> None:
        if self.has_picture:
            self.guide_app.load_inventory()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        steps = self.query_one("#lab-steps", DataTable)
        for step_id, result in snapshot.steps.items():
            set_cell(steps, step_id, "status", mark(result.status))
        done = sum(result.status == Status.PASS for result in snapshot.steps.values())
        total = len(self.guide_app.content.lab.steps)
        again = " · i looks at both regions again" if self.has_picture else ""
        self.query_one("#overview-status", Static).update(
            f"{done} of {total} done · enter opens a step{again}"
        )

    def show_inventory(self, inventory: Any) -> None:
        if not self.has_picture:
            return
        regions = self.query_one("#regions", DataTable)
        regions.loading = False
        regions.clear()
        for layer, primary, secondary in self.guide_app.guide.overview_rows(inventory):
            regions.add_row(layer, primary, secondary, key=layer)

    @on(DataTable.RowSelected, "#lab-steps")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.guide_app.open_step(str(event.row_key.value))
