"""The API calls the load balancers answer themselves: DescribeTargetHealth from the health
board, and PutMetricData into a namespace AWS keeps for its own services, which AWS refuses.

moto answers DescribeTargetHealth from the targets registered by hand (RegisterTargets), each
`healthy` forever, and knows nothing of the tasks ECS registers; it accepts metrics in any
namespace, so an attendee could fake a load balancer's numbers on the dashboard.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, aws_error

_ELB_XMLNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
_TARGET_FIELD = re.compile(r"^Targets\.member\.(?P<n>\d+)\.(?P<field>Id|Port)$")


def wanted_targets(request: AwsRequest) -> list[tuple[str, int | None]]:
    """The targets a DescribeTargetHealth names (none: all of the group's)."""
    found: dict[int, dict[str, str]] = {}
    for key, values in request.form.items():
        match = _TARGET_FIELD.match(key)
        if match and values:
            found.setdefault(int(match["n"]), {})[match["field"]] = values[0]
    wanted: list[tuple[str, int | None]] = []
    for _, fields in sorted(found.items()):
        if "Id" in fields:
            port = fields.get("Port")
            wanted.append((fields["Id"], int(port) if port and port.isdigit() else None))
    return wanted


def target_health_response(descriptions: list[dict[str, Any]]) -> AwsResponse:
    members = "".join(_member(description) for description in descriptions)
    body = (
        f'<DescribeTargetHealthResponse xmlns="{_ELB_XMLNS}">'
        "<DescribeTargetHealthResult>"
        f"<TargetHealthDescriptions>{members}</TargetHealthDescriptions>"
        "</DescribeTargetHealthResult>"
        "<ResponseMetadata><RequestId>mmtui-sandbox</RequestId></ResponseMetadata>"
        "</DescribeTargetHealthResponse>"
    )
    return AwsResponse(200, body.encode(), {"Content-Type": "text/xml"})


def _member(description: dict[str, Any]) -> str:
    target = description["Target"]
    health = description["TargetHealth"]
    zone = target.get("AvailabilityZone")
    parts = [
        "<member>",
        f"<HealthCheckPort>{escape(str(description['HealthCheckPort']))}</HealthCheckPort>",
        f"<Target><Id>{escape(str(target['Id']))}</Id><Port>{int(target['Port'])}</Port>",
        f"<AvailabilityZone>{escape(str(zone))}</AvailabilityZone>" if zone else "",
        "</Target><TargetHealth>",
        f"<State>{escape(str(health['State']))}</State>",
    ]
    if health.get("Reason"):
        parts.append(f"<Reason>{escape(str(health['Reason']))}</Reason>")
        parts.append(f"<Description>{escape(str(health['Description']))}</Description>")
    parts.append("</TargetHealth></member>")
    return "".join(parts)


def metric_namespace(request: AwsRequest) -> str | None:
    """The Namespace of a PutMetricData, whatever the wire format (query, JSON or CBOR)."""
    if request.is_form:
        values = request.form.get("Namespace")
        return values[0] if values else None
    if request.target or "json" in request.headers.get("content-type", ""):
        try:
            namespace = request.json().get("Namespace")
        except ValueError:
            return None
        return str(namespace) if namespace is not None else None
    if "cbor" in request.headers.get("content-type", "") or request.headers.get("smithy-protocol"):
        return _cbor_namespace(request.body)
    return None


def _cbor_namespace(body: bytes) -> str | None:
    """Namespace from a Smithy RPC v2 CBOR body, read with botocore's own CBOR decoder."""
    try:
        from botocore.parsers import RpcV2CBORParser

        decoded = RpcV2CBORParser()._initial_body_parse(body)  # noqa: SLF001
    except Exception:  # noqa: BLE001  (not decodable: left to moto)
        return None
    namespace = decoded.get("Namespace") if isinstance(decoded, dict) else None
    return str(namespace) if namespace is not None else None


def refuse_reserved_namespace(request: AwsRequest) -> AwsResponse | None:
    """AWS keeps the `AWS/` namespaces for its services' own metrics: a customer's
    PutMetricData into one is refused."""
    namespace = metric_namespace(request)
    if namespace is None or not namespace.startswith("AWS/"):
        return None
    return aws_error(
        request,
        400,
        "InvalidParameterValue",
        f"The value {namespace} for parameter Namespace is invalid.",
    )
