"""Lab 4's live facts: the accelerator, its listener and groups, and each stack's load
balancer, fetched once per round of checks (several checks read the same ones)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmtui.labs.common.once import FetchedOnce
from mmtui.labs.lab4.accelerator import (
    GA_REGION,
    accelerators_named,
    address_text,
    groups_of,
    listeners_of,
    workshop_listener,
)

if TYPE_CHECKING:
    from mmtui.engine.context import CheckContext

BALANCER = "MythicalLoadBalancer"
"""The workshop template's logical id of the load balancer (both stacks have it)."""


def balancer_of(cloudformation: Any, elbv2: Any, stack: str) -> dict[str, str] | None:
    """{"arn", "dns"} of the workshop load balancer of `stack`; None when the stack or its load
    balancer does not exist."""
    from botocore.exceptions import ClientError

    try:
        resource = cloudformation.describe_stack_resource(
            StackName=stack, LogicalResourceId=BALANCER
        )["StackResourceDetail"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationError":
            return None  # no such stack, or no such resource in it
        raise
    arn = str(resource.get("PhysicalResourceId") or "")
    if not arn.startswith("arn:"):
        return None  # still being created
    try:
        found = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "LoadBalancerNotFound":
            return None
        raise
    return {"arn": arn, "dns": str(found[0]["DNSName"])} if found else None


class Lab4Facts(FetchedOnce):
    def __init__(self, ctx: CheckContext) -> None:
        super().__init__()
        self.ctx = ctx

    def ga(self) -> Any:
        return self.ctx.client("globalaccelerator", GA_REGION)

    def accelerators(self) -> list[dict[str, Any]]:
        """Every accelerator named as the lab says (normally one)."""
        name = self.ctx.param("accelerator")
        return self.once("accelerators", lambda: accelerators_named(self.ga(), name))

    def accelerator(self) -> dict[str, Any] | None:
        found = self.accelerators()
        return found[0] if len(found) == 1 else None

    def listeners(self) -> list[dict[str, Any]]:
        accelerator = self.accelerator()
        if accelerator is None:
            return []
        arn = str(accelerator["AcceleratorArn"])
        return self.once("listeners", lambda: listeners_of(self.ga(), arn))

    def listener(self) -> dict[str, Any] | None:
        return workshop_listener(self.listeners())

    def groups(self) -> dict[str, dict[str, Any]]:
        """The workshop listener's endpoint groups by the region they serve."""
        listener = self.listener()
        if listener is None:
            return {}
        arn = str(listener["ListenerArn"])
        found = self.once("groups", lambda: groups_of(self.ga(), arn))
        return {str(group["EndpointGroupRegion"]): group for group in found}

    def balancer(self, which: str) -> dict[str, str] | None:
        """The workshop load balancer of the primary or secondary stack."""
        region = self.ctx.primary_region if which == "primary" else self.ctx.secondary_region
        stack = self.ctx.param(f"{which}_stack")
        return self.once(
            f"balancer:{which}",
            lambda: balancer_of(
                self.ctx.client("cloudformation", region), self.ctx.client("elbv2", region), stack
            ),
        )

    def fetch_all(self) -> None:
        """Fetch every fact lab text may name (the checks fetch only what they judge)."""
        self.groups()
        self.balancer("primary")
        self.balancer("secondary")

    def known(self) -> dict[str, str]:
        """Facts for lab text from what has been fetched so far (no new calls)."""
        values: dict[str, str] = {"ga_region": GA_REGION}
        accelerators = self.value("accelerators") or []
        if len(accelerators) == 1:
            accelerator = accelerators[0]
            values["accelerator_arn"] = str(accelerator["AcceleratorArn"])
            values["accelerator_dns"] = str(accelerator.get("DnsName", ""))
            values["static_ips"] = address_text(accelerator)
            values["account_id"] = str(accelerator["AcceleratorArn"]).split(":")[4]
        listener = workshop_listener(self.value("listeners") or [])
        if listener is not None:
            values["listener_arn"] = str(listener["ListenerArn"])
            for group in self.value("groups") or []:
                for which in ("primary", "secondary"):
                    region = (
                        self.ctx.primary_region if which == "primary" else self.ctx.secondary_region
                    )
                    if group.get("EndpointGroupRegion") == region:
                        values[f"{which}_group_arn"] = str(group["EndpointGroupArn"])
        for which in ("primary", "secondary"):
            balancer = self.value(f"balancer:{which}")
            if balancer:
                values[f"{which}_alb_arn"] = balancer["arn"]
                values[f"{which}_alb_dns"] = balancer["dns"]
                values.setdefault("account_id", balancer["arn"].split(":")[4])
        return {name: value for name, value in values.items() if value}
