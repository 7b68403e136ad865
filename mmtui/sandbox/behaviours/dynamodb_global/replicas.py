"""The life of a replica: added (`ReplicaUpdates` `Create`, CREATING then ACTIVE), removed
(`Delete`, or DeleteTable in its own region: DELETING then gone), and the refusals on the way."""

from __future__ import annotations

import heapq
import time
from typing import Any

from mmtui.sandbox.behaviours.dynamodb_global.descriptions import Descriptions
from mmtui.sandbox.behaviours.dynamodb_global.messages import (
    ALREADY_EXISTED,
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
    STREAM_REQUIRED,
    TABLE_WRITE_CAPACITY,
    UNSUPPORTED_REGION,
)
from mmtui.sandbox.behaviours.dynamodb_global.model import (
    ACTIVE,
    CREATING,
    DELETING,
    FAILURE_STATES,
    Group,
    Member,
    Pending,
)
from mmtui.sandbox.behaviours.dynamodb_global.moto_tables import autoscaled, create_replica_table
from mmtui.sandbox.behaviours.dynamodb_global.replication import Replication
from mmtui.sandbox.behaviours.dynamodb_global.requests import (
    dynamodb_error,
    named_tables,
    table_name_of,
    table_not_found,
)
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, not_available

SOURCE_WINDOW_SECONDS = 24 * 3600
# A replica still being created answers nothing else (measured on AWS: the rest is
# ResourceNotFoundException until it is ACTIVE).
_ALLOWED_WHILE_CREATING = frozenset(
    {"DescribeTable", "DeleteTable", "DescribeTableReplicaAutoScaling", "ListTables"}
)


class ReplicaLifecycle(Descriptions, Replication):
    """ReplicaUpdates Create and Delete, DeleteTable of a member, and what a replica being
    created (or one that failed) refuses."""

    def _replica_updates(
        self, request: AwsRequest, body: dict[str, Any], account: str, region: str
    ) -> AwsResponse:
        updates = body.get("ReplicaUpdates")
        if not isinstance(updates, list) or not updates:
            return dynamodb_error(
                "ValidationException",
                "1 validation error detected: Value at 'replicaUpdates' failed to satisfy "
                "constraint: Member must have length greater than or equal to 1",
            )
        if any(name not in ("TableName", "ReplicaUpdates") for name in body):
            return dynamodb_error("ValidationException", ONLY_OPERATION)
        actions: list[tuple[str, str]] = []
        for update in updates:
            kinds = [
                kind
                for kind in ("Create", "Update", "Delete", "Disassociate")
                if isinstance(update, dict) and update.get(kind) is not None
            ]
            if not kinds:
                return dynamodb_error("ValidationException", NO_ACTIONS)
            if len(kinds) > 1:
                return dynamodb_error("ValidationException", MIXED_ACTIONS)
            if kinds[0] in ("Update", "Disassociate"):
                return not_available(request, f"ReplicaUpdates {kinds[0]} is not emulated")
            action = update[kinds[0]]
            target = action.get("RegionName") if isinstance(action, dict) else None
            actions.append((kinds[0], str(target or "")))
        actions = list(dict.fromkeys(actions))  # AWS accepts the same action twice as one
        if len({kind for kind, _ in actions}) > 1:
            return dynamodb_error("ValidationException", MIXED_ACTIONS)
        if len(actions) > 1:
            return dynamodb_error("ValidationException", SEVERAL_ACTIONS)
        kind, target = actions[0]
        table = self._table(account, region, str(body.get("TableName", "")))
        if table is None:
            return table_not_found(str(body.get("TableName", "")))
        supported = self._supported_regions(account, region)
        if target not in supported:
            return dynamodb_error(
                "ValidationException",
                UNSUPPORTED_REGION.format(region=target, regions=", ".join(supported)),
            )
        if target == region:
            return dynamodb_error("ValidationException", LOCAL_REGION)
        if kind == "Create":
            return self._create_replica(table, account, region, target)
        return self._delete_replica(table, account, region, target)

    def _create_replica(self, table: Any, account: str, region: str, target: str) -> AwsResponse:
        name, now = table.name, time.time()
        if self._table(account, target, name) is not None:
            return dynamodb_error("ValidationException", ALREADY_EXISTED.format(name=name))
        group = self._group(account, region, name)
        if group is not None and group.busy():
            return dynamodb_error("ResourceInUseException", IN_USE)
        refusal = self._capacity_refusal(account, region, table)
        if refusal is not None:
            return refusal
        spec = table.stream_specification or {}
        if not spec.get("StreamEnabled") or spec.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
            # Replication reads the table's stream: it must be on, with both images. (The
            # console turns it on for you; the API refuses, and the lab enables it first.)
            stream = spec.get("StreamViewType") if spec.get("StreamEnabled") else "off"
            return dynamodb_error(
                "ValidationException", STREAM_REQUIRED.format(name=name, stream=stream)
            )
        create_replica_table(account, target, table)
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
            return dynamodb_error("ValidationException", NOT_PART.format(region=target))
        if group.busy():
            return dynamodb_error("ResourceInUseException", IN_USE)
        if self._sourced_recently(group, target):
            return dynamodb_error("ValidationException", SOURCE_REGION)
        replica = self._table(account, target, name)
        if replica is not None and replica.deletion_protection_enabled:
            return dynamodb_error(
                "ValidationException", DELETION_PROTECTED.format(name=name, region=target)
            )
        self._start_deleting(group, target, initiator=region)
        return self._answer(table, account, region, "TableDescription")

    def _delete_table(self, body: dict[str, Any], account: str, region: str) -> AwsResponse | None:
        table = self._table(account, region, str(body.get("TableName", "")))
        if table is None:
            return None
        group = self._group(account, region, table.name)
        if group is None:
            return None
        member = group.members[region]
        if member.status == DELETING:
            return dynamodb_error("ResourceInUseException", IN_USE)
        if member.status == CREATING:
            return dynamodb_error("ResourceInUseException", CREATING_IN_USE.format(name=table.name))
        if self._sourced_recently(group, region):
            return dynamodb_error("ValidationException", SOURCE_REGION)
        if group.busy():
            return dynamodb_error("ResourceInUseException", IN_USE)
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
        if not autoscaled(
            account, region, f"table/{table.name}", "dynamodb:table:WriteCapacityUnits"
        ):
            return dynamodb_error("ValidationException", TABLE_WRITE_CAPACITY)
        for index in table.global_indexes:
            resource = f"table/{table.name}/index/{index.name}"
            if not autoscaled(account, region, resource, "dynamodb:index:WriteCapacityUnits"):
                return dynamodb_error("ValidationException", GSI_WRITE_CAPACITY)
        return None

    def _refuse_creating_replica(
        self, operation: str, body: dict[str, Any], account: str, region: str
    ) -> AwsResponse | None:
        if operation in _ALLOWED_WHILE_CREATING or not self.state.groups:
            return None
        for named in named_tables(body):
            name = table_name_of(named)
            group = self._group(account, region, name)
            status = None if group is None else group.members[region].status
            if status == CREATING or status in FAILURE_STATES:
                return table_not_found(name)
        return None

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
