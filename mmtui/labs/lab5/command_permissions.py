"""The IAM actions of Lab 5's own commands, `mmtui load` and `mmtui drill failover`, declared as
the labs declare theirs, and their least-privilege policies (`mmtui policy load`, `mmtui policy
drill`).

`LOAD` is what `mmtui load` calls: the accelerator found by its name (its DNS name is where the
likes go). The likes themselves are plain HTTP to the site through the accelerator, which IAM
does not see. `DRILL` is what `mmtui drill failover` calls whichever way it breaks the primary;
`DRILL_BREAKS` adds what each `--break` calls to break the primary and restore it.

Neither command starts work that AWS authorises against the caller: a dial, a service's desired
count and a security group rule are changed in place (ECS starts the restored tasks with its
service-linked role and the task definition's roles, passed when Lab 0 made the services), so
there is no on-behalf statement (compare Lab 3's CloudFormation or cleanup's).

The guide's traffic panel (traffic.py) makes the same calls as the commands: its load is
`mmtui load`'s, its drill `mmtui drill failover --break tasks`'s; what its status line reads (the
listener and the groups) is in `mmtui policy check --lab 5`, which the guide needs anyway.

`sts:GetCallerIdentity` (both commands ask who they act as first) needs no permission.
Statements of Global Accelerator's actions carry no region condition: its API is served from
us-west-2 only, whatever the lab's two regions are.
"""

from __future__ import annotations

from typing import Any, Literal

from mmtui.engine.permissions import Grant, policy_document, split_global
from mmtui.engine.registry import LabPermissions, declare_permissions


def _actions(*names: str) -> frozenset[str]:
    return frozenset(names)


_ACCELERATOR = "globalaccelerator:ListAccelerators"

LOAD = _actions(_ACCELERATOR)

DRILL = _actions(
    # The accelerator, its listener and the endpoint groups with their health and dials.
    _ACCELERATOR,
    "globalaccelerator:ListListeners",
    "globalaccelerator:ListEndpointGroups",
    # The dials set to 100/0 for the drill and put back after it; the change waited on.
    "globalaccelerator:UpdateEndpointGroup",
    "globalaccelerator:DescribeAccelerator",
    # The mysfit's likes in both replicas (before the load, and at the failover for the RPO).
    "dynamodb:GetItem",
    # The primary stack's outputs name the services and the tasks' security group.
    "cloudformation:DescribeStacks",
)

DrillBreak = Literal["tasks", "network"]

DRILL_BREAKS: dict[DrillBreak, frozenset[str]] = {
    # The primary's services read, set to 0 tasks, and back to their count.
    "tasks": _actions("ecs:DescribeServices", "ecs:UpdateService"),
    # The tasks' security group narrowed to a range that shuts the load balancer out, and
    # reopened (the VPC's range read to know what to narrow).
    "network": _actions(
        "ec2:DescribeVpcs",
        "ec2:DescribeSecurityGroups",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
    ),
}

PERMISSIONS = declare_permissions(
    "5 commands",
    LabPermissions(
        {
            "load": LOAD,
            "drill": DRILL,
            **{f"drill.break_{kind}": actions for kind, actions in DRILL_BREAKS.items()},
        }
    ),
)

CommandMode = Literal["load", "drill"]


def command_policy(mode: CommandMode, regions: list[str]) -> dict[str, Any]:
    """The least-privilege policy of `mmtui load` or `mmtui drill failover` (both ways of
    breaking) in the workshop's two `regions`."""
    if mode == "load":
        return policy_document(split_global("MmtuiLoad", LOAD), regions)
    grants: list[Grant] = split_global("MmtuiDrill", DRILL)
    for kind, actions in DRILL_BREAKS.items():
        grants += split_global(f"MmtuiDrillBreak{kind.capitalize()}", actions - DRILL)
    return policy_document(grants, regions)
