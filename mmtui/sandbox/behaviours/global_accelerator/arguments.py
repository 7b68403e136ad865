"""Reading a call's JSON arguments as Global Accelerator checks them (InvalidArgumentException
for a value outside what the API reference allows).

botocore checks only a parameter's type and minimum before sending, so a weight of 300 or a
traffic dial of 150 reaches the service, which refuses it: so does the sandbox.
"""

from __future__ import annotations

import re
from typing import Any

from mmtui.sandbox.behaviours.global_accelerator.messages import GaError, bad_ports, invalid

NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")
HEALTH_PATH = re.compile(r"^/[-a-zA-Z0-9@:%_\\+.~#?&/=]*$")
INTERVALS = (10, 30)


def required_string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise invalid(f"{name} is required")
    return value


def optional_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise invalid(f"{name} must be true or false")
    return value


def choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(name, default)
    if value not in allowed:
        raise invalid(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def integer(
    body: dict[str, Any], name: str, low: int, high: int, default: int | None
) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


def accelerator_name(body: dict[str, Any]) -> str:
    name = required_string(body, "Name")
    if not NAME.match(name):
        raise invalid(
            "Name must be 1 to 64 letters, digits or hyphens (-), and must not begin or end "
            f"with a hyphen: {name!r}"
        )
    return name


def port_ranges(body: dict[str, Any], required: bool) -> list[tuple[int, int]] | None:
    raw = body.get("PortRanges")
    if raw is None and not required:
        return None
    if not isinstance(raw, list) or not 1 <= len(raw) <= 10:
        raise invalid("PortRanges must list 1 to 10 port ranges")
    ranges: list[tuple[int, int]] = []
    for item in raw:
        start = item.get("FromPort") if isinstance(item, dict) else None
        end = item.get("ToPort") if isinstance(item, dict) else None
        if not all(isinstance(p, int) and not isinstance(p, bool) for p in (start, end)):
            raise bad_ports()
        assert isinstance(start, int) and isinstance(end, int)
        if not 1 <= start <= end <= 65535:
            raise bad_ports()
        ranges.append((start, end))
    ports = [port for start, end in ranges for port in range(start, end + 1)]
    if len(ports) != len(set(ports)):
        raise bad_ports()
    return ranges


def dial(body: dict[str, Any], default: float | None) -> float | None:
    value = body.get("TrafficDialPercentage", default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise invalid(f"TrafficDialPercentage must be from 0 to 100, not {value!r}")
    return float(value)


def health_interval(body: dict[str, Any], default: int | None) -> int | None:
    value = body.get("HealthCheckIntervalSeconds", default)
    if value is None:
        return None
    if value not in INTERVALS or isinstance(value, bool):
        raise invalid(f"HealthCheckIntervalSeconds must be 10 or 30, not {value!r}")
    return int(value)


def health_path(body: dict[str, Any]) -> str | None:
    value = body.get("HealthCheckPath")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255 or not HEALTH_PATH.match(value):
        raise invalid(f"HealthCheckPath is not a valid path: {value!r}")
    return value


def endpoint_configurations(body: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise invalid(f"{name} must be a list of endpoint configurations")
    seen: set[str] = set()
    for item in raw:
        endpoint_id = item.get("EndpointId")
        if not isinstance(endpoint_id, str) or not endpoint_id:
            raise invalid("EndpointId is required for each endpoint")
        if endpoint_id in seen:
            raise invalid(f"Endpoint {endpoint_id} is listed more than once")
        seen.add(endpoint_id)
        integer(item, "Weight", 0, 255, None)
        optional_bool(item, "ClientIPPreservationEnabled", True)
    return list(raw)


def port_overrides(body: dict[str, Any], listener_ports: list[int]) -> list[dict[str, int]] | None:
    raw = body.get("PortOverrides")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > 10:
        raise invalid("PortOverrides must list at most 10 port overrides")
    overrides: list[dict[str, int]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise invalid("Each port override needs a ListenerPort and an EndpointPort")
        listener_port = integer(item, "ListenerPort", 1, 65535, None)
        endpoint_port = integer(item, "EndpointPort", 1, 65535, None)
        if listener_port is None or endpoint_port is None:
            raise invalid("Each port override needs a ListenerPort and an EndpointPort")
        if listener_port not in listener_ports:
            raise invalid(f"ListenerPort {listener_port} is not in the listener's port ranges")
        overrides.append({"ListenerPort": listener_port, "EndpointPort": endpoint_port})
    if len({o["ListenerPort"] for o in overrides}) != len(overrides):
        raise invalid("A listener port may be overridden only once")
    return overrides


def tags(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("Tags", [])
    if not isinstance(raw, list):
        raise invalid("Tags must be a list of Key and Value pairs")
    found: dict[str, str] = {}
    for item in raw:
        key = item.get("Key") if isinstance(item, dict) else None
        value = item.get("Value") if isinstance(item, dict) else None
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not isinstance(value, str):
            raise invalid("Each tag needs a Key (1 to 128 characters) and a Value")
        if len(value) > 256:
            raise invalid(f"The value of tag {key} is longer than 256 characters")
        if key.lower().startswith("aws:"):
            raise invalid(f"Tag keys starting with 'aws:' are reserved: {key}")
        found[key] = value
    return found


def page(body: dict[str, Any], listed: list[Any]) -> tuple[list[Any], str | None]:
    """A page of `listed` after NextToken, of MaxResults items (default 10, at most 100)."""
    size = integer(body, "MaxResults", 1, 100, 10)
    assert size is not None
    token = body.get("NextToken")
    start = 0
    if token is not None:
        if not isinstance(token, str) or not token.isdigit() or int(token) > len(listed):
            raise GaError("InvalidNextTokenException", "There isn't another item to return.")
        start = int(token)
    end = start + size
    return listed[start:end], (str(end) if end < len(listed) else None)
