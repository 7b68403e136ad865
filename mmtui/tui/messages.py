"""Messages that thread workers post to the app: the only way work reaches the screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from mmtui.guide import Snapshot


@dataclass
class Connected(Message):
    target_line: str
    notice: str | None
    """A message about saved progress that had to be set aside, shown once."""


@dataclass
class ChecksDone(Message):
    snapshot: Snapshot


@dataclass
class LogLine(Message):
    step_id: str
    text: str


@dataclass
class TaskDone(Message):
    step_id: str
    kind: str
    done: list[str]


@dataclass
class PlanReady(Message):
    step_id: str
    actions: list[Any]


@dataclass
class DiffReady(Message):
    step_id: str
    changes: list[tuple[str, Any]]


@dataclass
class SiteVisited(Message):
    step_id: str
    site: Any


@dataclass
class InventoryReady(Message):
    inventory: Any


@dataclass
class FormReady(Message):
    step_id: str
    form: Any
