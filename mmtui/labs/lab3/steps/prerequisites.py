"""Labs 0-2, verified before Lab 3 starts: the workshop stack, the seeded table, the
running services, the pipelines' last runs, Lab 1's X-Ray groups and Lab 2's dashboard. Checks
only: the prerequisites are never solved or reset by this lab.
"""

from __future__ import annotations

from mmtui.engine.checks import Checker, describe
from mmtui.engine.results import CheckResult
from mmtui.labs.lab3.aws import facts, mysfit_ids
from mmtui.labs.lab3.catalog import CHECKS
from mmtui.labs.lab3.codepipeline import last_runs
from mmtui.labs.lab3.dashboards import dashboard_metrics, read_dashboard
from mmtui.labs.lab3.stacks import stack_status
from mmtui.labs.lab3.xray import check_xray_groups

MYSFITS = 12


@CHECKS.implement("prereq.primary_stack")
def primary_stack(check: Checker) -> CheckResult:
    return stack_status(check, "primary")


@CHECKS.implement("prereq.table_seeded")
def table_seeded(check: Checker) -> CheckResult:
    table = check.ctx.param("table")
    ids = mysfit_ids(check, check.region, table)
    count = None if ids is None else len(ids)
    expected = f"at least {MYSFITS} items"
    if count is None:
        return check.failed(
            expected,
            "no such table",
            f"The table {table} does not exist in {check.region}; Lab 0 "
            "creates it with the workshop stack.",
        )
    if count < MYSFITS:
        return check.failed(
            expected,
            f"{count} items",
            f"{table} holds {count} items; Lab 0's setup loads {MYSFITS}.",
        )
    return check.passed(expected, f"{count} items", f"{table} holds the mysfits.")


@CHECKS.implement("prereq.primary_services")
def primary_services(check: Checker) -> CheckResult:
    outputs = facts(check).outputs("primary")
    cluster = outputs.get("EcsClusterName", f"Cluster-{check.ctx.param('primary_stack')}")
    names = [outputs.get("CoreEcsServiceName", ""), outputs.get("LikeEcsServiceName", "")]
    return _services_running(check, cluster, [n for n in names if n])


def _services_running(check: Checker, cluster: str, names: list[str]) -> CheckResult:
    expected = "both services ACTIVE with a running task"
    if len(names) < 2:
        return check.failed(
            expected,
            "service names unknown",
            "The stack's outputs do not name both services.",
        )
    answer = check.ctx.client("ecs", check.region).describe_services(
        cluster=cluster, services=names
    )
    found = {s["serviceName"]: s for s in answer.get("services", [])}
    missing = [n for n in names if n not in found or found[n]["status"] != "ACTIVE"]
    if missing:
        return check.failed(
            expected,
            f"missing: {describe(missing)}",
            f"These services are not in {cluster}: {describe(missing)}.",
        )
    idle = [n for n in names if found[n].get("runningCount", 0) < 1]
    observed = ", ".join(f"{n}: {found[n].get('runningCount', 0)} running" for n in names)
    if idle:
        return check.pending(expected, observed, f"{describe(idle)} has no running task yet.")
    return check.passed(expected, observed, f"Both services run in {cluster}.")


@CHECKS.implement("prereq.pipelines_succeeded")
def pipelines_succeeded(check: Checker) -> CheckResult:
    pipelines = facts(check).pipelines()
    stack = check.ctx.param("primary_stack")
    expected = f"CorePipeline-{stack}-… and LikePipeline-{stack}-…, last run Succeeded"
    missing = [k for k in ("core", "like") if k not in pipelines]
    if missing:
        return check.failed(
            expected,
            f"found {describe(pipelines.values())}",
            "The service pipelines of Lab 0 are missing: "
            f"{describe([f'{k.title()}Pipeline-{stack}-…' for k in missing])}.",
        )
    return last_runs(check, pipelines, expected, "release a change to run it again")


@CHECKS.implement("prereq.xray_groups")
def xray_groups_primary(check: Checker) -> CheckResult:
    return check_xray_groups(check, check.region, "Lab 1 creates them")


@CHECKS.implement("prereq.dashboard")
def lab2_dashboard(check: Checker) -> CheckResult:
    name = check.ctx.param("dashboard")
    body = read_dashboard(check, name)
    expected = "the dashboard with an X-Ray group widget"
    if body is None:
        return check.failed(
            expected,
            "no such dashboard",
            f"There is no dashboard {name} in {check.region}.",
        )
    if not any(m.namespace == "AWS/X-Ray" for m in dashboard_metrics(body, check.region)):
        return check.failed(
            expected,
            "no X-Ray metric",
            f"{name} has no X-Ray group widget yet (Lab 2 adds it).",
        )
    return check.passed(expected, "X-Ray widget present", f"{name} is ready.")
