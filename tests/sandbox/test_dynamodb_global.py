"""DynamoDB global tables (version 2019.11.21) in the sandbox, over HTTP with boto3.

Lab 3 step 2 turns `mm-ddbtable` (us-west-2) into a global table with a replica in us-east-1.
The expected texts are AWS's own (API reference, and error texts measured on the service).
Waits poll a real condition with a deadline; the extension's timings are shortened per test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError

from mmtui.sandbox.behaviours.dynamodb_global import DynamoDBGlobalTables
from mmtui.sandbox.core.server import STATE_FILE, Sandbox
from mmtui.sandbox.workshop.mysfits import mysfit_item

PRIMARY = "us-west-2"
SECONDARY = "us-east-1"
TABLE = "mm-ddbtable"
DEADLINE = 5.0

T = TypeVar("T")


def _mysfit(mysfit_id: str, name: str, good_evil: str, law_chaos: str) -> dict[str, Any]:
    """One item with the workshop's schema (workshop-facts.md §6), made up but for its name."""
    description = f"{name} is one of the twelve mysfits."
    return mysfit_item(
        mysfit_id,
        name,
        "Mysfit",
        len(name) * 7,
        good_evil,
        law_chaos,
        description,
        images="https://example.invalid",
    )


_KNOWN_IDS = {
    "Evangeline": "4e53920c-505a-4a90-a694-b9300791f0ae",
    "Gretta": "da5303ae-5aba-495c-b5d6-eb5c4a66b941",
}
_NAMES = [
    ("Evangeline", "Evil", "Chaotic"),
    ("Pauly", "Neutral", "Lawful"),
    ("CoCo", "Good", "Neutral"),
    ("Gretta", "Evil", "Neutral"),
    ("Hasla", "Neutral", "Chaotic"),
    ("Snowflake", "Good", "Lawful"),
    ("Gary", "Evil", "Lawful"),
    ("Nessi", "Good", "Chaotic"),
    ("Atlantis", "Good", "Lawful"),
    ("Twilight Glitter", "Good", "Chaotic"),
    ("Cole", "Evil", "Chaotic"),
    ("Rujin", "Neutral", "Neutral"),
]
MYSFITS = [
    _mysfit(_KNOWN_IDS.get(name) or str(uuid.uuid5(uuid.NAMESPACE_URL, name)), name, ge, lc)
    for name, ge, lc in _NAMES
]
EVANGELINE = {"MysfitId": {"S": _KNOWN_IDS["Evangeline"]}}


# ------------------------------------------------------------------ fixtures and helpers


@pytest.fixture(scope="session")
def clients(sandbox_session: Sandbox) -> Callable[[str, str], Any]:
    """boto3 clients are slow to make: one per service and region for the whole session."""
    made: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in made:
            made[(service, region)] = sandbox_session.client(service, region)
        return made[(service, region)]

    return client


@pytest.fixture
def gt(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> DynamoDBGlobalTables:
    """The extension, with timings short enough for tests (restored afterwards)."""
    extension = next(e for e in sandbox.extensions if isinstance(e, DynamoDBGlobalTables))
    monkeypatch.setattr(extension, "replication_lag", 0.05)
    monkeypatch.setattr(extension, "replica_create_seconds", 0.2)
    monkeypatch.setattr(extension, "replica_delete_seconds", 0.2)
    return extension


@pytest.fixture
def west(clients: Callable[[str, str], Any], sandbox: Sandbox) -> Any:
    return clients("dynamodb", PRIMARY)


@pytest.fixture
def east(clients: Callable[[str, str], Any], sandbox: Sandbox) -> Any:
    return clients("dynamodb", SECONDARY)


def wait_for(condition: Callable[[], T], what: str, deadline: float = DEADLINE) -> T:
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline:g} s waiting for {what}")
        time.sleep(0.02)


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def lab_table(west: Any) -> None:
    """`mm-ddbtable` as Labs 0-2 leave it: the baseline's, or made here, with the 12 mysfits."""
    try:
        west.describe_table(TableName=TABLE)
    except west.exceptions.ResourceNotFoundException:
        west.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "MysfitId", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("MysfitId", "LawChaos", "GoodEvil")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": f"{attribute}Index",
                    "KeySchema": [
                        {"AttributeName": attribute, "KeyType": "HASH"},
                        {"AttributeName": "MysfitId", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for attribute in ("LawChaos", "GoodEvil")
            ],
        )
    for item in MYSFITS:
        west.put_item(TableName=TABLE, Item=item)


def replica_status(client: Any, region: str) -> str | None:
    replicas = client.describe_table(TableName=TABLE)["Table"].get("Replicas", [])
    return next((r["ReplicaStatus"] for r in replicas if r["RegionName"] == region), None)


def stream_on(west: Any) -> None:
    """Lab 3 step 2's first half: the table's stream on, with new and old images."""
    west.update_table(
        TableName=TABLE,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def make_global(west: Any, east: Any) -> None:
    """Lab 3 step 2: stream on, add the us-east-1 replica and wait until both sides are
    ACTIVE."""
    lab_table(west)
    if not (west.describe_table(TableName=TABLE)["Table"].get("StreamSpecification") or {}).get(
        "StreamEnabled"
    ):
        stream_on(west)
    west.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}])
    wait_for(lambda: replica_status(west, SECONDARY) == "ACTIVE", "the replica to be ACTIVE")
    wait_for(
        lambda: west.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "ACTIVE",
        "the source table to be ACTIVE again",
    )


def items(client: Any, table: str = TABLE) -> list[dict[str, Any]]:
    found = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(found, key=lambda item: json.dumps(item, sort_keys=True, default=str))


def get(client: Any, key: dict[str, Any], table: str = TABLE) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(
        TableName=table, Key=key, ConsistentRead=True
    ).get("Item")
    return item


def idle(gt: DynamoDBGlobalTables) -> bool:
    """Nothing left to replicate (the queue is the extension's; read it under the lock)."""
    with gt.lock:
        return not gt.state.queue


def stream_records(clients: Callable[[str, str], Any], region: str, key: str) -> list[str]:
    """The event names on the table's stream in `region` for the item `key`."""
    table = clients("dynamodb", region).describe_table(TableName=TABLE)["Table"]
    streams = clients("dynamodbstreams", region)
    shards = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]
    events: list[str] = []
    for shard in shards["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=table["LatestStreamArn"],
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator)["Records"]
        events += [
            str(r["eventName"]) for r in records if r["dynamodb"]["Keys"]["MysfitId"]["S"] == key
        ]
    return events


# ------------------------------------------------------------------ 1. UpdateTable ReplicaUpdates

VALIDATION = [
    pytest.param(
        {"ReplicaUpdates": [{"Create": {"RegionName": PRIMARY}}]},
        "ValidationException",
        "Cannot add or delete the local region through ReplicaUpdates. Use CreateTable, "
        "DeleteTable, or UpdateTable as required.",
        id="own-region",
    ),
    pytest.param(
        {"ReplicaUpdates": [{"Create": {"RegionName": "us-fake-1"}}]},
        "ValidationException",
        "Region us-fake-1 is not supported. The latest version of global tables are only "
        "supported in the following regions: [",
        id="unknown-region",
    ),
    pytest.param(
        {"ReplicaUpdates": [{"Create": {"RegionName": "eu-west-1"}}]},
        "ValidationException",
        "Failed to create a the new replica of table with name: \u2018mm-ddbtable\u2019 because "
        "one or more replicas already existed as tables.",
        id="table-already-in-that-region",
    ),
    pytest.param(
        {"ReplicaUpdates": [{"Delete": {"RegionName": SECONDARY}}]},
        "ValidationException",
        "Update global table operation failed because one or more replicas were not part of "
        "the global table. Please retry the request without these replicas: [us-east-1].",
        id="delete-a-replica-that-does-not-exist",
    ),
    pytest.param(
        {
            "ReplicaUpdates": [{"Create": {"RegionName": SECONDARY}}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        "ValidationException",
        "One or more parameter values were invalid: Replica modification must be the only "
        "operation in the request",
        id="not-the-only-operation",
    ),
    pytest.param(
        {
            "ReplicaUpdates": [
                {"Create": {"RegionName": SECONDARY}},
                {"Create": {"RegionName": "eu-central-1"}},
            ]
        },
        "ValidationException",
        "Update table operation with more than one create or delete replica actions not allowed.",
        id="two-replicas-at-once",
    ),
    pytest.param(
        {
            "ReplicaUpdates": [
                {"Create": {"RegionName": SECONDARY}},
                {"Delete": {"RegionName": "eu-central-1"}},
            ]
        },
        "ValidationException",
        "Update table operation with more than one type of replica actions not allowed.",
        id="create-and-delete-at-once",
    ),
    pytest.param(
        {"ReplicaUpdates": [{}]},
        "ValidationException",
        "There are no actions specified in the Replica Update Action of the request.",
        id="no-action",
    ),
]


@pytest.mark.parametrize(("arguments", "code", "message"), VALIDATION)
def test_replica_updates_are_validated_as_aws_does(
    west: Any,
    clients: Callable[[str, str], Any],
    gt: DynamoDBGlobalTables,
    arguments: dict[str, Any],
    code: str,
    message: str,
) -> None:
    lab_table(west)
    clients("dynamodb", "eu-west-1").create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "MysfitId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "MysfitId", "AttributeType": "S"}],
    )

    got = error_of(lambda: west.update_table(TableName=TABLE, **arguments))

    assert got[0] == code
    assert got[1].startswith(message)
    assert "Replicas" not in west.describe_table(TableName=TABLE)["Table"]


def test_replica_update_of_a_missing_table_is_not_found(
    west: Any, gt: DynamoDBGlobalTables
) -> None:
    code, message = error_of(
        lambda: west.update_table(
            TableName="no-such-table", ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}]
        )
    )

    assert (code, message) == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: no-such-table not found",
    )


def test_a_replica_needs_the_stream_with_new_and_old_images(
    west: Any, gt: DynamoDBGlobalTables
) -> None:
    lab_table(west)
    create = [{"Create": {"RegionName": SECONDARY}}]

    code, message = error_of(lambda: west.update_table(TableName=TABLE, ReplicaUpdates=create))
    assert code == "ValidationException"
    assert message.startswith("One or more parameter values were invalid:")
    assert "NEW_AND_OLD_IMAGES" in message and "stream: off" in message

    west.update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )
    code, message = error_of(lambda: west.update_table(TableName=TABLE, ReplicaUpdates=create))
    assert code == "ValidationException"
    assert "stream: KEYS_ONLY" in message
    assert "Replicas" not in west.describe_table(TableName=TABLE)["Table"]


def test_a_table_whose_stream_is_enabling_is_updating_and_refuses_changes(
    west: Any, gt: DynamoDBGlobalTables, sandbox: Sandbox
) -> None:
    gt.stream_enable_seconds = 30  # still enabling for the whole test
    lab_table(west)

    answer = west.update_table(
        TableName=TABLE,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]

    assert answer["TableStatus"] == "UPDATING"
    assert west.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "UPDATING"
    refused = (
        "ResourceInUseException",
        "Attempt to change a resource which is still in use: Table: mm-ddbtable is in the "
        "process of being updated.",
    )
    assert (
        error_of(
            lambda: west.update_table(
                TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}]
            )
        )
        == refused
    )
    # Reads and writes go on while the table is UPDATING.
    west.put_item(TableName=TABLE, Item={"MysfitId": {"S": "while-updating"}})

    # The table is ACTIVE again, but its new stream is not ready to replicate from yet.
    key = (sandbox.account_id, PRIMARY, TABLE)
    gt._updating[key] = (time.time() - 1, time.time() + 30)
    assert west.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "ACTIVE"
    west.update_table(TableName=TABLE, DeletionProtectionEnabled=False)
    assert (
        error_of(
            lambda: west.update_table(
                TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}]
            )
        )
        == refused
    )

    gt._updating.clear()  # the stream is ready
    west.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}])
    assert replica_status(west, SECONDARY) in ("CREATING", "ACTIVE")


def test_a_failed_replica_stays_failed_and_unreadable_until_deleted(
    west: Any, east: Any, gt: DynamoDBGlobalTables, sandbox: Sandbox
) -> None:
    gt.replica_create_seconds = 30
    lab_table(west)
    stream_on(west)
    west.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}])

    gt.fail_replica(sandbox.account_id, SECONDARY, TABLE, "CREATION_FAILED")

    assert replica_status(west, SECONDARY) == "CREATION_FAILED"
    assert west.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "ACTIVE"
    assert error_of(lambda: east.scan(TableName=TABLE))[0] == "ResourceNotFoundException"
    west.update_table(TableName=TABLE, ReplicaUpdates=[{"Delete": {"RegionName": SECONDARY}}])
    assert replica_status(west, SECONDARY) in ("DELETING", None)


def test_adding_a_replica_reports_creating(west: Any, east: Any, gt: DynamoDBGlobalTables) -> None:
    lab_table(west)
    stream_on(west)

    answer = west.update_table(
        TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}]
    )["TableDescription"]

    assert answer["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert answer["LatestStreamArn"].startswith(answer["TableArn"] + "/stream/")
    assert answer["TableStatus"] == "UPDATING"
    assert answer["GlobalTableVersion"] == "2019.11.21"
    assert answer["Replicas"] == [{"RegionName": SECONDARY, "ReplicaStatus": "CREATING"}]
    replica = east.describe_table(TableName=TABLE)["Table"]
    assert replica["TableStatus"] == "CREATING"
    assert replica["Replicas"] == [{"RegionName": PRIMARY, "ReplicaStatus": "ACTIVE"}]
    # A replica being created answers DescribeTable only.
    assert error_of(lambda: east.scan(TableName=TABLE)) == (
        "ResourceNotFoundException",
        "Requested resource not found: Table: mm-ddbtable not found",
    )

    wait_for(lambda: replica_status(west, SECONDARY) == "ACTIVE", "the replica to be ACTIVE")

    source = west.describe_table(TableName=TABLE)["Table"]
    replica = east.describe_table(TableName=TABLE)["Table"]
    assert source["TableStatus"] == replica["TableStatus"] == "ACTIVE"
    assert source["GlobalTableVersion"] == replica["GlobalTableVersion"] == "2019.11.21"
    assert source["Replicas"] == [{"RegionName": SECONDARY, "ReplicaStatus": "ACTIVE"}]
    assert replica["Replicas"] == [{"RegionName": PRIMARY, "ReplicaStatus": "ACTIVE"}]


def test_nothing_else_changes_while_a_replica_is_being_created(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    gt.replica_create_seconds = 30  # stays CREATING for the whole test
    lab_table(west)
    stream_on(west)
    west.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}])

    in_use = (
        "ResourceInUseException",
        "The resource which you are attempting to change is in use.",
    )
    assert (
        error_of(
            lambda: west.update_table(
                TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]
            )
        )
        == in_use
    )
    assert error_of(lambda: west.update_table(TableName=TABLE, DeletionProtectionEnabled=True)) == (
        in_use
    )
    assert error_of(lambda: east.delete_table(TableName=TABLE)) == (
        "ResourceInUseException",
        "Attempt to change a resource which is still in use: Table: mm-ddbtable is being used.",
    )
    # Writes to the source go on, and reach the replica once it is there.
    west.put_item(TableName=TABLE, Item={"MysfitId": {"S": "during-creation"}})
    assert replica_status(west, SECONDARY) == "CREATING"


def test_a_provisioned_table_needs_write_auto_scaling(
    west: Any, east: Any, clients: Callable[[str, str], Any], gt: DynamoDBGlobalTables
) -> None:
    west.create_table(
        TableName="provisioned",
        KeySchema=[{"AttributeName": "MysfitId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "MysfitId", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )

    def add_replica() -> Any:
        return west.update_table(
            TableName="provisioned", ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}]
        )

    assert error_of(add_replica) == (
        "ValidationException",
        "Table write capacity should either be Pay-Per-Request or AutoScaled.",
    )
    autoscaling = clients("application-autoscaling", PRIMARY)
    autoscaling.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/provisioned",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        MinCapacity=1,
        MaxCapacity=10,
    )
    autoscaling.put_scaling_policy(
        PolicyName="write",
        ServiceNamespace="dynamodb",
        ResourceId="table/provisioned",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "DynamoDBWriteCapacityUtilization"
            },
        },
    )

    add_replica()

    replica = east.describe_table(TableName="provisioned")["Table"]
    assert replica["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert replica["BillingModeSummary"]["BillingMode"] == "PROVISIONED"


# ------------------------------------------------------------------ 2-3. the replica itself


def test_the_replica_matches_the_primary(west: Any, east: Any, gt: DynamoDBGlobalTables) -> None:
    make_global(west, east)

    assert TABLE in east.list_tables()["TableNames"]
    source = west.describe_table(TableName=TABLE)["Table"]
    replica = east.describe_table(TableName=TABLE)["Table"]
    assert replica["TableArn"] == source["TableArn"].replace(PRIMARY, SECONDARY)
    assert replica["KeySchema"] == source["KeySchema"]
    assert sorted(replica["AttributeDefinitions"], key=str) == sorted(
        source["AttributeDefinitions"], key=str
    )
    assert replica["BillingModeSummary"] == source["BillingModeSummary"]
    assert replica["StreamSpecification"] == source["StreamSpecification"]
    assert replica["LatestStreamArn"].startswith(replica["TableArn"] + "/stream/")

    def shape(index: dict[str, Any]) -> tuple[str, str, str]:
        return index["IndexName"], str(index["KeySchema"]), str(index["Projection"])

    assert {shape(i) for i in replica["GlobalSecondaryIndexes"]} == {
        shape(i) for i in source["GlobalSecondaryIndexes"]
    }
    # Backfilled: the same items, the 12 mysfits among them.
    assert items(east) == items(west)
    assert {item["MysfitId"]["S"] for item in MYSFITS} <= {
        item["MysfitId"]["S"] for item in items(east)
    }

    def evil(client: Any) -> list[dict[str, Any]]:
        return list(
            client.query(
                TableName=TABLE,
                IndexName="GoodEvilIndex",
                KeyConditionExpression="GoodEvil = :e",
                ExpressionAttributeValues={":e": {"S": "Evil"}},
            )["Items"]
        )

    assert evil(east) == evil(west)
    assert {item["Name"]["S"] for item in evil(east)} >= {"Evangeline", "Gretta"}


def test_an_index_added_on_one_side_reaches_the_other(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)

    west.update_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "Name", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "NameIndex",
                    "KeySchema": [{"AttributeName": "Name", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )

    indexes = east.describe_table(TableName=TABLE)["Table"]["GlobalSecondaryIndexes"]
    assert "NameIndex" in {index["IndexName"] for index in indexes}
    found = east.query(
        TableName=TABLE,
        IndexName="NameIndex",
        KeyConditionExpression="#n = :n",
        ExpressionAttributeNames={"#n": "Name"},
        ExpressionAttributeValues={":n": {"S": "Gretta"}},
    )["Items"]
    assert found == [{"MysfitId": {"S": _KNOWN_IDS["Gretta"]}, "Name": {"S": "Gretta"}}]


# ------------------------------------------------------------------ 4. replication of writes


def test_a_like_in_the_secondary_appears_in_the_primary(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)

    # What the Like service does (mysfits_like.py), against its local replica.
    east.update_item(
        TableName=TABLE,
        Key=EVANGELINE,
        UpdateExpression="SET Likes = Likes + :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )

    primary = wait_for(
        lambda: (get(west, EVANGELINE) or {}).get("Likes") == {"N": "1"} and get(west, EVANGELINE),
        "the like to reach us-west-2",
    )
    assert primary == get(east, EVANGELINE)


def test_every_kind_of_write_replicates_both_ways(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)
    gretta = {"MysfitId": {"S": _KNOWN_IDS["Gretta"]}}

    west.put_item(TableName=TABLE, Item={"MysfitId": {"S": "put-west"}, "Name": {"S": "Put"}})
    east.delete_item(TableName=TABLE, Key=EVANGELINE)
    east.batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": {"MysfitId": {"S": "batch-east"}}}},
                {"DeleteRequest": {"Key": gretta}},
            ]
        }
    )
    west.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"MysfitId": {"S": "transact-west"}}}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"MysfitId": {"S": "put-west"}},
                    "UpdateExpression": "SET Adopted = :t",
                    "ExpressionAttributeValues": {":t": {"BOOL": True}},
                }
            },
        ]
    )
    # moto's PartiQL takes numbers as parameters only.
    east.execute_statement(
        Statement=f'UPDATE "{TABLE}" SET Likes = ? WHERE MysfitId = ?',
        Parameters=[{"N": "5"}, MYSFITS[1]["MysfitId"]],
    )

    wait_for(lambda: idle(gt) and items(west) == items(east), "both replicas to agree")
    ids = {item["MysfitId"]["S"] for item in items(west)}
    assert {"put-west", "batch-east", "transact-west"} <= ids
    assert not ids & {_KNOWN_IDS["Evangeline"], _KNOWN_IDS["Gretta"]}
    assert get(east, {"MysfitId": {"S": "put-west"}}) == {
        "MysfitId": {"S": "put-west"},
        "Name": {"S": "Put"},
        "Adopted": {"BOOL": True},
    }
    pauly = get(west, {"MysfitId": MYSFITS[1]["MysfitId"]})
    assert pauly is not None and pauly["Likes"] == {"N": "5"}


def test_the_last_writer_wins_when_copies_arrive_out_of_order(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)
    key = {"MysfitId": {"S": "ordering"}}

    gt.replication_lag = 0.4  # the first write travels slowly...
    west.put_item(TableName=TABLE, Item={**key, "Name": {"S": "first"}})
    gt.replication_lag = 0.05  # ...and the second overtakes it
    west.put_item(TableName=TABLE, Item={**key, "Name": {"S": "second"}})

    wait_for(lambda: get(east, key), "the second write in us-east-1")
    assert get(east, key) == {**key, "Name": {"S": "second"}}
    wait_for(lambda: idle(gt), "the first write to arrive late")
    assert get(east, key) == {**key, "Name": {"S": "second"}}


def test_conflicting_writes_converge_on_the_later_one(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)
    gt.replication_lag = 0.2  # both writes happen before either copy arrives

    west.put_item(TableName=TABLE, Item={**EVANGELINE, "Name": {"S": "written in Oregon"}})
    east.put_item(TableName=TABLE, Item={**EVANGELINE, "Name": {"S": "written in Virginia"}})

    wait_for(lambda: idle(gt), "both copies to arrive")
    assert (
        get(west, EVANGELINE)
        == get(east, EVANGELINE)
        == {
            **EVANGELINE,
            "Name": {"S": "written in Virginia"},
        }
    )


def test_a_replicated_write_does_not_come_back(
    west: Any, east: Any, clients: Callable[[str, str], Any], gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)

    west.put_item(TableName=TABLE, Item={"MysfitId": {"S": "once"}})

    wait_for(lambda: get(east, {"MysfitId": {"S": "once"}}), "the item in us-east-1")
    wait_for(lambda: idle(gt), "replication to settle")
    # One write in Oregon: one record in each region's stream (the copy shows as an INSERT
    # in Virginia), none sent back to Oregon.
    assert stream_records(clients, PRIMARY, "once") == ["INSERT"]
    assert stream_records(clients, SECONDARY, "once") == ["INSERT"]


# ------------------------------------------------------------------ streams on a global table


def test_the_stream_of_a_global_table_cannot_change(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)

    for client in (west, east):
        assert error_of(
            lambda c=client: c.update_table(
                TableName=TABLE, StreamSpecification={"StreamEnabled": False}
            )
        ) == (
            "ValidationException",
            "One or more parameter values were invalid: Disabling Stream is not allowed for a "
            "Global Table replica.",
        )
    assert error_of(
        lambda: west.update_table(
            TableName=TABLE,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        )
    ) == ("ValidationException", "Table already has an enabled stream: TableName: mm-ddbtable")


def test_streams_on_a_regional_table_still_work(west: Any, gt: DynamoDBGlobalTables) -> None:
    lab_table(west)

    west.update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    assert west.describe_table(TableName=TABLE)["Table"]["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_IMAGE",
    }
    west.update_table(TableName=TABLE, StreamSpecification={"StreamEnabled": False})
    assert "StreamSpecification" not in west.describe_table(TableName=TABLE)["Table"]


def test_a_stream_turned_off_can_be_turned_on_again(west: Any, gt: DynamoDBGlobalTables) -> None:
    """As after `mmtui reset --step 2`, or to change the view type: AWS starts a new stream."""
    lab_table(west)
    west.update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )
    first = west.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    west.update_table(TableName=TABLE, StreamSpecification={"StreamEnabled": False})
    time.sleep(0.002)  # stream labels are timestamps
    west.update_table(
        TableName=TABLE,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    table = west.describe_table(TableName=TABLE)["Table"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["LatestStreamArn"] != first


# ------------------------------------------------------------------ 5. removing replicas


def test_deleting_the_replica_stops_replication_and_removes_it(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)
    gt.replica_delete_seconds = 0.5

    answer = west.update_table(
        TableName=TABLE, ReplicaUpdates=[{"Delete": {"RegionName": SECONDARY}}]
    )["TableDescription"]

    assert answer["TableStatus"] == "UPDATING"
    assert answer["Replicas"] == [{"RegionName": SECONDARY, "ReplicaStatus": "DELETING"}]
    assert east.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "DELETING"
    west.put_item(TableName=TABLE, Item={"MysfitId": {"S": "after-delete"}})
    assert idle(gt)  # nothing is on its way to the leaving replica
    assert get(east, {"MysfitId": {"S": "after-delete"}}) is None

    wait_for(lambda: TABLE not in east.list_tables()["TableNames"], "the replica table to go")
    assert error_of(lambda: east.describe_table(TableName=TABLE))[0] == "ResourceNotFoundException"
    source = west.describe_table(TableName=TABLE)["Table"]
    assert source["TableStatus"] == "ACTIVE"
    assert "Replicas" not in source and "GlobalTableVersion" not in source
    # As on AWS, the stream turned on for replication stays on.
    assert source["StreamSpecification"]["StreamEnabled"] is True


def test_the_source_table_cannot_be_deleted_while_it_has_replicas(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)

    assert error_of(lambda: west.delete_table(TableName=TABLE)) == (
        "ValidationException",
        "Replica cannot be deleted because it has acted as a source region for new replica(s) "
        "being added to the table in the last 24 hours.",
    )

    # Leaf first: the replica can be deleted in its own region, then the source.
    answer = east.delete_table(TableName=TABLE)["TableDescription"]
    assert answer["TableStatus"] == "DELETING"
    assert replica_status(west, SECONDARY) == "DELETING"
    wait_for(lambda: "Replicas" not in west.describe_table(TableName=TABLE)["Table"], "it to go")
    west.delete_table(TableName=TABLE)
    assert TABLE not in west.list_tables()["TableNames"]


def test_a_replica_with_deletion_protection_is_kept(
    west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)
    east.update_table(TableName=TABLE, DeletionProtectionEnabled=True)

    assert error_of(
        lambda: west.update_table(
            TableName=TABLE, ReplicaUpdates=[{"Delete": {"RegionName": SECONDARY}}]
        )
    ) == (
        "ValidationException",
        "Cannot delete table mm-ddbtable in region us-east-1 because it has deletion protection "
        "enabled. Disable deletion protection first.",
    )
    assert replica_status(west, SECONDARY) == "ACTIVE"


# ------------------------------------------------------------------ 6-7. timings and state


def test_timings_come_from_the_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMTUI_SANDBOX_REPLICATION_LAG", "0.25")
    monkeypatch.setenv("MMTUI_SANDBOX_REPLICA_CREATE_SECONDS", "7")
    configured = DynamoDBGlobalTables(sandbox)
    assert (configured.replication_lag, configured.replica_create_seconds) == (0.25, 7.0)

    monkeypatch.setenv("MMTUI_SANDBOX_REPLICATION_LAG", "soon")
    monkeypatch.delenv("MMTUI_SANDBOX_REPLICA_CREATE_SECONDS")
    notes = len(sandbox.notes)
    try:
        defaults = DynamoDBGlobalTables(sandbox)
        # Time scale 0 (the default): a replica is created at once.
        assert (defaults.replication_lag, defaults.replica_create_seconds) == (0.5, 0.0)
        assert sandbox.notes[notes:] == [
            "MMTUI_SANDBOX_REPLICATION_LAG='soon' is not a number of seconds (0 or more); using 0.5"
        ]
    finally:
        del sandbox.notes[notes:]


def test_resetting_the_state_stops_what_was_in_flight(
    sandbox: Sandbox, west: Any, east: Any, gt: DynamoDBGlobalTables
) -> None:
    make_global(west, east)
    gt.replication_lag = 30
    west.put_item(TableName=TABLE, Item={"MysfitId": {"S": "in-flight"}})
    assert not idle(gt)

    gt.set_state(None)

    assert idle(gt) and not gt.state.groups
    assert "Replicas" not in west.describe_table(TableName=TABLE)["Table"]
    # The replication thread noticed and stopped rather than waiting for the old queue.
    wait_for(lambda: gt._worker is None, "the replication thread to stop")


RESTART_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from mmtui.sandbox.core.server import Sandbox, SandboxOptions

    sandbox = Sandbox(SandboxOptions(state_dir=Path(sys.argv[1]))).start()
    try:
        west = sandbox.client("dynamodb", "us-west-2")
        east = sandbox.client("dynamodb", "us-east-1")
        table, key = "mm-ddbtable", {"MysfitId": {"S": "saved-in-flight"}}
        end = time.monotonic() + 10
        while "Item" not in east.get_item(TableName=table, Key=key):
            if time.monotonic() > end:
                break
            time.sleep(0.02)
        replica = east.describe_table(TableName=table)["Table"]
        print(json.dumps({
            "notes": sandbox.notes,
            "west": west.describe_table(TableName=table)["Table"].get("Replicas"),
            "east": replica.get("Replicas"),
            "version": replica.get("GlobalTableVersion"),
            "item": east.get_item(TableName=table, Key=key).get("Item"),
            "count": len(east.scan(TableName=table)["Items"]),
        }))
    finally:
        sandbox.stop()
    """
)


def test_the_global_table_survives_a_restart(
    sandbox: Sandbox, west: Any, east: Any, gt: DynamoDBGlobalTables, tmp_path: Path
) -> None:
    make_global(west, east)
    gt.replication_lag = 1.0  # still on its way when the state is saved
    west.put_item(TableName=TABLE, Item={"MysfitId": {"S": "saved-in-flight"}})
    assert not idle(gt)
    count = len(items(west))
    sandbox.save()
    shutil.copy(sandbox.state_dir / STATE_FILE, tmp_path / STATE_FILE)

    # Another process, as `mmtui sandbox` started again on the same folder.
    completed = subprocess.run(
        [sys.executable, "-c", RESTART_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MMTUI_SANDBOX_REPLICATION_LAG": "0.05"},
    )

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["notes"] == []
    assert result["west"] == [{"RegionName": SECONDARY, "ReplicaStatus": "ACTIVE"}]
    assert result["east"] == [{"RegionName": PRIMARY, "ReplicaStatus": "ACTIVE"}]
    assert result["version"] == "2019.11.21"
    assert result["item"] == {"MysfitId": {"S": "saved-in-flight"}}
    assert result["count"] == count
