"""Step 5 breaks the primary (its services to 0 tasks, or the tasks' security group narrowed by
hand) and watches the failover; the checkpoint restores it and watches the failback."""

from __future__ import annotations

from typing import Any

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.common.site import visit
from mmtui.labs.lab4.accelerator import GA_REGION
from mmtui.labs.lab4.reads import needs_accelerator, needs_listener, required_accelerator
from mmtui.labs.lab5.catalog import CHECKS, TASKS
from mmtui.labs.lab5.facts import narrowed
from mmtui.labs.lab5.reads import (
    facts,
    groups_now,
    primary_services,
    stack_outputs,
)

HEALTH_CADENCE = 10.0
"""Global Accelerator judges endpoints every 10 or 30 s: polling faster sees nothing new."""

# ---------------------------------------------------------------------- checks


def primary_health(groups: dict[str, dict[str, Any]], region: str) -> list[str]:
    group = groups.get(region) or {}
    return [str(e.get("HealthState", "INITIAL")) for e in group.get("EndpointDescriptions", [])]


@CHECKS.implement("failover.primary_unhealthy")
def primary_unhealthy(check: Checker) -> CheckResult:
    listener = needs_listener(check, "UNHEALTHY")
    if not isinstance(listener, dict):
        return listener
    states = primary_health(facts(check).groups(), check.region)
    observed = ", ".join(states) or "no endpoint"
    if states and all(state == "UNHEALTHY" for state in states):
        return check.passed("UNHEALTHY", observed, "The primary endpoint is unhealthy.")
    if _broken(check):
        return check.pending(
            "UNHEALTHY",
            observed,
            "The primary is broken, but the health checks have not failed enough times in a row "
            "yet; give them a minute.",
        )
    return check.failed(
        "UNHEALTHY", observed, "The primary still serves: break it (option 1 or 2)."
    )


def _broken(check: Checker) -> bool:
    """Whether the primary is broken one of the two ways, as AWS shows it now."""
    return bool(_services_problem(check) or _ingress_problem(check))


@CHECKS.implement("failover.secondary_serves")
def secondary_serves(check: Checker) -> CheckResult:
    expected = f"Current region: {check.region}"
    accelerator = needs_accelerator(check, expected)
    if not isinstance(accelerator, dict):
        return accelerator
    page = visit(str(accelerator.get("DnsName", "")), check.ctx.connection.resolve)
    if page.status != 200:
        observed = page.reason if page.status is None else f"HTTP {page.status}"
        return check.failed(expected, observed, f"{page.address} answers {observed}.")
    if page.region != check.region:
        return check.failed(
            expected,
            f"Current region: {page.region}",
            f"The site still comes from {page.region}.",
        )
    return check.passed(expected, expected, f"{page.address} is served from {check.region}.")


def _services_problem(check: Checker) -> str | None:
    """Why the primary services do not run (None when both want and run a task)."""
    outputs = facts(check).outputs("primary")
    cluster = outputs.get("EcsClusterName")
    names = [outputs.get("CoreEcsServiceName"), outputs.get("LikeEcsServiceName")]
    if not cluster or not all(names):
        return f"{check.ctx.param('primary_stack')} names no services"
    ecs = check.ctx.client("ecs", check.ctx.primary_region)

    def fetch() -> list[dict[str, Any]]:
        return list(ecs.describe_services(cluster=cluster, services=names)["services"])

    services = facts(check).once("primary-services", fetch)
    stopped = [
        f"{s['serviceName']} wants {s.get('desiredCount', 0)}, runs {s.get('runningCount', 0)}"
        for s in services
        if not s.get("desiredCount") or not s.get("runningCount")
    ]
    return "; ".join(stopped) or None


def _ingress_problem(check: Checker) -> str | None:
    """Why the tasks' security group keeps the load balancer out (None when it lets the VPC in)."""
    group_id = facts(check).outputs("primary").get("FargateContainerSecurityGroup")
    cidr = facts(check).vpc_cidr()
    if not group_id or not cidr:
        return "the primary stack names no security group or VPC"
    ec2 = check.ctx.client("ec2", check.ctx.primary_region)
    group = facts(check).once(
        "tasks-sg", lambda: ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    )
    if _lets_in(group, cidr):
        return None
    ranges = [r["CidrIp"] for p in group.get("IpPermissions", []) for r in p.get("IpRanges", [])]
    return f"{group_id} lets in {', '.join(ranges) or 'nothing'}, not {cidr}"


def _lets_in(group: dict[str, Any], cidr: str) -> bool:
    return any(
        permission.get("IpProtocol") == "-1"
        and any(r.get("CidrIp") == cidr for r in permission.get("IpRanges", []))
        for permission in group.get("IpPermissions", [])
    )


@CHECKS.implement("restore.services")
def services_run(check: Checker) -> CheckResult:
    problem = _services_problem(check)
    if problem:
        return check.failed("1 task each, running", problem, f"Not yet: {problem}.")
    return check.passed("1 task each, running", "running", "Both primary services run.")


@CHECKS.implement("restore.ingress")
def ingress_open(check: Checker) -> CheckResult:
    cidr = facts(check).vpc_cidr() or "the VPC's range"
    problem = _ingress_problem(check)
    if problem:
        return check.failed(f"lets {cidr} in", problem, f"{problem}.")
    return check.passed(f"lets {cidr} in", cidr, "The load balancer can reach the tasks.")


@CHECKS.implement("restore.primary_healthy")
def primary_healthy(check: Checker) -> CheckResult:
    listener = needs_listener(check, "HEALTHY")
    if not isinstance(listener, dict):
        return listener
    states = primary_health(facts(check).groups(), check.region)
    observed = ", ".join(states) or "no endpoint"
    if states and all(state == "HEALTHY" for state in states):
        return check.passed("HEALTHY", observed, "The primary endpoint is healthy again.")
    if states and not _broken(check):
        return check.pending(
            "HEALTHY", observed, "The primary is repaired; its health checks are catching up."
        )
    return check.failed("HEALTHY", observed, "The primary endpoint is not healthy.")


# ---------------------------------------------------------------------- tasks


def set_desired(ctx: TaskContext, count: int) -> str:
    """Both primary services to `count` tasks (only those that differ)."""
    cluster, names = primary_services(ctx)
    ecs = ctx.client("ecs", ctx.primary_region)
    changed = []
    for service in ecs.describe_services(cluster=cluster, services=names)["services"]:
        wanted_now = int(service.get("desiredCount", 0))
        if (count == 0 and wanted_now != 0) or (count > 0 and wanted_now == 0):
            ecs.update_service(cluster=cluster, service=service["serviceName"], desiredCount=count)
            changed.append(service["serviceName"])
    return f"set {', '.join(changed)} to {count} task{'s' if count != 1 else ''}" if changed else ""


def tasks_ingress(ctx: TaskContext) -> tuple[str, str, dict[str, Any]] | None:
    """(the tasks' security group id, the VPC's range, the group as EC2 describes it) of the
    primary stack; None when the stack names no group or VPC."""
    outputs = stack_outputs(ctx, "primary")
    group_id, vpc = outputs.get("FargateContainerSecurityGroup"), outputs.get("VPCId")
    if not group_id or not vpc:
        return None
    ec2 = ctx.client("ec2", ctx.primary_region)
    cidr = str(ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["CidrBlock"])
    return group_id, cidr, ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


def set_ingress(ctx: TaskContext, group_id: str, cidr: str, *, allow: bool) -> None:
    """Authorize (or revoke) the rule letting `cidr` reach the tasks on every protocol."""
    ec2 = ctx.client("ec2", ctx.primary_region)
    call = ec2.authorize_security_group_ingress if allow else ec2.revoke_security_group_ingress
    call(GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": cidr}]}])


def reopen_ingress(ctx: TaskContext) -> str:
    """The tasks' security group lets the VPC in again; the workshop's narrowed rule goes."""
    found = tasks_ingress(ctx)
    if found is None:
        raise MmtuiError(
            f"{ctx.param('primary_stack')} names no security group or VPC", ExitCode.CHECK_FAILED
        )
    group_id, cidr, group = found
    done = []
    if not _lets_in(group, cidr):
        set_ingress(ctx, group_id, cidr, allow=True)
        done.append(f"let {cidr} in")
    narrow = narrowed(cidr)
    if narrow != cidr and _lets_in(group, narrow):
        set_ingress(ctx, group_id, narrow, allow=False)
        done.append(f"removed the {narrow} rule")
    return f"{group_id}: {'; '.join(done)}" if done else ""


def wait_for_health(ctx: TaskContext, wanted: str) -> str:
    required_accelerator(ctx)

    def states() -> list[str]:
        return primary_health(groups_now(ctx), ctx.primary_region)

    if states() and all(s == wanted for s in states()):
        return ""
    ctx.wait(
        f"Global Accelerator to report the {ctx.primary_region} endpoint {wanted}",
        lambda: bool(states()) and all(s == wanted for s in states()),
        lambda: f"{ctx.primary_region}: {', '.join(states()) or 'no endpoint'}",
        cadence=HEALTH_CADENCE,
        timeout=20 * 60,
    )
    return f"the {ctx.primary_region} endpoint is {wanted}"


def restore_actions(ctx: TaskContext) -> list[Action]:
    """What puts the primary back, planned from what AWS shows: nothing when it is whole."""
    region = ctx.primary_region
    cluster, names = primary_services(ctx)
    services = ctx.client("ecs", region).describe_services(cluster=cluster, services=names)
    stopped = [s["serviceName"] for s in services["services"] if not s.get("desiredCount")]
    narrowed_now = _narrowed_rule(ctx)
    actions = []
    if stopped:
        actions.append(
            Action(
                region, ", ".join(stopped), "start again (1 task each)", lambda: set_desired(ctx, 1)
            )
        )
    if narrowed_now:
        actions.append(
            Action(region, narrowed_now, "let the VPC in again", lambda: reopen_ingress(ctx))
        )
    try:
        states = primary_health(groups_now(ctx), region)
    except MmtuiError:
        states = []  # no accelerator (Lab 4 reset): nothing to wait for there
    if states and (actions or any(state != "HEALTHY" for state in states)):
        actions.append(
            Action(
                GA_REGION,
                f"the endpoint in {region}",
                "wait until healthy",
                lambda: wait_for_health(ctx, "HEALTHY"),
            )
        )
    return actions


def _narrowed_rule(ctx: TaskContext) -> str:
    """The tasks' security group when it does not let the VPC in ("" when it does)."""
    found = tasks_ingress(ctx)
    if found is None or _lets_in(found[2], found[1]):
        return ""
    return f"security group {found[0]}"


@TASKS.implement("failover.solve")
def solve_failover(ctx: TaskContext) -> list[Action]:
    region = ctx.primary_region
    return [
        Action(region, "primary services", "stop (0 tasks)", lambda: set_desired(ctx, 0)),
        Action(
            GA_REGION,
            f"endpoint in {region}",
            "wait until unhealthy",
            lambda: wait_for_health(ctx, "UNHEALTHY"),
        ),
    ]


@TASKS.implement("failover.reset")
def reset_failover(ctx: TaskContext) -> list[Action]:
    return restore_actions(ctx)


@TASKS.implement("restore.solve")
def solve_restore(ctx: TaskContext) -> list[Action]:
    return restore_actions(ctx)
