"""The sandbox keeps HTTP connections open between calls (core/keepalive.py).

Each test talks to the session's sandbox over one raw socket, so that a second answer on the
same connection proves the first request was read exactly to its end, no further.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.core.keepalive import Connections, KeepAliveHandler, handler_for
from mmtui.sandbox.core.server import Sandbox
from tests.sandbox.test_git_repos import commit_change, git

TIMEOUT = 10.0


class _AnyHeaders(dict[str, str]):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict)


ANY_HEADERS = _AnyHeaders()
IDENTITY = b"Action=GetCallerIdentity&Version=2011-06-15"


@contextmanager
def connected(sandbox: Sandbox) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=TIMEOUT) as connection:
        yield connection


def signed(
    sandbox: Sandbox,
    method: str,
    path: str,
    body: bytes,
    service: str,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A request signed with the default account's keys, as bytes on the wire."""
    url = f"{sandbox.url}{path}"
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    request.headers["Host"] = f"127.0.0.1:{sandbox.port}"
    request.headers["Content-Length"] = str(len(body))
    SigV4Auth(Credentials(*sandbox.credentials()), service, "us-west-2").add_auth(request)
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in request.headers.items()
    )
    return (head + "\r\n").encode() + body


def identity_request(sandbox: Sandbox) -> bytes:
    return signed(
        sandbox,
        "POST",
        "/",
        IDENTITY,
        "sts",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )


class Reader:
    """Reads HTTP/1.1 answers off a socket, one at a time, by their Content-Length."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.pending = b""
        self.names: list[str] = []
        """The last answer's header names, in order, repeats included."""

    def _fill(self) -> None:
        data = self.connection.recv(65536)
        assert data, "the sandbox closed the connection"
        self.pending += data

    def head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.pending:
            self._fill()
        raw, self.pending = self.pending.split(b"\r\n\r\n", 1)
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        headers = {}
        self.names = []
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
            self.names.append(name.strip().lower())
        return int(status_line.split()[1]), headers

    def answer(self, *, head_request: bool = False) -> tuple[int, dict[str, str], bytes]:
        status, headers = self.head()
        assert head_request or "content-length" in headers, (status, headers, self.pending[:300])
        length = 0 if head_request else int(headers["content-length"])
        while len(self.pending) < length:
            self._fill()
        body, self.pending = self.pending[:length], self.pending[length:]
        return status, headers, body


def test_two_requests_are_answered_on_one_connection(sandbox: Sandbox) -> None:
    with connected(sandbox) as connection:
        reader = Reader(connection)
        connection.sendall(identity_request(sandbox))
        first, headers, body = reader.answer()
        assert first == 200 and sandbox.account_id.encode() in body
        assert headers.get("connection") != "close"
        # One Server and one Date, as werkzeug sent: the application's own when it has them.
        assert reader.names.count("server") == 1 and reader.names.count("date") == 1
        # The second request is not swallowed by the first's end: it is answered in turn.
        connection.sendall(identity_request(sandbox))
        second, _, body = reader.answer()
        assert second == 200 and sandbox.account_id.encode() in body


def test_a_body_the_sandbox_never_reads_does_not_spill_into_the_next_request(
    sandbox: Sandbox,
) -> None:
    refused = (
        b"PUT /bucket/key HTTP/1.1\r\nHost: elsewhere.example\r\nContent-Length: 70000\r\n\r\n"
        + b"x" * 70000
    )
    with connected(sandbox) as connection:
        reader = Reader(connection)
        connection.sendall(refused + identity_request(sandbox))  # both at once, pipelined
        status, _, body = reader.answer()
        assert status == 403 and b"only answers requests addressed to" in body
        status, _, body = reader.answer()
        assert status == 200 and sandbox.account_id.encode() in body


def test_a_client_that_asks_to_close_gets_its_answer_then_the_end(sandbox: Sandbox) -> None:
    refused = (
        b"PUT /bucket/key HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n"
        b"Content-Length: 70000\r\n\r\n" + b"x" * 70000
    )
    with connected(sandbox) as connection:
        reader = Reader(connection)
        connection.sendall(refused)
        status, headers, body = reader.answer()
        assert status == 403 and b"only answers requests addressed to" in body
        assert headers["connection"] == "close"
        assert reader.pending == b"" and connection.recv(1) == b""


def test_a_head_answer_has_no_body_and_the_connection_goes_on(sandbox: Sandbox) -> None:
    sandbox.client("s3").create_bucket(
        Bucket="keepalive-head", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    with connected(sandbox) as connection:
        reader = Reader(connection)
        connection.sendall(signed(sandbox, "HEAD", "/keepalive-head", b"", "s3"))
        status, _ = reader.head()
        assert status == 200
        connection.sendall(identity_request(sandbox))
        status, _, body = reader.answer()
        assert status == 200 and sandbox.account_id.encode() in body


def test_an_upload_expecting_100_continue_lands_and_the_connection_goes_on(
    sandbox: Sandbox,
) -> None:
    s3 = sandbox.client("s3")
    s3.create_bucket(
        Bucket="keepalive-upload", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    payload = b"artifact " * 20000
    request = signed(
        sandbox,
        "PUT",
        "/keepalive-upload/artifact.zip",
        payload,
        "s3",
        {"Expect": "100-continue", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    head, _, body = request.partition(b"\r\n\r\n")
    with connected(sandbox) as connection:
        reader = Reader(connection)
        connection.sendall(head + b"\r\n\r\n")
        interim, _ = reader.head()
        assert interim == 100  # asked to go on before a byte of the body was sent
        connection.sendall(body)
        status, headers, _ = reader.answer()
        assert status == 200 and headers.get("etag"), headers
        connection.sendall(identity_request(sandbox))
        status, _, _ = reader.answer()
        assert status == 200
    stored = s3.get_object(Bucket="keepalive-upload", Key="artifact.zip")["Body"].read()
    assert stored == payload


def test_a_push_and_a_clone_over_kept_alive_connections(sandbox: Sandbox, tmp_path: Path) -> None:
    url = sandbox.client("codecommit").create_repository(repositoryName="kept")[
        "repositoryMetadata"
    ]["cloneUrlHttp"]
    first = tmp_path / "first"
    git("clone", "--quiet", url, str(first), aws=sandbox)
    sha = commit_change(first, "README", "kept alive\n", "first")
    # git (curl) reuses its connection between the push's discovery and its pack.
    git("push", "--quiet", "origin", "HEAD:master", cwd=first, aws=sandbox)
    assert git_store.head(sandbox, "kept", "master") == sha
    second = tmp_path / "second"
    git("clone", "--quiet", url, str(second), aws=sandbox)
    assert git("rev-parse", "HEAD", cwd=second).stdout.strip() == sha
    assert (second / "README").read_text() == "kept alive\n"


def test_stop_closes_idle_connections_and_leaves_no_thread() -> None:
    # A server of its own with a trivial application: the session's sandbox must not stop.
    from werkzeug.serving import make_server

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    connections = Connections()
    server = make_server(
        "127.0.0.1",
        0,
        app,
        threaded=True,
        request_handler=handler_for(KeepAliveHandler, connections),
    )
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    before = _connection_threads()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert Reader(connection).answer() == (200, ANY_HEADERS, b"ok")
        handlers = _connection_threads() - before
        assert len(handlers) == 1  # the connection's thread, waiting for a next request
        server.shutdown()
        connections.close_idle()
        assert connection.recv(1) == b""  # closed by the server, not by a timeout
        (handler,) = handlers
        handler.join(TIMEOUT)
        assert not handler.is_alive()
    server.server_close()
    serving.join(TIMEOUT)
    assert not serving.is_alive()


def _connection_threads() -> set[threading.Thread]:
    """The threads socketserver starts for connections (the session sandbox's too)."""
    return {t for t in threading.enumerate() if "process_request_thread" in t.name}
