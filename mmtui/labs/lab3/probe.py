"""`mmtui probe replication`: how long a write in the primary takes to reach the secondary.

The one command that writes in order to measure. Each sample writes a canary item (a key no
mysfit can have) in the primary, reads the secondary with strongly consistent reads until the
item is there, and records the time. The canaries are deleted from both regions afterwards,
even when the probe is interrupted; those of a probe that was killed (SIGKILL, a laptop shut)
are removed by the next probe before it starts, and the checks never count them as mysfits.
Two probes of one table at the same time are not supported: the second would remove the
first's canaries.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmtui.exitcodes import ExitCode, MmtuiError

CANARY_PREFIX = "mmtui-canary-"
TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class ProbeResult:
    lags: list[float]

    @property
    def minimum(self) -> float:
        return min(self.lags)

    @property
    def median(self) -> float:
        return statistics.median(self.lags)

    @property
    def maximum(self) -> float:
        return max(self.lags)


def require_global_table(primary: Any, table: str, secondary_region: str) -> None:
    from botocore.exceptions import ClientError

    try:
        description = primary.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        raise MmtuiError(
            f"cannot probe: {exc.response['Error'].get('Message', exc)}", ExitCode.CHECK_FAILED
        ) from None
    replicas = {r["RegionName"]: r.get("ReplicaStatus") for r in description.get("Replicas", [])}
    if secondary_region not in replicas:
        raise MmtuiError(
            f"cannot probe: {table} is not a global table with a replica in {secondary_region} "
            "(step 2 adds it), so nothing would replicate",
            ExitCode.CHECK_FAILED,
        )
    if replicas[secondary_region] != "ACTIVE":
        raise MmtuiError(
            f"cannot probe yet: the replica in {secondary_region} is "
            f"{replicas[secondary_region]}; wait until it is ACTIVE",
            ExitCode.CHECK_FAILED,
        )


def remove_stale_canaries(primary: Any, secondary: Any, table: str) -> int:
    """Delete the canaries an earlier probe left in either region; how many there were."""
    found: set[str] = set()
    for client in (primary, secondary):
        pages = client.get_paginator("scan").paginate(
            TableName=table,
            ProjectionExpression="MysfitId",
            FilterExpression="begins_with(MysfitId, :canary)",
            ExpressionAttributeValues={":canary": {"S": CANARY_PREFIX}},
        )
        keys = [item["MysfitId"]["S"] for page in pages for item in page.get("Items", [])]
        for key in keys:  # deleting a key the primary's delete already replicated is no error
            client.delete_item(TableName=table, Key={"MysfitId": {"S": key}})
        found.update(keys)
    return len(found)


def probe_replication(
    primary: Any,
    secondary: Any,
    table: str,
    samples: int,
    on_sample: Callable[[int, float], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ProbeResult:
    written: list[str] = []
    lags: list[float] = []
    try:
        for index in range(samples):
            key = f"{CANARY_PREFIX}{uuid.uuid4()}"
            item = {"MysfitId": {"S": key}, "Name": {"S": "replication canary"}}
            started = clock()
            primary.put_item(TableName=table, Item=item)
            written.append(key)
            while True:
                found = secondary.get_item(
                    TableName=table, Key={"MysfitId": {"S": key}}, ConsistentRead=True
                )
                if "Item" in found:
                    break
                if clock() - started > TIMEOUT_SECONDS:
                    raise MmtuiError(
                        f"a canary written in the primary did not reach the secondary within "
                        f"{TIMEOUT_SECONDS:.0f} s",
                        ExitCode.CHECK_FAILED,
                    )
                time.sleep(POLL_SECONDS)
            lag = clock() - started
            lags.append(lag)
            if on_sample is not None:
                on_sample(index + 1, lag)
    finally:
        for key in written:
            for client in (primary, secondary):
                client.delete_item(TableName=table, Key={"MysfitId": {"S": key}})
    return ProbeResult(lags)
