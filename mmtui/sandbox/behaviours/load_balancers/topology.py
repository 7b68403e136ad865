"""What stands behind each load balancer, read from moto's models: its listener's routing, its
target groups with their health check settings, and the ECS tasks each target group should
hold, with whether the load balancer can reach them.

Every function here reads moto's models and must be called with the sandbox lock held; none
calls the sandbox over HTTP. The result is plain frozen data that the health board (health.py)
keeps and the sites read without the lock.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repo>[^:@]+)[:@](?P<ref>.+)$"
)


@dataclass(frozen=True)
class Balancer:
    dns: str
    region: str
    account: str
    arn: str = ""

    @property
    def full_name(self) -> str:
        """`app/<name>/<id>`: the `LoadBalancer` dimension of its CloudWatch metrics (the
        stack's LoadBalancerFullName output)."""
        return self.arn.split(":loadbalancer/", 1)[-1]


@dataclass(frozen=True)
class Tasks:
    """The running tasks of one ECS service deployment behind a target group."""

    service: str
    """The service's ARN."""
    task_definition: str
    count: int
    container: str
    port: int
    environment: tuple[tuple[str, str], ...]
    subnets: tuple[tuple[str, str], ...]
    """(CIDR, availability zone) of the service's subnets: where its tasks get addresses."""
    reach: str
    """What a connection from the load balancer's nodes to the tasks' port meets: "ok", or
    "timeout" when no security group of the service lets them in (a security group drops
    the packets: nothing answers, so the connection times out)."""


@dataclass(frozen=True)
class Group:
    """A target group as its health checks need it (AWS's seconds, not scaled)."""

    arn: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    deregistration_delay: float
    health_check_port: str
    tasks: tuple[Tasks, ...]


@dataclass(frozen=True)
class Rule:
    patterns: tuple[re.Pattern[str], ...]
    group: str


@dataclass(frozen=True)
class View:
    """One load balancer and what stands behind its first HTTP listener."""

    balancer: Balancer
    rules: tuple[Rule, ...]
    """Path-pattern rules in priority order."""
    default_group: str | None
    groups: tuple[Group, ...]

    def group_for(self, path: str) -> str | None:
        for rule in self.rules:
            if any(pattern.match(path) for pattern in rule.patterns):
                return rule.group
        return self.default_group


def balancers() -> list[Balancer]:
    from moto.elbv2.models import elbv2_backends

    return [
        Balancer(balancer.dns_name, region, account, balancer.arn)
        for account, regions in list(elbv2_backends.items())
        for region, backend in list(regions.items())
        for balancer in list(backend.load_balancers.values())
    ]


def views(where: tuple[str, str] | None = None) -> list[View]:
    """Every load balancer's view (or only those of one (account, region))."""
    from moto.elbv2.models import elbv2_backends

    found: list[View] = []
    for account, regions in list(elbv2_backends.items()):
        if where is not None and account != where[0]:
            continue
        for region, backend in list(regions.items()):
            if where is not None and region != where[1]:
                continue
            for model in list(backend.load_balancers.values()):
                balancer = Balancer(model.dns_name, region, account, model.arn)
                found.append(_view(balancer, model, backend))
    return found


def _view(balancer: Balancer, model: Any, backend: Any) -> View:
    rules: list[tuple[int, Rule]] = []
    default_group: str | None = None
    listeners = [
        listener
        for listener in model.listeners.values()
        if str(listener.protocol).upper() == "HTTP"
    ]
    if listeners:
        for rule in listeners[0].rules.values():
            group = _forward_group(rule.actions)
            if group is None:
                continue
            if rule.is_default:
                default_group = group
                continue
            patterns = tuple(
                _glob(value)
                for condition in rule.conditions or []
                if condition.get("Field") == "path-pattern"
                for value in _condition_values(condition)
            )
            if patterns:
                rules.append((int(rule.priority), Rule(patterns, group)))
    rules.sort(key=lambda pair: pair[0])
    wanted = {default_group, *(rule.group for _, rule in rules)} - {None}
    groups = tuple(
        _group(backend.target_groups[arn], balancer, model)
        for arn in sorted(str(a) for a in wanted)
        if arn in backend.target_groups
    )
    return View(balancer, tuple(rule for _, rule in rules), default_group, groups)


def _forward_group(actions: Iterable[Any]) -> str | None:
    for action in actions:
        data = getattr(action, "data", action) or {}
        if data.get("Type") != "forward":
            continue
        if data.get("TargetGroupArn"):
            return str(data["TargetGroupArn"])
        groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
        if groups:
            return str(groups[0].get("TargetGroupArn"))
    return None


def _condition_values(condition: dict[str, Any]) -> list[str]:
    config = condition.get("PathPatternConfig") or {}
    return [str(v) for v in (config.get("Values") or condition.get("Values") or [])]


def _glob(pattern: str) -> re.Pattern[str]:
    """An ALB path pattern (case sensitive; `*` any characters, `?` exactly one)."""
    text = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{text}$")


def _group(model: Any, balancer: Balancer, load_balancer: Any) -> Group:
    return Group(
        arn=str(model.arn),
        interval=float(model.health_check_interval_seconds or 30),
        timeout=float(model.health_check_timeout_seconds or 5),
        healthy_threshold=int(model.healthy_threshold_count or 5),
        unhealthy_threshold=int(model.unhealthy_threshold_count or 2),
        deregistration_delay=float(
            model.attributes.get("deregistration_delay.timeout_seconds", 300)
        ),
        health_check_port=str(model.health_check_port or "traffic-port"),
        tasks=tuple(_tasks(str(model.arn), balancer, load_balancer)),
    )


def _tasks(group: str, balancer: Balancer, load_balancer: Any) -> Iterable[Tasks]:
    """The tasks ECS keeps registered in `group`: those of every ACTIVE service that names
    the group in its `loadBalancers`, per deployment, when they can run."""
    from moto.ecs.models import ecs_backends

    from mmtui.sandbox.moto_repairs.ecs_services_never_start import settle

    ecs = ecs_backends[balancer.account][balancer.region]
    node_cidrs = [str(subnet.cidr_block) for subnet in load_balancer.subnets]
    node_groups = {str(group_id) for group_id in load_balancer.security_groups or []}
    for service in list(ecs.services.values()):
        if service.status != "ACTIVE":
            continue
        for entry in service.load_balancers or []:
            if entry.get("targetGroupArn") != group:
                continue
            # A rollout ends when its time is up, whether or not anyone describes the service
            # (the repair settles services as DescribeServices reads them).
            settle(ecs, service)
            network = (service.network_configuration or {}).get("awsvpcConfiguration") or {}
            port = int(entry.get("containerPort") or 0)
            groups = network.get("securityGroups") or []
            reach = "ok" if _admits(balancer, groups, port, node_cidrs, node_groups) else "timeout"
            subnets = tuple(_subnets(balancer, network.get("subnets") or []))
            for definition_arn, count in _deployments(service):
                container = _container(ecs, definition_arn, str(entry.get("containerName")))
                if count <= 0 or container is None:
                    continue
                if not runnable_image(balancer, str(container.get("image", ""))):
                    # The sandbox runs no containers: a task on an image that is not one of the
                    # application's, from this region's own registry, is taken as a task that
                    # never starts (ECS cannot pull it), so it is never registered.
                    continue
                environment = tuple(
                    (str(e["name"]), str(e.get("value", "")))
                    for e in container.get("environment") or []
                )
                yield Tasks(
                    str(service.arn),
                    definition_arn,
                    count,
                    str(container.get("name")),
                    port,
                    environment,
                    subnets,
                    reach,
                )


def _deployments(service: Any) -> list[tuple[str, int]]:
    """(task definition, running tasks) of each deployment serving. While a rollout is in
    progress (moto_repairs' ecs_services_never_start keeps it so for ROLLOUT_SECONDS) the new
    deployment's tasks start, and register, beside the old deployment's, which keep serving
    until it completes."""
    deployments = [d for d in service.deployments or [] if d.get("status") in ("PRIMARY", "ACTIVE")]
    if len(deployments) <= 1:
        return [(str(service.task_definition), int(service.desired_count or 0))]
    return [
        (
            str(d.get("taskDefinition")),
            int(service.desired_count or 0)
            if d.get("status") == "PRIMARY"
            else int(d.get("runningCount") or 0),
        )
        for d in deployments
    ]


def _container(ecs: Any, definition_arn: str, name: str) -> dict[str, Any] | None:
    try:
        definition = ecs.describe_task_definition(definition_arn)
    except Exception:  # noqa: BLE001  (a deregistered or unknown revision runs nothing)
        return None
    for spec in definition.container_definitions or []:
        if spec.get("name") == name:
            return dict(spec)
    return None


def runnable_image(balancer: Balancer, image: str) -> bool:
    """An application image ECS can pull in the balancer's region: one of its own region's
    registry, that exists there."""
    from moto.ecr.models import ecr_backends

    match = _IMAGE.match(image)
    if not match or match["region"] != balancer.region:
        return False
    reference = match["ref"]
    tag, digest = (None, reference) if reference.startswith("sha256:") else (reference, None)
    try:
        ecr = ecr_backends[balancer.account][balancer.region]
        repository = ecr.repositories.get(match["repo"])
        if repository is None:
            return False
        repository._get_image(tag, digest)
    except Exception:  # noqa: BLE001  (no such image)
        return False
    return True


def _subnets(balancer: Balancer, ids: Iterable[str]) -> Iterable[tuple[str, str]]:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[balancer.account][balancer.region]
    for subnet_id in ids:
        try:
            subnet = ec2.get_subnet(subnet_id)
        except Exception:  # noqa: BLE001  (deleted meanwhile)
            continue
        yield str(subnet.cidr_block), str(subnet.availability_zone)


def _admits(
    balancer: Balancer,
    group_ids: Iterable[str],
    port: int,
    node_cidrs: list[str],
    node_groups: set[str],
) -> bool:
    """Whether the service's security groups let every load balancer node (one in each of
    its subnets) reach the tasks' port: an ingress rule for the port whose CIDR holds the
    node's subnet, or whose source is a security group of the load balancer. Egress and
    network ACLs are not modelled: the workshop keeps their defaults, which allow all."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[balancer.account][balancer.region]
    rules = [
        rule
        for group_id in group_ids
        if (group := ec2.get_security_group_from_id(group_id)) is not None
        for rule in group.ingress_rules
        if _covers_port(rule, port)
    ]
    if not node_cidrs:
        return False
    by_group = any((rule.source_group or {}).get("GroupId") in node_groups for rule in rules)
    if by_group:
        return True
    return all(
        any(_within(cidr, (rule.ip_range or {}).get("CidrIp")) for rule in rules)
        for cidr in node_cidrs
    )


def _covers_port(rule: Any, port: int) -> bool:
    protocol = str(rule.ip_protocol or "")
    if protocol == "-1":
        return True
    if protocol not in ("tcp", "6"):
        return False
    low = -1 if rule.from_port is None else int(rule.from_port)
    high = -1 if rule.to_port is None else int(rule.to_port)
    return low <= port <= high


def _within(cidr: str, allowed: str | None) -> bool:
    if not allowed:
        return False
    try:
        return ipaddress.ip_network(cidr, strict=False).subnet_of(
            ipaddress.ip_network(allowed, strict=False)  # type: ignore[arg-type]
        )
    except (ValueError, TypeError):
        return False
