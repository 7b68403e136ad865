"""A lab's overview: what must exist twice, what exists now in each region (the lab's picture,
`LabPlugin.overview_rows`), and the steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from mmtui.content.render import render
from mmtui.engine.results import Status
from mmtui.guide import Snapshot
from mmtui.tui.marks import mark

if TYPE_CHECKING:
    from mmtui.tui.app import MmtuiApp


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

    def compose(self) -> ComposeResult:
        app = self.guide_app
        yield from app.target_widgets()
        with VerticalScroll(id="overview"):
            yield Static(
                f"Everything the application needs must exist in {app.spec.secondary_region} "
                "too: each row below is one layer, as it stands now in each region.",
                id="lab-summary",
            )
            yield DataTable(id="regions", cursor_type="none", show_cursor=False)
            yield Static("Steps", classes="section")
            yield DataTable(id="lab-steps", cursor_type="row")
            yield Static("About this lab", classes="section")
            yield Static(" ".join(render(app.content.lab.summary, app.names).split()))
        yield Static("", id="overview-status", classes="hint-line")
        yield Footer()

    def on_mount(self) -> None:
        app = self.guide_app
        regions = self.query_one("#regions", DataTable)
        regions.add_column("layer", key="layer")
        regions.add_column(f"{app.spec.primary_region} (primary)", key="primary")
        regions.add_column(f"{app.spec.secondary_region} (secondary)", key="secondary")
        steps = self.query_one("#lab-steps", DataTable)
        steps.add_column("step", key="step", width=4)
        steps.add_column("title", key="title")
        steps.add_column("status", key="status")
        for step in app.content.lab.steps:
            number = str(step.number) if step.number else "✓"
            title = render(step.title, app.names).strip()
            steps.add_row(number, title, mark(None, "checking…"), key=step.id)
        steps.focus()
        if app.snapshot is not None:
            self.show_snapshot(app.snapshot)
        if app.inventory is not None:
            self.show_inventory(app.inventory)
        else:
            regions.loading = True  # until the first look at both regions comes back
        app.load_inventory()

    def action_inventory(self) -> None:
        self.guide_app.load_inventory()

    def show_snapshot(self, snapshot: Snapshot) -> None:
        steps = self.query_one("#lab-steps", DataTable)
        for step_id, result in snapshot.steps.items():
            steps.update_cell(step_id, "status", mark(result.status), update_width=True)
        done = sum(result.status == Status.PASS for result in snapshot.steps.values())
        total = len(self.guide_app.content.lab.steps)
        self.query_one("#overview-status", Static).update(
            f"{done} of {total} done · enter opens a step · i looks at both regions again"
        )

    def show_inventory(self, inventory: Any) -> None:
        regions = self.query_one("#regions", DataTable)
        regions.loading = False
        regions.clear()
        for layer, primary, secondary in self.guide_app.guide.overview_rows(inventory):
            regions.add_row(layer, primary, secondary, key=layer)

    @on(DataTable.RowSelected, "#lab-steps")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.guide_app.open_step(str(event.row_key.value))
