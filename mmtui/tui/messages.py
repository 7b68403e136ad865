"""Messages that thread workers post to the app: the only way work reaches the screens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from mmtui.engine.plugin import Preview
from mmtui.guide import Snapshot


@dataclass
class Connected(Message):
    target_line: str
    notice: str | None
    """A message about saved progress that had to be set aside, shown once."""


@dataclass
class LabLoaded(Message):
    """Another lab of the workshop, loaded off the UI thread, for the guide to switch to."""

    lab: Any
    """Its LabPlugin."""
    content: Any
    """Its LabContent."""


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
    summary: str | None = None
    """For a solve: what its checks said afterwards (`done`, or what still fails)."""
    details: list[str] = field(default_factory=list)
    """For a solve that is not done: a line per check that still does not pass."""
    passed: bool = True


@dataclass
class SolveAsked(Message):
    """The checks of the steps a solve requires, taken before asking to run it."""

    step_id: str
    warning: str | None


@dataclass
class PlanReady(Message):
    step_id: str
    actions: list[Any]
    warning: str | None = None
    """Set when steps built on this one are done: they break with it (said in the plan)."""


@dataclass
class DiffReady(Message):
    step_id: str
    preview: Preview
    warning: str | None = None
    """Set when a step it requires fails: said in the confirmation."""


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


@dataclass
class TrafficReady(Message):
    """The lab's live traffic (an engine `Traffic`), made off the UI thread."""

    traffic: Any


@dataclass
class LoadStarted(Message):
    load: Any
    """The running load (snapshot(), elapsed(), stop())."""


@dataclass
class TrafficStatus(Message):
    rows: list[tuple[str, str, str]]


@dataclass
class DrillEvent(Message):
    at: float
    what: str


@dataclass
class DrillDone(Message):
    report: Any
