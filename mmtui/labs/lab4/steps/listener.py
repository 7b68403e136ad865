"""Step 2: the accelerator's TCP listener on port 80, client affinity None."""

from __future__ import annotations

import uuid

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.lab4.accelerator import GA_REGION, PORT, port_text
from mmtui.labs.lab4.catalog import CHECKS, TASKS
from mmtui.labs.lab4.reads import ga, live_listener, needs_listener, required_accelerator
from mmtui.labs.lab4.teardown import listener_teardown

WANTED_PORTS = [{"FromPort": PORT, "ToPort": PORT}]

# ---------------------------------------------------------------------- checks


@CHECKS.implement("listener.tcp_80")
def tcp_80(check: Checker) -> CheckResult:
    expected = f"TCP {PORT}"
    listener = needs_listener(check, expected)
    if not isinstance(listener, dict):
        return listener
    observed = port_text(listener)
    if listener.get("Protocol") != "TCP":
        return check.failed(
            expected,
            observed,
            f"The listener on port {PORT} is {listener.get('Protocol')}; the site needs TCP.",
        )
    if [dict(r) for r in listener.get("PortRanges", [])] != WANTED_PORTS:
        return check.failed(
            expected,
            observed,
            f"The listener takes {observed}: the workshop's takes port {PORT} only.",
        )
    return check.passed(expected, observed, f"A TCP listener takes port {PORT}.")


@CHECKS.implement("listener.client_affinity")
def client_affinity(check: Checker) -> CheckResult:
    listener = needs_listener(check, "NONE")
    if not isinstance(listener, dict):
        return listener
    observed = str(listener.get("ClientAffinity", "NONE"))
    if observed != "NONE":
        return check.failed(
            "NONE",
            observed,
            "Client affinity is Source IP: users stick to one endpoint, so changing the dials "
            "moves only new users.",
        )
    return check.passed("NONE", observed, "Each connection is placed on its own (affinity None).")


# ---------------------------------------------------------------------- tasks


def ensure_listener(
    ctx: TaskContext,
    ports: tuple[int, int] = (PORT, PORT),
    protocol: str = "TCP",
    affinity: str = "NONE",
) -> str:
    """The accelerator's listener on port 80 as asked (created, or corrected in place)."""
    accelerator = required_accelerator(ctx)
    listener = live_listener(ctx, accelerator)
    wanted = {
        "PortRanges": [{"FromPort": ports[0], "ToPort": ports[1]}],
        "Protocol": protocol,
        "ClientAffinity": affinity,
    }
    shown = f"{protocol} {ports[0]}" + (f"-{ports[1]}" if ports[1] != ports[0] else "")
    if listener is None:
        ga(ctx).create_listener(
            AcceleratorArn=accelerator["AcceleratorArn"],
            IdempotencyToken=str(uuid.uuid4()),
            **wanted,
        )
        return f"created a {shown} listener (client affinity {affinity})"
    now = {
        "PortRanges": [dict(r) for r in listener.get("PortRanges", [])],
        "Protocol": listener.get("Protocol"),
        "ClientAffinity": listener.get("ClientAffinity", "NONE"),
    }
    if now == wanted:
        return ""
    ga(ctx).update_listener(ListenerArn=listener["ListenerArn"], **wanted)
    was = f"{port_text(listener)}, affinity {now['ClientAffinity']}"
    return f"set the listener to {shown}, client affinity {affinity} (it was {was})"


@TASKS.implement("listener.solve")
def solve_listener(ctx: TaskContext) -> list[Action]:
    return [
        Action(
            GA_REGION,
            f"listener TCP {PORT}",
            "create (client affinity None)",
            lambda: ensure_listener(ctx),
        )
    ]


@TASKS.implement("listener.reset")
def reset_listener(ctx: TaskContext) -> list[Action]:
    from mmtui.labs.lab4.reads import listener_if_any

    listener = listener_if_any(ctx)
    return [] if listener is None else listener_teardown(ctx, listener)
