"""The IAM actions each check and task of Lab 4 needs (see Lab 3's permissions.py for how
they are used and proven). Global Accelerator's actions are granted without the lab's region
condition: its API is always called in us-west-2."""

from __future__ import annotations

import mmtui.labs.lab4.catalog  # noqa: F401  (declares the names given permissions here)
from mmtui.engine.registry import LabPermissions, OnBehalf, declare_permissions


def _actions(*names: str) -> frozenset[str]:
    return frozenset(names)


_ACCELERATORS = "globalaccelerator:ListAccelerators"
_LISTENERS = (_ACCELERATORS, "globalaccelerator:ListListeners")
_GROUPS = (*_LISTENERS, "globalaccelerator:ListEndpointGroups")
# Each stack's load balancer: its stack resource, then its DNS name (facts.balancer_of).
_BALANCERS = ("cloudformation:DescribeStackResource", "elasticloadbalancing:DescribeLoadBalancers")
_STATUS = "globalaccelerator:DescribeAccelerator"

CHECKS: dict[str, frozenset[str]] = {
    "prereq.primary_site": _actions(*_BALANCERS),
    "prereq.secondary_site": _actions(*_BALANCERS),
    "accelerator.exists": _actions(_ACCELERATORS),
    "accelerator.enabled": _actions(_ACCELERATORS),
    "listener.tcp_80": _actions(*_LISTENERS),
    "listener.client_affinity": _actions(*_LISTENERS),
    "endpoint_groups.primary": _actions(*_GROUPS),
    "endpoint_groups.secondary": _actions(*_GROUPS),
    "endpoints.primary": _actions(*_GROUPS, *_BALANCERS),
    "endpoints.secondary": _actions(*_GROUPS, *_BALANCERS),
    "test.deployed": _actions(_ACCELERATORS),
    "test.healthy": _actions(*_GROUPS),
    "test.site": _actions(_ACCELERATORS),
}

_SOLVE_ACCELERATOR = (
    _ACCELERATORS,
    "globalaccelerator:CreateAccelerator",
    "globalaccelerator:UpdateAccelerator",
)
_SOLVE_LISTENER = (
    *_LISTENERS,
    "globalaccelerator:CreateListener",
    "globalaccelerator:UpdateListener",
)
_SOLVE_GROUPS = (
    *_GROUPS,
    "globalaccelerator:CreateEndpointGroup",
    "globalaccelerator:UpdateEndpointGroup",
)
_SOLVE_ENDPOINTS = (
    *_GROUPS,
    *_BALANCERS,
    "globalaccelerator:AddEndpoints",
    "globalaccelerator:UpdateEndpointGroup",
)
_DELETE_GROUPS = (*_GROUPS, "globalaccelerator:DeleteEndpointGroup")
_DELETE_LISTENERS = (*_DELETE_GROUPS, "globalaccelerator:DeleteListener")

TASKS: dict[str, frozenset[str]] = {
    "accelerator.solve": _actions(*_SOLVE_ACCELERATOR),
    "accelerator.reset": _actions(
        *_DELETE_LISTENERS,
        _STATUS,
        "globalaccelerator:UpdateAccelerator",
        "globalaccelerator:DeleteAccelerator",
    ),
    "listener.solve": _actions(*_SOLVE_LISTENER),
    "listener.reset": _actions(*_DELETE_LISTENERS),
    "endpoint_groups.solve": _actions(*_SOLVE_GROUPS),
    "endpoint_groups.reset": _actions(*_DELETE_GROUPS),
    "endpoints.solve": _actions(*_SOLVE_ENDPOINTS),
    "endpoints.reset": _actions(*_GROUPS, *_BALANCERS, "globalaccelerator:RemoveEndpoints"),
    "test.solve": _actions(
        *_SOLVE_ACCELERATOR, *_SOLVE_LISTENER, *_SOLVE_GROUPS, *_SOLVE_ENDPOINTS, _STATUS
    ),
}

# Adding a load balancer as an endpoint: Global Accelerator reads the load balancer as the
# caller, and client IP preservation makes it create its service-linked role the first time.
_ENDPOINT_ON_BEHALF = OnBehalf(
    "AddLoadBalancerEndpoints",
    frozenset({"elasticloadbalancing:DescribeLoadBalancers", "iam:CreateServiceLinkedRole"}),
)
ON_BEHALF: dict[str, tuple[OnBehalf, ...]] = {
    "endpoints.solve": (_ENDPOINT_ON_BEHALF,),
    "test.solve": (_ENDPOINT_ON_BEHALF,),
}

PERMISSIONS = declare_permissions("4", LabPermissions({**CHECKS, **TASKS}, on_behalf=ON_BEHALF))
