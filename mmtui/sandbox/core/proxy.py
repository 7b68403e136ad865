"""The sandbox as an HTTP proxy for the names it serves (sandbox.env's `http_proxy`).

A lab's own commands reach a load balancer or an accelerator by its DNS name
(`curl http://alb-...elb.amazonaws.com/`). Those names are in no DNS here, so a shell that
sourced sandbox.env sends plain-HTTP requests to the sandbox's endpoint as its proxy, and
the sandbox forwards each one whose host is in its resolve map (`MMTUI_RESOLVE`) to the
loopback port that serves that name. `no_proxy` names loopback, so the `aws` CLI and git
keep talking to the endpoint directly.

A proxy request is told apart by its absolute-form request line (`GET http://host/ HTTP/1.1`,
RFC 9112 §3.2.2), which only a client configured with a proxy sends: a web page's request
through DNS rebinding has an origin-form line and is still refused by the Host check. Only
names of the resolve map are forwarded, never anything else: an unknown name is answered
502 with a body that says the name did not resolve (as curl would have failed to look it up)
and how to reach the internet from that shell.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from mmtui.sandbox.core.auth import LOOPBACK_HOSTS
from mmtui.sandbox.core.extension import StartResponse

NO_PROXY = "127.0.0.1,localhost,::1"
"""sandbox.env's `no_proxy`: the endpoint itself (and git's clone URLs) are never proxied."""
FORWARD_TIMEOUT = 120.0
"""Generous: a site may hold a request for the ALB's connection timeout (10 s at real time)."""
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
}


def proxied_host(environ: dict[str, Any]) -> str | None:
    """The host a proxy request is for (lower case, no trailing dot), or None when the request
    is not one (origin form, or addressed to loopback, which is the sandbox's own API)."""
    uri = str(environ.get("REQUEST_URI") or "")
    if uri[:7].lower() != "http://":
        return None
    name = (urlsplit(uri).hostname or "").lower().rstrip(".")
    if not name or name in LOOPBACK_HOSTS or name.endswith(".localhost"):
        return None
    return name


def forward(
    environ: dict[str, Any],
    start_response: StartResponse,
    host: str,
    resolve: Callable[[], dict[str, str]],
) -> Iterable[bytes]:
    """Answer a proxy request for `host`: the response of the loopback site that serves it, or
    502 when no load balancer or accelerator of the sandbox has that name."""
    parts = urlsplit(str(environ["REQUEST_URI"]))
    served = {name.lower(): url for name, url in resolve().items()}
    target = served.get(host) if parts.port in (None, 80) else None
    if target is None:
        return _bad_gateway(
            start_response,
            f"mmtui sandbox: Could not resolve host: {host}\n"
            "This shell sends plain-HTTP requests through the sandbox (http_proxy, from "
            "sandbox.env), which knows only the names of its own load balancers and "
            "accelerators (MMTUI_RESOLVE). To reach the internet from this shell: "
            "unset http_proxy HTTP_PROXY\n",
        )
    site = urlsplit(target)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else None
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _HOP_BY_HOP
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = str(environ["CONTENT_TYPE"])
    headers["Host"] = host
    connection = http.client.HTTPConnection(
        site.hostname or "127.0.0.1", site.port or 80, timeout=FORWARD_TIMEOUT
    )
    try:
        connection.request(str(environ["REQUEST_METHOD"]), path, body=body, headers=headers)
        answer = connection.getresponse()
        content = answer.read()
        status, reason = answer.status, answer.reason
        passed = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
    except (OSError, http.client.HTTPException) as exc:
        return _bad_gateway(start_response, f"mmtui sandbox: cannot reach {host}: {exc}\n")
    finally:
        connection.close()
    start_response(f"{status} {reason}", [*passed, ("Content-Length", str(len(content)))])
    return [content]


def _bad_gateway(start_response: StartResponse, text: str) -> Iterable[bytes]:
    body = text.encode()
    start_response(
        "502 Bad Gateway",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
