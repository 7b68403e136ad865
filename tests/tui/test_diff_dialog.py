"""The step 4 dialog's buildspec diff at 80×24: a line longer than the dialog is wrapped, each
continuation marked, so its end is on screen (it was cut at the dialog's edge)."""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import VerticalScroll
from textual.widgets import Button, Static

from mmtui.sandbox.core.server import Sandbox
from mmtui.tui.app import MmtuiApp
from mmtui.tui.dialogs import DiffScreen
from mmtui.tui.wrapped_diff import CONTINUATION
from tests.tui.conftest import settle

WIDTH, HEIGHT = 80, 24


def shown_rows(app: MmtuiApp, widget: Static, body: VerticalScroll) -> dict[int, str]:
    """The rows of `widget` the terminal shows now, by row of the widget: read from the
    screen as composed (Textual's compositor), cropped to the widget's columns."""
    # The compositor's strips are what the terminal is sent; no public call returns them.
    screen = app.screen._compositor.render_strips()  # noqa: SLF001
    region, visible = widget.content_region, body.scrollable_content_region
    rows = {}
    for y in range(max(region.y, visible.y), min(region.bottom, visible.bottom)):
        rows[y - region.y] = screen[y].text[region.x : region.right]
    return rows


def joined(rows: list[str]) -> list[str]:
    """The diff's lines back from its rows: a marked row continues the row above."""
    lines: list[str] = []
    for index, row in enumerate(rows):
        continued = index + 1 < len(rows) and rows[index + 1].startswith(CONTINUATION)
        # A row that is continued was cut at the width (its spaces are the line's own); the
        # last row of a line is padded to the width.
        text = row if continued else row.rstrip()
        if row.startswith(CONTINUATION) and lines:
            lines[-1] += text.removeprefix(CONTINUATION)
        else:
            lines.append(text)
    return lines


async def test_a_long_diff_line_is_wrapped_with_a_mark_and_its_end_is_on_screen(
    lab_solved: Callable[..., Sandbox], app: MmtuiApp
) -> None:
    lab_solved("1")  # the secondary stack: step 4 previews its buildspecs (step 3 warned of)
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        await settle(pilot)
        app.open_step("build-artifacts")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DiffScreen)
        # One `.diff` per file, in the preview's order; the file with the longest line.
        shown = list(zip(dialog.changes, dialog.query(".diff").results(Static), strict=True))
        longest, widget = max(
            (
                (line, w)
                for (_repo, change), w in shown
                if change.needed
                for line in change.diff().splitlines()
            ),
            key=lambda found: len(found[0]),
        )
        body = dialog.query_one("#diffs", VerticalScroll)
        assert widget.content_region.right <= WIDTH
        assert len(longest) > widget.content_region.width, "no line outruns the dialog"

        # Every row of the diff, scrolled into view as a reader does: the arrow key, even with
        # the focus on a button (where tab takes it).
        assert body.max_scroll_y > 0, "the diff fits: nothing to scroll at this size"
        dialog.query_one("#go", Button).focus()
        await pilot.pause()
        seen: dict[int, str] = dict(shown_rows(app, widget, body))
        while body.scroll_y < body.max_scroll_y:
            before = body.scroll_y
            await pilot.press("down")
            await pilot.pause()
            assert body.scroll_y > before, "down did not scroll the diff"
            seen.update(shown_rows(app, widget, body))
        rows = [seen[n] for n in range(len(seen))]
        assert sorted(seen) == list(range(len(rows)))
        assert longest.rstrip() in joined(rows)
        assert any(row.startswith(CONTINUATION) for row in rows)


def test_pieces_fit_the_width_in_cells_and_keep_every_character() -> None:
    from rich.cells import cell_len

    from mmtui.tui.wrapped_diff import wrap_cells

    line = "+  - echo 界界界 " + "x" * 30 + "  "
    pieces = wrap_cells(line, 10)
    assert "".join(pieces) == line  # trailing spaces too: a diff's exact text
    assert cell_len(pieces[0]) <= 10
    assert all(cell_len(piece) <= 10 - cell_len(CONTINUATION) for piece in pieces[1:])
    assert wrap_cells("", 10) == [""] and wrap_cells("short", 10) == ["short"]
