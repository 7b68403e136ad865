"""The instructor's live room as data: rounds of checks over every attendee, and what they say.

A round is one look at the whole room: for each attendee, the status of every step (one cell
per column: pass, fail, pending, error, or unknown when the target could not be reached), their
overall state, and the first check that does not pass. The room keeps its rounds in order and
derives the rest from them: each attendee's current step (the first column that does not pass),
since when they have been on it, how many attendees stand at each step, and the steps completed
over time. Nothing here talks to AWS or draws anything (mmtui.fleet.watch runs the rounds; the
TUI shows them).

The history file is JSON lines: a header (the format and the columns), then one line per round,
appended and flushed to disk as each round ends, so a room of 50 over an hour writes each round
once (a whole-file rewrite each round wrote ~10 KB a round, hundreds of times) and a crash loses
at most the round being written. Reading it back leaves out a last line cut short, saying so;
the previous format (one JSON document rewritten whole each round) is still read, and the next
save writes it out in this one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmtui.fleet.output import inert

FORMAT = 2
"""The version of the history file's shape (JSON lines: a header, then a line per round); a file
of a version mmtui does not read is set aside."""
READABLE = (1, FORMAT)
"""Versions read: 1 is a single JSON document of the same header and rounds."""
CODES = {"pass": "p", "fail": "f", "pending": "~", "error": "e", "": "."}
"""A cell as one character in the history (a room of 50 over a day stays small)."""
STATUSES = {code: status for status, code in CODES.items()}
DONE = "done"
"""An attendee's current step once every column passes."""
UNKNOWN = "?"
"""An attendee's current step before any round could reach their account."""


@dataclass(frozen=True)
class Column:
    """One step of one lab, as the grid shows it."""

    lab: str
    step_id: str
    number: int | None
    title: str

    @property
    def key(self) -> str:
        return f"{self.lab}:{self.step_id}"

    @property
    def label(self) -> str:
        """`3.1`; the checkpoint (no number) is `3.ckpt`."""
        return f"{self.lab}.{self.number if self.number is not None else 'ckpt'}"


@dataclass(frozen=True)
class Failing:
    """The first check of an attendee's that does not pass."""

    column: str
    """The Column's key."""
    check_id: str
    title: str
    status: str
    message: str


@dataclass
class Row:
    """One attendee in one round."""

    name: str
    cells: str
    """One CODES character per column, in the room's column order."""
    state: str = "fail"
    """pass, fail, error (could not be looked at), refused (account-id guard)."""
    account: str | None = None
    identity: str | None = None
    error: str | None = None
    failing: Failing | None = None

    def status(self, index: int) -> str:
        """The cell of column `index`: pass, fail, pending, error or "" (unknown)."""
        return STATUSES.get(self.cells[index], "") if index < len(self.cells) else ""

    @property
    def reached(self) -> bool:
        """Whether the round could look at this account at all."""
        return any(code not in (".", "e") for code in self.cells)

    @property
    def passed(self) -> int:
        return self.cells.count("p")

    @property
    def has_error(self) -> bool:
        return self.state in ("error", "refused") or "e" in self.cells

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cells": self.cells, "state": self.state}
        for key in ("account", "identity", "error"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.failing is not None:
            data["failing"] = self.failing.__dict__
        return data

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> Row:
        failing = data.get("failing")
        return cls(
            name,
            str(data["cells"]),
            str(data.get("state", "fail")),
            data.get("account"),
            data.get("identity"),
            data.get("error"),
            Failing(**failing) if isinstance(failing, dict) else None,
        )


@dataclass
class Round:
    at: float
    """When the round started (seconds since the epoch)."""
    rows: dict[str, Row] = field(default_factory=dict)
    seconds: float = 0.0
    """How long the round took."""


class Room:
    """The rounds of one room (one targets file, one set of labs), oldest first."""

    def __init__(self, columns: list[Column], names: list[str]) -> None:
        self.columns = columns
        self.names = names
        """The attendees in the order of the targets file."""
        self.rounds: list[Round] = []
        self._saved: tuple[Path, int] | None = None
        """The history file this room's rounds are saved in, and how many of them it holds;
        None when the next save must write the whole file (never saved, or the file read was
        cut short or of the previous format)."""
        self._superseded: Path | None = None
        """A previous format's file read in place of the history, removed once saved anew."""

    # ------------------------------------------------------------------ rounds

    def add(self, round_: Round) -> None:
        self.rounds.append(round_)

    @property
    def latest(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None

    def row(self, name: str) -> Row | None:
        """The attendee's row in the latest round that has one."""
        for round_ in reversed(self.rounds):
            if name in round_.rows:
                return round_.rows[name]
        return None

    def current_of(self, row: Row | None) -> str:
        """The key of the first column that does not pass; DONE when all pass, UNKNOWN when
        the round could not look (an unreachable account says nothing about their work)."""
        if row is None or not row.reached:
            return UNKNOWN
        for index, column in enumerate(self.columns):
            if row.status(index) != "pass":
                return column.key
        return DONE

    def current(self, name: str) -> str:
        """Where the attendee stands: their current step as the latest round that could reach
        their account saw it."""
        for round_ in reversed(self.rounds):
            row = round_.rows.get(name)
            if row is not None and row.reached:
                return self.current_of(row)
        return UNKNOWN

    def since(self, name: str) -> float | None:
        """When the attendee arrived at their current step: the start of the earliest round of
        the latest run of rounds that saw them there (rounds that could not reach them neither
        break the run nor start it)."""
        now = self.current(name)
        if now == UNKNOWN:
            return None
        start: float | None = None
        for round_ in reversed(self.rounds):
            row = round_.rows.get(name)
            if row is None or not row.reached:
                continue
            if self.current_of(row) != now:
                break
            start = round_.at
        return start

    def on_step_seconds(self, name: str, now: float) -> float | None:
        since = self.since(name)
        return None if since is None else max(0.0, now - since)

    def counts(self) -> dict[str, int]:
        """How many attendees are at each step (column key, DONE, UNKNOWN), in column order;
        only the places someone stands."""
        here = Counter(self.current(name) for name in self.names)
        order = [column.key for column in self.columns] + [DONE, UNKNOWN]
        return {key: here[key] for key in order if here[key]}

    def completed(self) -> list[tuple[float, int]]:
        """Steps completed in the room over time: (round start, passing cells of the room)."""
        return [(r.at, sum(row.passed for row in r.rows.values())) for r in self.rounds]

    def column(self, key: str) -> Column | None:
        return next((column for column in self.columns if column.key == key), None)

    def label(self, key: str) -> str:
        column = self.column(key)
        return column.label if column is not None else key

    # ------------------------------------------------------------------ views

    def ordered(
        self,
        now: float,
        *,
        stuck_first: bool = False,
        errors_only: bool = False,
        name: str = "",
    ) -> list[str]:
        """The attendees to show: the file's order, or those stuck longest first (those done or
        never reached last); only those with an error; only names containing `name`."""
        shown = list(self.names)
        if name:
            shown = [n for n in shown if name.casefold() in n.casefold()]
        if errors_only:
            shown = [n for n in shown if (row := self.row(n)) is not None and row.has_error]
        if stuck_first:

            def stuck(n: str) -> tuple[int, float]:
                seconds = self.on_step_seconds(n, now)
                finished = self.current(n) in (DONE, UNKNOWN) or seconds is None
                return (1 if finished else 0, -(seconds or 0.0))

            shown.sort(key=stuck)  # stable: ties keep the file's order
        return shown

    # ------------------------------------------------------------------ saving

    def header(self) -> dict[str, Any]:
        return {"format": FORMAT, "columns": [column.key for column in self.columns]}

    def to_json(self) -> dict[str, Any]:
        """The history as one document: the header and every round."""
        return {**self.header(), "rounds": [round_json(r) for r in self.rounds]}

    def load_json(self, data: Any) -> bool:
        """Take the rounds of a saved history of this same room (same columns); False, and
        nothing taken, when it is of another shape or another set of steps."""
        if not isinstance(data, dict) or data.get("format") not in READABLE:
            return False
        if data.get("columns") != [column.key for column in self.columns]:
            return False
        try:
            rounds = [
                Round(
                    float(item["at"]),
                    {n: Row.from_json(n, row) for n, row in item["rows"].items()},
                    float(item.get("seconds", 0.0)),
                )
                for item in data["rounds"]
            ]
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
        self.rounds = rounds
        return True

    def save(self, path: Path) -> None:
        """Save the rounds not saved yet to the history at `path`: appended, one line each, and
        on disk (fsync) before this returns. The first save to `path`, or one after a read that
        found the file cut short or of the previous format, writes the whole file at once
        (`write_atomically`: the file read stays whole until then)."""
        if self._saved is None or self._saved[0] != path or not path.exists():
            self._write_whole(path)
            return
        unsaved = self.rounds[self._saved[1] :]
        if not unsaved:
            return
        try:
            with open(path, "ab") as handle:
                handle.write(b"".join(json_line(round_json(r)) for r in unsaved))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            # Part of a line may have reached the file: the next save writes it whole.
            self._saved = None
            raise
        self._saved = (path, len(self.rounds))

    def _write_whole(self, path: Path) -> None:
        from mmtui.files import write_atomically

        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json_line(self.header()), *(json_line(round_json(r)) for r in self.rounds)]
        write_atomically(path, b"".join(lines))
        self._saved = (path, len(self.rounds))
        if self._superseded is not None and self._superseded != path:
            self._superseded.unlink(missing_ok=True)
        self._superseded = None

    def load(self, path: Path) -> str | None:
        """Take the history saved at `path`, if any (or, when `path` is not there yet, the
        previous format's file beside it, `.json` for `.jsonl`); a notice when one was there but
        could not be used (it is then set aside beside it, never overwritten unread) or when its
        last round was cut short (left out)."""
        source = path
        previous = path.with_suffix(".json")
        if path.suffix == ".jsonl" and not path.exists() and previous.exists():
            source = previous
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"the room's history {source} could not be read ({exc.strerror or exc})"
        data, torn = parse_history(text)
        if self.load_json(data):
            # Appending goes on only after a whole line of this format; else a whole write.
            clean = source == path and text.endswith("\n") and data.get("format") == FORMAT
            self._saved = (path, len(self.rounds)) if clean else None
            self._superseded = source if source != path else None
            if torn:
                return (
                    f"the room's history {source} ends in a round cut short (mmtui stopped "
                    f"while writing it): {len(self.rounds)} rounds read, that one left out"
                )
            return None
        aside = source.with_name(f"{source.stem}.set-aside-{int(time.time())}{source.suffix}")
        try:
            source.replace(aside)
        except OSError:
            return f"the room's history {source} is not of this room; it is left as it is"
        return f"the room's history was of another shape or other steps: set aside as {aside}"

    # ------------------------------------------------------------------ export

    def export_rows(self) -> list[dict[str, Any]]:
        """A row per attendee per round, as the CSV and JSON exports give them."""
        out: list[dict[str, Any]] = []
        # Where each attendee stood and since when, carried forward round by round (as
        # `current` and `since` read it backwards): one pass, however long the day.
        where: dict[str, tuple[str, float]] = {}
        for number, round_ in enumerate(self.rounds, 1):
            for name in self.names:
                row = round_.rows.get(name)
                if row is None:
                    continue
                if row.reached:
                    here = self.current_of(row)
                    if where.get(name, (None,))[0] != here:
                        where[name] = (here, round_.at)
                current, since = where.get(name, (UNKNOWN, None))
                seconds = None if since is None else round_.at - since
                out.append(
                    {
                        "round": number,
                        "at": iso(round_.at),
                        "attendee": name,
                        "account": row.account,
                        "state": row.state,
                        "current": self.label(current),
                        "on_step_seconds": None if seconds is None else round(seconds, 1),
                        "steps_passed": row.passed,
                        "cells": {
                            column.key: row.status(i) for i, column in enumerate(self.columns)
                        },
                        "error": row.error,
                    }
                )
        return out

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        head = ["round", "at", "attendee", "account", "state", "current", "on_step_seconds"]
        writer.writerow([*head, "steps_passed", *(c.key for c in self.columns), "error"])
        for item in self.export_rows():
            seconds = item["on_step_seconds"]
            writer.writerow(
                [
                    item["round"],
                    item["at"],
                    inert(item["attendee"]),
                    item["account"] or "",
                    item["state"],
                    item["current"],
                    "" if seconds is None else seconds,
                    item["steps_passed"],
                    *(item["cells"][c.key] for c in self.columns),
                    inert(" ".join((item["error"] or "").split())),
                ]
            )
        return out.getvalue()

    def as_json(self) -> str:
        document = {
            "steps": [
                {"key": c.key, "lab": c.lab, "id": c.step_id, "number": c.number, "title": c.title}
                for c in self.columns
            ],
            "attendees": self.names,
            "completed": [{"at": iso(at), "steps_passed": n} for at, n in self.completed()],
            "rows": self.export_rows(),
        }
        return json.dumps(document, indent=2)


def round_json(round_: Round) -> dict[str, Any]:
    return {
        "at": round_.at,
        "seconds": round(round_.seconds, 3),
        "rows": {name: row.to_json() for name, row in round_.rows.items()},
    }


def json_line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode() + b"\n"


def parse_history(text: str) -> tuple[Any, bool]:
    """A history file's text as one document (header and rounds), and whether its last line
    was cut short (left out). None for a document when the text is neither format, or a line
    before the last is not a round (not a crash's doing: the file is not mmtui's)."""
    lines = text.split("\n")
    try:
        first = json.loads(lines[0])
    except ValueError:
        first = None
    if not isinstance(first, dict):
        try:  # the previous format, written with indentation by hand or by an older mmtui
            return json.loads(text), False
        except ValueError:
            return None, False
    if first.get("format") != FORMAT:
        return (first if "rounds" in first else None), False
    rounds: list[Any] = []
    # Each line is written with its newline in one write: a crash mid-append leaves a last
    # line without one, which is whole only if the cut fell just before the newline.
    body, last = lines[1:-1], lines[-1]
    for line in body:
        try:
            rounds.append(json.loads(line))
        except ValueError:
            return None, False
    torn = False
    if last:
        try:
            rounds.append(json.loads(last))
        except ValueError:
            torn = True
    return {**first, "rounds": rounds}, torn


def iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def history_path(targets: Path, labs: list[str]) -> Path:
    """Where a room's history lives: in mmtui's state folder, one file per targets file (by
    its full path) and set of labs, so two rooms never share one."""
    from mmtui.fleet.targets import slug
    from mmtui.paths import state_dir

    digest = hashlib.sha256(f"{targets.resolve()}|{','.join(labs)}".encode()).hexdigest()[:12]
    return state_dir() / "fleet" / "rooms" / f"{slug(targets.stem)}-{digest}.jsonl"


def elapsed(seconds: float | None) -> str:
    """`45s`, `12m05`, `1h05`: short enough for a grid cell."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}"
    return f"{whole // 3600}h{(whole % 3600) // 60:02d}"
