"""A fleet run for people (a table of attendee x step), for scripts (JSON) and spreadsheets (CSV).

Cells say where each attendee stands on each step: for `check` the step's status (pass, fail,
pending, error); for `solve` `done` when mmtui did something and the step now passes, otherwise
the step's status after the solve; for `reset` `N planned` or `nothing` (a plan), `reset`,
`left N` or `error` (after running it). A target that could not be worked on has empty cells and
its reason in the last column, or under the table on a terminal too narrow for that column.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

from mmtui.exitcodes import ExitCode
from mmtui.fleet.run import Job, TargetOutcome


def short_header(job: Job, step_id: str, number: int | None) -> str:
    """A column's header: the step's number, the lab's short name for its prerequisites, or
    `ckpt` for a checkpoint."""
    from mmtui.engine.checks import PREREQUISITES_ID

    if step_id == PREREQUISITES_ID:
        return job.lab.prerequisites_short
    if number is not None:
        return str(number)
    kinds = {step.id: step.kind for step in job.content.lab.steps}
    return "ckpt" if kinds.get(step_id) == "checkpoint" else step_id


_STYLE = {
    "pass": "green",
    "done": "green",
    "reset": "green",
    "nothing": "dim",
    "fail": "red",
    "pending": "yellow",
    "error": "magenta",
}
_MARK = {"pass": "✔", "fail": "✘", "pending": "…", "error": "!", "nothing": "·"}
"""Statuses shown as one mark in the table (the legend below it says which); words otherwise."""
NOTE_MIN_WIDTH = 20
"""A terminal too narrow to give the note column this much prints the notes under the table."""
STATE_STYLE = {
    "pass": "green",
    "fail": "red",
    "error": "magenta",
    "refused": "magenta",
    "planned": "cyan",
}


def overall_status(code: ExitCode) -> str:
    if code == ExitCode.OK:
        return "pass"
    return "fail" if code == ExitCode.CHECK_FAILED else "error"


def summary(job: Job, outcomes: list[TargetOutcome]) -> dict[str, Any]:
    states = Counter(outcome.state for outcome in outcomes)
    steps: dict[str, dict[str, int]] = {}
    for step_id, _, _ in job.columns:
        cells = Counter(
            cell for outcome in outcomes if (cell := _cell(outcome, step_id)) and cell != ""
        )
        steps[step_id] = dict(sorted(cells.items()))
    counts: dict[str, Any] = {"targets": len(outcomes)}
    for state in ("pass", "fail", "error", "refused", "planned"):
        counts[state] = states.get(state, 0)
    counts["steps"] = steps
    return counts


def _cell(outcome: TargetOutcome, step_id: str) -> str:
    step = outcome.step(step_id)
    return step.cell if step is not None else ""


# ---------------------------------------------------------------------- JSON


def as_json(job: Job, outcomes: list[TargetOutcome], code: ExitCode) -> str:
    acting = job.command != "check"
    targets = []
    for outcome in outcomes:
        attendee = outcome.attendee
        steps = []
        for step in outcome.steps:
            item: dict[str, Any] = {
                "id": step.id,
                "number": step.number,
                "title": step.title,
                "cell": step.cell or None,
                "status": step.status.value if step.status is not None else None,
                "checks": [check.to_json() for check in step.checks],
            }
            if acting:
                item["done"] = step.done
            if job.command == "reset":
                item["plan"] = step.plan
                item["left"] = step.left
            steps.append(item)
        targets.append(
            {
                "name": attendee.name,
                "account": outcome.account,
                "expected_account": attendee.account_id,
                "identity": outcome.arn,
                "way_in": attendee.way_in,
                "primary_region": attendee.spec.primary_region,
                "secondary_region": attendee.spec.secondary_region,
                "names": attendee.spec.name_overrides,
                "status": outcome.state,
                "exit_code": int(outcome.exit_code),
                "error": outcome.error,
                "seconds": round(outcome.seconds, 3),
                "workspace": str(outcome.workspace) if outcome.workspace else None,
                "steps": steps,
                "log": outcome.log,
            }
        )
    document = {
        "command": f"fleet {job.command}",
        "lab": job.content.lab.id,
        "status": overall_status(code),
        "exit_code": int(code),
        "summary": summary(job, outcomes),
        "steps": [{"id": i, "number": n, "title": t} for i, n, t in job.columns],
        "targets": targets,
    }
    return json.dumps(document, indent=2)


# ---------------------------------------------------------------------- CSV


def as_csv(job: Job, outcomes: list[TargetOutcome]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    step_ids = [step_id for step_id, _, _ in job.columns]
    writer.writerow(["name", "account_id", "status", *step_ids, "error"])
    for outcome in outcomes:
        writer.writerow(
            [
                inert(outcome.attendee.name),
                outcome.account or "",
                outcome.state,
                *(_cell(outcome, step_id) for step_id in step_ids),
                inert(" ".join((outcome.error or "").split())),
            ]
        )
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection)."""


def inert(cell: str) -> str:
    """A free-text cell a spreadsheet shows as text: one that would start a formula gets a
    leading `'` (OWASP's advice; spreadsheets hide it). Only the names and errors are free
    text; the other cells are mmtui's own words, digits or nothing."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


# ---------------------------------------------------------------------- for people


def print_plan(outcomes: list[TargetOutcome], console: Any) -> None:
    """The combined plan of a reset, target by target."""
    from rich.markup import escape

    def say(line: str) -> None:
        console.print(line, soft_wrap=True)  # one line per action, however long

    say("plan:")
    for outcome in outcomes:
        who = escape(outcome.attendee.name) + (f" ({outcome.account})" if outcome.account else "")
        if outcome.state in ("error", "refused"):
            say(f"  {who}: [magenta]{outcome.state}: {escape(outcome.error or '')}[/]")
            continue
        lines = [f"{step.id}: {action}" for step in outcome.steps for action in step.plan]
        if not lines:
            say(f"  {who}: nothing to reset")
            continue
        say(f"  {who}:")
        for line in lines:
            say(f"    {escape(line)}")


def print_table(job: Job, outcomes: list[TargetOutcome], console: Any) -> None:
    from rich.cells import cell_len
    from rich.markup import escape
    from rich.table import Table

    title = {
        "check": "Lab {lab} on {n} targets",
        "solve": "Lab {lab} solved on {n} targets",
        "reset": "Lab {lab} reset on {n} targets",
    }[job.command].format(lab=job.content.lab.id, n=len(outcomes))
    if job.command == "reset" and not job.act:
        title = f"Lab {job.content.lab.id} reset plan on {len(outcomes)} targets"
    headers = [short_header(job, step_id, number) for step_id, number, _ in job.columns]
    rows: list[tuple[str, str, list[tuple[str, str]], str, str]] = []
    for outcome in outcomes:
        cells = []
        for step_id, _, _ in job.columns:
            cell = _cell(outcome, step_id)
            key = cell.split()[0] if cell else ""
            style = _STYLE.get(key, "cyan" if "planned" in cell or "left" in cell else "")
            cells.append((_MARK.get(cell, cell), style))
        note = outcome.error or ""
        if outcome.state == "refused":
            note = f"refused: {note}"
        note_style = STATE_STYLE.get(outcome.state, "")
        shown_note = f"[{note_style}]{escape(note)}[/]" if note and note_style else escape(note)
        rows.append((outcome.attendee.name, outcome.account or "-", cells, note, shown_note))

    # Every column but the note's keeps its text on one line: the note gets what is left of
    # the terminal, folded, or goes under the table when that is too little (a long name on
    # an 80-column terminal), never cut off at the edge.
    widths = [
        max(cell_len(text) for text in ("attendee", *(row[0] for row in rows))),
        max([12, *(cell_len(row[1]) for row in rows)]),
        *(
            max([cell_len(header), *(cell_len(row[2][i][0]) for row in rows)])
            for i, header in enumerate(headers)
        ),
    ]
    left = console.width - sum(width + 3 for width in widths) - 4  # padding and borders
    notes_inside = left >= NOTE_MIN_WIDTH or not any(row[3] for row in rows)

    table = Table(expand=False, show_lines=False)
    table.add_column("attendee", no_wrap=True)
    table.add_column("account", no_wrap=True, min_width=12)
    for header in headers:
        table.add_column(header, no_wrap=True, justify="left")
    if notes_inside:
        table.add_column("note", overflow="fold", max_width=80)
    for name, account, cells, _, shown_note in rows:
        shown = [f"[{c}]{escape(t)}[/]" if c and t else escape(t) for t, c in cells]
        if notes_inside:
            shown.append(shown_note)
        table.add_row(escape(name), account, *shown)
    console.print(title, soft_wrap=True)
    console.print(table)
    if not notes_inside:
        console.print("notes:", soft_wrap=True)
        for name, _, _, note, shown_note in rows:
            if note:
                console.print(f"  {escape(name)}: {shown_note}", soft_wrap=True)
    legend = ", ".join(f"{short_header(job, i, n)} {i}" for i, n, _ in job.columns)
    counts = summary(job, outcomes)
    parts = [
        f"{counts[state]} {state}"
        for state in ("pass", "fail", "error", "refused", "planned")
        if counts[state]
    ]
    marks = "  ".join(f"{mark} {word}" for word, mark in _MARK.items() if word != "nothing")
    if job.command == "solve":
        marks += "  done: solved by this run"
    elif job.command == "reset" and job.act:
        marks = "reset: reset by this run  · nothing to reset  left N: still there  ! error"
    elif job.command == "reset":
        marks = "N planned: actions in the plan above  · nothing to reset"
    console.print(f"steps: {legend}", soft_wrap=True)
    console.print(marks, soft_wrap=True)
    console.print(f"{len(outcomes)} targets: {', '.join(parts)}", soft_wrap=True)
