"""A unified diff that fits its width: each line coloured by its sign, a line longer than the
width continued on the next rows, each continuation marked, so that nothing is cut at a
dialog's edge (a command line in a diff easily outruns 80 columns)."""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

CONTINUATION = "↪ "
"""Starts each row that continues the line above (as an editor's wrapped line shows)."""
_MARK = Style(dim=True)
_STYLES = (
    ("+++", Style(bold=True)),
    ("---", Style(bold=True)),
    ("@@", Style(color="cyan")),
    ("+", Style(color="green")),
    ("-", Style(color="red")),
)


def line_style(line: str) -> Style:
    return next((style for sign, style in _STYLES if line.startswith(sign)), Style())


def wrap_cells(line: str, width: int) -> list[str]:
    """`line` cut into pieces of at most `width` cells, the pieces after the first leaving room
    for the continuation mark. Cut anywhere, not at spaces: in a diff the exact text matters
    more than where a word ends, and a cut at a space would hide trailing spaces."""
    first, rest = max(1, width), max(1, width - cell_len(CONTINUATION))
    pieces: list[str] = []
    piece, used = "", 0
    for char in line:
        room = rest if pieces else first
        size = cell_len(char)
        if piece and used + size > room:
            pieces.append(piece)
            piece, used = "", 0
        piece += char
        used += size
    pieces.append(piece)
    return pieces


class WrappedDiff:
    """A Rich renderable of `diff` (unified diff text), wrapped at the width it is given."""

    def __init__(self, diff: str) -> None:
        self.lines = diff.splitlines()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        width = options.max_width
        for line in self.lines:
            style = line_style(line)
            for index, piece in enumerate(wrap_cells(line.expandtabs(4), width)):
                if index:
                    yield Segment(CONTINUATION, _MARK)
                yield Segment(piece, style)
                yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max((cell_len(line.expandtabs(4)) for line in self.lines), default=0)
        return Measurement(min(cell_len(CONTINUATION) + 1, longest), longest)
