"""Lab 5's live facts: Lab 4's accelerator and groups, the primary stack's services and the
tasks' security group, each load balancer's CloudWatch name, and where this target reaches the
accelerator."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mmtui.labs.lab4.facts import Lab4Facts

if TYPE_CHECKING:
    from mmtui.engine.context import CheckContext

_FROM_OUTPUTS = {
    "primary": {
        "primary_cluster": "EcsClusterName",
        "primary_core_service": "CoreEcsServiceName",
        "primary_like_service": "LikeEcsServiceName",
        "fargate_sg": "FargateContainerSecurityGroup",
        "primary_alb_full_name": "LoadBalancerFullName",
    },
    "secondary": {"secondary_alb_full_name": "LoadBalancerFullName"},
}


def reached_at(dns: str, resolve: dict[str, str]) -> str:
    """Where this target reaches a host: `host[:port]` from the connection's address map (a
    sandbox's loopback address for a name not in public DNS), else the name itself."""
    url = resolve.get(dns)
    if not url:
        return dns
    parts = urlsplit(url)
    return parts.netloc or dns


def narrowed(cidr: str) -> str:
    """The workshop's way to cut the network: the VPC's range narrowed to its first address."""
    try:
        return f"{ipaddress.ip_network(cidr, strict=False).network_address}/32"
    except ValueError:
        return cidr


class Lab5Facts(Lab4Facts):
    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)

    def outputs(self, which: str) -> dict[str, str]:
        """The stack's outputs ({} when it does not exist)."""
        from mmtui.labs.lab3.facts import stack_missing

        region = self.ctx.primary_region if which == "primary" else self.ctx.secondary_region
        name = self.ctx.param(f"{which}_stack")

        def fetch() -> dict[str, str]:
            from botocore.exceptions import ClientError

            client = self.ctx.client("cloudformation", region)
            try:
                stacks = client.describe_stacks(StackName=name)["Stacks"]
            except ClientError as exc:
                if stack_missing(exc):
                    return {}
                raise
            outputs = stacks[0].get("Outputs", []) if stacks else []
            return {o["OutputKey"]: o["OutputValue"] for o in outputs}

        return self.once(f"outputs:{which}", fetch)

    def vpc_cidr(self) -> str | None:
        vpc = self.outputs("primary").get("VPCId")
        if not vpc:
            return None
        client = self.ctx.client("ec2", self.ctx.primary_region)

        def fetch() -> str | None:
            found = client.describe_vpcs(VpcIds=[vpc]).get("Vpcs", [])
            return str(found[0]["CidrBlock"]) if found else None

        return self.once("vpc-cidr", fetch)

    def address(self) -> str | None:
        """Where this target reaches the accelerator (host[:port]); None without one."""
        accelerator = self.accelerator()
        if accelerator is None:
            return None
        return reached_at(str(accelerator.get("DnsName", "")), self.ctx.connection.resolve)

    def fetch_all(self) -> None:
        super().fetch_all()
        self.outputs("primary")
        self.outputs("secondary")
        self.vpc_cidr()

    def known(self) -> dict[str, str]:
        values = super().known()
        for which, facts in _FROM_OUTPUTS.items():
            outputs: dict[str, Any] = self.value(f"outputs:{which}") or {}
            for fact, output in facts.items():
                if outputs.get(output):
                    values[fact] = str(outputs[output])
        cidr = self.value("vpc-cidr")
        if cidr:
            values["vpc_cidr"], values["vpc_cidr_narrowed"] = cidr, narrowed(cidr)
        dns = values.get("accelerator_dns")
        if dns:
            values["accelerator_address"] = reached_at(dns, self.ctx.connection.resolve)
        return values
