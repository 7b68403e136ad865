"""Reading Global Accelerator the way every step of Lab 4 does.

Global Accelerator is global, but its API answers in one region only, us-west-2, whatever the
lab's regions are: every client here is made for that region. An accelerator is found by its
name (AWS lets two share a name; the lab's checks refuse to guess between them), its listener
by the port the workshop uses, and its endpoint groups by the region they serve.
"""

from __future__ import annotations

from typing import Any

GA_REGION = "us-west-2"
"""The only region whose endpoint serves Global Accelerator's API."""
PORT = 80
"""The port of the workshop's listener (the site is plain HTTP)."""
GA_CADENCE = 15.0
"""How often a wait polls an accelerator's status: AWS deploys a change in one to a few
minutes."""
DEFAULT_WEIGHT = 128
"""The weight the console gives a new endpoint."""


def accelerators_named(client: Any, name: str) -> list[dict[str, Any]]:
    """Every accelerator of the account called `name`, oldest first (all pages)."""
    found = [
        dict(accelerator)
        for page in client.get_paginator("list_accelerators").paginate()
        for accelerator in page.get("Accelerators", [])
        if accelerator.get("Name") == name
    ]
    return sorted(found, key=lambda a: str(a.get("CreatedTime", "")))


def listeners_of(client: Any, accelerator_arn: str) -> list[dict[str, Any]]:
    return [
        dict(listener)
        for page in client.get_paginator("list_listeners").paginate(AcceleratorArn=accelerator_arn)
        for listener in page.get("Listeners", [])
    ]


def groups_of(client: Any, listener_arn: str) -> list[dict[str, Any]]:
    return [
        dict(group)
        for page in client.get_paginator("list_endpoint_groups").paginate(ListenerArn=listener_arn)
        for group in page.get("EndpointGroups", [])
    ]


def covers_port(listener: dict[str, Any], port: int = PORT) -> bool:
    return any(
        int(r.get("FromPort", -1)) <= port <= int(r.get("ToPort", -1))
        for r in listener.get("PortRanges", [])
    )


def workshop_listener(listeners: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The listener that takes port 80 (a TCP one first); None when no listener does."""
    taking = [listener for listener in listeners if covers_port(listener)]
    taking.sort(key=lambda listener: listener.get("Protocol") != "TCP")
    return taking[0] if taking else None


def port_text(listener: dict[str, Any]) -> str:
    ranges = [
        str(r["FromPort"]) if r["FromPort"] == r["ToPort"] else f"{r['FromPort']}-{r['ToPort']}"
        for r in listener.get("PortRanges", [])
    ]
    return f"{listener.get('Protocol', '?')} {', '.join(ranges) or 'no ports'}"


def address_text(accelerator: dict[str, Any]) -> str:
    """The accelerator's static addresses, comma separated."""
    return ", ".join(
        address
        for ip_set in accelerator.get("IpSets", [])
        for address in ip_set.get("IpAddresses", [])
    )
