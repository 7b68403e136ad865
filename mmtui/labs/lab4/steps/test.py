"""The test: the accelerator deployed, every endpoint healthy, the site answering through it.
Its solve catches up (steps 1 to 4) and waits for AWS; it creates nothing of its own."""

from __future__ import annotations

from typing import Any

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.common.site import visit
from mmtui.labs.lab4.accelerator import GA_CADENCE, GA_REGION
from mmtui.labs.lab4.catalog import CHECKS, TASKS
from mmtui.labs.lab4.reads import (
    facts,
    live_groups,
    needs_accelerator,
    needs_listener,
    required_accelerator,
    required_listener,
    status_of,
)
from mmtui.labs.lab4.steps.accelerator import solve_accelerator
from mmtui.labs.lab4.steps.endpoint_groups import solve_endpoint_groups
from mmtui.labs.lab4.steps.endpoints import solve_endpoints
from mmtui.labs.lab4.steps.listener import solve_listener

# ---------------------------------------------------------------------- checks


@CHECKS.implement("test.deployed")
def deployed(check: Checker) -> CheckResult:
    accelerator = needs_accelerator(check, "DEPLOYED")
    if not isinstance(accelerator, dict):
        return accelerator
    status = str(accelerator.get("Status"))
    if status == "IN_PROGRESS":
        return check.pending(
            "DEPLOYED",
            status,
            "AWS is still applying the last change everywhere; it takes minutes.",
        )
    if status != "DEPLOYED":
        return check.failed("DEPLOYED", status, f"The accelerator is {status}.")
    return check.passed("DEPLOYED", status, "The accelerator is deployed.")


def health_lines(groups: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(region, endpoint name, health state, reason) of every endpoint of every group."""
    return [
        (
            region,
            str(endpoint.get("EndpointId", "")).rsplit("/", 2)[-2],
            str(endpoint.get("HealthState", "INITIAL")),
            str(endpoint.get("HealthReason", "")),
        )
        for region, group in sorted(groups.items())
        for endpoint in group.get("EndpointDescriptions", [])
    ]


@CHECKS.implement("test.healthy")
def healthy(check: Checker) -> CheckResult:
    expected = "every endpoint HEALTHY"
    listener = needs_listener(check, expected)
    if not isinstance(listener, dict):
        return listener
    lines = health_lines(facts(check).groups())
    if not lines:
        return check.failed(expected, "no endpoints", "The listener has no endpoints (steps 3-4).")
    observed = ", ".join(f"{region} {state}" for region, _, state, _ in lines)
    sick = [line for line in lines if line[2] == "UNHEALTHY"]
    if sick:
        region, name, _, reason = sick[0]
        return check.failed(
            expected,
            observed,
            f"{name} in {region} is unhealthy{f' ({reason})' if reason else ''}: its load "
            "balancer has no healthy targets.",
        )
    if any(line[2] != "HEALTHY" for line in lines):
        return check.pending(
            expected, observed, "Health checks have not judged every endpoint yet."
        )
    return check.passed(expected, observed, "Every endpoint is healthy.")


@CHECKS.implement("test.site")
def site(check: Checker) -> CheckResult:
    expected = 'HTTP 200 with a "Current region" line'
    accelerator = needs_accelerator(check, expected)
    if not isinstance(accelerator, dict):
        return accelerator
    dns = str(accelerator.get("DnsName", ""))
    page = visit(dns, check.ctx.connection.resolve)
    if page.status is None:
        return check.failed(
            expected,
            page.reason,
            f"{page.address} does not answer ({page.reason}): until the accelerator is deployed "
            "with a healthy endpoint, it accepts no connections.",
        )
    if page.status != 200 or page.region is None:
        return check.failed(
            expected,
            f"HTTP {page.status}",
            f"{page.address} answers HTTP {page.status} without the site's region line.",
        )
    return check.passed(
        expected,
        f"Current region: {page.region}",
        f"{page.address} serves the site from {page.region}.",
    )


# ---------------------------------------------------------------------- solve


def _deployed_and_healthy(ctx: TaskContext) -> str:
    accelerator = required_accelerator(ctx)
    arn = str(accelerator["AcceleratorArn"])

    def states() -> list[str]:
        groups = live_groups(ctx, required_listener(ctx))
        return [line[2] for line in health_lines(groups)]

    def settled() -> bool:
        return status_of(ctx, arn) == "DEPLOYED" and all(s == "HEALTHY" for s in states())

    if settled():
        return ""
    ctx.wait(
        "the accelerator to be deployed with every endpoint healthy",
        settled,
        lambda: f"{status_of(ctx, arn)}; endpoints {', '.join(states()) or 'none'}",
        failed=lambda: "an endpoint is UNHEALTHY" if "UNHEALTHY" in states() else None,
        cadence=GA_CADENCE,
    )
    return "the accelerator is deployed and every endpoint is healthy"


@TASKS.implement("test.solve")
def solve_test(ctx: TaskContext) -> list[Action]:
    """Catch up: steps 1 to 4, then wait for AWS to deploy them and judge the endpoints."""
    return [
        *solve_accelerator(ctx),
        *solve_listener(ctx),
        *solve_endpoint_groups(ctx),
        *solve_endpoints(ctx),
        Action(
            GA_REGION,
            f"accelerator {ctx.param('accelerator')}",
            "wait until deployed and healthy",
            lambda: _deployed_and_healthy(ctx),
        ),
    ]
