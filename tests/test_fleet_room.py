"""The live room's history as data (mmtui.fleet.room): rounds, each attendee's current step and
time on it, counts per step, the completed series, saving and the exports. No AWS."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
from click.testing import CliRunner

from mmtui.cli.fleet import watch_command
from mmtui.exitcodes import ExitCode
from mmtui.fleet.room import (
    DONE,
    UNKNOWN,
    Column,
    Failing,
    Room,
    Round,
    Row,
    elapsed,
    history_path,
)
from tests.conftest import invoke

COLUMNS = [
    Column("3", "infrastructure", 1, "Infrastructure"),
    Column("3", "data-tier", 2, "Data tier"),
    Column("3", "checkpoint", None, "Checkpoint"),
]
T0 = 1_800_000_000.0


def room_of(*rounds: dict[str, str], names: tuple[str, ...] = ("ana", "ben", "cho")) -> Room:
    """A room whose round k starts at T0 + 60k, with rows given as cells (error rows: "!")."""
    room = Room(COLUMNS, list(names))
    for k, cells in enumerate(rounds):
        rows = {}
        for name, text in cells.items():
            if text == "!":
                rows[name] = Row(name, "...", "error", error="AccessDenied: not authorized")
            else:
                rows[name] = Row(name, text, "pass" if text == "ppp" else "fail", "210000000001")
        room.add(Round(T0 + 60 * k, rows))
    return room


def test_current_step_is_the_first_that_does_not_pass() -> None:
    room = room_of({"ana": "pff", "ben": "ppp", "cho": "!"})
    assert room.current("ana") == "3:data-tier"
    assert room.current("ben") == DONE
    assert room.current("cho") == UNKNOWN
    assert room.label(room.current("ana")) == "3.2"
    assert room.label("3:checkpoint") == "3.ckpt"


def test_time_on_step_counts_from_the_round_that_first_saw_them_there() -> None:
    room = room_of(
        {"ana": "fff", "ben": "fff", "cho": "!"},
        {"ana": "pff", "ben": "fff", "cho": "fff"},
        {"ana": "p~f", "ben": "!", "cho": "fff"},
        {"ana": "pff", "ben": "fff", "cho": "pff"},
    )
    now = T0 + 200
    # ana reached step 2 in round 1 (a pending check is still not passing).
    assert room.since("ana") == T0 + 60
    assert room.on_step_seconds("ana", now) == 140
    # ben has been on step 1 since round 0; the round that could not reach him does not count.
    assert room.since("ben") == T0
    # cho was unknown in round 0, on step 1 in rounds 1 and 2, on step 2 since round 3.
    assert room.since("cho") == T0 + 180
    assert room.on_step_seconds("nobody", now) is None


def test_counts_per_step_and_the_completed_series() -> None:
    room = room_of(
        {"ana": "fff", "ben": "pff", "cho": "!"},
        {"ana": "pff", "ben": "ppp", "cho": "pff"},
    )
    assert room.counts() == {"3:data-tier": 2, DONE: 1}
    assert room.completed() == [(T0, 1), (T0 + 60, 5)]
    assert room_of({"ana": "fff"}).counts() == {"3:infrastructure": 1, UNKNOWN: 2}


def test_sorting_and_filtering() -> None:
    room = room_of(
        {"ana": "fff", "ben": "fff", "cho": "fff"},
        {"ana": "pff", "ben": "fff", "cho": "!"},
        {"ana": "ppp", "ben": "fff", "cho": "pff"},
    )
    now = T0 + 300
    assert room.ordered(now) == ["ana", "ben", "cho"]
    # ben has been on step 1 for 300 s, cho on step 2 for 180 s (since round 2); ana is done.
    assert room.ordered(now, stuck_first=True) == ["ben", "cho", "ana"]
    assert room.ordered(now, errors_only=True) == []
    assert room_of({"ana": "fff", "cho": "!"}).ordered(now, errors_only=True) == ["cho"]
    assert room.ordered(now, name="BE") == ["ben"]


def test_history_round_trips_and_is_written_atomically(tmp_path: Path) -> None:
    room = room_of({"ana": "pff", "ben": "!"}, {"ana": "ppf"})
    room.rounds[0].rows["ana"].failing = Failing(
        "3:data-tier", "data.replica", "The replica exists", "fail", "no replica in us-east-1"
    )
    path = tmp_path / "rooms" / "room.json"
    room.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["room.json"]  # no temporary left
    again = Room(COLUMNS, ["ana", "ben", "cho"])
    assert again.load(path) is None
    assert again.to_json() == room.to_json()
    assert again.rounds[0].rows["ana"].failing == room.rounds[0].rows["ana"].failing
    assert again.since("ana") == T0 + 60


def test_each_round_is_appended_as_a_line_and_on_disk_before_save_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "room.jsonl"
    room = room_of({"ana": "pff"}, {"ana": "ppf"})
    room.save(path)
    first = path.read_bytes()
    inode = path.stat().st_ino
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(descriptor)
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)

    room.add(Round(T0 + 120, {"ana": Row("ana", "ppp", "pass")}))
    room.save(path)
    room.save(path)  # nothing new: nothing written

    data = path.read_bytes()
    assert data.startswith(first) and path.stat().st_ino == inode  # appended, not replaced
    lines = data.decode().splitlines()
    assert json.loads(lines[0]) == {"format": 2, "columns": [c.key for c in COLUMNS]}
    assert [json.loads(line)["at"] for line in lines[1:]] == [T0, T0 + 60, T0 + 120]
    assert len(synced) == 1
    # Read back by another room, which appends after what it read.
    again = Room(COLUMNS, ["ana"])
    assert again.load(path) is None and again.to_json() == room.to_json()
    again.add(Round(T0 + 180, {"ana": Row("ana", "ppp", "pass")}))
    again.save(path)
    assert path.read_bytes().startswith(data) and path.stat().st_ino == inode
    assert len(path.read_text().splitlines()) == 5


def test_a_last_round_cut_short_is_left_out_saying_so_and_the_next_save_mends_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "room.jsonl"
    room = room_of({"ana": "pff"}, {"ana": "ppf"})
    room.save(path)
    whole = path.read_bytes()
    # mmtui stopped halfway through appending the third round's line.
    third = json.dumps({"at": T0 + 120, "seconds": 1.0, "rows": {"ana": {"cells": "ppp"}}})
    path.write_bytes(whole + third[: len(third) // 2].encode())

    again = Room(COLUMNS, ["ana"])
    notice = again.load(path)
    assert notice is not None
    assert "ends in a round cut short" in notice and "2 rounds read, that one left out" in notice
    assert again.to_json() == room.to_json()
    assert path.exists() and not list(tmp_path.glob("*set-aside*"))  # read, not set aside
    # The next save writes the file whole again: no torn line left in its middle.
    again.add(Round(T0 + 180, {"ana": Row("ana", "ppp", "pass")}))
    again.save(path)
    lines = path.read_text().splitlines()
    assert [json.loads(line).get("at") for line in lines] == [None, T0, T0 + 60, T0 + 180]
    assert Room(COLUMNS, ["ana"]).load(path) is None


def test_a_history_of_the_previous_format_is_read_and_saved_anew(tmp_path: Path) -> None:
    room = room_of({"ana": "pff"}, {"ana": "ppf"})
    previous = tmp_path / "room.json"  # one document, rewritten whole each round
    legacy = {**room.to_json(), "format": 1}
    previous.write_text(json.dumps(legacy, separators=(",", ":")))
    path = tmp_path / "room.jsonl"

    again = Room(COLUMNS, ["ana"])
    assert again.load(path) is None
    assert again.to_json() == room.to_json()
    again.add(Round(T0 + 120, {"ana": Row("ana", "ppp", "pass")}))
    again.save(path)
    assert not previous.exists()
    assert len(path.read_text().splitlines()) == 4
    # In its own place too (a history saved at a path ending .json by an older mmtui).
    previous.write_text(json.dumps(legacy, indent=2))
    third = Room(COLUMNS, ["ana"])
    assert third.load(previous) is None and len(third.rounds) == 2


def test_a_line_spoilt_before_the_last_sets_the_history_aside(tmp_path: Path) -> None:
    path = tmp_path / "room.jsonl"
    room_of({"ana": "pff"}, {"ana": "ppf"}).save(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "{not a round", lines[2]]) + "\n")
    notice = Room(COLUMNS, ["ana"]).load(path)
    assert notice is not None and "set aside" in notice
    assert not path.exists() and len(list(tmp_path.glob("room.set-aside-*.jsonl"))) == 1


def test_a_history_of_other_steps_is_set_aside_not_read(tmp_path: Path) -> None:
    path = tmp_path / "room.json"
    room_of({"ana": "pff"}).save(path)
    other = Room(COLUMNS[:2], ["ana"])
    notice = other.load(path)
    assert notice is not None and "set aside" in notice
    assert other.rounds == []
    assert not path.exists() and len(list(tmp_path.glob("room.set-aside-*.json"))) == 1
    path.write_text("{not json")
    assert "set aside" in (Room(COLUMNS, ["ana"]).load(path) or "")
    assert Room(COLUMNS, ["ana"]).load(tmp_path / "missing.json") is None


def test_csv_and_json_exports() -> None:
    room = room_of({"ana": "fff", "ben": "!"}, {"ana": "p~f", "ben": "fff"})
    room.names.append("=cmd")
    room.add(Round(T0 + 120, {"=cmd": Row("=cmd", "fff", "fail")}))
    rows = list(csv.reader(io.StringIO(room.as_csv())))
    assert rows[0] == [
        "round", "at", "attendee", "account", "state", "current", "on_step_seconds",
        "steps_passed", "3:infrastructure", "3:data-tier", "3:checkpoint", "error",
    ]  # fmt: skip
    assert rows[1][:8] == [
        "1", "2027-01-15T08:00:00Z", "ana", "210000000001", "fail", "3.1", "0.0", "0"
    ]  # fmt: skip
    assert rows[1][8:11] == ["fail", "fail", "fail"]
    assert rows[2][2:6] == ["ben", "", "error", "?"] and rows[2][-1].startswith("AccessDenied")
    assert rows[3][2:] == [
        "ana", "210000000001", "fail", "3.2", "0.0", "1", "pass", "pending", "fail", ""
    ]  # fmt: skip
    assert rows[5][2] == "'=cmd"  # a spreadsheet shows it as text
    document = json.loads(room.as_json())
    assert [s["key"] for s in document["steps"]] == [c.key for c in COLUMNS]
    assert document["completed"] == [
        {"at": "2027-01-15T08:00:00Z", "steps_passed": 0},
        {"at": "2027-01-15T08:01:00Z", "steps_passed": 1},
        {"at": "2027-01-15T08:02:00Z", "steps_passed": 0},
    ]
    assert document["rows"][3]["cells"] == {
        "3:infrastructure": "fail", "3:data-tier": "fail", "3:checkpoint": "fail"
    }  # fmt: skip


def test_history_path_is_per_targets_file_and_labs(tmp_path: Path) -> None:
    one = history_path(tmp_path / "room.yaml", ["3"])
    assert one.parent.name == "rooms" and one.name.startswith("room-")
    assert one != history_path(tmp_path / "room.yaml", ["3", "4"])
    assert one != history_path(tmp_path / "other" / "room.yaml", ["3"])


# ---------------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--targets", "{tmp}/nope.yaml"], id="missing-file"),
        pytest.param(["--targets", "{tmp}/room.yaml", "--lab", "9"], id="no-such-lab"),
        pytest.param(["--targets", "{tmp}/room.yaml", "--lab", "1"], id="lab-not-guided"),
        pytest.param(["--targets", "{tmp}/bad.yaml"], id="bad-file"),
    ],
)
def test_bad_input_is_reported_as_fleet_check_reports_it(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "room.yaml").write_text("- name: ann\n  profile: p\n")
    (tmp_path / "bad.yaml").write_text("- name: ann\n  profile: p\n  colour: red\n")
    args = [arg.format(tmp=tmp_path) for arg in args]
    watched = invoke("fleet", "watch", *args)
    checked = invoke("fleet", "check", *args)
    assert watched.code == checked.code == ExitCode.USAGE
    assert watched.stderr == checked.stderr and watched.stderr.startswith("mmtui: ")
    assert watched.stdout == ""


def test_the_command_watches_every_guided_lab_or_the_one_named(tmp_path: Path) -> None:
    """What the command hands the screen (here a stand-in that records it): the attendees of
    the file, every lab workshop.yaml guides (or --lab's), the history's place, the interval."""
    path = tmp_path / "room.yaml"
    path.write_text("- name: ann\n  profile: p\n- name: bo\n  profile: q\n")
    opened: list[tuple[Any, Path, float]] = []

    def opener(watch: Any, history: Path, interval: float) -> NoReturn:
        opened.append((watch, history, interval))
        sys.exit(0)

    command = watch_command(opener)
    runner = CliRunner()
    assert runner.invoke(command, ["--targets", str(path)]).exit_code == 0
    result = runner.invoke(command, ["--targets", str(path), "--lab", "3", "--interval", "5"])
    assert result.exit_code == 0, result.output
    (every, history, interval), (one, history_3, interval_3) = opened
    assert [lab.id for lab in every.labs] == ["3", "4", "5"]
    assert [c.label for c in every.room.columns][:7] == [
        "3.1", "3.2", "3.3", "3.4", "3.5", "3.ckpt", "4.1"
    ]  # fmt: skip
    assert every.room.names == ["ann", "bo"] and interval == 30.0
    assert [lab.id for lab in one.labs] == ["3"] and interval_3 == 5.0
    assert history == history_path(path, ["3", "4", "5"]) != history_3


def test_elapsed_fits_a_grid_cell() -> None:
    assert [elapsed(s) for s in (None, 0, 59.9, 90, 3599, 3900)] == [
        "-", "0s", "59s", "1m30", "59m59", "1h05"
    ]  # fmt: skip


def test_a_round_row_from_an_outcome_over_every_lab() -> None:
    """An attendee's outcome over two labs (steps keyed lab:step): a cell per column, their
    state, account and identity, the first failing check in column order; an account that
    could not be reached has an error in every cell and says why."""
    from mmtui.engine.results import CheckResult, Status
    from mmtui.fleet.run import StepOutcome, TargetOutcome
    from mmtui.fleet.targets import Attendee
    from mmtui.fleet.watch import row_of
    from mmtui.target.spec import TargetSpec

    ana = Attendee("ana", TargetSpec("aws", "us-west-2", "us-east-1", profile="p"), None, "f:2")
    room = Room([*COLUMNS[:2], Column("4", "accelerator", 1, "Accelerator")], ["ana"])

    def step(key: str, status: Status, message: str) -> StepOutcome:
        check = CheckResult("c." + message, message.title(), "us-west-2", status, "", "", message)
        return StepOutcome(key, 1, key, status.value, status, [check])

    outcome = TargetOutcome(ana, account="210000000001", arn="arn:x", state="fail")
    outcome.steps = [
        step("3:infrastructure", Status.PASS, "ok"),
        step("3:data-tier", Status.PENDING, "wait"),
        step("4:accelerator", Status.FAIL, "no"),
    ]
    row = row_of(outcome, room)
    assert (row.cells, row.state, row.account, row.identity) == (
        "p~f",
        "fail",
        "210000000001",
        "arn:x",
    )
    assert row.failing == Failing("3:data-tier", "c.wait", "Wait", "pending", "wait")

    denied = TargetOutcome(ana, [StepOutcome("infrastructure", 1, "I")], state="error")
    denied.error = "AccessDenied"
    unreachable = row_of(denied, room)
    assert (unreachable.cells, unreachable.state, unreachable.error) == (
        "eee",
        "error",
        "AccessDenied",
    )
    assert not unreachable.reached and unreachable.has_error and unreachable.failing is None


def test_the_export_reads_time_on_a_step_as_the_room_does() -> None:
    """The export carries where each attendee stood forward in one pass; after every round it
    says what the room said at that round (unreachable rounds included)."""
    rounds = [
        {"ana": "fff", "ben": "fff", "cho": "!"},
        {"ana": "pff", "ben": "!", "cho": "fff"},
        {"ana": "p~f", "ben": "fff", "cho": "fff"},
        {"ana": "ppf", "ben": "ppp", "cho": "pff"},
    ]
    room = room_of(*rounds)
    exported = {(r["round"], r["attendee"]): r for r in room.export_rows()}
    for number in range(1, len(rounds) + 1):
        then = room_of(*rounds[:number])
        at = T0 + 60 * (number - 1)
        for name in ("ana", "ben", "cho"):
            item = exported[(number, name)]
            assert item["on_step_seconds"] == then.on_step_seconds(name, at), (number, name)
            assert item["current"] == then.label(then.current(name))
