"""The IAM actions each check and task of Lab 5 needs (see Lab 3's permissions.py for how they
are used and proven)."""

from __future__ import annotations

import mmtui.labs.lab5.catalog  # noqa: F401  (declares the names given permissions here)
from mmtui.engine.registry import LabPermissions, declare_permissions


def _actions(*names: str) -> frozenset[str]:
    return frozenset(names)


_ACCELERATORS = "globalaccelerator:ListAccelerators"
_GROUPS = (_ACCELERATORS, "globalaccelerator:ListListeners", "globalaccelerator:ListEndpointGroups")
_DIALS = (*_GROUPS, "globalaccelerator:UpdateEndpointGroup")
_STACKS = "cloudformation:DescribeStacks"
_TRAFFIC = (_STACKS, "cloudwatch:GetMetricData")
_SERVICES = (_STACKS, "ecs:DescribeServices")
_INGRESS = (_STACKS, "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups")
# Is the primary broken? (a pending verdict while the health checks catch up)
_BROKEN = (*_SERVICES, *_INGRESS)
_RESTORE = (
    *_GROUPS,
    *_BROKEN,
    "ecs:UpdateService",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupIngress",
)

CHECKS: dict[str, frozenset[str]] = {
    "prereq.accelerator_serves": _actions(_ACCELERATORS),
    "load_test.postfile": _actions(),
    "load_test.accelerator_answers": _actions(_ACCELERATORS),
    **{f"{step}.dials": _actions(*_GROUPS) for step in ("primary_only", "secondary_only", "split")},
    **{
        f"{step}.traffic": _actions(*_TRAFFIC)
        for step in ("primary_only", "secondary_only", "split")
    },
    "failover.primary_unhealthy": _actions(*_GROUPS, *_BROKEN),
    "failover.secondary_serves": _actions(_ACCELERATORS),
    "restore.services": _actions(*_SERVICES),
    "restore.ingress": _actions(*_INGRESS),
    "restore.primary_healthy": _actions(*_GROUPS, *_BROKEN),
}

TASKS: dict[str, frozenset[str]] = {
    "load_test.solve": _actions(),
    "load_test.reset": _actions(),
    **{
        f"{step}.solve": _actions(*_DIALS, *_TRAFFIC, "globalaccelerator:DescribeAccelerator")
        for step in ("primary_only", "secondary_only", "split")
    },
    **{f"{step}.reset": _actions(*_DIALS) for step in ("primary_only", "secondary_only", "split")},
    "failover.solve": _actions(*_GROUPS, *_SERVICES, "ecs:UpdateService"),
    "failover.reset": _actions(*_RESTORE),
    "restore.solve": _actions(*_RESTORE),
}

PERMISSIONS = declare_permissions("5", LabPermissions({**CHECKS, **TASKS}))
