"""moto's handlers called directly (core/direct.py) answer as moto's Flask application does.

Each read below is sent once, its signed request recorded, and replayed over HTTP twice: as
the sandbox serves it (directly, for these services) and through moto's Flask application;
the two answers must be the same but for the request ids moto draws at random.
"""

from __future__ import annotations

import http.client
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from mmtui.sandbox.core import direct
from mmtui.sandbox.core.server import Sandbox

READS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("sts", "get_caller_identity", {}),
    ("cloudformation", "describe_stacks", {}),
    ("cloudformation", "describe_stacks", {"StackName": "no-such-stack"}),  # an error, in XML
    ("dynamodb", "list_tables", {}),
    ("dynamodb", "describe_table", {"TableName": "no-such-table"}),  # an error, in JSON
    ("ecs", "list_clusters", {}),
    ("iam", "list_roles", {}),
    ("elbv2", "describe_load_balancers", {}),
    ("codepipeline", "list_pipelines", {}),
    ("cloudwatch", "list_dashboards", {}),
)

_REQUEST_ID = re.compile(rb"(<RequestId>)[^<]*(</RequestId>)|(\"RequestId\": ?\")[^\"]*\"")


def recorded(sandbox: Sandbox, service: str, operation: str, kwargs: dict[str, Any]) -> Any:
    """The signed request `operation` sends (it is sent too)."""
    client = sandbox.client(service)
    seen: list[Any] = []

    def keep(request: Any, **_: Any) -> None:
        seen.append(request)

    client.meta.events.register("before-send", keep)
    try:
        getattr(client, operation)(**kwargs)
    except ClientError:
        pass  # an error answer is compared too
    finally:
        client.meta.events.unregister("before-send", keep)
    return seen[-1]


def replay(request: Any) -> tuple[int, str, bytes]:
    """(status, content type, body without request ids) of `request` sent again over HTTP."""
    url = urlsplit(request.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        path = url.path + (f"?{url.query}" if url.query else "")
        body = request.body if isinstance(request.body, bytes) else (request.body or b"")
        connection.request(request.method, path, body=body, headers=dict(request.headers))
        answer = connection.getresponse()
        return (
            answer.status,
            answer.getheader("Content-Type") or "",
            _REQUEST_ID.sub(rb"\1\2\3", answer.read()),
        )
    finally:
        connection.close()


@pytest.mark.parametrize(("service", "operation", "kwargs"), READS)
def test_an_answer_called_directly_is_the_one_flask_gives(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    operation: str,
    kwargs: dict[str, Any],
) -> None:
    request = recorded(sandbox, service, operation, kwargs)
    called: list[str] = []
    call = direct.call

    def counting(*args: Any) -> Any:
        called.append(service)
        return call(*args)

    monkeypatch.setattr(direct, "call", counting)
    directly = replay(request)
    assert called, "not called directly"
    monkeypatch.setattr(direct, "handler_for", lambda *_: None)  # moto's Flask application
    through_flask = replay(request)
    assert directly == through_flask


def test_only_a_post_to_slash_is_called_directly_with_the_handler_flask_routes_it_to(
    sandbox: Sandbox,
) -> None:
    from moto.cloudformation.responses import CloudFormationResponse

    dispatcher = sandbox._app.moto

    def handler(backend: str, method: str = "POST", path: str = "/") -> Any:
        return direct.handler_for(backend, dispatcher.app_for(backend), method, path)

    assert handler("sts") is not None
    # CloudFormation has a second route (custom resources' answers): Flask's map picks for `/`.
    assert getattr(handler("cloudformation"), "__self__", None) is CloudFormationResponse
    assert handler("cloudformation", path="/cloudformation_x/cfnresponse") is None
    assert handler("sts", method="GET") is None
    assert handler("s3") is None  # its handlers read werkzeug's request
    assert handler("xray", path="/Groups") is None  # REST paths: Flask's map, as before


def test_headers_are_keyed_as_werkzeug_keys_them() -> None:
    from werkzeug.datastructures import EnvironHeaders

    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/x-amz-json-1.1",
        "CONTENT_LENGTH": "2",
        "HTTP_X_AMZ_TARGET": "AmazonEC2ContainerServiceV20141113.ListClusters",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=x",
        "HTTP_HOST": "127.0.0.1:4566",
        "HTTP_X_AMZ_SECURITY_TOKEN": "token",
        "wsgi.url_scheme": "http",
    }
    assert direct.werkzeug_headers(environ) == dict(EnvironHeaders(environ))
