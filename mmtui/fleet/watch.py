"""Running the live room: rounds of `fleet check` over every attendee, and the instructor's
actions on one attendee (solve their step, catch them up, plan and run a reset).

The same fleet runner as `fleet check`, `solve` and `reset` (mmtui.fleet.run): the same
concurrency, the same account-id guard, one target's failure never stopping the others. Each
call blocks; the front end runs it off its UI thread and never runs two rounds at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from mmtui.content.loader import LabContent
from mmtui.content.model import Step
from mmtui.engine.plugin import LabPlugin
from mmtui.engine.results import CheckResult, Status
from mmtui.fleet.room import CODES, Column, Failing, Room, Round, Row
from mmtui.fleet.run import Command, Fleet, Hooks, Job, TargetOutcome
from mmtui.fleet.targets import Attendee


@dataclass(frozen=True)
class WatchedLab:
    plugin: LabPlugin
    content: LabContent

    @property
    def id(self) -> str:
        return self.content.lab.id


_STATE_RANK = {"pass": 0, "fail": 1, "error": 2, "refused": 3}


class Watch:
    """The room's labs, attendees and history, and the calls that fill it."""

    def __init__(
        self,
        labs: list[WatchedLab],
        attendees: list[Attendee],
        concurrency: int = 16,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.labs = labs
        self.attendees = attendees
        self.concurrency = concurrency
        self.clock = clock
        columns = [
            Column(lab.id, step.id, step.number, step.title)
            for lab in labs
            for step in lab.content.lab.steps
        ]
        self.room = Room(columns, [attendee.name for attendee in attendees])
        self.checks: dict[str, dict[str, list[CheckResult]]] = {}
        """Attendee → column key → their checks as the latest round that reached them saw
        them (kept in memory only: the history keeps the first failing check)."""

    def attendee(self, name: str) -> Attendee:
        return next(a for a in self.attendees if a.name == name)

    def overrides(self, name: str) -> dict[str, str]:
        """The attendee's own names and regions, for rendering the lab's text as they see it."""
        spec = self.attendee(name).spec
        return {
            **spec.name_overrides,
            "primary_region": spec.primary_region,
            "secondary_region": spec.secondary_region,
        }

    def lab_of(self, column_key: str) -> tuple[WatchedLab, Step]:
        column = self.room.column(column_key)
        if column is None:
            raise KeyError(column_key)
        lab = next(lab for lab in self.labs if lab.id == column.lab)
        return lab, lab.content.step(column.step_id)

    # ------------------------------------------------------------------ rounds

    def check_round(self) -> Round:
        """One look at the whole room (every lab's checks in every account), added to the
        history and returned."""
        started = self.clock()
        began = time.perf_counter()
        rows = {a.name: Row(a.name, "." * len(self.room.columns)) for a in self.attendees}
        offset = 0
        for lab in self.labs:
            steps = list(lab.content.lab.steps)
            job = Job("check", lab.plugin, lab.content, steps)
            outcomes = Fleet(job, self.concurrency).run(self.attendees)
            for outcome in outcomes:
                merge(rows[outcome.attendee.name], outcome, lab.id, offset)
                if outcome.account is not None and outcome.state != "error":
                    mine = self.checks.setdefault(outcome.attendee.name, {})
                    for step in outcome.steps:
                        mine[f"{lab.id}:{step.id}"] = step.checks
            offset += len(steps)
        round_ = Round(started, rows, time.perf_counter() - began)
        self.room.add(round_)
        return round_

    # ------------------------------------------------------------------ actions

    def _run(
        self,
        command: Command,
        lab: WatchedLab,
        steps: list[Step],
        name: str,
        log: Callable[[str], None],
        act: bool = False,
    ) -> TargetOutcome:
        job = Job(command, lab.plugin, lab.content, steps, act=act)
        hooks = Hooks(logged=lambda _attendee, line: log(line))
        (outcome,) = Fleet(job, 1, hooks).run([self.attendee(name)])
        return outcome

    def solve(
        self, name: str, column_key: str, log: Callable[[str], None], through: bool = False
    ) -> TargetOutcome:
        """Solve one step of the attendee's (or, `through`, every step of its lab up to it)."""
        lab, step = self.lab_of(column_key)
        steps = list(lab.content.lab.steps)
        chosen = steps[: steps.index(step) + 1] if through else [step]
        return self._run("solve", lab, chosen, name, log)

    def reset_plan(self, name: str, column_key: str) -> TargetOutcome:
        """What a reset of the step would do in the attendee's account (nothing is changed);
        refused, as in `fleet reset`, unless the targets file names their account and the
        credentials lead there."""
        lab, step = self.lab_of(column_key)
        return self._run("reset", lab, [step], name, lambda _line: None)

    def reset(self, name: str, column_key: str, log: Callable[[str], None]) -> TargetOutcome:
        lab, step = self.lab_of(column_key)
        return self._run("reset", lab, [step], name, log, act=True)


def merge(row: Row, outcome: TargetOutcome, lab_id: str, offset: int) -> None:
    """One lab's check outcome into the attendee's row of the round."""
    cells = list(row.cells)
    for index, step in enumerate(outcome.steps):
        if step.status is not None:
            cells[offset + index] = CODES[step.status.value]
        elif outcome.state in ("error", "refused"):
            cells[offset + index] = "e"
    row.cells = "".join(cells)
    if _STATE_RANK.get(outcome.state, 1) > _STATE_RANK.get(row.state, 1) or offset == 0:
        row.state = outcome.state
    row.account = row.account or outcome.account
    row.identity = row.identity or outcome.arn
    if outcome.error and row.error is None:
        row.error = outcome.error
    if row.failing is None:
        for step in outcome.steps:
            check = next((c for c in step.checks if c.status != Status.PASS), None)
            if check is not None:
                row.failing = Failing(
                    f"{lab_id}:{step.id}", check.id, check.title, check.status.value, check.message
                )
                break


def try_line(lab: WatchedLab, step: Step, check_id: str, overrides: dict[str, str]) -> str | None:
    """The check's hint (what to try), in the attendee's names; None when it has none."""
    from mmtui.content.render import render

    hint = next((check.hint for check in step.checks if check.name == check_id), None)
    if not hint:
        return None
    return render(hint, lab.content.names(overrides)).strip()
