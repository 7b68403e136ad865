"""The guide's core: everything the Textual screens ask of AWS, git and the disk, with no Textual.

The screens call these methods from thread workers and render what comes back; this module
never touches a widget (tests/test_packaging.py proves the core does not import Textual). It
is the same engine the command line uses: checks, tasks with their plans, and the attendee's
saved progress, plus what the lab (a LabPlugin, handed in by the command line) offers beside
them: its inventory and overview picture, its forms, a preview before a solve, a site visit.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmtui.content.loader import LabContent, load_workshop
from mmtui.content.model import Step, Workshop, WorkshopLab
from mmtui.engine.plugin import LabPlugin, OverviewRow, Preview, SiteVisit
from mmtui.engine.results import CheckResult, Status, StepResult, combine
from mmtui.progress import Progress, ProgressStore, target_key
from mmtui.target.spec import TargetSpec

LogSink = Callable[[str], None]


@dataclass(frozen=True)
class LabState:
    """One lab of the workshop as the home screen shows it."""

    id: str
    title: str
    role: str
    status: Status | None
    """pass/fail/... for a verified prerequisite or the guided lab; None for labs to come."""
    detail: str
    done: int = 0
    """The guided lab's steps that pass (nothing done yet reads "not started")."""


@dataclass
class Snapshot:
    """One round of checks: the prerequisites and every step, when they were taken."""

    prerequisites: list[CheckResult] = field(default_factory=list)
    steps: dict[str, StepResult] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    taken_at: float = 0.0


class Guide:
    """A connected session of one lab on one target."""

    def __init__(
        self,
        spec: TargetSpec,
        content: LabContent,
        lab: LabPlugin,
        workshop: Workshop | None = None,
        clock: Callable[[], float] = time.time,
        state_root: Path | None = None,
        detach_sandbox: bool = False,
    ) -> None:
        self.spec = spec
        self.detach_sandbox = detach_sandbox
        """On a sandbox folder with none running, start one that outlives the guide (the
        command line's guide: an attendee's other terminals keep their AWS when it quits)."""
        self.content = content
        self.lab = lab
        self.workshop = workshop if workshop is not None else workshop_of(content)
        self.clock = clock
        self._state_root = state_root
        self._resources = ExitStack()
        self._pool: Any = None
        self._lock = threading.Lock()
        self.connection: Any = None
        self.account_id: str | None = None
        self.store: ProgressStore | None = None
        self.progress = Progress(content.lab.id, "unconnected")
        self.pending_since: dict[tuple[str, str], float] = {}
        """(step id, check id) → when the check was first seen pending in a row."""
        self.tell: Callable[[str], None] = lambda _message: None
        """Told (from any thread) when progress cannot be saved; the guide shows it as a notice."""
        self._unsaved_told = False
        self.closing_error: Exception | None = None

    # ------------------------------------------------------------------ connecting

    def connect(self) -> str:
        """Connect, read the identity, load saved progress; returns the header's target line."""
        from mmtui.target.connect import connect
        from mmtui.target.identity import fetch_identity

        self.connection = self._resources.enter_context(
            connect(self.spec, detach=self.detach_sandbox)
        )
        identity = fetch_identity(self.connection.factory)
        self.account_id = identity.account_id
        key = target_key(identity.account_id, self.spec.primary_region, self.spec.secondary_region)
        self.store = ProgressStore(self.content.lab.id, key, self._state_root)
        self.progress = self.store.load()
        return self.target_line()

    def switch_lab(self, content: LabContent, lab: LabPlugin) -> None:
        """Guide another lab of the workshop on the same target: the connection (an embedded
        sandbox too) stays; the lab's content, checks and saved progress are the new lab's."""
        with self._lock:
            self.content, self.lab = content, lab
            self.pending_since = {}
            if self.store is not None and self.account_id is not None:
                key = target_key(
                    self.account_id, self.spec.primary_region, self.spec.secondary_region
                )
                self.store = ProgressStore(content.lab.id, key, self._state_root)
                self.progress = self.store.load()
            else:
                self.progress = Progress(content.lab.id, "unconnected")

    def target_line(self) -> str:
        account = f"account {self.account_id}" if self.account_id else "connecting…"
        names = self.chosen_names()
        return (
            f"{self.spec.label()} · {account} · "
            f"{self.spec.primary_region} → {self.spec.secondary_region}"
            + (f" · {names}" if names else "")
        )

    def chosen_names(self) -> str:
        """The resource names that differ from the workshop's, e.g. `primary stack my-mm,
        table my-table` ("" when every name is the workshop's). The header shows
        them so an attendee sees at once which stack the checks look at; names left as the
        workshop's are not repeated there (`mmtui target` lists them all)."""
        from mmtui.target.names import SETTINGS

        chosen = self.spec.name_overrides
        if not chosen:
            return ""
        values, defaults = self.content.defaults(chosen), self.content.defaults()
        return ", ".join(
            f"{s.parameter.replace('_', ' ')} {values[s.parameter]}"
            for s in SETTINGS
            if s.parameter in values and values[s.parameter] != defaults.get(s.parameter)
        )

    def close(self) -> None:
        """Let go of the target. An error a user must hear of (an embedded sandbox that could
        not save its state) is kept in `closing_error`: the guide is closing, so the command
        line says it once the screen is back (a raise here would be a Textual traceback)."""
        from mmtui.exitcodes import MmtuiError

        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        try:
            self._resources.close()
        except MmtuiError as exc:
            self.closing_error = exc

    def inventory(self) -> Any:
        """What exists now in both regions (read-only, concurrent, never raises for AWS)."""
        from mmtui.background import DaemonPool

        # One pool for the session: its threads keep their clients from one look to the next.
        if self._pool is None:
            self._pool = DaemonPool(8, name="mmtui-inventory")
        return self.lab.inventory(self._checks(), executor=self._pool)

    def overview_rows(self, inventory: Any) -> list[OverviewRow]:
        """The lab's two-region picture of `inventory` (empty: the lab has none)."""
        return self.lab.overview_rows(inventory)

    @property
    def sandbox_env(self) -> Path | None:
        """The sandbox.env an attendee sources in a second terminal (sandbox targets only)."""
        sandbox = getattr(self.connection, "sandbox", None)
        if sandbox is not None:
            return Path(sandbox.state_dir) / "sandbox.env"
        if self.spec.kind == "sandbox":
            from mmtui.paths import default_sandbox_dir

            folder = self.spec.sandbox_dir or default_sandbox_dir()
            path = Path(folder) / "sandbox.env"
            return path if path.exists() else None
        # An endpoint reached from a shell that sourced a sandbox.env: that file names itself.
        named = os.environ.get("MMTUI_RESOLVE_FILE")
        if self.spec.kind == "endpoint" and named and Path(named).name == "sandbox.env":
            return Path(named) if Path(named).is_file() else None
        return None

    def _checks(self) -> Any:
        from mmtui.engine.context import CheckContext

        # A new context per round: facts (stack outputs, generated names) change as the
        # attendee works, and a context caches them for one round only.
        return CheckContext.for_target(self.connection, self.content, self.lab)

    def _tasks(self, log: LogSink) -> Any:
        from mmtui.engine.tasks import TaskContext

        return TaskContext(self._checks(), log=log)

    # ------------------------------------------------------------------ checks

    def check_all(self) -> Snapshot:
        """Every check of the lab and of its prerequisites, concurrently."""
        from mmtui.engine.checks import PREREQUISITES_ID, run_checks

        checks = self._checks()
        results = run_checks(checks, list(self.content.lab.steps), prerequisites=True)
        snapshot = Snapshot(names=checks.names(), taken_at=self.clock())
        for result in results:
            if result.id == PREREQUISITES_ID:
                snapshot.prerequisites = result.checks
            else:
                snapshot.steps[result.id] = result
        self._remember(snapshot)
        return snapshot

    def _remember(self, snapshot: Snapshot) -> None:
        now = snapshot.taken_at
        pending = {
            (step_id, check.id)
            for step_id, step in snapshot.steps.items()
            for check in step.checks
            if check.status == Status.PENDING
        }
        with self._lock:
            self.pending_since = {key: self.pending_since.get(key, now) for key in sorted(pending)}
            for step_id, step in snapshot.steps.items():
                saved = self.progress.step(step_id)
                saved.status = step.status.value
                if step.status == Status.PASS and saved.passed_at is None:
                    saved.passed_at = now
        self.save()

    def pending_for(self, step_id: str, check_id: str, now: float | None = None) -> float | None:
        """Seconds a check has been pending, or None."""
        since = self.pending_since.get((step_id, check_id))
        if since is None:
            return None
        return max(0.0, (self.clock() if now is None else now) - since)

    def labs(self, snapshot: Snapshot | None) -> list[LabState]:
        """The workshop's labs with their state, for the home screen."""
        by_name = {c.id: c for c in (snapshot.prerequisites if snapshot else [])}
        mine = {check.name for check in self.content.lab.prerequisites}
        states = []
        for lab in self.workshop.labs:
            if lab.role == "prerequisite":
                if not set(lab.checks) <= mine:
                    # Its checks belong to another guided lab's prerequisites: this lab's
                    # rounds do not run them.
                    detail = "checked with the lab that builds on it"
                    states.append(LabState(lab.id, lab.title, lab.role, None, detail))
                    continue
                found = [by_name[name] for name in lab.checks if name in by_name]
                if len(found) < len(lab.checks):
                    states.append(LabState(lab.id, lab.title, lab.role, None, "checking…"))
                    continue
                status = combine([c.status for c in found])
                missing = [c.message for c in found if c.status != Status.PASS]
                detail = "verified" if not missing else "; ".join(missing)
                states.append(LabState(lab.id, lab.title, lab.role, status, detail))
            elif lab.role == "guided" and lab.id == self.content.lab.id:
                steps = list(snapshot.steps.values()) if snapshot else []
                done = sum(step.status == Status.PASS for step in steps)
                total = len(self.content.lab.steps)
                overall = combine([s.status for s in steps]) if steps else None
                detail = f"{done} of {total} done"
                states.append(LabState(lab.id, lab.title, lab.role, overall, detail, done))
            elif lab.role == "guided":
                states.append(LabState(lab.id, lab.title, lab.role, None, "open it to check"))
            else:
                states.append(LabState(lab.id, lab.title, lab.role, None, "coming later"))
        return states

    # ------------------------------------------------------------------ tasks

    def solve(self, step: Step, log: LogSink) -> Any:
        """Run a step's solve, then its checks: a SolveOutcome (done only when they pass)."""
        from mmtui.engine.solving import solve_step

        return solve_step(self._tasks(log), step, self.spec)

    def requirement_warning(self, step: Step) -> str | None:
        """What solving `step` now would leave undone, when a step it requires fails."""
        from mmtui.engine.solving import requirement_warning, unmet_requirements

        unmet = unmet_requirements(self._checks(), step)
        return requirement_warning(step, unmet) if unmet else None

    def reset_plan(self, step: Step) -> list[Any]:
        """The actions a reset of `step` would take now (empty: nothing to undo)."""
        from mmtui.engine.tasks import step_actions

        return step_actions(self._tasks(lambda _line: None), step, "reset")

    def reset_warning(self, step: Step) -> str | None:
        """What resetting `step` alone leaves broken: the steps built on it that are done."""
        from mmtui.engine.solving import reset_warning

        return reset_warning(self._tasks(lambda _line: None), step)

    def reset(self, step: Step, log: LogSink) -> list[str]:
        from mmtui.engine.tasks import run_actions, step_actions

        done = run_actions(step_actions(self._tasks(log), step, "reset"), log)
        with self._lock:
            saved = self.progress.step(step.id)
            saved.passed_at = None
            saved.status = ""
        self.save()
        return done

    def has_preview(self, step: Step) -> bool:
        return step.id in self.lab.preview_steps

    def preview(self, step: Step) -> Preview:
        """What the step's solve will change (a diff), before anything is changed."""
        return self.lab.preview(step, self._tasks(lambda _line: None))

    def has_form(self, step_id: str) -> bool:
        return step_id in self.lab.form_steps

    def open_form(self, step_id: str) -> Any:
        """The console-like form of a step, with choices read from the account."""
        return self.lab.open_form(step_id, self._checks())

    def refresh_form(self, form: Any, values: dict[str, str]) -> Any:
        return form.refreshed(self._checks(), values)

    def apply_form(self, form: Any, values: dict[str, str], log: LogSink) -> Any:
        """Apply a form's values (validated first, by the form, before any call)."""
        self.choose_path(form.step, "manual")
        return form.apply(values, self._tasks(log))

    def can_show_traffic(self, step_id: str) -> bool:
        return step_id in self.lab.traffic_steps

    def traffic(self, log: LogSink) -> Any:
        """The lab's live traffic (a `Traffic`): its load, status and drill on this target."""
        return self.lab.traffic(self._checks(), self._tasks(log))

    def can_visit(self, step_id: str) -> bool:
        return step_id in self.lab.visit_steps

    def visit(self) -> SiteVisit:
        """The lab's site, fetched as an attendee's browser would."""
        return self.lab.visit(self._checks(), self.connection.resolve)

    # ------------------------------------------------------------------ progress

    def choose_path(self, step_id: str, path: str) -> None:
        with self._lock:
            self.progress.step(step_id).path = path
        self.save()

    def reveal_hint(self, step_id: str, total: int) -> int:
        with self._lock:
            saved = self.progress.step(step_id)
            saved.hints = min(saved.hints + 1, total)
            shown = saved.hints
        self.save()
        return shown

    def open_step(self, step_id: str | None) -> None:
        with self._lock:
            self.progress.current_step = step_id
        self.save()

    def save(self) -> None:
        """Write progress now (atomically); nothing to write before the target is known.

        A folder that cannot be written (read-only, full, not a folder) must not stop the
        guide (red-team P4): progress stays in memory for this session and the attendee is told
        once which file could not be written and why."""
        if self.store is None:
            return
        with self._lock:
            try:
                self.store.save(self.progress)
                return
            except OSError as exc:
                if self._unsaved_told:
                    return
                self._unsaved_told = True
                message = unsaved_message(self.store.path, exc)
        self.tell(message)  # outside the lock: the guide's notice may call back into it


def unsaved_message(path: Path, exc: OSError) -> str:
    """`cannot save progress: PATH: REASON`, naming the folder at fault when it is not the
    file itself (a parent that is a file, or cannot be created)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    culprit = getattr(exc, "filename", None)
    if culprit and Path(culprit) != path and not Path(culprit).name.endswith(".tmp"):
        reason = f"{culprit}: {reason}"
    return f"cannot save progress: {path}: {reason} (progress is kept until the guide closes)"


def workshop_of(content: LabContent) -> Workshop:
    """The workshop the home screen shows: the shipped one when it lists the lab, otherwise a
    workshop of this lab alone (a lab installed from elsewhere has no place in workshop.yaml)."""
    workshop = load_workshop()[0]
    if any(entry.id == content.lab.id for entry in workshop.labs):
        return workshop
    lab = content.lab
    entry = WorkshopLab(id=lab.id, title=lab.title, summary=lab.summary, role="guided", path=".")
    return Workshop(title=lab.title, summary=lab.summary, labs=[entry])
