"""A client connection through an accelerator, request by request, against a stand-in site
that closes its kept-alive connection while idle (no sandbox: sockets on loopback)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator

import pytest

from mmtui.sandbox.behaviours.global_accelerator.forwarding import forward


class EchoSite:
    """Answers each request with its body, keeps-alive by HTTP/1.1's default, but closes each
    connection after one answer without saying so (as a server whose idle timeout expired)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.bodies: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.listener.getsockname()[:2]
        return str(host), int(port)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with connection, connection.makefile("rb") as reader:
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = reader.read(length)
                self.bodies.append(body)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )


@pytest.fixture
def through_accelerator() -> Iterator[tuple[EchoSite, tuple[str, int]]]:
    """A stand-in site, and a loopback port whose connections are forwarded to it."""
    site = EchoSite()
    front = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                client, peer = front.accept()
            except OSError:
                return
            threading.Thread(
                target=forward, args=(client, peer, site.address, 10.0), daemon=True
            ).start()

    threading.Thread(target=accept, daemon=True).start()
    yield site, front.getsockname()[:2]
    front.close()
    site.listener.close()


def test_a_kept_alive_client_outlives_the_sites_connections(
    through_accelerator: tuple[EchoSite, tuple[str, int]],
) -> None:
    site, (host, port) = through_accelerator
    client = http.client.HTTPConnection(host, port, timeout=10)
    for body in (b"first", b"second", b"third"):
        client.request("POST", "/mysfits/x/like", body=body)
        response = client.getresponse()
        assert (response.status, response.read()) == (200, body)
        assert client.sock is not None  # the client's connection is still open
    client.close()
    # Each request after the first met a closed site connection and went again, once.
    assert site.bodies == [b"first", b"second", b"third"]
    assert site.connections == 3


def test_a_chunked_body_reaches_the_site_whole(
    through_accelerator: tuple[EchoSite, tuple[str, int]],
) -> None:
    site, (host, port) = through_accelerator
    client = http.client.HTTPConnection(host, port, timeout=10)
    client.request("POST", "/", body=iter([b"ab", b"cde"]), encode_chunked=True)
    response = client.getresponse()
    assert (response.status, response.read()) == (200, b"abcde")
    client.close()
