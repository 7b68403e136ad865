"""An attendee's progress through a lab, remembered per target so a restart picks up where it was.

Progress is keyed by what makes two runs "the same lab": the account and the two regions. It
records what the guide last saw (each step's status and when it first passed), which path the
attendee chose for each step, how many hints they revealed, and the step they had open. It is
written atomically (a crash mid-write leaves the previous file), and a file that cannot be read
is set aside under a new name with a message, never a crash and never silently overwritten.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmtui.files import write_atomically
from mmtui.paths import state_dir

FORMAT = 1


@dataclass
class StepProgress:
    status: str = ""
    """The last status the guide saw: pass, fail, pending, error ("" before any check)."""
    passed_at: float | None = None
    """When the step was first seen passing (seconds since the epoch)."""
    path: str = ""
    """The path the attendee chose: "manual", "automated" or "" (not chosen yet)."""
    hints: int = 0
    """How many hints were revealed."""


@dataclass
class Progress:
    lab: str
    target: str
    steps: dict[str, StepProgress] = field(default_factory=dict)
    current_step: str | None = None

    def step(self, step_id: str) -> StepProgress:
        return self.steps.setdefault(step_id, StepProgress())

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}


def target_key(account_id: str, primary_region: str, secondary_region: str) -> str:
    return f"{account_id}-{primary_region}-{secondary_region}"


class ProgressStore:
    """Reads and writes one lab's progress for one target under `root` (the state folder)."""

    def __init__(self, lab: str, target: str, root: Path | None = None) -> None:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", target):
            raise ValueError(f"not a usable target key: {target!r}")
        self.lab = lab
        self.target = target
        self.path = (root or state_dir()) / "progress" / f"lab-{lab}" / f"{target}.json"
        self.notice: str | None = None
        """Set when a damaged file was set aside on load: the guide shows it once."""

    def load(self) -> Progress:
        if not self.path.exists():
            return Progress(self.lab, self.target)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return _parse(data, self.lab, self.target)
        except (OSError, ValueError, TypeError, KeyError, RecursionError) as error:
            # RecursionError: JSON nested thousands deep (`[[[[…]]]]`) defeats the decoder; the
            # file is as unusable as a truncated one and must be set aside the same way, or every
            # start of the guide would fail on it again.
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = self.path.with_name(f"{self.path.stem}.damaged-{stamp}.json")
            count = 1
            while aside.exists():  # never overwrite an earlier damaged file
                count += 1
                aside = self.path.with_name(f"{self.path.stem}.damaged-{stamp}-{count}.json")
            try:
                self.path.replace(aside)
                where = f"it was set aside as {aside}"
            except OSError as move_error:
                where = f"it could not be set aside either ({move_error})"
            self.notice = (
                f"Your saved progress in {self.path} could not be read ({error}); {where}. "
                "The guide starts afresh and checks your account again."
            )
            return Progress(self.lab, self.target)

    def save(self, progress: Progress) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(progress.to_json(), indent=2, sort_keys=True) + "\n"
        write_atomically(self.path, text.encode("utf-8"))


def _parse(data: Any, lab: str, target: str) -> Progress:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a progress file of this version of mmtui")
    if data.get("lab") != lab or data.get("target") != target:
        raise ValueError("the file belongs to another lab or target")
    raw_steps = data.get("steps") or {}
    if not isinstance(raw_steps, dict):
        raise ValueError("steps is not an object")
    steps: dict[str, StepProgress] = {}
    for step_id, raw in raw_steps.items():
        if not isinstance(raw, dict):
            raise ValueError(f"step {step_id!r} is not an object")
        step = StepProgress(**raw)
        if not isinstance(step.hints, int) or isinstance(step.hints, bool) or step.hints < 0:
            raise ValueError(f"step {step_id!r} has a bad hint count")
        if not isinstance(step.status, str) or not isinstance(step.path, str):
            raise ValueError(f"step {step_id!r} has a status or path that is not text")
        passed_at = step.passed_at
        if passed_at is not None and (
            not isinstance(passed_at, int | float) or isinstance(passed_at, bool)
        ):
            raise ValueError(f"step {step_id!r} has a bad passed_at time")
        steps[str(step_id)] = step
    current = data.get("current_step")
    return Progress(lab, target, steps, current if isinstance(current, str) else None)
