"""Global Accelerator's control plane: the API calls Labs 4 and 5 (and a cleanup) make, on the
state of one account, answered with the API reference's shapes.

Every change to an accelerator, its listeners or its endpoint groups puts the accelerator back
to IN_PROGRESS until the change is deployed (`update_seconds`; `deploy_seconds` at creation),
and records the configuration the data plane serves from then on (routing.py).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from mmtui.sandbox.behaviours.global_accelerator import arguments as args
from mmtui.sandbox.behaviours.global_accelerator import messages as msg
from mmtui.sandbox.behaviours.global_accelerator.health import UNHEALTHY, UNHEALTHY_REASON
from mmtui.sandbox.behaviours.global_accelerator.model import (
    Accelerator,
    Endpoint,
    EndpointGroup,
    Listener,
    State,
)
from mmtui.sandbox.behaviours.global_accelerator.routing import effective, route_of

ACCELERATORS_PER_ACCOUNT = 20
LISTENERS_PER_ACCELERATOR = 10
ENDPOINTS_PER_GROUP = 10
TAGS_PER_RESOURCE = 50

HealthOf = Callable[[str, str], str]
"""(endpoint group ARN, endpoint id) → INITIAL, HEALTHY or UNHEALTHY."""


class ControlPlane:
    def __init__(
        self,
        state: Callable[[], State],
        health: HealthOf,
        deploy_seconds: float,
        update_seconds: float,
    ) -> None:
        self.state = state
        self.health = health
        self.deploy_seconds = deploy_seconds
        self.update_seconds = update_seconds

    def call(self, operation: str, account: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to `operation`, None when the sandbox does not implement it."""
        handler = getattr(self, _HANDLERS.get(operation, "-"), None)
        if handler is None:
            return None
        answer: dict[str, Any] = handler(account, body)
        return answer

    # ------------------------------------------------------------------ accelerators

    def create_accelerator(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        name = args.accelerator_name(body)
        ip_type = args.choice(body, "IpAddressType", ("IPV4", "DUAL_STACK"), "IPV4")
        enabled = args.optional_bool(body, "Enabled", True)
        token = args.required_string(body, "IdempotencyToken")
        tags = args.tags(body)
        _no_byoip(body)
        accelerators = self.state().of(account)
        known = self.state().tokens.get((account, "CreateAccelerator", token))
        if known in accelerators:
            return {"Accelerator": self.describe_accelerator_of(accelerators[known])}
        if len(accelerators) >= ACCELERATORS_PER_ACCOUNT:
            raise msg.limit(f"{ACCELERATORS_PER_ACCOUNT} accelerators per account")
        if len(tags) > TAGS_PER_RESOURCE:
            raise msg.limit(f"{TAGS_PER_RESOURCE} tags per resource")
        identifier = uuid.uuid4()
        now = time.time()
        host = "a" + secrets.token_hex(8)
        accelerator = Accelerator(
            arn=f"arn:aws:globalaccelerator::{account}:accelerator/{identifier}",
            name=name,
            ip_address_type=ip_type,
            enabled=enabled,
            ip_sets=_ip_sets(identifier.bytes, ip_type),
            dns_name=f"{host}.awsglobalaccelerator.com",
            dual_stack_dns_name=(
                f"{host}.dualstack.awsglobalaccelerator.com" if ip_type == "DUAL_STACK" else None
            ),
            created=now,
            modified=now,
            deployed_at=now + self.deploy_seconds,
            tags=tags,
        )
        accelerator.routes.append((accelerator.deployed_at, route_of(accelerator)))
        accelerators[accelerator.arn] = accelerator
        self.state().tokens[(account, "CreateAccelerator", token)] = accelerator.arn
        return {"Accelerator": self.describe_accelerator_of(accelerator)}

    def describe_accelerator(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator = self._accelerator(account, body)
        return {"Accelerator": self.describe_accelerator_of(accelerator)}

    def list_accelerators(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        listed, token = args.page(body, list(self.state().of(account).values()))
        answer: dict[str, Any] = {"Accelerators": [self.describe_accelerator_of(a) for a in listed]}
        if token is not None:
            answer["NextToken"] = token
        return answer

    def update_accelerator(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator = self._accelerator(account, body)
        _no_byoip(body)
        if "Name" in body:
            accelerator.name = args.accelerator_name(body)
        if "IpAddressType" in body:
            ip_type = args.choice(body, "IpAddressType", ("IPV4", "DUAL_STACK"), "IPV4")
            if ip_type != accelerator.ip_address_type:
                accelerator.ip_address_type = ip_type
                accelerator.ip_sets = _ip_sets(uuid.UUID(accelerator.arn[-36:]).bytes, ip_type)
                host = accelerator.dns_name.split(".", 1)[0]
                accelerator.dual_stack_dns_name = (
                    f"{host}.dualstack.awsglobalaccelerator.com"
                    if ip_type == "DUAL_STACK"
                    else None
                )
        if "Enabled" in body:
            enabled = args.optional_bool(body, "Enabled", accelerator.enabled)
            if accelerator.enabled and not enabled:
                accelerator.disabling = True
            elif enabled:
                accelerator.disabling = False
            accelerator.enabled = enabled
        self._changed(accelerator)
        return {"Accelerator": self.describe_accelerator_of(accelerator)}

    def delete_accelerator(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        """AWS documents that an accelerator must be disabled, with no listeners left, to be
        deleted (DeleteAccelerator; Developer Guide "Delete accelerator"). It does not say
        whether a disable still IN_PROGRESS counts; the clients that delete accelerators
        (the Terraform provider, aws-nuke) disable, then wait for DEPLOYED, then delete, so
        the sandbox refuses the delete until the disable is deployed. Other changes still
        IN_PROGRESS (a listener just deleted) do not stop it."""
        accelerator = self._accelerator(account, body)
        if accelerator.enabled:
            raise msg.not_disabled(accelerator.arn)
        if accelerator.listeners:
            raise msg.listener_found(accelerator.arn)
        if accelerator.disabling and accelerator.status(time.time()) == "IN_PROGRESS":
            raise msg.disable_in_progress(accelerator.arn)
        del self.state().of(account)[accelerator.arn]
        return {}

    def describe_accelerator_of(self, accelerator: Accelerator) -> dict[str, Any]:
        described: dict[str, Any] = {
            "AcceleratorArn": accelerator.arn,
            "Name": accelerator.name,
            "IpAddressType": accelerator.ip_address_type,
            "Enabled": accelerator.enabled,
            "IpSets": accelerator.ip_sets,
            "DnsName": accelerator.dns_name,
            "Status": accelerator.status(time.time()),
            "CreatedTime": accelerator.created,
            "LastModifiedTime": accelerator.modified,
        }
        if accelerator.dual_stack_dns_name:
            described["DualStackDnsName"] = accelerator.dual_stack_dns_name
        return described

    # ------------------------------------------------------------------ listeners

    def create_listener(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator = self._accelerator(account, body)
        ranges = args.port_ranges(body, required=True)
        assert ranges is not None
        if "Protocol" not in body:
            raise msg.invalid("Protocol is required")
        protocol = args.choice(body, "Protocol", ("TCP", "UDP"), "TCP")
        affinity = args.choice(body, "ClientAffinity", ("NONE", "SOURCE_IP"), "NONE")
        token = args.required_string(body, "IdempotencyToken")
        known = self.state().tokens.get((account, "CreateListener", token))
        if known in accelerator.listeners:
            return {"Listener": _listener_shape(accelerator.listeners[known])}
        if len(accelerator.listeners) >= LISTENERS_PER_ACCELERATOR:
            raise msg.limit(f"{LISTENERS_PER_ACCELERATOR} listeners per accelerator")
        listener = Listener(
            arn=f"{accelerator.arn}/listener/{secrets.token_hex(4)}",
            port_ranges=ranges,
            protocol=protocol,
            client_affinity=affinity,
        )
        _check_unique_ports(accelerator, listener)
        accelerator.listeners[listener.arn] = listener
        self.state().tokens[(account, "CreateListener", token)] = listener.arn
        self._changed(accelerator)
        return {"Listener": _listener_shape(listener)}

    def describe_listener(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        _, listener = self._listener(account, body)
        return {"Listener": _listener_shape(listener)}

    def list_listeners(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator = self._accelerator(account, body)
        listed, token = args.page(body, list(accelerator.listeners.values()))
        answer: dict[str, Any] = {"Listeners": [_listener_shape(one) for one in listed]}
        if token is not None:
            answer["NextToken"] = token
        return answer

    def update_listener(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener = self._listener(account, body)
        ranges = args.port_ranges(body, required=False)
        protocol = args.choice(body, "Protocol", ("TCP", "UDP"), listener.protocol)
        affinity = args.choice(
            body, "ClientAffinity", ("NONE", "SOURCE_IP"), listener.client_affinity
        )
        changed = Listener(listener.arn, ranges or listener.port_ranges, protocol, affinity)
        _check_unique_ports(accelerator, changed)
        listener.port_ranges, listener.protocol = changed.port_ranges, protocol
        listener.client_affinity = affinity
        self._changed(accelerator)
        return {"Listener": _listener_shape(listener)}

    def delete_listener(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener = self._listener(account, body)
        if listener.groups:
            raise msg.group_found(listener.arn)
        del accelerator.listeners[listener.arn]
        self._changed(accelerator)
        return {}

    # ------------------------------------------------------------------ endpoint groups

    def create_endpoint_group(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener = self._listener(account, body)
        region = args.required_string(body, "EndpointGroupRegion")
        if region not in _regions():
            raise msg.invalid(f"EndpointGroupRegion {region} is not a valid AWS Region")
        token = args.required_string(body, "IdempotencyToken")
        known = self.state().tokens.get((account, "CreateEndpointGroup", token))
        if known in listener.groups:
            return {"EndpointGroup": self._group_shape(listener.groups[known])}
        if any(group.region == region for group in listener.groups.values()):
            raise msg.group_exists(region)
        group = EndpointGroup(
            arn=f"{listener.arn}/endpoint-group/{secrets.token_hex(6)}",
            region=region,
            health_check_port=listener.port_ranges[0][0],
        )
        self._configure_group(account, listener, group, body)
        listener.groups[group.arn] = group
        self.state().tokens[(account, "CreateEndpointGroup", token)] = group.arn
        self._changed(accelerator)
        return {"EndpointGroup": self._group_shape(group)}

    def describe_endpoint_group(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        _, _, group = self._group(account, body)
        return {"EndpointGroup": self._group_shape(group)}

    def list_endpoint_groups(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        _, listener = self._listener(account, body)
        listed, token = args.page(body, list(listener.groups.values()))
        answer: dict[str, Any] = {"EndpointGroups": [self._group_shape(g) for g in listed]}
        if token is not None:
            answer["NextToken"] = token
        return answer

    def update_endpoint_group(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener, group = self._group(account, body)
        self._configure_group(account, listener, group, body)
        self._changed(accelerator)
        return {"EndpointGroup": self._group_shape(group)}

    def delete_endpoint_group(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator, listener, group = self._group(account, body)
        del listener.groups[group.arn]
        self._changed(accelerator)
        return {}

    def add_endpoints(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator, _, group = self._group(account, body)
        configurations = args.endpoint_configurations(body, "EndpointConfigurations")
        if not configurations or len(configurations) > ENDPOINTS_PER_GROUP:
            raise msg.invalid(f"EndpointConfigurations must list 1 to {ENDPOINTS_PER_GROUP}")
        added = [_endpoint(account, group.region, item) for item in configurations]
        kept = [e for e in group.endpoints if e.endpoint_id not in {a.endpoint_id for a in added}]
        if len(kept) + len(added) > ENDPOINTS_PER_GROUP:
            raise msg.limit(f"{ENDPOINTS_PER_GROUP} endpoints per endpoint group")
        group.endpoints = kept + added
        self._changed(accelerator)
        return {
            "EndpointDescriptions": [self._endpoint_shape(group, e) for e in added],
            "EndpointGroupArn": group.arn,
        }

    def remove_endpoints(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator, _, group = self._group(account, body)
        identifiers = body.get("EndpointIdentifiers")
        if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= 10:
            raise msg.invalid("EndpointIdentifiers must list 1 to 10 endpoints")
        doomed = set()
        for item in identifiers:
            endpoint_id = item.get("EndpointId") if isinstance(item, dict) else None
            if not isinstance(endpoint_id, str) or not endpoint_id:
                raise msg.invalid("EndpointId is required for each endpoint")
            if endpoint_id not in {e.endpoint_id for e in group.endpoints}:
                raise msg.endpoint_not_found(endpoint_id)
            doomed.add(endpoint_id)
        group.endpoints = [e for e in group.endpoints if e.endpoint_id not in doomed]
        self._changed(accelerator)
        return {}

    def _configure_group(
        self, account: str, listener: Listener, group: EndpointGroup, body: dict[str, Any]
    ) -> None:
        """Apply the settings CreateEndpointGroup and UpdateEndpointGroup share (all checked
        before any is applied: a refused call changes nothing)."""
        configurations = args.endpoint_configurations(body, "EndpointConfigurations")
        endpoints = None
        if configurations is not None:
            if len(configurations) > ENDPOINTS_PER_GROUP:
                raise msg.limit(f"{ENDPOINTS_PER_GROUP} endpoints per endpoint group")
            endpoints = [_endpoint(account, group.region, item) for item in configurations]
        dial = args.dial(body, None)
        port = args.integer(body, "HealthCheckPort", 1, 65535, None)
        protocol = args.choice(
            body, "HealthCheckProtocol", ("TCP", "HTTP", "HTTPS"), group.health_check_protocol
        )
        path = args.health_path(body)
        interval = args.health_interval(body, None)
        threshold = args.integer(body, "ThresholdCount", 1, 10, None)
        overrides = args.port_overrides(body, listener.ports())
        if endpoints is not None:
            group.endpoints = endpoints
        if dial is not None:
            group.dial = dial
        if port is not None:
            group.health_check_port = port
        group.health_check_protocol = protocol
        if protocol == "TCP":
            group.health_check_path = None
        else:
            group.health_check_path = path or group.health_check_path or "/"
        if interval is not None:
            group.health_check_interval = interval
        if threshold is not None:
            group.threshold = threshold
        if overrides is not None:
            group.port_overrides = overrides

    def _group_shape(self, group: EndpointGroup) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "EndpointGroupArn": group.arn,
            "EndpointGroupRegion": group.region,
            "EndpointDescriptions": [self._endpoint_shape(group, e) for e in group.endpoints],
            "TrafficDialPercentage": group.dial,
            "HealthCheckPort": group.health_check_port,
            "HealthCheckProtocol": group.health_check_protocol,
            "HealthCheckIntervalSeconds": group.health_check_interval,
            "ThresholdCount": group.threshold,
            "PortOverrides": group.port_overrides,
        }
        if group.health_check_path is not None:
            shape["HealthCheckPath"] = group.health_check_path
        return shape

    def _endpoint_shape(self, group: EndpointGroup, endpoint: Endpoint) -> dict[str, Any]:
        state = self.health(group.arn, endpoint.endpoint_id)
        shape: dict[str, Any] = {
            "EndpointId": endpoint.endpoint_id,
            "Weight": endpoint.weight,
            "HealthState": state,
            "ClientIPPreservationEnabled": endpoint.client_ip_preservation,
        }
        if state == UNHEALTHY:
            shape["HealthReason"] = UNHEALTHY_REASON
        return shape

    # ------------------------------------------------------------------ tags

    def tag_resource(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator = self._tagged(account, body)
        tags = args.tags(body)
        if len({**accelerator.tags, **tags}) > TAGS_PER_RESOURCE:
            raise msg.limit(f"{TAGS_PER_RESOURCE} tags per resource")
        accelerator.tags.update(tags)
        return {}

    def untag_resource(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator = self._tagged(account, body)
        keys = body.get("TagKeys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise msg.invalid("TagKeys must be a list of tag keys")
        for key in keys:
            accelerator.tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        accelerator = self._tagged(account, body)
        return {"Tags": [{"Key": k, "Value": v} for k, v in accelerator.tags.items()]}

    def _tagged(self, account: str, body: dict[str, Any]) -> Accelerator:
        arn = args.required_string(body, "ResourceArn")
        found = self.state().of(account).get(arn)
        if found is None:
            raise msg.accelerator_not_found()
        return found

    # ------------------------------------------------------------------ lookups

    def _accelerator(self, account: str, body: dict[str, Any]) -> Accelerator:
        arn = args.required_string(body, "AcceleratorArn")
        found = self.state().of(account).get(arn)
        if found is None:
            raise msg.accelerator_not_found()
        return found

    def _listener(self, account: str, body: dict[str, Any]) -> tuple[Accelerator, Listener]:
        arn = args.required_string(body, "ListenerArn")
        for accelerator in self.state().of(account).values():
            if arn in accelerator.listeners:
                return accelerator, accelerator.listeners[arn]
        raise msg.listener_not_found()

    def _group(
        self, account: str, body: dict[str, Any]
    ) -> tuple[Accelerator, Listener, EndpointGroup]:
        arn = args.required_string(body, "EndpointGroupArn")
        for accelerator in self.state().of(account).values():
            for listener in accelerator.listeners.values():
                if arn in listener.groups:
                    return accelerator, listener, listener.groups[arn]
        raise msg.group_not_found()

    def _changed(self, accelerator: Accelerator) -> None:
        """The accelerator goes IN_PROGRESS until this change is deployed; the data plane
        serves the new configuration from then on."""
        now = time.time()
        accelerator.modified = now
        accelerator.deployed_at = max(accelerator.deployed_at, now + self.update_seconds)
        current = effective(accelerator.routes, now)
        later = [(since, route) for since, route in accelerator.routes if since > now]
        accelerator.routes = ([(now, current)] if current is not None else []) + later
        accelerator.routes.append((accelerator.deployed_at, route_of(accelerator)))


_HANDLERS = {
    "CreateAccelerator": "create_accelerator",
    "DescribeAccelerator": "describe_accelerator",
    "ListAccelerators": "list_accelerators",
    "UpdateAccelerator": "update_accelerator",
    "DeleteAccelerator": "delete_accelerator",
    "CreateListener": "create_listener",
    "DescribeListener": "describe_listener",
    "ListListeners": "list_listeners",
    "UpdateListener": "update_listener",
    "DeleteListener": "delete_listener",
    "CreateEndpointGroup": "create_endpoint_group",
    "DescribeEndpointGroup": "describe_endpoint_group",
    "ListEndpointGroups": "list_endpoint_groups",
    "UpdateEndpointGroup": "update_endpoint_group",
    "DeleteEndpointGroup": "delete_endpoint_group",
    "AddEndpoints": "add_endpoints",
    "RemoveEndpoints": "remove_endpoints",
    "TagResource": "tag_resource",
    "UntagResource": "untag_resource",
    "ListTagsForResource": "list_tags_for_resource",
}


def _listener_shape(listener: Listener) -> dict[str, Any]:
    return {
        "ListenerArn": listener.arn,
        "PortRanges": [{"FromPort": start, "ToPort": end} for start, end in listener.port_ranges],
        "Protocol": listener.protocol,
        "ClientAffinity": listener.client_affinity,
    }


def _check_unique_ports(accelerator: Accelerator, listener: Listener) -> None:
    """A port serves one listener per protocol on an accelerator."""
    taken = {
        port
        for other in accelerator.listeners.values()
        if other.arn != listener.arn and other.protocol == listener.protocol
        for port in other.ports()
    }
    if taken & set(listener.ports()):
        raise msg.bad_ports()


def _endpoint(account: str, region: str, item: dict[str, Any]) -> Endpoint:
    endpoint_id = str(item["EndpointId"])
    if endpoint_id.startswith(("i-", "eipalloc-")):
        raise msg.GaError(
            "NotImplemented",
            f"Endpoint {endpoint_id}: EC2 instance and Elastic IP endpoints are not available "
            "in the mmtui sandbox; use a load balancer's ARN",
            status=501,
        )
    if not _load_balancer_exists(account, region, endpoint_id):
        raise msg.invalid(
            f"EndpointId {endpoint_id} is not a valid endpoint: it must be the ARN of an "
            f"existing load balancer of this account in {region}"
        )
    weight = args.integer(item, "Weight", 0, 255, 128)
    assert weight is not None
    preserve = args.optional_bool(item, "ClientIPPreservationEnabled", True)
    return Endpoint(endpoint_id, weight, preserve)


def _load_balancer_exists(account: str, region: str, arn: str) -> bool:
    """Whether moto has load balancer `arn` in that account and region (read with the
    sandbox lock held; looks without creating the account or region)."""
    from moto.elbv2.models import elbv2_backends

    if not dict.__contains__(elbv2_backends, account):
        return False
    regions = elbv2_backends[account]
    if not dict.__contains__(regions, region):
        return False
    return arn in regions[region].load_balancers


def _no_byoip(body: dict[str, Any]) -> None:
    if body.get("IpAddresses"):
        raise msg.GaError(
            "NotImplemented",
            "IpAddresses (bring your own IP addresses) is not available in the mmtui sandbox",
            status=501,
        )


@lru_cache(maxsize=1)
def _regions() -> frozenset[str]:
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(session.get_available_regions("elbv2"))


def _ip_sets(seed: bytes, ip_type: str) -> list[dict[str, Any]]:
    """Two static IPv4 addresses from Global Accelerator's anycast ranges (and two IPv6 ones
    for a dual-stack accelerator), derived from the accelerator's id."""
    v4 = [f"75.2.{seed[0]}.{seed[1] or 1}", f"99.83.{seed[2]}.{seed[3] or 1}"]
    sets: list[dict[str, Any]] = [
        {"IpFamily": "IPv4", "IpAddresses": v4, "IpAddressFamily": "IPv4"}
    ]
    if ip_type == "DUAL_STACK":
        v6 = [
            f"2600:9000:a{seed[4]:02x}{seed[5]:02x}::{seed[6]:x}",
            f"2600:9000:a{seed[7]:02x}{seed[8]:02x}::{seed[9]:x}",
        ]
        sets.append({"IpFamily": "IPv6", "IpAddresses": v6, "IpAddressFamily": "IPv6"})
    return sets
