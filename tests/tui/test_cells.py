"""Table cells are updated only when what they show changes (tui/cells.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from mmtui.tui.cells import set_cell


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("status", key="status")
        table.add_row(Text("pass", style="green"), key="a")


async def test_a_cell_is_updated_only_when_its_text_or_style_changes() -> None:
    app = OneTable()
    async with app.run_test(size=(40, 5)) as pilot:
        table = app.query_one(DataTable)
        await pilot.pause()
        assert not set_cell(table, "a", "status", Text("pass", style="green"))
        # rich's Text equality ignores the style: the colour alone is a change here.
        assert set_cell(table, "a", "status", Text("pass", style="red"))
        assert table.get_cell("a", "status").style == "red"
        assert set_cell(table, "a", "status", Text("fail", style="red"))
        assert table.get_cell("a", "status").plain == "fail"
        assert set_cell(table, "a", "status", "fail")  # another type of value
        assert not set_cell(table, "a", "status", "fail")
