"""What the sandbox keeps of DynamoDB's global tables: the replication groups, each member's
status, and the copied writes still on their way (pickled with the sandbox's state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmtui.sandbox.behaviours.dynamodb_global.requests import Key

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
