"""Lab 4's console wizard as forms on the sandbox: choices read from the account, every bad
field named before any call, and the four forms in order make the lab's steps pass, once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import mmtui.labs
from mmtui.engine.checks import run_checks
from mmtui.engine.context import CheckContext
from mmtui.engine.results import Status
from mmtui.engine.steps import find_step
from mmtui.engine.tasks import TaskContext
from mmtui.labs.common.forms import FormInvalid
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.clients import ClientFactory
from mmtui.target.connect import Connection
from mmtui.target.spec import TargetFlags, resolve_target
from tests.conftest import LAB3_DONE


def context(sandbox: Sandbox) -> CheckContext:
    spec = resolve_target(TargetFlags(endpoint_url=sandbox.url), env={})
    factory = ClientFactory(spec, endpoint_url=sandbox.url, credentials=sandbox.credentials())
    lab, content = mmtui.labs.load("4")
    return CheckContext(Connection(spec, factory, resolver=sandbox.resolve_map), content, lab)


def status(sandbox: Sandbox, step: str) -> Status:
    ctx = context(sandbox)
    (result,) = run_checks(ctx, [find_step(ctx.content.lab, step)], prerequisites=False)
    return result.status


def test_the_wizard_page_by_page(sandbox: Sandbox, lab_solved: Callable[..., Sandbox]) -> None:
    lab_solved(*LAB3_DONE)
    lab = mmtui.labs.get("4")
    tasks = TaskContext(context(sandbox), poll_seconds=0.05, timeout_seconds=30)

    # Before step 1, the later pages say what is missing instead of offering choices.
    listener = lab.open_form("listener", context(sandbox))
    with pytest.raises(FormInvalid, match="no accelerator yet"):
        listener.apply({}, tasks)

    accelerator = lab.open_form("accelerator", context(sandbox))
    assert accelerator.defaults() == {"name": "mm-global-accelerator", "ip_type": "IPV4"}
    problems = accelerator.validate({"name": "-bad-", "ip_type": "IPV6"})
    assert [p.field for p in problems] == ["name", "ip_type"]
    assert accelerator.apply({}, tasks).changes == (
        "created the accelerator mm-global-accelerator",
    )
    assert not accelerator.apply({}, tasks).changed
    assert status(sandbox, "accelerator") == Status.PASS

    listener = lab.open_form("listener", context(sandbox))
    assert [p.field for p in listener.validate({"ports": "0-70000", "protocol": "HTTP"})] == [
        "ports",
        "protocol",
    ]
    assert listener.apply({}, tasks).changed and not listener.apply({}, tasks).changed
    assert status(sandbox, "listener") == Status.PASS

    groups = lab.open_form("endpoint-groups", context(sandbox))
    assert groups.defaults()["region"] == "us-west-2"
    assert [p.field for p in groups.validate({"dial": "150"})] == ["dial"]
    assert groups.apply({}, tasks).changes == (
        "created the endpoint group for us-west-2 (dial 100%)",
    )
    groups = lab.open_form("endpoint-groups", context(sandbox))  # read again: the next region
    assert groups.defaults()["region"] == "us-east-1"
    groups.apply({}, tasks)
    assert status(sandbox, "endpoint-groups") == Status.PASS

    endpoints = lab.open_form("endpoints", context(sandbox))
    fields = {f.name: f for f in endpoints.fields()}
    assert [c.label for c in fields["balancer"].choices] == ["alb-mm-multi-region"]
    east = {f.name: f for f in endpoints.fields({"region": "us-east-1"})}
    assert [c.label for c in east["balancer"].choices] == ["alb-mm-secondary-region"]
    assert [p.field for p in endpoints.validate({"weight": "300"})] == ["weight"]
    endpoints.apply({}, tasks)
    endpoints.apply({"region": "us-east-1"}, tasks)
    assert not endpoints.apply({"region": "us-east-1"}, tasks).changed
    assert status(sandbox, "endpoints") == Status.PASS
