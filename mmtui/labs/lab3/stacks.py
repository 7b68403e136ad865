"""The two CloudFormation stacks as the steps see them: their status explained in one
place (with the events of a failed or deleting stack), and their outputs.
"""

from __future__ import annotations

from typing import Any

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import TaskContext
from mmtui.labs.lab3.aws import facts
from mmtui.labs.lab3.facts import stack_missing
from mmtui.labs.lab3.stack_events import DEPLOYED, failed, failure_reason, in_progress

_NO_OUTPUTS = ("REVIEW_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")
"""Stack states in which nothing of the template exists: no outputs, no resources."""


def needs_secondary_stack(check: Checker, what: str) -> CheckResult | None:
    """None when the secondary stack has its outputs to check against; otherwise the result:
    pending while it is being created (AWS shows outputs only at the end), failed when it
    does not exist, never got created, or is being deleted."""
    stack = facts(check).stack("secondary")
    name = check.ctx.param("secondary_stack")
    if stack is None:
        return check.failed(
            what,
            f"no stack {name}",
            f"Checking {what} needs the stack {name}, which does not exist in "
            f"{check.ctx.secondary_region} yet (step 1).",
        )
    status = str(stack["StackStatus"])
    if status in ("CREATE_IN_PROGRESS", "IMPORT_IN_PROGRESS"):
        return check.pending(
            what,
            status,
            f"Checking {what} waits for {name}, which is still being created ({status}); "
            "its outputs appear when it is complete.",
        )
    if status in _NO_OUTPUTS or (status.startswith("DELETE_") and status != "DELETE_FAILED"):
        return check.failed(
            what,
            status,
            f"Checking {what} needs the stack {name}, which is {status} (see step 1).",
        )
    return None


def stack_status(check: Checker, which: str) -> CheckResult:
    """A stack's state as a verdict: deployed passes, a deployment running is pending, and
    every other state (failed, rolled back, under review, being deleted) fails with what
    happened and what to do."""
    stack = facts(check).stack(which)
    name = check.ctx.param(f"{which}_stack")
    region = check.region
    expected = "CREATE_COMPLETE or UPDATE_COMPLETE"
    if stack is None:
        return check.failed(expected, "no such stack", f"There is no stack {name} in {region}.")
    status = str(stack["StackStatus"])
    if status in DEPLOYED:
        return check.passed(expected, status, f"{name} is deployed in {region}.")
    if status == "UPDATE_ROLLBACK_COMPLETE" and which == "primary":
        # Lab 0's stack runs its previous template after a failed update: still deployed.
        return check.passed(
            expected,
            status,
            f"{name} is deployed in {region} (its last update was rolled back).",
        )
    if status == "REVIEW_IN_PROGRESS":
        return check.failed(
            expected,
            status,
            f"{name} was created by a change set that was never executed, so nothing is being "
            "deployed. Run the deploy command again (it creates the stack), or execute the "
            f"change set (aws cloudformation list-change-sets --stack-name {name} --region "
            f"{region}).",
        )
    if status.startswith("DELETE_"):
        detail = "it is being deleted" if status == "DELETE_IN_PROGRESS" else "its deletion failed"
        return check.failed(
            expected,
            status,
            f"{name} is {status}: {detail}, which is not a deployment. "
            + stack_failure_text(check, stack, which),
        )
    if in_progress(status) and not failed(status):
        return check.pending(expected, status, f"{name} is still being deployed ({status}).")
    advice = (
        f"A stack that rolled back cannot be updated: delete it (aws cloudformation "
        f"delete-stack --stack-name {name} --region {region}) and deploy again."
        if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "ROLLBACK_IN_PROGRESS")
        else "Fix the cause and deploy again."
    )
    reason = stack_failure_text(check, stack, which)
    return check.failed(
        expected,
        status,
        f"{name} is {status}: its deployment failed. {reason} {advice}",
    )


def stack_failure_text(check: Checker, stack: dict[str, Any], which: str) -> str:
    """Why the stack's latest operation failed: its first failed resource and AWS's reason,
    from the stack's events (read-only: DescribeStackEvents)."""
    name = check.ctx.param(f"{which}_stack")
    region = check.ctx.primary_region if which == "primary" else check.ctx.secondary_region
    reason = failure_reason(check.ctx.client("cloudformation", region), name)
    if reason:
        return f"The first resource that failed: {reason}."
    own = stack.get("StackStatusReason")
    return f"Reason: {own}." if own else "Its events give no reason."


def describe_stack(ctx: TaskContext, which: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    region = ctx.primary_region if which == "primary" else ctx.secondary_region
    try:
        stacks = ctx.client("cloudformation", region).describe_stacks(
            StackName=ctx.param(f"{which}_stack")
        )["Stacks"]
    except ClientError as exc:
        if stack_missing(exc):
            return None
        raise
    return dict(stacks[0]) if stacks else None


def outputs_of(stack: dict[str, Any] | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}
