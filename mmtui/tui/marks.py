"""How statuses look on screen: one symbol and word each, colour from the theme."""

from __future__ import annotations

from rich.text import Text

from mmtui.engine.results import Status

_STYLE = {
    Status.PASS: ("✔ pass", "green"),
    Status.FAIL: ("✘ fail", "red"),
    Status.PENDING: ("… pending", "yellow"),
    Status.ERROR: ("! error", "magenta"),
}


def mark(status: Status | None, extra: str = "") -> Text:
    if status is None:
        return Text("· " + (extra or "unknown"), style="dim")
    word, style = _STYLE[status]
    return Text(word + (f" {extra}" if extra else ""), style=style)


def elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
