"""Calling moto's response handlers directly, as moto's in-process mode does, not through Flask.

moto's server wraps each service in a Flask application: a request context, a URL map, the
handler wrapped in `convert_to_flask_response`, a Flask response object built and read back.
The sandbox already knows the service, reads the body itself and builds its own response, so
that plumbing was about a quarter of a call's CPU, under the sandbox lock (issue 15: an
AssumeRole spent 0.4 of its 1.8 ms in it). moto's own in-process mode (`mock_aws`) calls the
same handlers with botocore's prepared request instead of Flask's; this module does the same.

Only where the answer cannot differ: a POST to `/` (every call of the JSON and query protocol
services: STS, CloudFormation, DynamoDB, ECS, CodePipeline, CloudWatch, IAM, ELB...) when
exactly one of the service's routes is that path. S3 (whose handlers read werkzeug's request),
the REST services' other paths and anything unexpected go through moto's Flask application as
before. What Flask's handling
adds is kept: the headers as a dict keyed as werkzeug spells them, a ClientError answered 400
with its message, an HTTPException answered with its code, headers and body, and
`Content-Type: text/html; charset=utf-8` on an answer that names none (Flask's default, which
`app.py` reads as "moto has no such operation").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

NOT_DIRECT = frozenset({"s3", "s3control", "instance_metadata", "moto_api"})
"""Backends always served through Flask (their handlers read werkzeug's request, or serve
moto's own API)."""

Handler = Callable[[Any, str, dict[str, str]], Any]

_routes: dict[str, tuple[tuple[re.Pattern[str], Handler], ...]] = {}
_routes_lock = threading.Lock()


def handler_for(backend: str, method: str, path: str) -> Handler | None:
    """The handler moto's Flask application would call for a POST to `/` (the JSON and query
    protocols' one path), when exactly one of `backend`'s routes is that path; None otherwise
    (Flask's URL map then picks, as before)."""
    if method != "POST" or path != "/":
        return None
    matching = [handler for pattern, handler in routes(backend) if pattern.fullmatch(path)]
    return matching[0] if len(matching) == 1 else None


def routes(backend: str) -> tuple[tuple[re.Pattern[str], Handler], ...]:
    """`backend`'s URL paths and their handlers (none for a backend never called directly)."""
    found = _routes.get(backend)
    if found is None:
        with _routes_lock:
            found = _routes.get(backend)
            if found is None:
                found = _routes[backend] = _read_routes(backend)
    return found


def _read_routes(backend: str) -> tuple[tuple[re.Pattern[str], Handler], ...]:
    if backend in NOT_DIRECT:
        return ()
    from moto import backends

    try:
        # As moto's server finds the handlers: from a backend of the default account.
        paths = _url_paths(backends.get_backend(backend))  # type: ignore[call-overload]
        return tuple((re.compile(path), handler) for path, handler in paths.items())
    except Exception:  # noqa: BLE001  (anything unusual: Flask's way)
        return ()


def _url_paths(backend_dict: Any) -> dict[str, Handler]:
    from moto.core.base_backend import BackendDict
    from moto.core.models import DEFAULT_ACCOUNT_ID

    if isinstance(backend_dict, BackendDict):
        regions = backend_dict[DEFAULT_ACCOUNT_ID]
        backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
    else:
        backend = backend_dict["global"]
    paths: dict[str, Handler] = backend.url_paths
    return paths


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
