"""Reading a child process's output line by line, with a deadline, for tests that watch a
real `mmtui` process (a pipe's buffer defeats select, so a thread reads)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any


def line_queue(stream: Any, last: Callable[[str], bool] | None = None) -> queue.Queue[str | None]:
    """The lines of `stream` (without their newline) on a queue, read by a daemon thread; None
    when the stream ends. With `last`, the thread stops reading after the line it accepts."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in iter(stream.readline, ""):
            lines.put(line.rstrip("\n"))
            if last is not None and last(line):
                return
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def read_until(
    lines: queue.Queue[str | None], wanted: Callable[[str], bool], seen: list[str], deadline: float
) -> bool:
    """Take lines into `seen` until one is `wanted` (True), the stream ends or the deadline
    passes (False)."""
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if line is None:
            return False
        seen.append(line)
        if wanted(line):
            return True
    return False
