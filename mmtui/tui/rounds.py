"""Rounds of checks that never overlap: the guide's live checks and the live room's rounds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.timer import Timer


class Rounds:
    """At most one round runs at a time; a round asked for while one runs starts when it ends,
    and the next timed round is armed only once the last one has ended.

    A thread cannot be interrupted, so an "exclusive" worker would let an old round run on
    beside a new one: the queue is kept here instead.
    """

    def __init__(self, app: App[Any], start: Callable[[], object], seconds: Callable[[], float]):
        self._app = app
        self._start = start
        """Starts a round (a thread worker) that calls `ended()` when it is over."""
        self._seconds = seconds
        """Seconds from the end of one round to the next (0: only when asked)."""
        self.running = False
        self._again = False
        self._timer: Timer | None = None

    def request(self) -> None:
        """Start a round now, or as soon as the running one ends."""
        if self.running:
            self._again = True
            return
        self.running = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._start()

    def ended(self) -> None:
        self.running = False
        if self._again:
            self._again = False
            self.request()
        elif (seconds := self._seconds()) > 0:
            self._timer = self._app.set_timer(seconds, self.request)
