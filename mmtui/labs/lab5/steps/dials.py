"""Steps 2 to 4: the traffic dials set, load sent, and CloudWatch showing where it went."""

from __future__ import annotations

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab4.accelerator import GA_REGION
from mmtui.labs.lab4.reads import needs_listener, required_accelerator
from mmtui.labs.lab5.catalog import CHECKS, TASKS
from mmtui.labs.lab5.reads import (
    FULL_DIAL,
    RECENT_MINUTES,
    facts,
    requests_recently,
    set_dials,
    stack_outputs,
)

BURST_RATE = 10.0
BURST_SECONDS = 6.0
"""The likes a solve sends so that CloudWatch has something to show: a minute of the
workshop's `watch ab` is about as many."""
METRICS_CADENCE = 20.0
METRICS_TIMEOUT = 10 * 60.0
"""CloudWatch shows a load balancer's one-minute points a minute or two late; ten minutes
without them means they are not coming."""
MAX_BURSTS = 5

STEPS = {
    # step (as the catalogue names it) → (primary dial, secondary dial, regions that must count)
    "primary_only": (FULL_DIAL, 0.0, ("primary",)),
    "secondary_only": (0.0, FULL_DIAL, ("secondary",)),
    "split": (50.0, 50.0, ("primary", "secondary")),
}

# ---------------------------------------------------------------------- checks


def dials_check(check: Checker, primary: float, secondary: float) -> CheckResult:
    expected = (
        f"{check.ctx.primary_region} {primary:g}%, {check.ctx.secondary_region} {secondary:g}%"
    )
    listener = needs_listener(check, expected)
    if not isinstance(listener, dict):
        return listener
    groups = facts(check).groups()
    now = {
        region: float(group.get("TrafficDialPercentage", 100.0)) for region, group in groups.items()
    }
    regions = (check.ctx.primary_region, check.ctx.secondary_region)
    observed = ", ".join(
        f"{region} {now[region]:g}%" if region in now else f"{region} no group"
        for region in regions
    )
    if [now.get(r) for r in regions] != [primary, secondary]:
        return check.failed(expected, observed, f"The dials read {observed}.")
    return check.passed(expected, observed, f"The dials read {observed}.")


def traffic_check(check: Checker, sides: tuple[str, ...]) -> CheckResult:
    expected = f"requests in the last {RECENT_MINUTES} minutes"
    counts = []
    for side in sides:
        region = check.ctx.primary_region if side == "primary" else check.ctx.secondary_region
        full_name = facts(check).outputs(side).get("LoadBalancerFullName", "")
        if not full_name:
            return check.failed(
                expected, "no load balancer", f"{check.ctx.param(f'{side}_stack')} has none."
            )
        count = requests_recently(check.ctx.client("cloudwatch", region), full_name)
        counts.append((region, count))
    observed = ", ".join(f"{region} {count}" for region, count in counts)
    idle = [region for region, count in counts if count == 0]
    if idle:
        return check.failed(
            expected,
            observed,
            f"No requests reached {' or '.join(idle)} in the last {RECENT_MINUTES} minutes: send "
            "load through the accelerator (mmtui load), then give CloudWatch a minute.",
        )
    return check.passed(expected, observed, f"Requests counted: {observed}.")


def _register(step: str) -> None:
    primary, secondary, sides = STEPS[step]

    @CHECKS.implement(f"{step}.dials")
    def dials(check: Checker) -> CheckResult:
        return dials_check(check, primary, secondary)

    @CHECKS.implement(f"{step}.traffic")
    def traffic(check: Checker) -> CheckResult:
        return traffic_check(check, sides)

    @TASKS.implement(f"{step}.solve")
    def solve(ctx: TaskContext) -> list[Action]:
        return [
            Action(
                GA_REGION,
                "the traffic dials",
                f"set {ctx.primary_region} {primary:g}%, {ctx.secondary_region} {secondary:g}%:",
                lambda: set_dials(ctx, primary, secondary),
            ),
            Action(
                "both",
                "load through the accelerator",
                f"send likes for {BURST_SECONDS:g} s and wait for CloudWatch",
                lambda: send_and_wait(ctx, sides),
            ),
        ]

    @TASKS.implement(f"{step}.reset")
    def reset(ctx: TaskContext) -> list[Action]:
        return reset_dials(ctx)


def reset_dials(ctx: TaskContext) -> list[Action]:
    """Both dials back to 100%, as Lab 4 left them; nothing planned when they are."""
    from mmtui.labs.lab4.reads import listener_if_any, live_groups

    listener = listener_if_any(ctx)
    if listener is None:
        return []
    groups = live_groups(ctx, listener)
    off = [
        region
        for region in (ctx.primary_region, ctx.secondary_region)
        if region in groups and float(groups[region].get("TrafficDialPercentage", 100)) != FULL_DIAL
    ]
    if not off:
        return []
    return [
        Action(
            GA_REGION,
            f"the dial{'s' if len(off) > 1 else ''} of {' and '.join(off)}",
            "set back to 100% (as Lab 4 left it)",
            lambda: set_dials(ctx, FULL_DIAL, FULL_DIAL),
        )
    ]


for _step in STEPS:
    _register(_step)


# ---------------------------------------------------------------------- load


def send_and_wait(ctx: TaskContext, sides: tuple[str, ...]) -> str:
    """Send a burst of likes through the accelerator, then wait until CloudWatch counts
    requests at each side's load balancer."""
    from mmtui.load.answers import summarise
    from mmtui.load.generator import LoadGenerator

    # Each side's load balancer by its CloudWatch name, read once (not on every poll).
    balancers = {
        (ctx.primary_region if side == "primary" else ctx.secondary_region): stack_outputs(
            ctx, side
        ).get("LoadBalancerFullName", "")
        for side in sides
    }

    def counts() -> dict[str, int]:
        return {
            region: requests_recently(ctx.client("cloudwatch", region), name)
            for region, name in balancers.items()
        }

    if all(counts().values()):
        return ""  # CloudWatch already counts recent requests there: a second solve sends none
    accelerator = required_accelerator(ctx)
    # New dials apply once the accelerator has deployed them (the old ones serve until then).
    wait_until_deployed(ctx, str(accelerator["AcceleratorArn"]))
    resolve = dict(ctx.checks.connection.resolve)
    wanted = {ctx.primary_region if side == "primary" else ctx.secondary_region for side in sides}
    sent = 0
    served: dict[str, int] = {}
    for _burst in range(MAX_BURSTS):
        answers = LoadGenerator(
            str(accelerator["DnsName"]), resolve, BURST_RATE, ctx.param("mysfit")
        ).run_for(BURST_SECONDS)
        summary = summarise(answers, BURST_SECONDS)
        sent += summary.sent
        for region, count in summary.by_region.items():
            served[region] = served.get(region, 0) + count
        shown = ", ".join(f"{r} {n}" for r, n in sorted(summary.by_region.items())) or "none"
        ctx.log(f"  sent {summary.sent} likes: {summary.ok} answered OK (served by {shown})")
        if wanted <= set(served):
            break
        # Connections are placed one by one: a short burst at 50/50 may all land on one side.
    missing = sorted(wanted - set(served))
    if missing:
        statuses = ", ".join(f"{k}: {v}" for k, v in summary.statuses.items())
        raise MmtuiError(
            f"of {sent} likes sent through the accelerator none was served by "
            f"{' or '.join(missing)} (last answers: {statuses}); check the dials and that "
            "region's endpoint health",
            ExitCode.CHECK_FAILED,
        )
    ctx.wait(
        "CloudWatch to count the requests",
        lambda: all(counts().values()),
        lambda: ", ".join(f"{region}: {n} requests" for region, n in counts().items()),
        cadence=METRICS_CADENCE,
        timeout=METRICS_TIMEOUT,
    )
    shown = ", ".join(f"{r} {n}" for r, n in sorted(served.items()))
    return f"sent {sent} likes; CloudWatch counts them ({shown})"


def wait_until_deployed(ctx: TaskContext, arn: str) -> None:
    from mmtui.labs.lab4.accelerator import GA_CADENCE
    from mmtui.labs.lab4.reads import status_of

    if status_of(ctx, arn) == "DEPLOYED":
        return
    ctx.wait(
        "the accelerator to deploy the new dials",
        lambda: status_of(ctx, arn) == "DEPLOYED",
        lambda: status_of(ctx, arn),
        cadence=GA_CADENCE,
        timeout=15 * 60,
    )
