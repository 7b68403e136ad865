"""How a member of a global table describes itself: `Replicas` (the other members, with
their status), `GlobalTableVersion`, and its own status while the group changes."""

from __future__ import annotations

import json
from typing import Any

from mmtui.sandbox.behaviours.dynamodb_global.base import GlobalTablesBase
from mmtui.sandbox.behaviours.dynamodb_global.model import ACTIVE, CREATING, DELETING
from mmtui.sandbox.behaviours.dynamodb_global.requests import description_in, json_response
from mmtui.sandbox.core.protocol import AwsResponse

GLOBAL_TABLE_VERSION = "2019.11.21"


class Descriptions(GlobalTablesBase):
    """What DescribeTable (and the UpdateTable/DeleteTable answers) say of a member."""

    def _answer(self, table: Any, account: str, region: str, key: str) -> AwsResponse:
        from moto.dynamodb.models.utilities import dynamo_json_dump

        payload = json.loads(dynamo_json_dump(table.describe(base_key=key)))
        self._describe_into(payload[key], account, region)
        return json_response(payload)

    def _decorate(self, response: AwsResponse, key: str, account: str, region: str) -> AwsResponse:
        found = description_in(response, key) if self.state.groups else None
        if found is None:
            return response
        payload, description = found
        if not self._describe_into(description, account, region):
            return response
        return json_response(payload, response.headers)

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
