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
from typing import Any

from mmtui.content.loader import LabContent
from mmtui.content.model import Step
from mmtui.engine.plugin import LabPlugin
from mmtui.engine.results import CheckResult, Status, StepResult
from mmtui.fleet import DEFAULT_CONCURRENCY
from mmtui.fleet.room import CODES, Column, Failing, Room, Round, Row
from mmtui.fleet.run import Command, Fleet, Hooks, Job, StepOutcome, TargetOutcome
from mmtui.fleet.targets import Attendee
from mmtui.target.pool import ClientPool


@dataclass(frozen=True)
class WatchedLab:
    plugin: LabPlugin
    content: LabContent

    @property
    def id(self) -> str:
        return self.content.lab.id


class Watch:
    """The room's labs, attendees and history, and the calls that fill it."""

    def __init__(
        self,
        labs: list[WatchedLab],
        attendees: list[Attendee],
        concurrency: int = DEFAULT_CONCURRENCY,
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
        self.clients = ClientPool()
        """Every round's and action's clients: made in the first round, reused by the next."""
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
        outcomes = RoomFleet(self.labs, self.concurrency, self.clients).run(self.attendees)
        rows = {outcome.attendee.name: row_of(outcome, self.room) for outcome in outcomes}
        # Filled aside and swapped in whole: the screen reads the last one meanwhile.
        checks = {name: dict(seen) for name, seen in self.checks.items()}
        for outcome in outcomes:
            if outcome.state not in ("error", "refused"):
                checks[outcome.attendee.name] = {step.id: step.checks for step in outcome.steps}
        round_ = Round(started, rows, time.perf_counter() - began)
        self.checks = checks
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
        (outcome,) = Fleet(job, 1, hooks, self.clients).run([self.attendee(name)])
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


class RoomFleet(Fleet):
    """`fleet check` over several labs at once: each attendee's account is reached once per
    round (one connection, one role assumed, one identity guard) and every lab's checks run in
    it; a step's outcome is keyed `lab:step`, as the room's columns are."""

    def __init__(
        self, labs: list[WatchedLab], concurrency: int, clients: ClientPool | None = None
    ) -> None:
        first = labs[0]
        super().__init__(
            Job("check", first.plugin, first.content, []), concurrency, clients=clients
        )
        self.labs = labs

    def run(self, attendees: list[Attendee]) -> list[TargetOutcome]:
        for lab in self.labs:  # once, before the threads, as Fleet.run does for its lab
            lab.plugin.checks, lab.plugin.tasks  # noqa: B018
        return super().run(attendees)

    def _check(self, connection: Any, outcome: TargetOutcome) -> None:
        from mmtui.engine.checks import run_checks
        from mmtui.engine.context import CheckContext

        results: list[StepResult] = []
        outcome.steps = []
        for lab in self.labs:
            context = CheckContext.for_target(connection, lab.content, lab.plugin)
            steps = list(lab.content.lab.steps)
            for result in run_checks(
                context,
                steps,
                prerequisites=False,
                workers=self.check_workers,
                first=self.first_check(outcome.attendee),
            ):
                status = result.status
                outcome.steps.append(
                    StepOutcome(f"{lab.id}:{result.id}", result.number, result.title, status.value)
                )
                outcome.steps[-1].status, outcome.steps[-1].checks = status, result.checks
                results.append(result)
        # The cells are set above; this gives the target its state, exit code and error as
        # `fleet check` does (its own step lookup finds none of the keyed ids).
        self._record_checks(outcome, results)


def row_of(outcome: TargetOutcome, room: Room) -> Row:
    """An attendee's row of the round from their outcome over every lab."""
    by_key = {step.id: step for step in outcome.steps}
    unreached = outcome.state in ("error", "refused") and not any(
        step.status is not None for step in outcome.steps
    )
    cells = []
    failing: Failing | None = None
    for column in room.columns:
        step = by_key.get(column.key)
        if step is None or step.status is None:
            cells.append("e" if unreached else ".")
            continue
        cells.append(CODES[step.status.value])
        check = next((c for c in step.checks if c.status != Status.PASS), None)
        if check is not None and failing is None:
            failing = Failing(column.key, check.id, check.title, check.status.value, check.message)
    return Row(
        outcome.attendee.name,
        "".join(cells),
        outcome.state,
        outcome.account,
        outcome.arn,
        outcome.error,
        failing,
    )


def try_line(lab: WatchedLab, step: Step, check_id: str, overrides: dict[str, str]) -> str | None:
    """The check's hint (what to try), in the attendee's names; None when it has none."""
    from mmtui.content.render import render

    hint = next((check.hint for check in step.checks if check.name == check_id), None)
    if not hint:
        return None
    return render(hint, lab.content.names(overrides)).strip()
