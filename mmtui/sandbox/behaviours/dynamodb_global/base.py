"""The ground the global tables extension stands on: its state, its durations (AWS's times
the sandbox's time scale, or the variables that set them) and moto's tables."""

from __future__ import annotations

import math
import os
import threading
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.behaviours.dynamodb_global.model import Group, State
from mmtui.sandbox.behaviours.dynamodb_global.requests import Key, table_name_of
from mmtui.sandbox.core.timing import VARIABLES, scale_of, seconds

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

LAG_VARIABLE = "MMTUI_SANDBOX_REPLICATION_LAG"
CREATE_VARIABLE = VARIABLES["replica_create"]
DEFAULT_LAG = 0.5


class GlobalTablesBase:
    """The state and durations every part of the extension shares, and where moto keeps
    the tables it works on."""

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

    # -------------------------------------------------------------- moto lookups

    @staticmethod
    def _backend(account: str, region: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[account][region]

    def _table(self, account: str, region: str, name_or_arn: str) -> Any:
        return self._backend(account, region).tables.get(table_name_of(name_or_arn))

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
