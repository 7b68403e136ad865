"""X-Ray groups (CreateGroup, GetGroup, GetGroups, UpdateGroup, DeleteGroup), per region.

moto has X-Ray traces but no groups (its router answers 404). Labs 1 and 3 create the groups
`like-service` and `like-service-errors-faults`; this keeps them per account and region, with
the errors AWS gives, and the undeletable `Default` group every region has.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import Any

from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, aws_error

_PATHS = {
    "/CreateGroup": "create",
    "/GetGroup": "get",
    "/Groups": "list",
    "/UpdateGroup": "update",
    "/DeleteGroup": "delete",
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
DEFAULT_GROUP = "Default"
GROUPS_PAGE = 10
"""Groups per GetGroups page. AWS documents that GetGroups pages (NextToken) but not its page
size; this is a small page, so that a test with a few more groups sees a second page."""

Groups = dict[str, dict[str, Any]]


class XRayGroups(Extension):
    name = "xray_groups"

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], Groups] = {}

    # -------------------------------------------------------------- persistence

    def get_state(self) -> Any:
        return self.groups

    def set_state(self, state: Any) -> None:
        self.groups = dict(state or {})

    def export_account(self, account: str) -> Any:
        return {
            region: groups for (owner, region), groups in self.groups.items() if owner == account
        }

    def import_account(self, account: str, data: Any) -> None:
        for region, groups in dict(data or {}).items():
            self.groups[(account, region)] = groups

    def drop_account(self, account: str) -> None:
        for key in [key for key in self.groups if key[0] == account]:
            del self.groups[key]

    # -------------------------------------------------------------- requests

    def before(self, request: AwsRequest) -> AwsResponse | None:
        if request.service != "xray" or request.method != "POST" or request.path not in _PATHS:
            return None
        try:
            body = request.json()
        except ValueError:
            return _invalid(request, "the request body is not JSON")
        groups = self._region(request.account, request.region)
        handler = getattr(self, f"_{_PATHS[request.path]}")
        answer: AwsResponse = handler(request, body, groups)
        return answer

    def _region(self, account: str, region: str) -> Groups:
        key = (account, region)
        if key not in self.groups:
            self.groups[key] = {DEFAULT_GROUP: self._new(account, region, DEFAULT_GROUP, None)}
        return self.groups[key]

    @staticmethod
    def _new(account: str, region: str, name: str, expression: str | None) -> dict[str, Any]:
        group: dict[str, Any] = {
            "GroupName": name,
            "GroupARN": f"arn:aws:xray:{region}:{account}:group/{name}/"
            + secrets.token_hex(13).upper()[:26],
            "InsightsConfiguration": {"InsightsEnabled": False, "NotificationsEnabled": False},
        }
        if expression is not None:
            group["FilterExpression"] = expression
        return group

    def _create(self, request: AwsRequest, body: dict[str, Any], groups: Groups) -> AwsResponse:
        name = body.get("GroupName")
        if not isinstance(name, str) or not _NAME.match(name):
            return _invalid(request, "GroupName must be 1 to 32 letters, digits, '.', '_' or '-'")
        if name in groups:
            return _invalid(request, f"Group {name} already exists")
        expression = body.get("FilterExpression")
        if expression is not None and (not isinstance(expression, str) or not expression.strip()):
            return _invalid(request, "FilterExpression must not be empty")
        group = self._new(request.account, request.region, name, expression)
        if isinstance(body.get("InsightsConfiguration"), dict):
            group["InsightsConfiguration"].update(body["InsightsConfiguration"])
        groups[name] = group
        return AwsResponse.json({"Group": group})

    def _find(self, body: dict[str, Any], groups: Groups) -> dict[str, Any] | None:
        arn = body.get("GroupARN")
        if arn:
            return next((g for g in groups.values() if g["GroupARN"] == arn), None)
        return groups.get(str(body.get("GroupName")))

    def _get(self, request: AwsRequest, body: dict[str, Any], groups: Groups) -> AwsResponse:
        group = self._find(body, groups)
        if group is None:
            return _invalid(request, "Group not found")
        return AwsResponse.json({"Group": group})

    def _list(self, request: AwsRequest, body: dict[str, Any], groups: Groups) -> AwsResponse:
        # GetGroups answers a page at a time, with a NextToken while more follow (the API has
        # no page-size parameter); a client reading only the first page misses the rest.
        listed = list(groups.values())
        token = body.get("NextToken")
        start = 0
        if token is not None:
            try:
                start = int(base64.urlsafe_b64decode(str(token).encode()).decode())
            except (ValueError, binascii.Error):
                return _invalid(request, "Invalid pagination token")
            if not 0 <= start <= len(listed):
                return _invalid(request, "Invalid pagination token")
        page = listed[start : start + GROUPS_PAGE]
        answer: dict[str, Any] = {"Groups": page}
        if start + GROUPS_PAGE < len(listed):
            answer["NextToken"] = base64.urlsafe_b64encode(
                str(start + GROUPS_PAGE).encode()
            ).decode()
        return AwsResponse.json(answer)

    def _update(self, request: AwsRequest, body: dict[str, Any], groups: Groups) -> AwsResponse:
        group = self._find(body, groups)
        if group is None:
            return _invalid(request, "Group not found")
        if group["GroupName"] == DEFAULT_GROUP and "FilterExpression" in body:
            return _invalid(request, "The Default group's filter expression cannot be changed")
        if "FilterExpression" in body:
            group["FilterExpression"] = body["FilterExpression"]
        if isinstance(body.get("InsightsConfiguration"), dict):
            group["InsightsConfiguration"].update(body["InsightsConfiguration"])
        return AwsResponse.json({"Group": group})

    def _delete(self, request: AwsRequest, body: dict[str, Any], groups: Groups) -> AwsResponse:
        group = self._find(body, groups)
        if group is None:
            return _invalid(request, "Group not found")
        if group["GroupName"] == DEFAULT_GROUP:
            return _invalid(request, "The Default group cannot be deleted")
        del groups[group["GroupName"]]
        return AwsResponse.json({})


def _invalid(request: AwsRequest, message: str) -> AwsResponse:
    return aws_error(request, 400, "InvalidRequestException", message)
