"""Lab 4's prerequisites: Lab 3 left a site answering behind each region's load balancer."""

from __future__ import annotations

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.labs.common.site import visit
from mmtui.labs.lab4.catalog import CHECKS
from mmtui.labs.lab4.reads import facts


def _site(check: Checker, which: str) -> CheckResult:
    stack = check.ctx.param(f"{which}_stack")
    expected = f'HTTP 200 with "Current region: {check.region}"'
    balancer = facts(check).balancer(which)
    if balancer is None:
        return check.failed(
            expected,
            f"no load balancer in {stack}",
            f"{stack} has no load balancer in {check.region}: "
            + ("Lab 0 deploys it." if which == "primary" else "Lab 3 step 1 deploys it."),
        )
    site = visit(balancer["dns"], check.ctx.connection.resolve)
    if site.status is None:
        return check.failed(
            expected, site.reason, f"{site.address} does not answer: {site.reason}."
        )
    if site.status != 200 or site.region != check.region:
        shown = f"HTTP {site.status}" if site.status != 200 else (site.region or "no region line")
        return check.failed(
            expected,
            shown,
            f"{site.address} answers {shown}: finish Lab 3 (its checkpoint) before Lab 4.",
        )
    return check.passed(expected, f"Current region: {site.region}", f"{site.address} answers.")


@CHECKS.implement("prereq.primary_site")
def primary_site(check: Checker) -> CheckResult:
    return _site(check, "primary")


@CHECKS.implement("prereq.secondary_site")
def secondary_site(check: Checker) -> CheckResult:
    return _site(check, "secondary")
