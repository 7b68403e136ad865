"""Table cells changed only when what they show changes.

Every `DataTable.update_cell` makes the table render all its cells anew and leaves the old
renderings in its caches (Textual keeps up to 10,000 rendered cells), even when the value is
the same. The guide redraws its tables after every round of checks, and on a screen left open
the rounds mostly say what they said before: updating only what changed keeps those caches,
and the guide's memory, from growing round after round (benchmarks/guide_memory.py).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, Text) and isinstance(new, Text):
        # rich's Text equality ignores the base style: a status may keep its word and change
        # its colour.
        return (
            old.plain == new.plain
            and old.style == new.style
            and old.spans == new.spans
            and old.overflow == new.overflow
            and old.no_wrap == new.no_wrap
        )
    return type(old) is type(new) and bool(old == new)


def set_cell(
    table: DataTable[Any], row: Any, column: Any, value: Any, *, update_width: bool = True
) -> bool:
    """Show `value` in the cell at (`row`, `column`) unless it shows that already; True when
    the cell changed."""
    try:
        if _same(table.get_cell(row, column), value):
            return False
    except CellDoesNotExist:
        pass  # let update_cell say what is wrong, as it would have
    table.update_cell(row, column, value, update_width=update_width)
    return True
