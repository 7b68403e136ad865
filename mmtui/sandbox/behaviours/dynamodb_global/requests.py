"""Reading DynamoDB requests: which tables a request names, which item keys a write touches,
and DynamoDB-shaped answers.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from mmtui.sandbox.behaviours.dynamodb_global.messages import NOT_FOUND
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse

_TARGET_PREFIX = "DynamoDB_20120810."
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"

Key = tuple[Any, ...]
"""An item's key as moto's `DynamoType`s: (hash,) or (hash, range)."""


def is_dynamodb(request: AwsRequest) -> bool:
    return request.service == "dynamodb" and (request.target or "").startswith(_TARGET_PREFIX)


def dynamodb_error(code: str, message: str) -> AwsResponse:
    """An error as DynamoDB sends it (JSON 1.0, service-qualified type, CRC32 of the body)."""
    return json_response({"__type": _ERROR_PREFIX + code, "message": message}, status=400)


def table_not_found(name: str) -> AwsResponse:
    return dynamodb_error("ResourceNotFoundException", NOT_FOUND.format(name=table_name_of(name)))


def json_response(
    payload: Any, headers: dict[str, str] | None = None, status: int = 200
) -> AwsResponse:
    body = json.dumps(payload).encode()
    merged = {"Content-Type": "application/x-amz-json-1.0", **(headers or {})}
    for name in [name for name in merged if name.lower() == "x-amz-crc32"]:
        del merged[name]
    # botocore retries a DynamoDB answer whose CRC32 header does not match its body.
    merged["x-amz-crc32"] = str(binascii.crc32(body))
    return AwsResponse(status, body, merged)


def description_in(response: AwsResponse, key: str) -> tuple[Any, dict[str, Any]] | None:
    """(the answer's JSON, its table description under `key`), or None when it has none."""
    try:
        payload = response.parsed_json()
    except ValueError:
        return None
    description = payload.get(key) if isinstance(payload, dict) else None
    return (payload, description) if isinstance(description, dict) else None


def table_name_of(name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:") and ":table/" in name_or_arn:
        return name_or_arn.split(":table/", 1)[1].split("/", 1)[0]
    return name_or_arn


def named_tables(body: dict[str, Any]) -> list[str]:
    """The tables a request names, wherever its operation puts them."""
    names = [
        str(body[field_name])
        for field_name in ("TableName", "ResourceArn")
        if isinstance(body.get(field_name), str)
    ]
    if isinstance(body.get("RequestItems"), dict):
        names += [str(name) for name in body["RequestItems"]]
    for entry in body.get("TransactItems") or []:
        if isinstance(entry, dict):
            names += [
                str(action["TableName"])
                for action in entry.values()
                if isinstance(action, dict) and "TableName" in action
            ]
    return names


def written_keys(
    operation: str, body: dict[str, Any], tables: dict[str, Any]
) -> dict[str, list[Key]]:
    """Table name → keys of the items a successful item write may have changed."""
    writes: list[tuple[str, dict[str, Any]]] = []
    if operation == "PutItem":
        writes.append((str(body.get("TableName", "")), body.get("Item") or {}))
    elif operation in ("UpdateItem", "DeleteItem"):
        writes.append((str(body.get("TableName", "")), body.get("Key") or {}))
    elif operation == "BatchWriteItem":
        for name, requests in (body.get("RequestItems") or {}).items():
            for request in requests or []:
                put = (request.get("PutRequest") or {}).get("Item")
                delete = (request.get("DeleteRequest") or {}).get("Key")
                writes.append((str(name), put or delete or {}))
    elif operation == "TransactWriteItems":
        for entry in body.get("TransactItems") or []:
            for kind, attribute in (("Put", "Item"), ("Update", "Key"), ("Delete", "Key")):
                action = entry.get(kind)
                if isinstance(action, dict):
                    writes.append((str(action.get("TableName", "")), action.get(attribute) or {}))
    found: dict[str, list[Key]] = {}
    for name_or_arn, attributes in writes:
        table = tables.get(table_name_of(name_or_arn))
        key = None if table is None else _request_key(table, attributes)
        if table is not None and key is not None:
            found.setdefault(table.name, []).append(key)
    return found


def _request_key(table: Any, attributes: dict[str, Any]) -> Key | None:
    """The key of an item as moto stores it, from the attributes of a request (wire format)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    parts = []
    for name in (table.hash_key_attr, table.range_key_attr):
        if name is None:
            continue
        value = attributes.get(name)
        if not isinstance(value, dict) or len(value) != 1:
            return None
        if "B" in value and isinstance(value["B"], str):
            # The wire carries binary keys in base64; moto keeps the bytes.
            try:
                value = {"B": base64.b64decode(value["B"])}
            except (binascii.Error, ValueError):
                return None
        parts.append(DynamoType(value))
    return tuple(parts)
