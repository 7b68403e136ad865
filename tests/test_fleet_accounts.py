"""The fleet commands on a sandbox that hosts a room: twenty attendee accounts, each reached as
at a real event, by assuming the role `OrganizationAccountAccessRole` in it with the
instructor's keys (sandbox.env's) and the room's external id.

`mmtui fleet` runs as an instructor runs it: `python -m mmtui` in a process of its own, with a
targets file written here (the endpoint, each attendee's role ARN, external id and account id)
and sandbox.env's `MMTUI_RESOLVE_FILE` in its environment, over real HTTP to the session's
sandbox. The accounts are seeded once per session (`attendee_accounts`); each test starts from
that snapshot and makes the accounts differ on purpose, so that a row showing the right state
proves the engine read that account and no other.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmtui.exitcodes import ExitCode
from mmtui.sandbox.core.server import ENV_FILE
from mmtui.target.connect import parse_resolve, read_env_file
from tests.conftest import LAB3_STEPS, REPO, AttendeeSandbox, Result

Attendees = Callable[[int], AttendeeSandbox]

ROOM = 20
SOLVED = (0, 7, 13)
"""The attendees whose step 1 is solved before the room is checked: first, middle, late."""
SECONDARY = "us-east-1"
SECONDARY_STACK = "mm-secondary-region"
ABSENT_ACCOUNT = "299000000001"
"""An account the sandbox does not host."""
COLUMNS = ("prerequisites", *LAB3_STEPS)


# ---------------------------------------------------------------------- the room and its files


def name(index: int) -> str:
    return f"a{index:02d}"


def attendee(room: AttendeeSandbox, index: int, **overrides: str) -> dict[str, str]:
    """The entry of attendee `index`: their account's role and id (with the room's defaults)."""
    record = room.accounts[index]
    return {
        "name": name(index),
        "account_id": record.account_id,
        "role_arn": record.role_arn,
        **overrides,
    }


def room_entries(room: AttendeeSandbox) -> list[dict[str, str]]:
    return [attendee(room, index) for index in range(ROOM)]


def write_yaml(path: Path, room: AttendeeSandbox, entries: list[dict[str, str]]) -> Path:
    """A YAML targets file: the instructor's endpoint, keys and external id as the room's
    defaults, then the attendees (every value quoted, as account ids must be)."""
    base = room.sandbox.env()
    lines = [
        "defaults:",
        f"  endpoint_url: {room.url}",
        f"  access_key_id: {base['AWS_ACCESS_KEY_ID']}",
        f"  secret_access_key: {base['AWS_SECRET_ACCESS_KEY']}",
        f"  external_id: {room.external_id}",
        "attendees:",
    ]
    lines += [
        "  - {" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in e.items()) + "}" for e in entries
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_csv(path: Path, room: AttendeeSandbox, entries: list[dict[str, str]]) -> Path:
    """A CSV targets file: no defaults in CSV, so every row says everything."""
    base = room.sandbox.env()
    columns = ["name", "account_id", "endpoint_url", "role_arn", "external_id"]
    columns += ["access_key_id", "secret_access_key"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        row = {
            "endpoint_url": room.url,
            "access_key_id": base["AWS_ACCESS_KEY_ID"],
            "secret_access_key": base["AWS_SECRET_ACCESS_KEY"],
            **entry,
        }
        if "role_arn" in row:
            row.setdefault("external_id", room.external_id)
        writer.writerow(row)
    path.write_text(out.getvalue())
    return path


def fleet_env(room: AttendeeSandbox) -> dict[str, str]:
    """The instructor's shell: it sourced sandbox.env for the load balancers' names
    (MMTUI_RESOLVE_FILE), not for keys (the hermetic environment has none): the targets file
    says how to reach each account. PYTHONPATH: this checkout's mmtui. No COLUMNS (pytest-xdist
    sets 80): the output is piped, as into a file, and the table is as wide as it needs."""
    return {
        **{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "MMTUI_RESOLVE_FILE": str(room.sandbox.state_dir / ENV_FILE),
    }


def fleet(room: AttendeeSandbox, *commands: list[str]) -> list[Result]:
    """`python -m mmtui fleet ARGS` for each of `commands`, each in a process of its own, all
    started at once (as two instructors, or a script, may do): the results in that order."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mmtui", "fleet", *args],
            cwd=REPO,
            env=fleet_env(room),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        results.append(Result(process.returncode, stdout, stderr))
    return results


def parse_json(result: Result) -> dict[str, Any]:
    assert result.stdout, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["exit_code"] == result.code
    return document


def fleet_json(room: AttendeeSandbox, *args: str) -> tuple[int, dict[str, Any], str]:
    (result,) = fleet(room, [*args, "--format", "json"])
    return result.code, parse_json(result), result.stderr


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {target["name"]: target for target in document["targets"]}


def cells(target: dict[str, Any]) -> dict[str, str | None]:
    return {step["id"]: step["cell"] for step in target["steps"]}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def secondary_stack(room: AttendeeSandbox, account: str) -> dict[str, Any] | None:
    """The account's secondary stack, as the sandbox's own keys in that account see it."""
    stacks = room.sandbox.client("cloudformation", SECONDARY, account).describe_stacks()["Stacks"]
    found = [s for s in stacks if s["StackName"] == SECONDARY_STACK]
    return found[0] if found else None


def default_account_has_secondary_stack(room: AttendeeSandbox) -> bool:
    stacks = room.sandbox.client("cloudformation", SECONDARY).describe_stacks()["Stacks"]
    return any(s["StackName"] == SECONDARY_STACK for s in stacks)


def resolve_file_names(room: AttendeeSandbox) -> dict[str, str]:
    """Load balancer name → URL, as sandbox.env lists them now."""
    return parse_resolve(read_env_file(room.sandbox.state_dir / ENV_FILE)["MMTUI_RESOLVE"])


def solve_step_1(room: AttendeeSandbox, tmp_path: Path, indexes: tuple[int, ...]) -> None:
    """`fleet solve --through 1` on a file listing only these attendees."""
    path = write_yaml(tmp_path / "catch-up.yaml", room, [attendee(room, i) for i in indexes])
    code, document, stderr = fleet_json(room, "solve", "--targets", str(path), "--through", "1")
    assert code == ExitCode.OK, stderr
    for index, target in zip(indexes, document["targets"], strict=True):
        assert (target["name"], target["account"]) == (name(index), room.ids[index])
        assert (target["status"], cells(target)) == ("pass", {"infrastructure": "done"})
        assert target["steps"][0]["done"] == [f"deployed {SECONDARY_STACK} with IsSecondary=true"]


def table_rows(stdout: str) -> list[list[str]]:
    """The body rows of a rich table, cells stripped; a note folded over several lines is
    joined back into its row."""
    rows: list[list[str]] = []
    for line in stdout.splitlines():
        if not line.startswith("│"):
            continue
        row = [cell.strip() for cell in line.split("│")[1:-1]]
        if row[0]:
            rows.append(row)
        else:
            rows[-1][-1] = f"{rows[-1][-1]} {row[-1]}".strip()
    return rows


# ---------------------------------------------------------------------- check


def test_check_a_room_of_twenty_accounts_with_failing_targets(
    attendee_accounts: Attendees, tmp_path: Path
) -> None:
    """Step 1 is solved in three accounts; then one file lists the twenty attendees and three
    targets that fail (a wrong external id, a closed port, an account the sandbox does not
    have), interleaved. The JSON, the table and the CSV each show every attendee once, in the
    file's order, with their own account: prerequisites pass, step 1 passes exactly for the
    three, every other step fails, the failing targets say why in their row, and exit 3."""
    room = attendee_accounts(ROOM)
    ids = room.ids
    solve_step_1(room, tmp_path, SOLVED)
    assert not default_account_has_secondary_stack(room)  # each solve went to its own account

    port = closed_port()
    failing = {
        "typo": attendee(room, 4, name="typo", external_id="not-the-room-id"),
        "offline": attendee(room, 10, name="offline", endpoint_url=f"http://127.0.0.1:{port}"),
        "ghost": {
            "name": "ghost",
            "account_id": ABSENT_ACCOUNT,
            "role_arn": f"arn:aws:iam::{ABSENT_ACCOUNT}:role/OrganizationAccountAccessRole",
        },
    }
    entries = room_entries(room)
    entries.insert(17, failing["ghost"])
    entries.insert(11, failing["offline"])
    entries.insert(4, failing["typo"])
    order = [entry["name"] for entry in entries]
    assert len(order) == ROOM + 3 and order[4] == "typo" and order[-1] == name(ROOM - 1)
    path = write_yaml(tmp_path / "room.yaml", room, entries)

    # The three exports of one state, run side by side.
    exported, table, spreadsheet = fleet(
        room,
        ["check", "--targets", str(path), "--format", "json"],
        ["check", "--targets", str(path)],
        ["check", "--targets", str(path), "--format", "csv"],
    )

    # ------------------------------------------------------------ JSON
    assert exported.code == ExitCode.CREDENTIALS, exported.stderr
    document = parse_json(exported)
    assert (document["command"], document["status"]) == ("fleet check", "error")
    assert [step["id"] for step in document["steps"]] == list(COLUMNS)
    assert [target["name"] for target in document["targets"]] == order
    targets = by_name(document)

    catalogue: dict[str, list[str]] | None = None
    sites: set[str] = set()
    for index in range(ROOM):
        target = targets[name(index)]
        account = ids[index]
        solved = index in SOLVED
        assert (target["account"], target["expected_account"]) == (account, account)
        assert target["identity"] == (
            f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/mmtui-{name(index)}"
        )
        assert (target["status"], target["exit_code"], target["error"]) == ("fail", 1, None)
        assert cells(target) == {
            "prerequisites": "pass",
            "infrastructure": "pass" if solved else "fail",
            **dict.fromkeys(LAB3_STEPS[1:], "fail"),
        }, name(index)
        steps = {step["id"]: step for step in target["steps"]}
        # Every row is complete: every check of every step, the same checks for everyone.
        checks = {sid: [check["id"] for check in step["checks"]] for sid, step in steps.items()}
        assert all(checks.values()), checks
        catalogue = catalogue or checks
        assert checks == catalogue
        assert {c["status"] for c in steps["prerequisites"]["checks"]} == {"pass"}
        assert {c["status"] for c in steps["infrastructure"]["checks"]} == (
            {"pass"} if solved else {"fail"}
        )
        for step_id in LAB3_STEPS[1:]:
            assert "fail" in {c["status"] for c in steps[step_id]["checks"]}
            assert "error" not in {c["status"] for c in steps[step_id]["checks"]}

        # The checkpoint looked at this account's own secondary load balancer, found by its
        # name in the resolve file: it answers 503 (no images deployed there yet).
        site = next(c for c in steps["checkpoint"]["checks"] if c["id"].endswith("secondary_site"))
        if solved:
            stack = secondary_stack(room, account)
            assert stack is not None
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
            dns = outputs["SecondaryLoadBalancerDNS"]
            assert dns in resolve_file_names(room)
            assert f"http://{dns}/" in site["command"]
            sites.add(dns)
            assert (site["status"], site["observed"]) == ("fail", "HTTP 503")
        else:
            assert secondary_stack(room, account) is None
            assert (site["status"], site["observed"]) == ("fail", f"no stack {SECONDARY_STACK}")
    assert len(sites) == len(SOLVED)  # three accounts, three load balancers of their own

    typo, offline, ghost = (targets[n] for n in ("typo", "offline", "ghost"))
    assert (typo["status"], typo["exit_code"]) == ("error", 3)
    assert typo["error"].startswith(
        f"sts:AssumeRole of {room.accounts[4].role_arn} failed: AccessDenied"
    )
    assert typo["error"].endswith("(is the external id right?)")
    assert (ghost["status"], ghost["exit_code"]) == ("error", 3)
    assert ghost["error"].startswith(
        f"sts:AssumeRole of arn:aws:iam::{ABSENT_ACCOUNT}:role/OrganizationAccountAccessRole "
        "failed: AccessDenied"
    )
    assert (offline["status"], offline["exit_code"]) == ("error", 4)
    assert offline["error"] == f"cannot reach http://127.0.0.1:{port}/: is the endpoint running?"
    for target in (typo, offline, ghost):
        assert target["account"] is None and target["identity"] is None
        assert set(cells(target).values()) == {None}
        assert all(step["checks"] == [] for step in target["steps"])

    assert document["summary"] == {
        "targets": ROOM + 3,
        "pass": 0,
        "fail": ROOM,
        "error": 3,
        "refused": 0,
        "planned": 0,
        "steps": {
            "prerequisites": {"pass": ROOM},
            "infrastructure": {"fail": ROOM - len(SOLVED), "pass": len(SOLVED)},
            **{step: {"fail": ROOM} for step in LAB3_STEPS[1:]},
        },
    }
    # Progress: one line per target on stderr.
    progress = [line for line in exported.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == ROOM + 3
    assert progress[-1].startswith(f"[{ROOM + 3}/{ROOM + 3}] ")

    # ------------------------------------------------------------ the table
    assert table.code == ExitCode.CREDENTIALS, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == f"Lab 3 on {ROOM + 3} targets"
    header = next(line for line in lines if "attendee" in line)
    assert [cell.strip() for cell in header.split("┃")[1:-1]] == [
        "attendee",
        "account",
        "0-2",
        *"12345",
        "ckpt",
        "note",
    ]
    rows = table_rows(table.stdout)
    assert [row[0] for row in rows] == order  # each attendee once, in the file's order
    for row in rows:
        if row[0] in failing:
            assert row[1:9] == ["-", *[""] * 7], row
            continue
        index = int(row[0][1:])
        mark = "✔" if index in SOLVED else "✘"
        assert row[1:] == [ids[index], "✔", mark, *["✘"] * 5, ""], row
    notes = {row[0]: row[-1] for row in rows if row[0] in failing}
    assert "AccessDenied" in notes["typo"] and "external id" in notes["typo"]
    assert "AccessDenied" in notes["ghost"] and ABSENT_ACCOUNT in notes["ghost"]
    assert "cannot reach" in notes["offline"]
    assert lines[-1] == f"{ROOM + 3} targets: {ROOM} fail, 3 error"

    # ------------------------------------------------------------ CSV
    assert spreadsheet.code == ExitCode.CREDENTIALS, spreadsheet.stderr
    parsed = list(csv.reader(io.StringIO(spreadsheet.stdout)))
    assert parsed[0] == ["name", "account_id", "status", *COLUMNS, "error"]
    assert [row[0] for row in parsed[1:]] == order
    for row in parsed[1:]:
        if row[0] in failing:
            assert row[1:10] == ["", "error", *[""] * 7]
            assert row[10] == " ".join(targets[row[0]]["error"].split())
            continue
        index = int(row[0][1:])
        step_1 = "pass" if index in SOLVED else "fail"
        assert row[1:] == [ids[index], "fail", "pass", step_1, *["fail"] * 5, ""], row


# ---------------------------------------------------------------------- reset


def test_reset_guarded_by_account_ids(attendee_accounts: Attendees, tmp_path: Path) -> None:
    """A reset of step 1 over the room, where one entry's keys lead to another account than
    the one the file names: that row is refused (exit 3) and its account kept as it was; the
    others are reset. The plan, without --yes or with --dry-run, changes nothing."""
    room = attendee_accounts(ROOM)
    ids = room.ids
    solve_step_1(room, tmp_path, SOLVED)
    first, second, mixed = SOLVED

    # The attendee of `mixed` handed in the keys of their own IAM user, but the instructor's
    # file names their neighbour's account: the keys lead to `mixed`'s account, which has
    # step 1 solved, and a reset there would delete it.
    iam = room.session(ids[mixed]).client("iam", endpoint_url=room.url)
    iam.create_user(UserName="attendee")
    keys = iam.create_access_key(UserName="attendee")["AccessKey"]
    mixup = {
        "name": name(mixed),
        "account_id": ids[mixed + 1],
        "access_key_id": keys["AccessKeyId"],
        "secret_access_key": keys["SecretAccessKey"],
    }
    entries = room_entries(room)
    entries[mixed] = mixup
    path = write_csv(tmp_path / "reset.csv", room, entries)

    def stacks() -> dict[int, bool]:
        return {i: secondary_stack(room, ids[i]) is not None for i in SOLVED}

    # A role's ARN that names another account than account_id is the file's own mistake:
    # FILE:LINE, and nothing runs.
    wrong_role = [*entries[:mixed], attendee(room, mixed, account_id=ids[mixed + 1])]
    bad_path = write_csv(tmp_path / "bad.csv", room, wrong_role)
    reset = ["reset", "--targets", str(path), "--step", "1"]
    bad, *plans = fleet(
        room, ["reset", "--targets", str(bad_path), "--yes"], [*reset, "--dry-run"], reset
    )
    assert bad.code == ExitCode.USAGE
    assert bad.stdout == ""
    assert bad.stderr.startswith(
        f"mmtui: {bad_path}:{mixed + 2}: {name(mixed)}: role_arn is in account "
        f"{ids[mixed]} but account_id says {ids[mixed + 1]}"
    )

    refused_note = (
        f"refused: the credentials lead to account {ids[mixed]}, but the targets file says "
        f"{ids[mixed + 1]}: not touched"
    )
    for plan, dry_run in zip(plans, (True, False), strict=True):
        assert plan.code == ExitCode.CREDENTIALS, plan.stderr  # the refused row wins
        lines = plan.stdout.splitlines()
        assert lines[0] == "plan:"
        # The combined plan, target by target in the file's order.
        heads = [line for line in lines[1:] if line.startswith("  ") and line[2] != " "]
        assert len(heads) == ROOM
        for index, head in enumerate(heads):
            if index == mixed:
                assert head == f"  {name(index)} ({ids[index]}): {refused_note}"
            elif index in SOLVED:
                assert head == f"  {name(index)} ({ids[index]}):"
            else:
                assert head == f"  {name(index)} ({ids[index]}): nothing to reset"
        actions = [line for line in lines if line.startswith("    ")]
        assert (
            actions.count(f"    infrastructure: delete stack {SECONDARY_STACK} ({SECONDARY})") == 2
        )
        assert all(line.startswith("    infrastructure: ") for line in actions)
        assert f"Lab 3 reset plan on {ROOM} targets" in lines
        if not dry_run:
            assert "nothing was changed: this is the plan; pass --yes to reset 2 targets" in (
                plan.stderr
            )
        assert stacks() == dict.fromkeys(SOLVED, True)

    code, document, stderr = fleet_json(room, *reset, "--yes")
    assert code == ExitCode.CREDENTIALS, stderr
    assert [target["name"] for target in document["targets"]] == [name(i) for i in range(ROOM)]
    targets = by_name(document)
    for index in range(ROOM):
        target = targets[name(index)]
        if index == mixed:
            assert (target["status"], target["exit_code"]) == ("refused", 3)
            assert f"refused: {target['error']}" == refused_note
            assert target["account"] == ids[mixed]
            assert target["steps"][0]["done"] == [] and target["steps"][0]["plan"] == []
            continue
        assert (target["account"], target["status"], target["exit_code"]) == (ids[index], "pass", 0)
        if index in SOLVED:
            assert cells(target) == {"infrastructure": "reset"}
            assert target["steps"][0]["done"][-1] == f"deleted {SECONDARY_STACK}"
            assert target["steps"][0]["left"] == []
        else:
            assert cells(target) == {"infrastructure": "nothing"}
            assert target["steps"][0]["done"] == []
    assert document["summary"]["pass"] == ROOM - 1 and document["summary"]["refused"] == 1
    assert stacks() == {first: False, second: False, mixed: True}
    # Their load balancers are gone from the resolve file; the refused account's is not.
    names = resolve_file_names(room)
    assert [n for n in names if n.startswith("alb-mm-secondary-region-")] == [
        o["OutputValue"]
        for o in (secondary_stack(room, ids[mixed]) or {})["Outputs"]
        if o["OutputKey"] == "SecondaryLoadBalancerDNS"
    ]

    # And the room, checked again: step 1 fails again where it was reset, and passes only in
    # the account whose row was refused.
    room_file = write_yaml(tmp_path / "room.yaml", room, room_entries(room))
    (check,) = fleet(room, ["check", "--targets", str(room_file), "--step", "1", "--format", "csv"])
    assert check.code == ExitCode.CHECK_FAILED, check.stderr
    rows = list(csv.reader(io.StringIO(check.stdout)))
    assert rows[0] == ["name", "account_id", "status", "infrastructure", "error"]
    assert rows[1:] == [
        [name(i), ids[i], "pass" if i == mixed else "fail", "pass" if i == mixed else "fail", ""]
        for i in range(ROOM)
    ]
