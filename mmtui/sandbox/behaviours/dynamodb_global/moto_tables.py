"""moto's DynamoDB tables as the replicas need them: item keys, copies of a table (keys,
indexes, billing, stream) in another region, its settings and its autoscaling.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from mmtui.sandbox.behaviours.dynamodb_global.requests import Key


def item_key(table: Any, item: Any) -> Key:
    return (item.hash_key,) if table.range_key_attr is None else (item.hash_key, item.range_key)


def padded_key(key: Key) -> tuple[Any, Any]:
    return (key[0], key[1] if len(key) == 2 else None)


def get_item(table: Any, key: Key) -> Any:
    return table.get_item(*padded_key(key))


def fingerprint(item: Any) -> str:
    return json.dumps(item.to_json(), sort_keys=True, default=str)


def _index_specs(table: Any) -> list[dict[str, Any]]:
    """The table's GSIs as CreateTable wants them."""
    provisioned = table.billing_mode == "PROVISIONED"
    specs = []
    for index in table.global_indexes:
        spec = {
            "IndexName": index.name,
            "KeySchema": copy.deepcopy(index.schema),
            "Projection": copy.deepcopy(index.projection),
        }
        if provisioned:
            spec["ProvisionedThroughput"] = {
                "ReadCapacityUnits": index.throughput.get("ReadCapacityUnits", 0),
                "WriteCapacityUnits": index.throughput.get("WriteCapacityUnits", 0),
            }
        specs.append(spec)
    return specs


def create_replica_table(account: str, region: str, source: Any) -> Any:
    """The replica: an ordinary table in `region` with the source's shape and its items."""
    from moto.dynamodb.models import dynamodb_backends

    throughput = None
    if source.billing_mode == "PROVISIONED":
        throughput = {
            "ReadCapacityUnits": source.throughput.get("ReadCapacityUnits", 0),
            "WriteCapacityUnits": source.throughput.get("WriteCapacityUnits", 0),
        }
    sse = None
    if source.sse_specification and source.sse_specification.get("Enabled"):
        # Encryption type is group-wide; the key is the replica region's own.
        sse = {"Enabled": True, "SSEType": source.sse_specification.get("SSEType", "KMS")}
    replica = dynamodb_backends[account][region].create_table(
        name=source.name,
        schema=copy.deepcopy(source.schema),
        throughput=throughput,
        attr=copy.deepcopy(source.attr),
        global_indexes=_index_specs(source),
        indexes=[
            {
                "IndexName": index.name,
                "KeySchema": copy.deepcopy(index.schema),
                "Projection": copy.deepcopy(index.projection),
            }
            for index in source.indexes
        ],
        streams=copy.deepcopy(source.stream_specification),
        billing_mode=source.billing_mode,
        sse_specification=sse,
        tags=[],  # tags, deletion protection and PITR stay regional
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    replica.ttl = copy.deepcopy(source.ttl)
    # The backfill is not a stream of writes: it lands without stream records.
    for item in source.all_items():
        new = copy.deepcopy(item)
        if source.range_key_attr is None:
            replica.items[new.hash_key] = new
        else:
            replica.items[new.hash_key][new.range_key] = new
    return replica


def copy_settings(source: Any, replica: Any) -> None:
    from moto.dynamodb.models.table import GlobalSecondaryIndex

    replica.attr = copy.deepcopy(source.attr)
    replica.billing_mode = source.billing_mode
    replica.throughput = copy.deepcopy(source.throughput)
    replica.global_indexes = [
        GlobalSecondaryIndex.create(spec, replica.table_key_attrs) for spec in _index_specs(source)
    ]


def autoscaled(account: str, region: str, resource: str, dimension: str) -> bool:
    """Whether Application Auto Scaling has a target and a scaling policy for it."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    backend = applicationautoscaling_backends[account][region]
    if resource not in backend.targets.get(dimension, {}):
        return False
    return any(
        policy.resource_id == resource and policy.scalable_dimension == dimension
        for policy in backend.policies.values()
    )
