"""Labs 4 and 5 declare exactly the IAM actions their checks and tasks call, proven as Lab 3's
are (tests/engine/test_permissions_declared.py): each lab is walked on the sandbox (every check,
each step solved twice, every check, each step reset twice, every check) with every call
recorded per unit, and each unit's recorded actions must equal its declaration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import mmtui.labs
from mmtui.engine.checks import run_one
from mmtui.engine.context import CheckContext
from mmtui.engine.permissions import NEEDS_NO_PERMISSION
from mmtui.engine.tasks import TaskContext, run_actions, step_actions
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.clients import ClientFactory
from mmtui.target.connect import Connection
from mmtui.target.spec import TargetFlags, resolve_target
from tests.conftest import LAB3_DONE
from tests.engine.test_permissions_declared import Recorder, recording_clients

UNEXERCISED: dict[str, dict[str, set[str]]] = {
    "4": {
        # A listener, group or endpoint made by hand slightly off is corrected in place; the
        # walk's are made right by the solves (tests/engine/test_lab4.py corrects one).
        "listener.solve": {"globalaccelerator:UpdateListener"},
        "endpoint_groups.solve": {"globalaccelerator:UpdateEndpointGroup"},
        "endpoints.solve": {"globalaccelerator:UpdateEndpointGroup"},
        "accelerator.solve": {"globalaccelerator:UpdateAccelerator"},
        # The walk resets the last step first: by the listener's and the accelerator's resets
        # their groups (and listener) are gone (test_lab4.py resets step 1 with them there).
        "listener.reset": {"globalaccelerator:DeleteEndpointGroup"},
        "accelerator.reset": {
            "globalaccelerator:DeleteEndpointGroup",
            "globalaccelerator:DeleteListener",
            "globalaccelerator:ListEndpointGroups",
        },
    },
    "5": {
        # The walk breaks the primary the first way (its tasks); the network way is by hand,
        # and the restore puts a narrowed rule back (test_lab5.py's network test does).
        "restore.solve": {
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
        },
        # The checkpoint restores the primary before the walk's resets reach step 5, and the
        # split's reset puts the dials back before steps 3 and 2 are reset.
        "failover.reset": {
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
            "ecs:UpdateService",
        },
        "secondary_only.reset": {"globalaccelerator:UpdateEndpointGroup"},
        "primary_only.reset": {"globalaccelerator:UpdateEndpointGroup"},
        # A dials step sends load (after waiting for the new dials to deploy) only when
        # CloudWatch does not count recent requests yet: the walk's earlier steps may have.
        **{
            f"{step}.solve": {"globalaccelerator:DescribeAccelerator"}
            for step in ("primary_only", "secondary_only", "split")
        },
        # Which security group rules there are is read only while the primary is unhealthy
        # with its tasks running (a network break, which the walk does not make).
        "restore.primary_healthy": {"ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"},
        "failover.primary_unhealthy": {"ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"},
    },
}
"""Lab → unit → declared actions of paths the walk does not take, with the reason."""


def walk(sandbox: Sandbox, lab_id: str, recorder: Recorder) -> None:
    lab, content = mmtui.labs.load(lab_id)
    spec = resolve_target(
        TargetFlags(endpoint_url=sandbox.url, workspace=str(sandbox.workspace)), env={}
    )
    factory = ClientFactory(spec, endpoint_url=sandbox.url, credentials=sandbox.credentials())
    connection = Connection(
        spec, factory, resolver=sandbox.resolve_map, workspace=sandbox.workspace
    )

    def every_check() -> None:
        for check in content.lab.every_check():
            with recorder.running(check.name):
                run_one(CheckContext(connection, content, lab), check)

    def task(step: Any, kind: str) -> None:
        name = getattr(step.automated, kind)
        if name is None:
            return
        context = TaskContext(CheckContext(connection, content, lab), poll_seconds=0.05)
        with recorder.running(name):
            run_actions(step_actions(context, step, kind), lambda _line: None)

    steps = list(content.lab.steps)
    every_check()
    for step in steps:
        task(step, "solve")
        task(step, "solve")
        every_check()
    for step in reversed(steps):
        task(step, "reset")
        task(step, "reset")
        every_check()
    if lab_id == "5":  # the checkpoint's solve with something to restore
        failover = content.step("failover")
        task(failover, "solve")
        task(content.step("restore"), "solve")


def mismatches(lab_id: str, recorded: dict[str, set[str]]) -> list[str]:
    lab, content = mmtui.labs.load(lab_id)
    units = [c.name for c in content.lab.every_check()] + [
        name
        for step in content.lab.steps
        for name in (step.automated.solve, step.automated.reset)
        if name is not None
    ]
    problems = []
    for unit in units:
        declared = set(lab.permissions.units[unit]) if lab.permissions else set()
        called = recorded.get(unit, set()) - NEEDS_NO_PERMISSION
        if unit not in recorded:
            problems.append(f"{unit} never ran")
        if called - declared:
            problems.append(f"{unit} calls {sorted(called - declared)} it does not declare")
        if unit == "test.solve":
            continue  # the catch-up: the union of steps 1-4's solves, each proven here
        never = declared - called - UNEXERCISED[lab_id].get(unit, set())
        if never:
            problems.append(f"{unit} declares {sorted(never)} it never calls")
    return problems


def test_lab_4_declares_what_it_calls(
    sandbox: Sandbox, lab_solved: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    lab_solved(*LAB3_DONE)
    recorder = Recorder()
    recording_clients(recorder, monkeypatch)
    walk(sandbox, "4", recorder)
    problems = mismatches("4", dict(recorder.seen))
    assert problems == [], "\n".join(problems)


def test_lab_5_declares_what_it_calls(lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")
    balancers = next(e for e in lab4_done.extensions if e.name == "load_balancers")
    accelerators = next(e for e in lab4_done.extensions if e.name == "global_accelerator")
    monkeypatch.setattr(balancers, "metrics_flush_seconds", 0.3)
    monkeypatch.setattr(balancers, "health_interval_seconds", 0.1)
    monkeypatch.setattr(accelerators, "health_check_scale", 0.02)
    monkeypatch.setattr("mmtui.labs.lab5.steps.dials.BURST_SECONDS", 2.0)
    monkeypatch.setattr("mmtui.labs.lab5.steps.dials.METRICS_TIMEOUT", 30.0)
    recorder = Recorder()
    recording_clients(recorder, monkeypatch)
    walk(lab4_done, "5", recorder)
    problems = mismatches("5", dict(recorder.seen))
    assert problems == [], "\n".join(problems)
