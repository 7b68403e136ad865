"""DynamoDB global tables, version 2019.11.21: `UpdateTable` `ReplicaUpdates` and replication.

moto ignores `ReplicaUpdates`, so Lab 3 step 2 (turn `mm-ddbtable` into a global table and
watch the mysfits appear in the other region) would do nothing. This extension answers the
replica operations itself and keeps the replication group ("group") of each global table:

- `ReplicaUpdates` `Create` builds the replica as an ordinary moto table in the other region,
  with the same keys, indexes, billing mode and stream, backfilled with the current items. The
  replica is `CREATING` for `replica_create_seconds`, then `ACTIVE`; the table whose endpoint
  asked is `UPDATING` meanwhile. `Delete` makes it `DELETING` for `replica_delete_seconds`,
  then drops the table.
- `DescribeTable` (and the `UpdateTable`/`DeleteTable` answers) gain `Replicas` (the other
  members) and `GlobalTableVersion`, in every member region.
- A successful write in one region is copied to the other members after `replication_lag`
  seconds by a daemon thread that edits moto's backends directly (so a copied write is never
  seen by `after()` and cannot come back). Each write gets a timestamp; a member applies a
  copied write only if it is newer than what it holds for that key: last writer wins, whatever
  order the copies arrive in.

The behaviour follows the API reference (UpdateTable, TableDescription, ReplicaDescription)
and what the service was measured to do; the error texts are the service's own, typos
included. Where the service is messier than a sandbox needs (the Replicas entry appears ~6 s
after the call; the source goes ACTIVE again while a replica is still DELETING; a replica is
described from its own region only), the simpler of the states AWS shows is kept.
"""

from __future__ import annotations

import copy
import heapq
import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.behaviours.dynamodb_global.messages import (
    ALREADY_EXISTED,
    BEING_UPDATED,
    CREATING_IN_USE,
    DELETION_PROTECTED,
    GSI_WRITE_CAPACITY,
    IN_USE,
    LOCAL_REGION,
    MIXED_ACTIONS,
    NO_ACTIONS,
    NOT_PART,
    ONLY_OPERATION,
    SEVERAL_ACTIONS,
    SOURCE_REGION,
    STREAM_DISABLE,
    STREAM_ENABLED,
    STREAM_REQUIRED,
    TABLE_WRITE_CAPACITY,
    UNSUPPORTED_REGION,
)
from mmtui.sandbox.behaviours.dynamodb_global.moto_tables import (
    _autoscaled,
    _copy_settings,
    _create_replica_table,
    _fingerprint,
    _get_item,
    _item_key,
    _padded,
)
from mmtui.sandbox.behaviours.dynamodb_global.requests import (
    Key,
    _error,
    _is_dynamodb,
    _json_response,
    _named_tables,
    _not_found,
    _table_name,
    _written_keys,
)
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, not_available
from mmtui.sandbox.core.timing import VARIABLES, scale_of, seconds

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

GLOBAL_TABLE_VERSION = "2019.11.21"
LAG_VARIABLE = "MMTUI_SANDBOX_REPLICATION_LAG"
CREATE_VARIABLE = VARIABLES["replica_create"]
DEFAULT_LAG = 0.5
SOURCE_WINDOW_SECONDS = 24 * 3600

CREATING = "CREATING"
ACTIVE = "ACTIVE"
DELETING = "DELETING"
UPDATING = "UPDATING"
FAILURE_STATES = frozenset(
    {
        "CREATION_FAILED",
        "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
        "REGION_DISABLED",
        "REPLICATION_NOT_AUTHORIZED",
    }
)
"""ReplicaStatus values a replica can end in instead of ACTIVE (botocore's model); the sandbox
reaches them only through `fail_replica`, for tests of how mmtui reports them."""

_ITEM_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
# PartiQL names its keys inside a statement: those writes are found by comparing the tables.
_PARTIQL = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
_DESCRIPTIONS = {"DescribeTable": "Table", "UpdateTable": "TableDescription"}
# A replica still being created answers nothing else (measured on AWS: the rest is
# ResourceNotFoundException until it is ACTIVE).
_ALLOWED_WHILE_CREATING = frozenset(
    {"DescribeTable", "DeleteTable", "DescribeTableReplicaAutoScaling", "ListTables"}
)
_SETTINGS = (
    "AttributeDefinitions",
    "GlobalSecondaryIndexUpdates",
    "BillingMode",
    "ProvisionedThroughput",
)


@dataclass
class Member:
    """One region of a global table."""

    region: str
    status: str
    until: float = 0.0
    """Wall-clock time at which CREATING becomes ACTIVE, or DELETING removes the member."""
    source: str | None = None
    """The region whose endpoint added this replica (None for the table it started from)."""
    added: float = 0.0
    initiator: str | None = None
    """The region whose table shows UPDATING while this member changes."""


@dataclass
class Group:
    """The replicas of one global table: the same table name in each member region."""

    account: str
    name: str
    members: dict[str, Member] = field(default_factory=dict)
    """In the order they joined, which is the order AWS lists them in."""

    def busy(self) -> bool:
        # A replica that failed is not busy: it stays as it is until it is deleted.
        return any(member.status in (CREATING, DELETING) for member in self.members.values())


@dataclass(order=True)
class Pending:
    """A write waiting to be applied to another replica."""

    due: float
    stamp: int
    account: str = field(compare=False)
    region: str = field(compare=False)
    table: str = field(compare=False)
    key: Key = field(compare=False)
    item: Any = field(compare=False)
    """moto's `Item` as the writer left it, or None when the write deleted it."""


@dataclass
class State:
    groups: list[Group] = field(default_factory=list)
    queue: list[Pending] = field(default_factory=list)
    """A heap ordered by due time."""
    versions: dict[tuple[str, str, str], dict[Key, int]] = field(default_factory=dict)
    """(account, region, table) → key → timestamp of the write the item there comes from."""
    clock: int = 0


class DynamoDBGlobalTables(Extension):
    name = "dynamodb_global"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.lock = sandbox.lock
        self.state = State()
        self.replication_lag = self._seconds(LAG_VARIABLE, DEFAULT_LAG)
        # AWS's durations times the sandbox's time scale (0 by default: instant), unless a
        # variable sets one of them (sandbox/timing.py).
        note = sandbox.notes.append
        scale = scale_of(sandbox.options, note)
        self.replica_create_seconds = seconds("replica_create", scale, note)
        if (
            os.environ.get(CREATE_VARIABLE, "").strip()
            and not os.environ.get(VARIABLES["replica_delete"], "").strip()
        ):
            self.replica_delete_seconds = self.replica_create_seconds
        else:
            self.replica_delete_seconds = seconds("replica_delete", scale, note)
        self.stream_enable_seconds = seconds("stream_enable", scale, note)
        """How long a table stays UPDATING after its stream is turned on or off; its stream
        goes on enabling for as long again, and refuses a replica meanwhile."""
        self._updating: dict[tuple[str, str, str], tuple[float, float]] = {}
        """(account, region, table) → wall-clock times the table is ACTIVE again and its new
        stream is ready for replication."""
        self._worker: threading.Thread | None = None
        self._wakeup = threading.Event()
        self._closed = False
        self._before_partiql: dict[tuple[str, str], dict[Key, str]] | None = None

    def _seconds(self, variable: str, default: float) -> float:
        raw = os.environ.get(variable, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not math.isfinite(value) or value < 0:
            self.sandbox.notes.append(
                f"{variable}={raw!r} is not a number of seconds (0 or more); using {default:g}"
            )
            return default
        return value

    # -------------------------------------------------------------- persistence

    def get_state(self) -> Any:
        return self.state

    def set_state(self, state: Any) -> None:
        with self.lock:
            self.state = state if isinstance(state, State) else State()
            self._before_partiql = None
            self._updating.clear()
            if self._next_due() is not None:
                self._kick()  # writes still in flight when the state was saved go on
            else:
                self._wakeup.set()  # a running worker drops what the old state had queued

    def export_account(self, account: str) -> Any:
        return State(
            groups=[g for g in self.state.groups if g.account == account],
            queue=[p for p in self.state.queue if p.account == account],
            versions={k: v for k, v in self.state.versions.items() if k[0] == account},
        )

    def import_account(self, account: str, data: Any) -> None:
        if not isinstance(data, State):
            return
        with self.lock:
            self.state.groups += data.groups
            self.state.queue += data.queue
            heapq.heapify(self.state.queue)
            self.state.versions.update(data.versions)
            if self._next_due() is not None:
                self._kick()

    def drop_account(self, account: str) -> None:
        with self.lock:
            self._updating = {k: v for k, v in self._updating.items() if k[0] != account}
            self.state.groups = [g for g in self.state.groups if g.account != account]
            self.state.queue = [p for p in self.state.queue if p.account != account]
            heapq.heapify(self.state.queue)
            for key in [k for k in self.state.versions if k[0] == account]:
                del self.state.versions[key]

    def close(self) -> None:
        """Stop the replication thread (the state keeps what it had not applied yet)."""
        with self.lock:
            self._closed = True
            self._wakeup.set()

    # -------------------------------------------------------------- requests

    def before(self, request: AwsRequest) -> AwsResponse | None:
        if not _is_dynamodb(request):
            return None
        try:
            body = request.json()
        except ValueError:
            return None  # moto answers a malformed body as AWS does
        with self.lock:
            self._advance(time.time())
            account, region = request.account, request.region
            operation = request.operation
            refusal = self._refuse_creating_replica(operation, body, account, region)
            if refusal is not None:
                return refusal
            if operation == "UpdateTable":
                busy = self._refuse_while_updating(body, account, region)
                if busy is not None:
                    return busy
            if operation == "UpdateTable" and "ReplicaUpdates" in body:
                return self._replica_updates(request, body, account, region)
            if operation == "UpdateTable":
                return self._guard_update_table(body, account, region)
            if operation == "DeleteTable":
                return self._delete_table(body, account, region)
            if operation in _PARTIQL:
                self._before_partiql = self._fingerprints(account, region)
            return None

    def after(self, request: AwsRequest, response: AwsResponse) -> AwsResponse:
        if not _is_dynamodb(request):
            return response
        operation = request.operation
        before_partiql, self._before_partiql = self._before_partiql, None
        if response.status != 200:
            return response
        try:
            body = request.json()
        except ValueError:
            return response
        with self.lock:
            account, region = request.account, request.region
            if operation in _ITEM_WRITES:
                tables = self._tables(account, region)
                for table, keys in _written_keys(operation, body, tables).items():
                    self._replicate(account, region, table, keys)
            elif operation in _PARTIQL and before_partiql is not None:
                for (_, table), keys in self._changed(account, region, before_partiql).items():
                    self._replicate(account, region, table, keys)
            elif operation == "UpdateTable" and any(name in body for name in _SETTINGS):
                self._mirror_settings(account, region, str(body.get("TableName", "")))
            elif operation == "UpdateTimeToLive":
                self._mirror_ttl(account, region, str(body.get("TableName", "")))
            if operation == "UpdateTable" and isinstance(body.get("StreamSpecification"), dict):
                self._start_updating(account, region, str(body.get("TableName", "")))
            if operation in _DESCRIPTIONS:
                response = self._show_updating(response, _DESCRIPTIONS[operation], account, region)
                return self._decorate(response, _DESCRIPTIONS[operation], account, region)
            return response

    # -------------------------------------------------------------- replica updates

    def _replica_updates(
        self, request: AwsRequest, body: dict[str, Any], account: str, region: str
    ) -> AwsResponse:
        updates = body.get("ReplicaUpdates")
        if not isinstance(updates, list) or not updates:
            return _error(
                "ValidationException",
                "1 validation error detected: Value at 'replicaUpdates' failed to satisfy "
                "constraint: Member must have length greater than or equal to 1",
            )
        if any(name not in ("TableName", "ReplicaUpdates") for name in body):
            return _error("ValidationException", ONLY_OPERATION)
        actions: list[tuple[str, str]] = []
        for update in updates:
            kinds = [
                kind
                for kind in ("Create", "Update", "Delete", "Disassociate")
                if isinstance(update, dict) and update.get(kind) is not None
            ]
            if not kinds:
                return _error("ValidationException", NO_ACTIONS)
            if len(kinds) > 1:
                return _error("ValidationException", MIXED_ACTIONS)
            if kinds[0] in ("Update", "Disassociate"):
                return not_available(request, f"ReplicaUpdates {kinds[0]} is not emulated")
            action = update[kinds[0]]
            target = action.get("RegionName") if isinstance(action, dict) else None
            actions.append((kinds[0], str(target or "")))
        actions = list(dict.fromkeys(actions))  # AWS accepts the same action twice as one
        if len({kind for kind, _ in actions}) > 1:
            return _error("ValidationException", MIXED_ACTIONS)
        if len(actions) > 1:
            return _error("ValidationException", SEVERAL_ACTIONS)
        kind, target = actions[0]
        table = self._table(account, region, str(body.get("TableName", "")))
        if table is None:
            return _not_found(str(body.get("TableName", "")))
        supported = self._supported_regions(account, region)
        if target not in supported:
            return _error(
                "ValidationException",
                UNSUPPORTED_REGION.format(region=target, regions=", ".join(supported)),
            )
        if target == region:
            return _error("ValidationException", LOCAL_REGION)
        if kind == "Create":
            return self._create_replica(table, account, region, target)
        return self._delete_replica(table, account, region, target)

    def _create_replica(self, table: Any, account: str, region: str, target: str) -> AwsResponse:
        name, now = table.name, time.time()
        if self._table(account, target, name) is not None:
            return _error("ValidationException", ALREADY_EXISTED.format(name=name))
        group = self._group(account, region, name)
        if group is not None and group.busy():
            return _error("ResourceInUseException", IN_USE)
        refusal = self._capacity_refusal(account, region, table)
        if refusal is not None:
            return refusal
        spec = table.stream_specification or {}
        if not spec.get("StreamEnabled") or spec.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
            # Replication reads the table's stream: it must be on, with both images. (The
            # console turns it on for you; the API refuses, and the lab enables it first.)
            stream = spec.get("StreamViewType") if spec.get("StreamEnabled") else "off"
            return _error("ValidationException", STREAM_REQUIRED.format(name=name, stream=stream))
        _create_replica_table(account, target, table)
        if group is None:
            group = Group(account, name, {region: Member(region, ACTIVE, added=now)})
            self.state.groups.append(group)
        group.members[target] = Member(
            target,
            CREATING,
            until=now + self.replica_create_seconds,
            source=region,
            added=now,
            initiator=region,
        )
        # The backfill holds what the source holds now, so it inherits the source's write
        # times, and whatever is still on its way to the source also goes to the new replica.
        versions = self.state.versions
        versions[(account, target, name)] = dict(versions.get((account, region, name), {}))
        self.state.queue += [
            Pending(p.due, p.stamp, account, target, name, p.key, p.item)
            for p in self.state.queue
            if (p.account, p.region, p.table) == (account, region, name)
        ]
        heapq.heapify(self.state.queue)
        self._kick()
        return self._answer(table, account, region, "TableDescription")

    def _delete_replica(self, table: Any, account: str, region: str, target: str) -> AwsResponse:
        name = table.name
        group = self._group(account, region, name)
        if group is None or target not in group.members:
            return _error("ValidationException", NOT_PART.format(region=target))
        if group.busy():
            return _error("ResourceInUseException", IN_USE)
        if self._sourced_recently(group, target):
            return _error("ValidationException", SOURCE_REGION)
        replica = self._table(account, target, name)
        if replica is not None and replica.deletion_protection_enabled:
            return _error(
                "ValidationException", DELETION_PROTECTED.format(name=name, region=target)
            )
        self._start_deleting(group, target, initiator=region)
        return self._answer(table, account, region, "TableDescription")

    # -------------------------------------------------------------- other table operations

    def _refuse_while_updating(
        self, body: dict[str, Any], account: str, region: str
    ) -> AwsResponse | None:
        table = self._table(account, region, str(body.get("TableName", "")))
        if table is None:
            return None
        times = self._updating.get((account, region, table.name))
        if times is None:
            return None
        now = time.time()
        if times[1] <= now:
            del self._updating[(account, region, table.name)]
            return None
        # AWS shows the table ACTIVE again before its new stream is ready to replicate from: a
        # replica asked for then is refused (the workshop warns the first attempt may fail).
        until = times[1] if "ReplicaUpdates" in body else times[0]
        if until <= now:
            return None
        return _error("ResourceInUseException", BEING_UPDATED.format(name=table.name))

    def _start_updating(self, account: str, region: str, name_or_arn: str) -> None:
        """A stream turned on or off: the table is UPDATING for `stream_enable_seconds`."""
        table = self._table(account, region, name_or_arn)
        if table is not None and self.stream_enable_seconds > 0:
            active = time.time() + self.stream_enable_seconds
            self._updating[(account, region, table.name)] = (
                active,
                active + self.stream_enable_seconds,
            )

    def _show_updating(
        self, response: AwsResponse, key: str, account: str, region: str
    ) -> AwsResponse:
        if not self._updating:
            return response
        try:
            payload = response.parsed_json()
        except ValueError:
            return response
        description = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(description, dict):
            return response
        times = self._updating.get((account, region, str(description.get("TableName", ""))))
        if times is None or times[0] <= time.time() or description.get("TableStatus") != ACTIVE:
            return response
        description["TableStatus"] = UPDATING
        return _json_response(payload, response.headers)

    def fail_replica(self, account: str, region: str, name: str, status: str) -> None:
        """Put a replica in a terminal failure state (CREATION_FAILED, ...), as AWS leaves one
        whose creation failed: for tests of how mmtui reports it."""
        if status not in FAILURE_STATES:
            raise ValueError(f"{status} is not a failure state of a replica")
        with self.lock:
            for group in self.state.groups:
                if group.account == account and group.name == name and region in group.members:
                    member = group.members[region]
                    member.status, member.until, member.initiator = status, 0.0, None
                    self.sandbox.mark_dirty()
                    return
            raise LookupError(f"no replica of {name} in {region}")

    def _refuse_creating_replica(
        self, operation: str, body: dict[str, Any], account: str, region: str
    ) -> AwsResponse | None:
        if operation in _ALLOWED_WHILE_CREATING or not self.state.groups:
            return None
        for named in _named_tables(body):
            name = _table_name(named)
            group = self._group(account, region, name)
            status = None if group is None else group.members[region].status
            if status == CREATING or status in FAILURE_STATES:
                return _not_found(name)
        return None

    def _guard_update_table(
        self, body: dict[str, Any], account: str, region: str
    ) -> AwsResponse | None:
        table = self._table(account, region, str(body.get("TableName", "")))
        if table is None:
            return None
        group = self._group(account, region, table.name)
        stream = body.get("StreamSpecification")
        if group is not None:
            if group.busy():
                return _error("ResourceInUseException", IN_USE)
            if isinstance(stream, dict) and not stream.get("StreamEnabled"):
                return _error("ValidationException", STREAM_DISABLE)
        enabled = (table.stream_specification or {}).get("StreamEnabled")
        if isinstance(stream, dict) and stream.get("StreamEnabled") and enabled:
            # moto says ResourceInUseException; the API reference says ValidationException.
            return _error("ValidationException", STREAM_ENABLED.format(name=table.name))
        if isinstance(stream, dict) and stream.get("StreamEnabled") and not enabled:
            # moto keeps the label of a stream that was turned off and then refuses any new one
            # ("Cannot enable stream"); AWS starts a new stream, with a new label and ARN. Step
            # 2 needs it after a reset, or to replace a stream of another view type.
            table.latest_stream_label = None
        return None

    def _delete_table(self, body: dict[str, Any], account: str, region: str) -> AwsResponse | None:
        table = self._table(account, region, str(body.get("TableName", "")))
        if table is None:
            return None
        group = self._group(account, region, table.name)
        if group is None:
            return None
        member = group.members[region]
        if member.status == DELETING:
            return _error("ResourceInUseException", IN_USE)
        if member.status == CREATING:
            return _error("ResourceInUseException", CREATING_IN_USE.format(name=table.name))
        if self._sourced_recently(group, region):
            return _error("ValidationException", SOURCE_REGION)
        if group.busy():
            return _error("ResourceInUseException", IN_USE)
        if table.deletion_protection_enabled:
            return None  # moto refuses it as AWS does
        # Deleting one replica in its own region is allowed: the others see it go.
        self._start_deleting(group, region, initiator=region)
        return self._answer(table, account, region, "TableDescription")

    def _start_deleting(self, group: Group, region: str, initiator: str) -> None:
        member = group.members[region]
        member.status = DELETING
        member.until = time.time() + self.replica_delete_seconds
        member.initiator = initiator
        # Replication to it stops now; what it has not received it never will.
        self.state.queue = [
            pending
            for pending in self.state.queue
            if (pending.account, pending.region, pending.table)
            != (group.account, region, group.name)
        ]
        heapq.heapify(self.state.queue)
        self._kick()

    def _sourced_recently(self, group: Group, region: str) -> bool:
        now = time.time()
        return any(
            member.source == region and now - member.added < SOURCE_WINDOW_SECONDS
            for member in group.members.values()
            if member.region != region
        )

    def _capacity_refusal(self, account: str, region: str, table: Any) -> AwsResponse | None:
        """A PROVISIONED table needs write auto scaling (table and every GSI) to replicate."""
        if table.billing_mode != "PROVISIONED":
            return None
        if not _autoscaled(
            account, region, f"table/{table.name}", "dynamodb:table:WriteCapacityUnits"
        ):
            return _error("ValidationException", TABLE_WRITE_CAPACITY)
        for index in table.global_indexes:
            resource = f"table/{table.name}/index/{index.name}"
            if not _autoscaled(account, region, resource, "dynamodb:index:WriteCapacityUnits"):
                return _error("ValidationException", GSI_WRITE_CAPACITY)
        return None

    def _mirror_settings(self, account: str, region: str, name_or_arn: str) -> None:
        """Index, key attribute and billing changes apply to every replica, as on AWS."""
        source = self._table(account, region, name_or_arn)
        group = None if source is None else self._group(account, region, source.name)
        if source is None or group is None:
            return
        for member in group.members.values():
            replica = self._table(group.account, member.region, group.name)
            if member.region == region or member.status == DELETING or replica is None:
                continue
            _copy_settings(source, replica)

    def _mirror_ttl(self, account: str, region: str, name_or_arn: str) -> None:
        source = self._table(account, region, name_or_arn)
        group = None if source is None else self._group(account, region, source.name)
        if source is None or group is None:
            return
        for member in group.members.values():
            replica = self._table(group.account, member.region, group.name)
            if member.region != region and member.status != DELETING and replica is not None:
                replica.ttl = copy.deepcopy(source.ttl)

    # -------------------------------------------------------------- descriptions

    def _answer(self, table: Any, account: str, region: str, key: str) -> AwsResponse:
        from moto.dynamodb.models.utilities import dynamo_json_dump

        payload = json.loads(dynamo_json_dump(table.describe(base_key=key)))
        self._describe_into(payload[key], account, region)
        return _json_response(payload)

    def _decorate(self, response: AwsResponse, key: str, account: str, region: str) -> AwsResponse:
        if not self.state.groups:
            return response
        try:
            payload = response.parsed_json()
        except ValueError:
            return response
        description = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(description, dict):
            return response
        if not self._describe_into(description, account, region):
            return response
        return _json_response(payload, response.headers)

    def _describe_into(self, description: dict[str, Any], account: str, region: str) -> bool:
        """Add what a member of a global table reports; False when the table is not one."""
        group = self._group(account, region, str(description.get("TableName", "")))
        if group is None:
            return False
        member = group.members[region]
        if member.status == DELETING:
            # A replica being removed has already left the group.
            description["TableStatus"] = DELETING
            description.pop("Replicas", None)
            description.pop("GlobalTableVersion", None)
            return True
        others = [m for m in group.members.values() if m.region != region]
        if member.status == CREATING:
            description["TableStatus"] = CREATING
        elif any(m.status != ACTIVE and m.initiator == region for m in others):
            description["TableStatus"] = "UPDATING"
        description["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
        description["Replicas"] = [
            {"RegionName": m.region, "ReplicaStatus": m.status} for m in others
        ]
        return True

    # -------------------------------------------------------------- replication

    def _replicate(self, account: str, region: str, name: str, keys: list[Key]) -> None:
        group = self._group(account, region, name)
        table = self._table(account, region, name)
        if group is None or table is None or group.members[region].status != ACTIVE:
            return
        targets = [
            m.region for m in group.members.values() if m.region != region and m.status != DELETING
        ]
        versions = self.state.versions.setdefault((account, region, name), {})
        due = time.time() + self.replication_lag
        for key in dict.fromkeys(keys):
            stamp = self._stamp()
            versions[key] = stamp
            item = copy.deepcopy(_get_item(table, key))
            for target in targets:
                heapq.heappush(
                    self.state.queue, Pending(due, stamp, account, target, name, key, item)
                )
        if targets and keys:
            self._kick()

    def _stamp(self) -> int:
        """Write time: wall-clock nanoseconds, strictly increasing even if the clock is not."""
        self.state.clock = max(self.state.clock + 1, time.time_ns())
        return self.state.clock

    def _apply(self, pending: Pending) -> None:
        group = self._group(pending.account, pending.region, pending.table)
        table = self._table(pending.account, pending.region, pending.table)
        if group is None or table is None or group.members[pending.region].status == DELETING:
            return
        versions = self.state.versions.setdefault(
            (pending.account, pending.region, pending.table), {}
        )
        if versions.get(pending.key, -1) >= pending.stamp:
            return  # this replica holds a later write of that item: last writer wins
        versions[pending.key] = pending.stamp
        old = _get_item(table, pending.key)
        if pending.item is None:
            if old is not None:
                table.delete_item(*_padded(pending.key))  # records REMOVE on its stream
            return
        new = copy.deepcopy(pending.item)
        if len(pending.key) == 2:
            table.items[pending.key[0]][pending.key[1]] = new
        else:
            table.items[pending.key[0]] = new
        if table.stream_shard is not None:
            # A replicated write shows on the receiving replica's stream, as on AWS.
            table.stream_shard.add(old, new)

    # -------------------------------------------------------------- time passing

    def _advance(self, now: float) -> None:
        """Apply whatever is due by `now`: status changes first, then replicated writes."""
        changed = False
        for group in list(self.state.groups):
            for member in list(group.members.values()):
                key = (group.account, member.region, group.name)
                if self._table(*key) is None:
                    # Deleted behind our back (a stack deletion, a reset): it left the group.
                    del group.members[member.region]
                    self.state.versions.pop(key, None)
                    changed = True
                elif member.status == CREATING and member.until <= now:
                    member.status, member.until, member.initiator = ACTIVE, 0.0, None
                    changed = True
                elif member.status == DELETING and member.until <= now:
                    self._backend(group.account, member.region).tables.pop(group.name, None)
                    del group.members[member.region]
                    self.state.versions.pop(key, None)
                    changed = True
            if len(group.members) < 2:
                self.state.groups.remove(group)
                for member in group.members.values():
                    self.state.versions.pop((group.account, member.region, group.name), None)
        queue = self.state.queue
        while queue and queue[0].due <= now:
            self._apply(heapq.heappop(queue))
            changed = True
        if changed:
            self.sandbox.mark_dirty()

    def _next_due(self) -> float | None:
        times = [self.state.queue[0].due] if self.state.queue else []
        times += [
            member.until
            for group in self.state.groups
            for member in group.members.values()
            if member.status in (CREATING, DELETING)
        ]
        return min(times) if times else None

    def _kick(self) -> None:
        """Make the worker look at the queue again, starting it if it is not running."""
        if self._closed:
            return
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._work, name="mmtui-sandbox-dynamodb-replication", daemon=True
            )
            self._worker.start()
        self._wakeup.set()

    def _work(self) -> None:
        # Runs while something is due; quits when idle (the next write starts it again).
        while True:
            self._wakeup.clear()
            with self.lock:
                if not self._closed:
                    self._advance(time.time())
                due = None if self._closed else self._next_due()
                if due is None:
                    self._worker = None
                    return
            self._wakeup.wait(max(0.0, due - time.time()))

    # -------------------------------------------------------------- moto lookups

    @staticmethod
    def _backend(account: str, region: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[account][region]

    def _table(self, account: str, region: str, name_or_arn: str) -> Any:
        return self._backend(account, region).tables.get(_table_name(name_or_arn))

    def _tables(self, account: str, region: str) -> dict[str, Any]:
        return dict(self._backend(account, region).tables)

    def _group(self, account: str, region: str, name: str) -> Group | None:
        for group in self.state.groups:
            if group.account == account and group.name == name and region in group.members:
                return group
        return None

    def _supported_regions(self, account: str, region: str) -> list[str]:
        """The regions of the table's partition that moto serves DynamoDB in."""
        from moto.dynamodb.models import dynamodb_backends
        from moto.utilities.utils import get_partition

        partition = get_partition(region)
        regions = dynamodb_backends[account].regions
        return sorted(r for r in regions if get_partition(r) == partition)

    def _fingerprints(self, account: str, region: str) -> dict[tuple[str, str], dict[Key, str]]:
        """Every item of the account's replicas in the region, to compare after a PartiQL
        write."""
        found: dict[tuple[str, str], dict[Key, str]] = {}
        for group in self.state.groups:
            if group.account != account:
                continue
            member = group.members.get(region)
            table = self._table(group.account, region, group.name)
            if member is None or member.status != ACTIVE or table is None:
                continue
            found[(group.account, group.name)] = {
                _item_key(table, item): _fingerprint(item) for item in table.all_items()
            }
        return found

    def _changed(
        self, account: str, region: str, before: dict[tuple[str, str], dict[Key, str]]
    ) -> dict[tuple[str, str], list[Key]]:
        after = self._fingerprints(account, region)
        changed: dict[tuple[str, str], list[Key]] = {}
        for table, items in after.items():
            old = before.get(table, {})
            keys = [key for key, print_ in items.items() if old.get(key) != print_]
            keys += [key for key in old if key not in items]
            if keys:
                changed[table] = keys
        return changed
