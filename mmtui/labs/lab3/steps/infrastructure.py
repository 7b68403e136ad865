"""Step 1: the secondary stack. Its checks (complete, IsSecondary, outputs, cluster and
services, registries, load balancer), the solve that deploys the workshop template in the
secondary region and the reset that deletes it (emptying the repositories it created first).
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

from mmtui.engine.checks import Checker, describe
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.lab3.aws import facts
from mmtui.labs.lab3.catalog import CHECKS, TASKS
from mmtui.labs.lab3.facts import stack_missing
from mmtui.labs.lab3.runtimes import raise_runtimes
from mmtui.labs.lab3.stack_events import (
    DEPLOYED,
    event_line,
    failed,
    failure_reason,
    in_progress,
)
from mmtui.labs.lab3.stacks import (
    describe_stack,
    needs_secondary_stack,
    outputs_of,
    stack_status,
)

# ---------------------------------------------------------------------- checks


SECONDARY_OUTPUTS = (
    "SecondaryRegion",
    "SecondaryLoadBalancerDNS",
    "SecondaryCoreServiceEcrRepo",
    "SecondaryLikeServiceEcrRepo",
    "EcsClusterName",
    "CoreEcsServiceName",
    "LikeEcsServiceName",
    "LoadBalancerFullName",
)


@CHECKS.implement("infrastructure.stack_complete")
def secondary_stack_complete(check: Checker) -> CheckResult:
    return stack_status(check, "secondary")


@CHECKS.implement("infrastructure.stack_is_secondary")
def stack_is_secondary(check: Checker) -> CheckResult:
    missing = needs_secondary_stack(check, "IsSecondary=true")
    if missing:
        return missing
    stack = facts(check).stack("secondary") or {}
    value = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}.get(
        "IsSecondary", "(not set)"
    )
    if value == "true":
        return check.passed(
            "IsSecondary=true",
            f"IsSecondary={value}",
            "The stack was deployed as the secondary.",
        )
    return check.failed(
        "IsSecondary=true",
        f"IsSecondary={value}",
        "The stack was deployed without IsSecondary=true, so it built the "
        "primary's resources; deploy it again with "
        "--parameter-overrides IsSecondary=true.",
    )


@CHECKS.implement("infrastructure.secondary_outputs")
def secondary_outputs(check: Checker) -> CheckResult:
    missing_stack = needs_secondary_stack(check, "the secondary outputs")
    if missing_stack:
        return missing_stack
    outputs = facts(check).outputs("secondary")
    missing = [name for name in SECONDARY_OUTPUTS if not outputs.get(name)]
    if missing:
        return check.failed(
            describe(SECONDARY_OUTPUTS),
            f"missing {describe(missing)}",
            f"The stack lacks the outputs {describe(missing)}.",
        )
    if outputs["SecondaryRegion"] != check.region:
        return check.failed(
            check.region,
            outputs["SecondaryRegion"],
            "SecondaryRegion names another region.",
        )
    return check.passed(
        describe(SECONDARY_OUTPUTS), "all present", "The stack has its secondary outputs."
    )


@CHECKS.implement("infrastructure.cluster_and_services")
def secondary_services(check: Checker) -> CheckResult:
    missing = needs_secondary_stack(check, "the cluster and services")
    if missing:
        return missing
    outputs = facts(check).outputs("secondary")
    cluster = outputs.get("EcsClusterName", "")
    names = [outputs.get("CoreEcsServiceName", ""), outputs.get("LikeEcsServiceName", "")]
    (
        f"aws ecs describe-services --cluster {cluster} --services {' '.join(names)} "
        f"--region {check.region} --query 'services[].[serviceName,status,runningCount]'"
    )
    expected = "the cluster with both services"
    clusters = check.ctx.client("ecs", check.region).describe_clusters(clusters=[cluster])
    if not any(c.get("status") == "ACTIVE" for c in clusters.get("clusters", [])):
        return check.failed(expected, "no cluster", f"The cluster {cluster} does not exist.")
    answer = check.ctx.client("ecs", check.region).describe_services(
        cluster=cluster, services=[n for n in names if n]
    )
    active = {s["serviceName"] for s in answer.get("services", []) if s["status"] == "ACTIVE"}
    absent = [n for n in names if n not in active]
    if absent:
        return check.failed(
            expected,
            f"active: {describe(active)}",
            f"Missing from {cluster}: {describe(absent)}.",
        )
    return check.passed(
        expected,
        f"{cluster}: {describe(active)}",
        "The secondary cluster has its Core and Like services.",
    )


@CHECKS.implement("infrastructure.registries")
def secondary_registries(check: Checker) -> CheckResult:
    missing = needs_secondary_stack(check, "the registries")
    if missing:
        return missing
    outputs = facts(check).outputs("secondary")
    repos = [
        outputs.get(k, "").split("/", 1)[-1]
        for k in ("SecondaryCoreServiceEcrRepo", "SecondaryLikeServiceEcrRepo")
    ]
    existing = {
        r["repositoryName"]
        for page in check.ctx.client("ecr", check.region)
        .get_paginator("describe_repositories")
        .paginate()
        for r in page.get("repositories", [])
    }
    absent = [r for r in repos if r not in existing]
    if absent:
        return check.failed(
            describe(repos),
            describe(existing),
            f"These repositories are missing: {describe(absent)}.",
        )
    return check.passed(
        describe(repos),
        "both exist",
        "Both image repositories exist in the secondary region.",
    )


@CHECKS.implement("infrastructure.load_balancer")
def secondary_load_balancer(check: Checker) -> CheckResult:
    missing = needs_secondary_stack(check, "the load balancer")
    if missing:
        return missing
    dns = facts(check).outputs("secondary").get("SecondaryLoadBalancerDNS", "")
    balancers = [
        b
        for page in check.ctx.client("elbv2", check.region)
        .get_paginator("describe_load_balancers")
        .paginate()
        for b in page.get("LoadBalancers", [])
    ]
    match = [b for b in balancers if b.get("DNSName") == dns]
    if not match:
        return check.failed(
            dns or "the stack's load balancer",
            "not found",
            "The secondary load balancer does not exist.",
        )
    state = match[0].get("State", {})
    code = state.get("Code", "active")
    if code == "provisioning":
        return check.pending("active", code, "The load balancer is still provisioning.")
    if code != "active":  # failed, active_impaired: it exists but does not serve as it should
        reason = state.get("Reason") or "see the load balancer in the EC2 console"
        return check.failed("active", code, f"The load balancer {dns} is {code}: {reason}.")
    return check.passed("active", code, f"The load balancer {dns} exists.")


# ---------------------------------------------------------------------- solve and reset


CAPABILITIES = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


@TASKS.implement("infrastructure.solve")
def solve_infrastructure(ctx: TaskContext) -> list[Action]:
    name, region = ctx.param("secondary_stack"), ctx.secondary_region
    return [Action(region, f"stack {name}", "deploy (IsSecondary=true)", partial(_deploy, ctx))]


def _deploy(ctx: TaskContext) -> str:
    """Bring the secondary stack to a deployed IsSecondary=true, from whatever state it is in.

    The action follows the stack's state, as CloudFormation allows: an operation in progress
    is waited for; a stack that rolled back (it cannot be updated) is deleted and created
    again; a stack under review (a CREATE change set never executed) gets a new CREATE change
    set; only a settled, complete stack is updated.
    """
    from mmtui.exitcodes import ExitCode, MmtuiError

    name, region = ctx.param("secondary_stack"), ctx.secondary_region
    cloudformation = ctx.client("cloudformation", region)
    done: list[str] = []
    current = describe_stack(ctx, "secondary")
    if current is not None and in_progress(current["StackStatus"]):
        ctx.log(f"{region}: {name} is {current['StackStatus']}; waiting for it to finish first")
        # To the very end, rollbacks too: only a settled stack can be deleted or updated.
        current = _settled(ctx, cloudformation, name, until_settled=True)
        if current is None:
            done.append(f"waited for the deletion of {name} to finish")
        elif current["StackStatus"] in DEPLOYED:
            done.append(f"waited for {name} to finish ({current['StackStatus']})")
    if current is not None and current["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        reason = failure_reason(cloudformation, name) or "no reason in its events"
        ctx.log(
            f"{region}: {name} is {current['StackStatus']} (it failed to create: {reason}); "
            "a stack that rolled back cannot be updated, so it is deleted and created again"
        )
        _delete_stack(ctx, cloudformation, name)
        done.append(f"deleted the rolled-back {name}")
        current = None
    if current is not None and current["StackStatus"] == "DELETE_FAILED":
        reason = failure_reason(cloudformation, name) or "no reason in its events"
        raise MmtuiError(
            f"{name} is DELETE_FAILED ({reason}); delete what blocks it, then reset step 1",
            ExitCode.AWS_ERROR,
        )
    parameters = {
        p["ParameterKey"]: p.get("ParameterValue") for p in (current or {}).get("Parameters", [])
    }
    if (
        current is not None
        and current["StackStatus"] in DEPLOYED
        and parameters.get("IsSecondary") == "true"
    ):
        return "; ".join(done)
    if current is None or current["StackStatus"] == "REVIEW_IN_PROGRESS":
        change_set_type = "CREATE"
        if current is not None:
            ctx.log(
                f"{region}: {name} is REVIEW_IN_PROGRESS (created by a change set that was "
                "never executed); creating it with a new CREATE change set"
            )
    else:
        change_set_type = "UPDATE"  # a settled stack (UPDATABLE)
    body = _secondary_template(ctx)
    change_set_id = cloudformation.create_change_set(
        StackName=name,
        ChangeSetName=f"mmtui-{int(time.time())}",
        ChangeSetType=change_set_type,
        TemplateBody=body,
        Parameters=[{"ParameterKey": "IsSecondary", "ParameterValue": "true"}],
        Capabilities=CAPABILITIES,
    )["Id"]

    def created() -> bool:
        status = cloudformation.describe_change_set(ChangeSetName=change_set_id)
        return status["Status"] in ("CREATE_COMPLETE", "FAILED")

    ctx.wait(f"the change set of {name}", created)
    described = cloudformation.describe_change_set(ChangeSetName=change_set_id)
    if described["Status"] == "FAILED":
        if "didn't contain changes" in described.get("StatusReason", ""):
            if current is not None and current["StackStatus"] not in DEPLOYED:
                # UPDATE_ROLLBACK_COMPLETE: the stack runs this very template, but its last
                # update failed; CloudFormation has nothing to redo, so it stays that way.
                reason = failure_reason(cloudformation, name) or "no reason in its events"
                raise MmtuiError(
                    f"{name} already runs the template step 1 deploys, but its last update "
                    f"failed and was rolled back ({reason}); there is nothing to update. "
                    "Reset step 1 and solve it again to build the stack afresh.",
                    ExitCode.AWS_ERROR,
                )
            return "; ".join(done)
        raise MmtuiError(
            f"the change set of {name} failed: {described.get('StatusReason')}",
            ExitCode.AWS_ERROR,
        )
    cloudformation.execute_change_set(ChangeSetName=change_set_id)
    stack = _settled(ctx, cloudformation, name, stream=True)
    status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
    if status not in DEPLOYED:
        reason = failure_reason(cloudformation, name) or (stack or {}).get(
            "StackStatusReason", "no reason in its events"
        )
        raise MmtuiError(f"deploying {name} failed, it is {status}: {reason}", ExitCode.AWS_ERROR)
    done.append(f"deployed {name} with IsSecondary=true")
    return "; ".join(done)


def _secondary_template(ctx: TaskContext) -> str:
    """The primary stack's own template (the secondary is built from exactly the same code),
    with the Lambda runtimes AWS no longer accepts for new functions raised."""
    template = ctx.client("cloudformation", ctx.primary_region).get_template(
        StackName=ctx.param("primary_stack")
    )["TemplateBody"]
    body = template if isinstance(template, str) else json.dumps(template)
    raised_body, raised = raise_runtimes(body)
    if raised:
        ctx.log(
            f"the template of {ctx.param('primary_stack')} declares Lambda runtimes that AWS "
            f"no longer accepts for new functions; deploying it with "
            f"{', '.join(r.describe() for r in raised)}"
        )
    return raised_body


def _settled(
    ctx: TaskContext,
    cloudformation: Any,
    name: str,
    *,
    stream: bool = False,
    until_settled: bool = False,
) -> dict[str, Any] | None:
    """Wait until no operation runs on the stack, or (unless `until_settled`) its outcome is
    a failure: no need to watch a rollback to its end to report it. Returns the stack then,
    None if it is gone."""
    from botocore.exceptions import ClientError

    seen: set[str] = set()
    last: dict[str, Any] | None = None

    def finished() -> bool:
        nonlocal last
        if stream:
            for event in reversed(
                cloudformation.describe_stack_events(StackName=name)["StackEvents"]
            ):
                if event["EventId"] not in seen:
                    seen.add(event["EventId"])
                    line = event_line(event)
                    if line is not None:
                        ctx.log(f"{ctx.secondary_region}: {line}")
        try:
            last = dict(cloudformation.describe_stacks(StackName=name)["Stacks"][0])
        except ClientError as exc:
            if stack_missing(exc):
                last = None
                return True
            raise
        status = str(last["StackStatus"])
        if status == "DELETE_COMPLETE":
            last = None
            return True
        return not in_progress(status) or (failed(status) and not until_settled)

    ctx.wait(f"{name} to finish", finished)
    return last


def _delete_stack(ctx: TaskContext, cloudformation: Any, name: str) -> None:
    """Delete a stack and wait until it is gone; DELETE_FAILED ends the wait with its reason."""
    from mmtui.exitcodes import ExitCode, MmtuiError

    cloudformation.delete_stack(StackName=name)
    left = _settled(ctx, cloudformation, name)
    if left is not None:
        reason = failure_reason(cloudformation, name) or "no reason in its events"
        raise MmtuiError(
            f"deleting {name} failed, it is {left['StackStatus']}: {reason}", ExitCode.AWS_ERROR
        )


@TASKS.implement("infrastructure.reset")
def reset_infrastructure(ctx: TaskContext) -> list[Action]:
    stack = describe_stack(ctx, "secondary")
    if stack is None:
        return []
    name, region = ctx.param("secondary_stack"), ctx.secondary_region
    outputs = outputs_of(stack)
    actions = []
    for key in ("SecondaryCoreServiceEcrRepo", "SecondaryLikeServiceEcrRepo"):
        repository = outputs.get(key, "").split("/", 1)[-1]
        if repository:
            actions.append(
                Action(
                    region,
                    f"repository {repository}",
                    "empty",
                    partial(empty_repository, ctx, region, repository),
                )
            )

    def delete() -> str:
        cloudformation = ctx.client("cloudformation", region)
        _delete_stack(ctx, cloudformation, name)
        return f"deleted {name}"

    actions.append(Action(region, f"stack {name}", "delete", delete))
    return actions


def empty_repository(ctx: TaskContext, region: str, repository: str) -> str:
    """Delete every image of a repository (AWS deletes a stack's repository only empty);
    returns what it did, "" when there was nothing (or no repository)."""
    from botocore.exceptions import ClientError

    ecr = ctx.client("ecr", region)
    try:
        images = [
            i
            for page in ecr.get_paginator("list_images").paginate(repositoryName=repository)
            for i in page.get("imageIds", [])
        ]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "RepositoryNotFoundException":
            return ""
        raise
    for start in range(0, len(images), 100):
        ecr.batch_delete_image(repositoryName=repository, imageIds=images[start : start + 100])
    if not images:
        return ""
    return f"deleted {len(images)} image{'' if len(images) == 1 else 's'} from {repository}"
