"""Reading a CloudFormation stack's state and events: what is settled, what failed and why.

A stack's status alone says little when a deployment fails ("ROLLBACK_COMPLETE"); its events
say which resource failed first and AWS's reason, which is what the attendee needs to act.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DEPLOYED = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
"""A deployment that succeeded: the stack has what its template says."""

UPDATABLE = (*DEPLOYED, "UPDATE_ROLLBACK_COMPLETE")
"""Settled states from which CloudFormation accepts an update."""

CANCELLED = ("Resource creation cancelled", "Resource update cancelled")
"""The reason AWS gives resources stopped because another one failed: not the cause."""


INITIATED = ("Resource creation Initiated", "Resource update Initiated")
"""The reason of AWS's second *_IN_PROGRESS event of a resource: the call was made."""


def event_line(event: Mapping[str, Any]) -> str | None:
    """A stack event as the solve's log shows it: the resource, its status and AWS's reason
    when it says something. None for the second "in progress" event AWS emits for each
    resource (its reason only says the create call was made: the line would repeat)."""
    reason = str(event.get("ResourceStatusReason") or "")
    if reason in INITIATED:
        return None
    line = f"{event.get('LogicalResourceId')} {event.get('ResourceStatus')}"
    return f"{line} ({reason})" if reason and reason != "User Initiated" else line


def in_progress(status: str) -> bool:
    """An operation is running (REVIEW_IN_PROGRESS is not one: it waits for the attendee)."""
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def failed(status: str) -> bool:
    """The last operation failed, or is being rolled back (its outcome is already known)."""
    return "ROLLBACK" in status or status.endswith("_FAILED")


def first_failure(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The first resource that failed in the stack's latest operation, and AWS's reason.

    `events` as DescribeStackEvents lists them, newest first. The latest operation starts at
    the newest stack-level "User Initiated" event; resources cancelled because of another
    one's failure are skipped.
    """
    latest: list[Mapping[str, Any]] = []
    for event in events:
        latest.append(event)
        if _operation_start(event):
            break
    for event in reversed(latest):  # oldest first: the first failure is the cause
        status = str(event.get("ResourceStatus", ""))
        reason = str(event.get("ResourceStatusReason") or "")
        if (
            status.endswith("_FAILED")
            and event.get("ResourceType") != "AWS::CloudFormation::Stack"
            and reason not in CANCELLED
        ):
            return f"{event.get('LogicalResourceId')} ({event.get('ResourceType')}): {reason}"
    return None


def failure_reason(cloudformation: Any, stack: str) -> str | None:
    """`first_failure` of a stack, read from AWS: pages of events, newest first, until the
    start of the latest operation (a rolled-back creation lists a few hundred)."""
    latest: list[Mapping[str, Any]] = []
    for page in cloudformation.get_paginator("describe_stack_events").paginate(StackName=stack):
        for event in page.get("StackEvents", []):
            latest.append(event)
            if _operation_start(event):
                return first_failure(latest)
    return first_failure(latest)


def _operation_start(event: Mapping[str, Any]) -> bool:
    return (
        event.get("ResourceType") == "AWS::CloudFormation::Stack"
        and event.get("ResourceStatusReason") == "User Initiated"
    )
