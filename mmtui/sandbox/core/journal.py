"""What the sandbox answered since it last saved, so that a sandbox killed without saving can
say exactly what it lost.

The state is written whole every couple of seconds (server.py's autosave), never per call: a
pickle of every backend is too costly to write after each one. A SIGKILL, a power cut or an
out-of-memory kill between two saves therefore loses the calls made since the last save. Each
change the sandbox acknowledges is appended to this journal (one line, flushed to the
operating system before the answer leaves, so it survives the process being killed); a save
drops the lines it covers. A journal found non-empty at start lists exactly the acknowledged
changes the restored state does not have, and the sandbox says so.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TextIO

JOURNAL_FILE = "journal.log"
SHOWN = 8
"""How many lost changes the start note names (the rest are counted)."""


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: TextIO | None = None  # opened on first use: some sandboxes never write
        self._broken = False

    def record(self, what: str) -> None:
        """Note one acknowledged change (call it before the answer is sent)."""
        line = f"{time.strftime('%H:%M:%S')} {what}".replace("\n", " ") + "\n"
        with self._lock:
            if self._broken:
                return
            try:
                handle = self._handle
                if handle is None:
                    handle = self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                handle.write(line)
                handle.flush()  # into the OS: a killed process's written data survives it
            except OSError:
                # A folder that cannot be written (the autosave says so, loudly): the call is
                # answered all the same; the journal stops, and no start will claim it is whole.
                self._broken = True

    def position(self) -> int:
        """Where the journal ends now: a save taken now covers everything before it."""
        with self._lock:
            if self._handle is not None:
                return self._handle.tell()
            try:
                return self.path.stat().st_size
            except FileNotFoundError:
                return 0

    def saved(self, position: int) -> None:
        """A save covering everything up to `position` is on disk: keep only what came after."""
        with self._lock:
            try:
                with open(self.path, encoding="utf-8") as source:
                    source.seek(position)
                    rest = source.read()
            except FileNotFoundError:
                return
            scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            scratch.write_text(rest, encoding="utf-8")
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            os.replace(scratch, self.path)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def lost(self) -> list[str]:
        """The changes a previous run acknowledged and never saved (read before this run
        records anything)."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if line.strip()]

    def set_aside(self) -> Path | None:
        """Move a previous run's journal out of the way (kept for whoever wants the detail)."""
        if not self.path.exists():
            return None
        aside = self.path.with_name(f"{self.path.name}.lost-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(self.path, aside)
        return aside


def lost_note(lines: list[str], aside: Path | None) -> str:
    """The start note for a journal a previous run left: the changes it lost, exactly."""
    named = "; ".join(lines[:SHOWN]) + (
        f"; and {len(lines) - SHOWN} more" if len(lines) > SHOWN else ""
    )
    kept = f" (the list is kept in {aside})" if aside is not None else ""
    return (
        f"the sandbox stopped without saving its last changes (it was killed?): "
        f"{len(lines)} change{'s' if len(lines) != 1 else ''} it had acknowledged after its last "
        f"save are not in the state it restored: {named}{kept}. Make them again."
    )
