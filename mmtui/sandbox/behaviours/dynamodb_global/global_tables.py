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

import heapq
import time
from typing import Any

from mmtui.sandbox.behaviours.dynamodb_global.model import Group, Member, Pending, State
from mmtui.sandbox.behaviours.dynamodb_global.replicas import ReplicaLifecycle
from mmtui.sandbox.behaviours.dynamodb_global.requests import is_dynamodb, written_keys
from mmtui.sandbox.behaviours.dynamodb_global.streams import StreamRules
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse

# Saved sandbox states name the classes of the global tables' state where they were defined
# first (this module): they stay importable from here, so a state saved before still loads.
__all__ = ["DynamoDBGlobalTables", "Group", "Member", "Pending", "State"]

_ITEM_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
# PartiQL names its keys inside a statement: those writes are found by comparing the tables.
_PARTIQL = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
_DESCRIPTIONS = {"DescribeTable": "Table", "UpdateTable": "TableDescription"}

_SETTINGS = (
    "AttributeDefinitions",
    "GlobalSecondaryIndexUpdates",
    "BillingMode",
    "ProvisionedThroughput",
)


class DynamoDBGlobalTables(ReplicaLifecycle, StreamRules, Extension):
    name = "dynamodb_global"

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
        if not is_dynamodb(request):
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
        if not is_dynamodb(request):
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
                for table, keys in written_keys(operation, body, tables).items():
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
