"""Requests and responses as the sandbox's extensions see them, and AWS-shaped errors.

An extension must answer in the wire format the SDK expects for that service, or botocore
cannot parse it; `aws_error` picks the format from the request itself.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

DEFAULT_ACCOUNT = "123456789012"
TEMPLATE_ACCOUNT = "846219537082"
"""The hidden account attendee accounts are copied from (workshop/account_image.py). Its digits
never repeat one after another, so no zero-padded counter or sequence number of moto's contains
it."""

READ_PREFIXES = ("Describe", "Get", "List", "Query", "Scan", "Head", "BatchGet", "Lookup")

_SCOPE = re.compile(r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")


@dataclass
class AwsRequest:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes
    service: str = ""
    """The signing name from the credential scope (e.g. `dynamodb`, `xray`, `monitoring`)."""
    region: str = "us-east-1"
    access_key: str = ""
    _form: dict[str, list[str]] | None = field(default=None, repr=False)
    _account: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: dict[str, Any], body: bytes) -> AwsRequest:
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        request = cls(
            method=str(environ.get("REQUEST_METHOD", "GET")),
            path=str(environ.get("PATH_INFO", "/")),
            query_string=str(environ.get("QUERY_STRING", "")),
            headers=headers,
            body=body,
        )
        scope = _SCOPE.search(headers.get("authorization", ""))
        if scope:
            request.service = scope["service"]
            request.region = scope["region"]
            request.access_key = scope["key"]
        return request

    @property
    def account(self) -> str:
        """The account the request acts in, decided exactly as moto decides it (so that an
        extension and moto never disagree): see `account_of`. Read with the sandbox lock held:
        it looks the access key up in moto's IAM backends."""
        if self._account is None:
            self._account = account_of(self.headers, self.access_key)
        return self._account

    @property
    def target(self) -> str | None:
        """`X-Amz-Target` of JSON protocols, e.g. `DynamoDB_20120810.UpdateTable`."""
        return self.headers.get("x-amz-target")

    @property
    def form(self) -> dict[str, list[str]]:
        if self._form is None:
            text = self.body.decode("utf-8", "replace") if self.is_form else ""
            self._form = parse_qs(text)
            for key, values in parse_qs(self.query_string).items():
                self._form.setdefault(key, values)
        return self._form

    @property
    def is_form(self) -> bool:
        return "x-www-form-urlencoded" in self.headers.get("content-type", "")

    @property
    def operation(self) -> str:
        """The API operation, whatever the protocol: JSON target, query Action, or REST path."""
        if self.target:
            return self.target.rsplit(".", 1)[-1]
        action = self.form.get("Action")
        if action:
            return action[0]
        return rest_operation(self.service, self.method, self.path) or (
            self.path.rstrip("/").rsplit("/", 1)[-1] or f"{self.method} /"
        )

    @property
    def may_write(self) -> bool:
        """Whether the request may change state (cheap: no service model is loaded)."""
        if self.target or self.is_form:
            operation = self.operation
        elif self.method in ("GET", "HEAD", "OPTIONS"):
            return False
        elif self.method != "POST":
            return True  # PUT, PATCH, DELETE: writes, whatever the operation
        else:
            # A REST read may be a POST: X-Ray's GetGroups, which every round of Lab 3's checks
            # makes, was counted a change (journaled, and the whole state saved again after
            # each round). Named from the service's model when the path names one operation.
            named = rest_operation(self.service, self.method, self.path)
            if named is None:
                return True
            operation = named
        return not operation.startswith(READ_PREFIXES)

    @property
    def protocol(self) -> str:
        if self.target or "json" in self.headers.get("content-type", ""):
            return "json"
        if self.is_form:
            return "query"
        return "rest-xml"

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        loaded = json.loads(self.body)
        return loaded if isinstance(loaded, dict) else {}


def account_of(headers: dict[str, str], access_key: str) -> str:
    """The account a request with these (lower-cased) headers and access key acts in.

    This mirrors moto 5.2.1's `BaseResponse.get_current_account` (moto/core/responses.py):
    `MOTO_ACCOUNT_ID` in the environment, then an `x-moto-account-id` header, then the account
    whose IAM backend holds the access key (`moto.iam.models.get_account_id_from`: keys made by
    AssumeRole live in the role's account), else the default account. moto only reads the key
    from a SigV4 `Authorization` header (or a SigV2 `AWSAccessKeyId`, which no client of the
    sandbox sends): an unsigned request is the default account's.
    """
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if "x-moto-account-id" in headers:
        return headers["x-moto-account-id"]
    if not access_key:
        return DEFAULT_ACCOUNT
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(access_key))


@lru_cache(maxsize=64)
def _rest_routes(signing_name: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(method, path pattern, operation) of a REST service, from botocore's own model."""
    import botocore.session

    session = botocore.session.get_session()
    available = session.get_available_services()
    # The signing name is usually the service's own name; only search all models otherwise.
    candidates = [signing_name] if signing_name in available else available
    for service in candidates:
        model = session.get_service_model(service)
        names = {model.signing_name, model.endpoint_prefix, service}
        if signing_name in names and model.protocol.startswith("rest"):
            routes = []
            for operation in model.operation_names:
                http = model.operation_model(operation).http
                template = http.get("requestUri", "/").split("?", 1)[0]
                pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
                routes.append((http.get("method", "GET"), re.compile(f"^{pattern}/?$"), operation))
            return tuple(routes)
    return ()


def rest_operation(signing_name: str, method: str, path: str) -> str | None:
    if not signing_name:
        return None
    # The first literal match wins; among templated routes only an unambiguous one is named
    # (S3 tells many operations apart by query string alone).
    matches = [
        (pattern.pattern.count("[^/]+"), operation)
        for route_method, pattern, operation in _rest_routes(signing_name)
        if route_method == method and pattern.match(path)
    ]
    if not matches:
        return None
    best = min(level for level, _ in matches)
    named = [operation for level, operation in matches if level == best]
    return named[0] if len(named) == 1 else None


@dataclass
class AwsResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> AwsResponse:
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/x-amz-json-1.0"},
        )

    def parsed_json(self) -> Any:
        return json.loads(self.body) if self.body else {}


def aws_error(
    request: AwsRequest, status: int, code: str, message: str, protocol: str | None = None
) -> AwsResponse:
    """An error botocore parses into ClientError(code, message) for the request's protocol
    (or `protocol`: "json", "query", "ec2" or "rest-xml")."""
    protocol = protocol or request.protocol
    if protocol == "json":
        # rest-json services (X-Ray) read the code from this header; JSON 1.0/1.1 from __type.
        return AwsResponse(
            status,
            json.dumps({"__type": code, "message": message, "Message": message}).encode(),
            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code},
        )
    text = escape(message)
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{text}</Message></Error>"
            "</Errors><RequestID>mmtui-sandbox</RequestID></Response>"
        )
    elif protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{text}</Message></Error>"
            "<RequestId>mmtui-sandbox</RequestId></ErrorResponse>"
        )
    else:
        body = f"<Error><Code>{code}</Code><Message>{text}</Message></Error>"
    return AwsResponse(status, body.encode(), {"Content-Type": "text/xml"})


def not_available(request: AwsRequest, detail: str = "") -> AwsResponse:
    """The answer to an operation the sandbox does not implement (501 is not retried)."""
    service = request.service or "this service"
    message = f"{request.operation} ({service}) is not available in the mmtui sandbox"
    return aws_error(request, 501, "NotImplemented", message + (f": {detail}" if detail else ""))
