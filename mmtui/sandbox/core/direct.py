"""Calling moto's response handlers directly, as moto's in-process mode does, not through Flask.

moto's server wraps each service in a Flask application: a request context, a URL map, the
handler wrapped in `convert_to_flask_response`, a Flask response object built and read back.
The sandbox already knows the service, reads the body itself and builds its own response, so
that plumbing was about a quarter of a call's CPU, under the sandbox lock (issue 15: an
AssumeRole spent 0.4 of its 1.8 ms in it). moto's own in-process mode (`mock_aws`) calls the
same handlers with botocore's prepared request instead of Flask's; this module does the same.

Only where the answer cannot differ: a POST to `/` (every call of the JSON and query protocol
services: STS, CloudFormation, DynamoDB, ECS, CodePipeline, CloudWatch, IAM, ELB...), handed to
the handler the service's Flask application routes `/` to (its own URL map says which). S3
(whose handlers read werkzeug's request), the REST services' other paths and anything
unexpected go through moto's Flask application as before. What Flask's handling
adds is kept: the headers as a dict keyed as werkzeug spells them, a ClientError answered 400
with its message, an HTTPException answered with its code, headers and body, and
`Content-Type: text/html; charset=utf-8` on an answer that names none (Flask's default, which
`app.py` reads as "moto has no such operation").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

NOT_DIRECT = frozenset({"s3", "s3control", "instance_metadata", "moto_api"})
"""Backends always served through Flask (their handlers read werkzeug's request, or serve
moto's own API)."""

Handler = Callable[[Any, str, dict[str, str]], Any]

_handlers: dict[str, Handler | None] = {}
_handlers_lock = threading.Lock()


def handler_for(backend: str, app: Any, method: str, path: str) -> Handler | None:
    """The handler `app` (moto's Flask application for `backend`) calls for a POST to `/`,
    the JSON and query protocols' one path, as its own URL map picks it; None for any other
    request, or a backend never called directly."""
    if method != "POST" or path != "/" or backend in NOT_DIRECT:
        return None
    if backend not in _handlers:
        with _handlers_lock:
            if backend not in _handlers:
                _handlers[backend] = _handler_at_root(app)
    return _handlers[backend]


def _handler_at_root(app: Any) -> Handler | None:
    from werkzeug.exceptions import HTTPException

    try:
        endpoint, _ = app.url_map.bind("localhost").match("/", method="POST")
    except HTTPException:  # no such route (404, 405): Flask's answer, as before
        return None
    handler: Handler | None = getattr(app.view_functions.get(endpoint), "callback", None)
    return handler


def werkzeug_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers as `dict(flask.request.headers)` has them (werkzeug's
    EnvironHeaders: `HTTP_X_AMZ_TARGET` is `X-Amz-Target`)."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            headers[key[5:].replace("_", "-").title()] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[key.replace("_", "-").title()] = value
    return headers


def call(
    handler: Handler, environ: dict[str, Any], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """`handler`'s answer to the request: (status, headers, body), as moto's Flask application
    would have answered it."""
    from botocore.awsrequest import AWSPreparedRequest, HeadersDict
    from botocore.exceptions import ClientError
    from werkzeug.exceptions import HTTPException

    headers = werkzeug_headers(environ)
    query = environ.get("QUERY_STRING", "")
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost")
    url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{environ.get('PATH_INFO', '/')}"
    if query:
        url = f"{url}?{query}"
    request = AWSPreparedRequest(
        environ.get("REQUEST_METHOD", "POST"),
        url,
        HeadersDict(headers),  # looked up in any case, as werkzeug's request headers are
        body,
        stream_output=False,
    )
    try:
        result = handler(request, url, dict(headers))
    except ClientError as exc:
        result = 400, {}, exc.response["Error"]["Message"]
    except HTTPException as exc:
        result = exc.code or 500, dict(exc.get_headers()), exc.get_body()
    if len(result) == 3:
        status, answer_headers, content = result
    else:
        status, answer_headers, content = 200, {}, result
    answer = {str(name): str(value) for name, value in dict(answer_headers).items()}
    if not any(name.lower() == "content-type" for name in answer):
        answer["Content-Type"] = "text/html; charset=utf-8"  # what Flask's Response adds
    if isinstance(content, str):
        content = content.encode("utf-8")
    elif content is None:
        content = b""
    return int(status), answer, bytes(content)
