"""One client connection through an accelerator, HTTP request by HTTP request, to the one
endpoint Global Accelerator placed it on.

Global Accelerator works at the TCP level: a client's connection stays on one endpoint for as
long as it lives, and its requests ride it (keep-alive, as `ab -k`, Python's http.client and
mmtui's load generator use it). The sites behind the sandbox's load balancers close their
connection after every answer, so copying bytes would end the client's connection too, and the
client's next request would be placed afresh. Here the client's connection is kept as the
client asks (HTTP/1.1, or HTTP/1.0 with `Connection: keep-alive`), and each of its requests
goes to the same endpoint over a connection of its own to the site.

What does not reach the site: hop-by-hop headers (RFC 9110 §7.6.1), which belong to each
connection. When the endpoint stops answering mid-connection the client's connection is
reset, as a broken TCP path does.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
from http.server import BaseHTTPRequestHandler
from typing import Any

UPSTREAM_TIMEOUT = 60.0
"""How long the site may take to answer (seconds): an ALB's default idle timeout."""
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",  # set again from the body actually sent
    }
)


def forward(
    client: socket.socket, peer: tuple[str, int], address: tuple[str, int], idle: float
) -> None:
    """Serve `client`'s requests from the site at `address` until either side closes."""
    upstream = http.client.HTTPConnection(address[0], address[1], timeout=UPSTREAM_TIMEOUT)
    link: Any = _Link(upstream, idle)  # stands where the base class expects its server
    try:
        _Handler(client, peer, link)
    finally:
        upstream.close()


class _Link:
    """What a handler needs of its connection (BaseHTTPRequestHandler calls it `server`)."""

    def __init__(self, upstream: http.client.HTTPConnection, idle: float) -> None:
        self.upstream = upstream
        self.idle = idle


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle)  # an idle connection is closed after this

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base's name)
        """Nothing reaches the terminal."""

    def _forward(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream: http.client.HTTPConnection = self.server.upstream
        try:
            try:
                reused = upstream.sock is not None
                response = _exchange(upstream, self.command, self.path, body, headers)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # The site closed its idle kept-alive connection before reading this request:
                # nothing was served, so it goes again on a new connection (as clients do).
                upstream.close()
                response = _exchange(upstream, self.command, self.path, body, headers)
            data = response.read()
        except (OSError, http.client.HTTPException):
            upstream.close()
            self.close_connection = True
            reset(self.connection)
            return
        self.send_response_only(response.status, response.reason)
        head = self.command == "HEAD"
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP or (head and name.lower() == "content-length"):
                self.send_header(name, value)  # a HEAD answer tells the length of a GET's body
        if not head:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _forward


def _exchange(
    upstream: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> http.client.HTTPResponse:
    upstream.request(method, path, body=body, headers=headers)
    return upstream.getresponse()


def reset(connection: socket.socket) -> None:
    """Make closing `connection` send a reset (RST), as a connection Global Accelerator
    cannot route, or whose endpoint stopped answering, ends."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
