"""The replication of writes between the members of a global table, and the clock that
turns a CREATING or DELETING replica ACTIVE or gone."""

from __future__ import annotations

import copy
import heapq
import threading
import time
from typing import Any

from mmtui.sandbox.behaviours.dynamodb_global.base import GlobalTablesBase
from mmtui.sandbox.behaviours.dynamodb_global.model import ACTIVE, CREATING, DELETING, Pending
from mmtui.sandbox.behaviours.dynamodb_global.moto_tables import (
    copy_settings,
    fingerprint,
    get_item,
    item_key,
    padded_key,
)
from mmtui.sandbox.behaviours.dynamodb_global.requests import Key


class Replication(GlobalTablesBase):
    """Copies each write to the other members after `replication_lag`, last writer wins;
    and mirrors setting and TTL changes to every replica."""

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
            item = copy.deepcopy(get_item(table, key))
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
        old = get_item(table, pending.key)
        if pending.item is None:
            if old is not None:
                table.delete_item(*padded_key(pending.key))  # records REMOVE on its stream
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

    # -------------------------------------------------------------- PartiQL writes

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
                item_key(table, item): fingerprint(item) for item in table.all_items()
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

    # -------------------------------------------------------------- settings

    def _mirror_settings(self, account: str, region: str, name_or_arn: str) -> None:
        """Index, key attribute and billing changes apply to every replica, as on AWS."""
        for source, replica in self._other_replicas(account, region, name_or_arn):
            copy_settings(source, replica)

    def _mirror_ttl(self, account: str, region: str, name_or_arn: str) -> None:
        """So does a change of the time to live."""
        for source, replica in self._other_replicas(account, region, name_or_arn):
            replica.ttl = copy.deepcopy(source.ttl)

    def _other_replicas(self, account: str, region: str, name_or_arn: str) -> list[tuple[Any, Any]]:
        """(the table in `region`, each other replica of it not being deleted): moto tables."""
        source = self._table(account, region, name_or_arn)
        group = None if source is None else self._group(account, region, source.name)
        if source is None or group is None:
            return []
        pairs = []
        for member in group.members.values():
            replica = self._table(group.account, member.region, group.name)
            if member.region != region and member.status != DELETING and replica is not None:
                pairs.append((source, replica))
        return pairs
