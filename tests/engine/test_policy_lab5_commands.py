"""`mmtui policy load` and `mmtui policy drill`: the least-privilege policies of Lab 5's own
commands, proven as `mmtui policy cleanup` is (tests/test_cleanup.py).

Each command runs where Lab 5 begins (Lab 4 done) through a role that carries exactly the printed
JSON, which the sandbox enforces (the role is tagged `mmtui:enforce-iam`): it succeeds, and
every AWS call it makes is recorded, which must be the declared actions exactly (no action
granted for nothing). With one action removed, the command stops with exit 3 and AWS's
access-denied message naming that action.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mmtui.exitcodes import ExitCode
from mmtui.iam_actions import NEEDS_NO_PERMISSION
from mmtui.labs.lab5.command_permissions import DRILL, DRILL_BREAKS, LOAD
from mmtui.labs.lab5.drill import DrillOptions
from mmtui.sandbox.behaviours.iam_enforcement import ENFORCE_TAG
from mmtui.sandbox.core.server import Sandbox
from tests.conftest import Result, assume_role, cli_target, invoke
from tests.engine.test_lab5 import dials
from tests.engine.test_permissions_declared import Recorder, recording_clients

GA = "us-west-2"
REGIONS = ["us-west-2", "us-east-1"]


def printed(mode: str, *args: str) -> dict[str, Any]:
    result = invoke("policy", mode, *args)
    assert result.code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def granted(document: dict[str, Any]) -> list[str]:
    return [a for statement in document["Statement"] for a in statement["Action"]]


def without(document: dict[str, Any], action: str) -> dict[str, Any]:
    """`document` less `action` (a statement left empty goes; a policy left with no statement
    grants only what needs no permission, since IAM refuses a policy without one)."""
    statements = [
        {**s, "Action": [a for a in s["Action"] if a != action]} for s in document["Statement"]
    ]
    statements = [s for s in statements if s["Action"]] or [
        {"Effect": "Allow", "Action": sorted(NEEDS_NO_PERMISSION), "Resource": "*"}
    ]
    return {**document, "Statement": statements}


class Roles:
    """Enforced roles in the sandbox's own account (where `lab4_done` built Labs 3 and 4), and
    this process's AWS keys switched to a session of one."""

    def __init__(self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sandbox, self.monkeypatch = sandbox, monkeypatch

    def act_as(self, name: str, document: dict[str, Any]) -> None:
        iam = self.sandbox.client("iam", "us-east-1")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.sandbox.account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Tags=[{"Key": ENFORCE_TAG, "Value": "true"}],
        )["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=name, PolicyName="granted", PolicyDocument=json.dumps(document)
        )
        keys = assume_role(self.sandbox.url, self.sandbox.env(), arn, session_name="attendee")
        for key, value in keys.items():
            self.monkeypatch.setenv(key, value)


@pytest.fixture
def lab5_ready(lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Lab 4 done, health checks quick (as tests/engine/test_lab5.py tunes them); the target's
    options."""
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")  # the primary's likes never fail at random
    balancers = next(e for e in lab4_done.extensions if e.name == "load_balancers")
    accelerators = next(e for e in lab4_done.extensions if e.name == "global_accelerator")
    tables = next(e for e in lab4_done.extensions if e.name == "dynamodb_global")
    monkeypatch.setattr(balancers, "health_interval_seconds", 0.1)
    monkeypatch.setattr(accelerators, "health_check_scale", 0.02)
    monkeypatch.setattr(tables, "replication_lag", 0.0)
    yield cli_target(lab4_done, monkeypatch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE")


def recorded_run(recorder: Recorder, *args: str) -> Result:
    with recorder.running("command"):
        return invoke(*args)


def test_the_policies_grant_each_declared_action_once_global_accelerator_unbounded() -> None:
    load, drill = printed("load"), printed("drill")
    assert sorted(granted(load)) == sorted(LOAD)
    every = granted(drill)
    assert len(every) == len(set(every))
    assert set(every) == DRILL.union(*DRILL_BREAKS.values())
    statements = {s["Sid"]: s for s in drill["Statement"]}
    assert list(statements) == [
        "MmtuiDrill",
        "MmtuiDrillGlobal",
        "MmtuiDrillBreakTasks",
        "MmtuiDrillBreakNetwork",
    ]
    # Global Accelerator's API is served from us-west-2 only: a statement bounded to the lab's
    # regions would refuse it in a workshop run in other regions.
    elsewhere = printed(
        "drill", "--primary-region", "eu-west-1", "--secondary-region", "eu-north-1"
    )
    for statement in [*load["Statement"], *elsewhere["Statement"]]:
        if all(a.startswith("globalaccelerator:") for a in statement["Action"]):
            assert "Condition" not in statement
        else:
            assert not any(a.startswith("globalaccelerator:") for a in statement["Action"])
            assert statement["Condition"]["StringEquals"]["aws:RequestedRegion"] == [
                "eu-west-1",
                "eu-north-1",
            ]
    assert statements["MmtuiDrill"]["Condition"] == {
        "StringEquals": {"aws:RequestedRegion": REGIONS}
    }


def test_bad_input_exits_2_saying_why() -> None:
    for mode in ("load", "drill", "cleanup"):
        with_lab = invoke("policy", mode, "--lab", "5")
        assert with_lab.code == ExitCode.USAGE
        assert f"--lab does not apply to `mmtui policy {mode}`" in with_lab.stderr
    unknown = invoke("policy", "drills")
    assert unknown.code == ExitCode.USAGE
    assert "'drills' is not one of" in unknown.stderr and "'drill'" in unknown.stderr
    same = invoke("policy", "load", "--secondary-region", "us-west-2")
    assert same.code == ExitCode.USAGE and "are both us-west-2" in same.stderr
    helped = invoke("policy", "--help")
    assert "`mmtui load` (Lab 5's likes" in helped.stdout
    assert "`mmtui drill failover` (Lab 5's outage rehearsal, either --break)" in helped.stdout


def test_load_works_under_its_printed_policy_and_not_without_its_action(
    lab5_ready: list[str], lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    roles, recorder = Roles(lab4_done, monkeypatch), Recorder()
    recording_clients(recorder, monkeypatch)
    load = ("load", *lab5_ready, "--rate", "10", "--duration", "1", "--format", "json")

    roles.act_as("MmtuiLoad", printed("load"))
    done = recorded_run(recorder, *load)
    assert done.code == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["summary"]["ok"] > 0
    assert recorder.seen["command"] - NEEDS_NO_PERMISSION == LOAD

    roles.act_as("MmtuiLoadLacking", without(printed("load"), "globalaccelerator:ListAccelerators"))
    refused = invoke(*load)
    assert refused.code == ExitCode.CREDENTIALS, refused.stdout + refused.stderr
    assert (
        "assumed-role/MmtuiLoadLacking/attendee is not authorized to perform: "
        "globalaccelerator:ListAccelerators"
    ) in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize("kind", ["tasks", "network"])
def test_the_drill_works_under_its_printed_policy_calling_what_it_declares(
    lab5_ready: list[str], lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # Shorter calm phases than the command's floor (2 s each): the calls are the same, and the
    # outage keeps its 3 s for the accelerator to see the primary fail.
    monkeypatch.setattr(DrillOptions, "warmup", property(lambda _self: 0.5))
    monkeypatch.setattr(DrillOptions, "failback", property(lambda _self: 0.3))
    roles, recorder = Roles(lab4_done, monkeypatch), Recorder()
    recording_clients(recorder, monkeypatch)
    roles.act_as("MmtuiDrill", printed("drill"))
    drill = ("drill", "failover", *lab5_ready, "--break", kind, "--rate", "10", "--duration", "6")
    done = recorded_run(recorder, *drill, "--format", "json")
    assert done.code == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    # The whole drill ran: the break, the failover seen, the restore (too short a failback for
    # the primary's health to come back: tests/engine/test_lab5.py's longer drills see it).
    assert None not in (report["broken_at"], report["failover_at"], report["restored_at"]), report
    # Exactly what it declares for this way of breaking: the other way's actions are the only
    # ones of the policy it does not call.
    assert recorder.seen["command"] - NEEDS_NO_PERMISSION == DRILL | DRILL_BREAKS[kind]  # type: ignore[index]
    assert dials(lab4_done) == {GA: 100.0, "us-east-1": 100.0}  # put back as found


def test_the_drill_without_an_action_is_refused_naming_it_and_puts_the_dials_back(
    lab5_ready: list[str], lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The likes are read before the load starts, after the dials changed for the drill.
    Roles(lab4_done, monkeypatch).act_as(
        "MmtuiDrillLacking", without(printed("drill"), "dynamodb:GetItem")
    )
    refused = invoke("drill", "failover", *lab5_ready, "--duration", "6")
    assert refused.code == ExitCode.CREDENTIALS, refused.stdout + refused.stderr
    assert (
        "assumed-role/MmtuiDrillLacking/attendee is not authorized to perform: dynamodb:GetItem"
    ) in refused.stderr
    assert "Traceback" not in refused.stderr
    assert dials(lab4_done) == {GA: 100.0, "us-east-1": 100.0}
