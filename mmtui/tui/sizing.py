"""The guide's fit to the terminal: compact panels on small terminals (80×24), a compact
footer on narrow ones so that every key fits in 80 columns.

Textual sends a terminal's resize to the screens, not to the app's own handler, so each
screen calls `fit_to_terminal` from its resize handler (and the app once at start)."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.widgets import Footer

NARROW = 100
"""Below this many columns the footer drops the blanks around its keys."""
SMALL = 32
"""Below this many rows the panels under a step's instructions get fewer rows."""


class GuideFooter(Footer):
    def on_mount(self) -> None:
        self.compact = self.app.size.width < NARROW


def fit_to_terminal(app: App[Any]) -> None:
    app.set_class(app.size.height < SMALL, "-small")
    for screen in app.screen_stack:
        for footer in screen.query(GuideFooter):
            footer.compact = app.size.width < NARROW
