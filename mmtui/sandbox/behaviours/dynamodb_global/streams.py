"""The stream rules of a global table: what UpdateTable may do to a table's stream, and the
UPDATING while a stream is turned on or off."""

from __future__ import annotations

import time
from typing import Any

from mmtui.sandbox.behaviours.dynamodb_global.base import GlobalTablesBase
from mmtui.sandbox.behaviours.dynamodb_global.messages import (
    BEING_UPDATED,
    IN_USE,
    STREAM_DISABLE,
    STREAM_ENABLED,
)
from mmtui.sandbox.behaviours.dynamodb_global.model import ACTIVE, UPDATING
from mmtui.sandbox.behaviours.dynamodb_global.requests import (
    description_in,
    dynamodb_error,
    json_response,
)
from mmtui.sandbox.core.protocol import AwsResponse


class StreamRules(GlobalTablesBase):
    """A table whose stream is turned on or off is UPDATING a while, and its new stream
    is not ready to replicate from at once; a replicated table keeps its stream."""

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
        return dynamodb_error("ResourceInUseException", BEING_UPDATED.format(name=table.name))

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
        found = description_in(response, key) if self._updating else None
        if found is None:
            return response
        payload, description = found
        times = self._updating.get((account, region, str(description.get("TableName", ""))))
        if times is None or times[0] <= time.time() or description.get("TableStatus") != ACTIVE:
            return response
        description["TableStatus"] = UPDATING
        return json_response(payload, response.headers)

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
                return dynamodb_error("ResourceInUseException", IN_USE)
            if isinstance(stream, dict) and not stream.get("StreamEnabled"):
                return dynamodb_error("ValidationException", STREAM_DISABLE)
        enabled = (table.stream_specification or {}).get("StreamEnabled")
        if isinstance(stream, dict) and stream.get("StreamEnabled") and enabled:
            # moto says ResourceInUseException; the API reference says ValidationException.
            return dynamodb_error("ValidationException", STREAM_ENABLED.format(name=table.name))
        if isinstance(stream, dict) and stream.get("StreamEnabled") and not enabled:
            # moto keeps the label of a stream that was turned off and then refuses any new one
            # ("Cannot enable stream"); AWS starts a new stream, with a new label and ARN. Step
            # 2 needs it after a reset, or to replace a stream of another view type.
            table.latest_stream_label = None
        return None
