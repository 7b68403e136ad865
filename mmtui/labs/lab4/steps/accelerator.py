"""Step 1: the accelerator itself, named as the lab says, enabled, IPv4."""

from __future__ import annotations

import uuid

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.lab4.accelerator import GA_REGION, address_text
from mmtui.labs.lab4.catalog import CHECKS, TASKS
from mmtui.labs.lab4.reads import ga, live_accelerator, needs_accelerator
from mmtui.labs.lab4.teardown import accelerator_teardown

# ---------------------------------------------------------------------- checks


@CHECKS.implement("accelerator.exists")
def exists(check: Checker) -> CheckResult:
    name = check.ctx.param("accelerator")
    found = needs_accelerator(check, f"one accelerator named {name}")
    if not isinstance(found, dict):
        return found
    return check.passed(
        f"one accelerator named {name}",
        str(found.get("DnsName", "")),
        f"{name} exists: {found.get('DnsName', '')} ({address_text(found) or 'no addresses yet'}).",
    )


@CHECKS.implement("accelerator.enabled")
def enabled(check: Checker) -> CheckResult:
    expected = "enabled, IPV4"
    found = needs_accelerator(check, expected)
    if not isinstance(found, dict):
        return found
    observed = f"{'enabled' if found.get('Enabled') else 'disabled'}, {found.get('IpAddressType')}"
    if not found.get("Enabled"):
        return check.failed(
            expected, observed, "The accelerator is disabled: it accepts no traffic until enabled."
        )
    if found.get("IpAddressType") != "IPV4":
        return check.failed(
            expected,
            observed,
            f"The accelerator uses {found.get('IpAddressType')}; the workshop uses IPv4 "
            "addresses (its load balancers are IPv4).",
        )
    return check.passed(expected, observed, "The accelerator is enabled and has IPv4 addresses.")


# ---------------------------------------------------------------------- tasks


def ensure_accelerator(ctx: TaskContext, name: str, ip_type: str = "IPV4") -> str:
    """An enabled accelerator named `name` (created, or enabled if it was disabled)."""
    from mmtui.labs.lab4.accelerator import accelerators_named

    found = accelerators_named(ga(ctx), name)
    if not found:
        # The token makes a retried call (a timeout on hotel Wi-Fi) create one accelerator, not
        # two: AWS answers a repeated token with the accelerator it made.
        ga(ctx).create_accelerator(
            Name=name, IpAddressType=ip_type, Enabled=True, IdempotencyToken=str(uuid.uuid4())
        )
        return f"created the accelerator {name}"
    if len(found) == 1 and not found[0].get("Enabled"):
        ga(ctx).update_accelerator(AcceleratorArn=found[0]["AcceleratorArn"], Enabled=True)
        return f"enabled the accelerator {name}"
    return ""


@TASKS.implement("accelerator.solve")
def solve_accelerator(ctx: TaskContext) -> list[Action]:
    name = ctx.param("accelerator")

    def ensure() -> str:
        live_accelerator(ctx)  # refuses when several share the name: never guess which
        return ensure_accelerator(ctx, name)

    return [Action(GA_REGION, f"accelerator {name}", "create (IPv4, enabled)", ensure)]


@TASKS.implement("accelerator.reset")
def reset_accelerator(ctx: TaskContext) -> list[Action]:
    found = live_accelerator(ctx)
    return [] if found is None else accelerator_teardown(ctx, found)
