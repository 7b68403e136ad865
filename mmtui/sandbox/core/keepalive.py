"""An HTTP/1.1 request handler that keeps connections open between requests.

werkzeug's development handler answers every request with `Connection: close`, so each call
of boto3, the CLI or git costs a new TCP connection and a new server thread (about half a
millisecond of the sandbox's CPU a call, a tenth of what a room of fifty attendees spends in
it). Its handler cannot simply be told to keep the connection: after each answer it drains
the socket with a read that would swallow the client's next request.

This handler keeps werkzeug's request parsing and WSGI environ (`werkzeug.socket`, which the
realism's connection resets use; `REQUEST_URI`, which the site proxy reads; the dechunked input
of a large `git push`) and replaces only the answering: it reads exactly what is left of each
request body, never more, and then waits for the next request on the same connection, for at
most IDLE_SECONDS. Still one thread per connection, never a fixed pool: a call held by the
realism's latency or timeout faults can never keep another connection waiting for a thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import IO, Any, cast

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

IDLE_SECONDS = 60.0
"""How long an open connection may wait for its next request before the sandbox closes it
(a client that keeps a pool, like boto3's, reconnects when it needs to)."""
READ_SECONDS = 60.0
"""How long the rest of a request body may take to arrive once the answer is sent."""
CLOSE_SECONDS = 0.05
"""The same before closing the connection: what is sent at once, not what is sent at all."""

_DROPPED = (ConnectionError, TimeoutError, socket.timeout, BrokenPipeError)


class Connections:
    """The connections of one server that are waiting for their next request: closed at stop,
    so that no thread stays blocked on an idle client once the sandbox is gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: set[socket.socket] = set()
        self.stopping = False

    def wait(self, connection: socket.socket) -> bool:
        """Count `connection` as idle; False once the server is stopping (close it)."""
        with self._lock:
            if self.stopping:
                return False
            self._idle.add(connection)
            return True

    def busy(self, connection: socket.socket) -> None:
        with self._lock:
            self._idle.discard(connection)

    def close_idle(self) -> None:
        """Stop: every idle connection is shut, a busy one closes after its answer."""
        with self._lock:
            self.stopping = True
            idle, self._idle = list(self._idle), set()
        for connection in idle:
            with contextlib.suppress(OSError):  # the client closed it meanwhile
                connection.shutdown(socket.SHUT_RDWR)


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's handler, answering in HTTP/1.1 with persistent connections."""

    protocol_version = "HTTP/1.1"
    connections: Connections | None = None
    """Set on the subclass a server uses (`handler_for`)."""

    def setup(self) -> None:
        super().setup()
        # Headers and small bodies go out in one write, but a chunked answer is several: no
        # waiting for the client's delayed acknowledgement between them (Nagle).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        if not self._wait_for_request():
            self.close_connection = True
            return
        super().handle_one_request()

    def _wait_for_request(self) -> bool:
        """Wait until the next request starts arriving (or the client leaves, or the server
        stops, or IDLE_SECONDS pass); True when there is one to read."""
        connections = self.connections
        connection = self.connection
        if connections is not None and not connections.wait(connection):
            return False
        try:
            connection.settimeout(IDLE_SECONDS)
            return bool(self.rfile.peek(1))  # type: ignore[attr-defined]
        except (OSError, ValueError):
            return False
        finally:
            if connections is not None:
                connections.busy(connection)
            with contextlib.suppress(OSError):
                connection.settimeout(None)

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if not environ.get("wsgi.input_terminated"):
            # A body of known length (or none): the application reads at most that much, and
            # what it leaves is read after the answer, so the next request starts clean.
            try:
                length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
            except ValueError:
                length = 0
                self.close_connection = True
            environ["wsgi.input"] = LimitedStream(cast("IO[bytes]", self.rfile), length)
        return environ

    def run_wsgi(self) -> None:
        # `Expect: 100-continue` was answered when the request was parsed (http.server's
        # handle_expect_100); werkzeug's handler answers it a second time, which a client
        # of a kept-alive connection could take for the final answer's head.
        if self.request_version < "HTTP/1.1":
            self.close_connection = True  # HTTP/1.0 keep-alive: not worth the special case
        if self.connections is not None and self.connections.stopping:
            self.close_connection = True
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None and coding.strip().lower() != "chunked":
            self.close_connection = True  # a body whose end werkzeug cannot find
        self.environ = environ = self.make_environ()
        answer = _Answer(self, environ)
        try:
            chunks = self.server.app(environ, answer.start_response)
            try:
                for data in chunks:
                    answer.write(data)
                answer.finish()
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except _DROPPED as exc:
            self.connection_dropped(exc, environ)
            return
        except Exception:  # noqa: BLE001  (the application failed: a 500, as werkzeug answers)
            self.close_connection = True
            if not answer.started:
                _internal_error(self)
        # Closing with unread bytes in the socket would reset the connection, and the client
        # could lose the answer: read what is left of the body first, all of it when the
        # connection goes on, else (as werkzeug does) what arrives at once.
        self._read_rest(environ, CLOSE_SECONDS if self.close_connection else READ_SECONDS)

    def _read_rest(self, environ: dict[str, Any], patience: float) -> None:
        """Read what the application left of the request body (a refused upload, a 403), so
        that the next request starts where this one ends; close when that fails."""
        stream = environ["wsgi.input"]
        try:
            if isinstance(stream, LimitedStream) and stream.is_exhausted:
                return
            self.connection.settimeout(patience)
            if isinstance(stream, LimitedStream):
                stream.exhaust()
            else:
                while stream.read(65536):
                    pass
        except (OSError, ValueError):
            self.close_connection = True
        finally:
            with contextlib.suppress(OSError):
                self.connection.settimeout(None)

    def connection_dropped(
        self, error: BaseException, environ: dict[str, Any] | None = None
    ) -> None:
        """The client left (or a fault reset the connection): nothing to tell anyone."""
        self.close_connection = True


class _Answer:
    """One response: its status line and headers wait for the first bytes of the body (one
    write for both); without a Content-Length it is sent chunked."""

    def __init__(self, handler: KeepAliveHandler, environ: dict[str, Any]) -> None:
        self.handler = handler
        self.environ = environ
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.started = False
        self.chunked = False
        self.bodiless = False
        """A HEAD answer, a 1xx, 204 or 304: whatever the application yields is not sent, or
        the client would read it as the start of the next answer."""

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if exc_info is not None:
            try:
                if self.started:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called twice")
        self.status = status
        self.headers = list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        head = b"" if self.started else self._head()
        if self.bodiless:
            data = b""
        if head or data:
            self.handler.wfile.write(head + self._framed(data))

    def finish(self) -> None:
        if not self.started:
            self.write(b"")
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")

    def _framed(self, data: bytes) -> bytes:
        if self.chunked and data:
            return b"%x\r\n%s\r\n" % (len(data), data)
        return data

    def _head(self) -> bytes:
        if self.status is None:
            raise AssertionError("write() before start_response")
        handler = self.handler
        self.started = True
        code_text, _, reason = self.status.partition(" ")
        code = int(code_text)
        names = {name.lower() for name, _ in self.headers}
        self.bodiless = self.environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in (204, 304)
        # Without a length the body ends with the connection, or (kept alive) in chunks.
        self.chunked = (
            "content-length" not in names and not self.bodiless and not handler.close_connection
        )
        lines = [f"{handler.protocol_version} {code} {reason}"]
        # As werkzeug does: the application's own Server and Date (moto sends AWS's) win.
        if "server" not in names:
            lines.append(f"Server: {handler.version_string()}")
        if "date" not in names:
            lines.append(f"Date: {handler.date_time_string()}")
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
        if handler.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _internal_error(handler: KeepAliveHandler) -> None:
    body = b"Internal Server Error\n"
    head = (
        f"{handler.protocol_version} 500 Internal Server Error\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        handler.wfile.write(head.encode("latin-1") + body)


def handler_for(base: type[KeepAliveHandler], connections: Connections) -> type[KeepAliveHandler]:
    """`base` bound to one server's `connections`."""
    return type(base.__name__, (base,), {"connections": connections})
