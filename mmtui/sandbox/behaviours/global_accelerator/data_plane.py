"""The accelerators' loopback addresses: connections placed on an endpoint, as Global
Accelerator places them.

Global Accelerator routes connections (layer 4), not requests: each connection accepted on an
accelerator's port is given to one endpoint (routing.py) for its whole life, and its requests
are served by that endpoint's site (forwarding.py). A connection that finds nowhere to go is
reset, as Global Accelerator's is.

One thread accepts on every accelerator's socket; each accepted connection is served by a
thread of its own that ends with it (as a threaded HTTP server serves a connection).
"""

from __future__ import annotations

import contextlib
import random
import selectors
import socket
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mmtui.sandbox.behaviours.global_accelerator.forwarding import forward, reset
from mmtui.sandbox.behaviours.global_accelerator.routing import Health, Route, choose
from mmtui.sandbox.core.loopback import bind_loopback

ACCEPT_POLL = 0.5
"""How often the accept loop notices that it should stop (seconds)."""
IDLE_TIMEOUT = 340.0
"""Global Accelerator closes a TCP connection idle this long (seconds), whatever the scale."""


@dataclass(frozen=True)
class Served:
    accelerator_arn: str
    region: str
    endpoint_id: str


class ServedCounts:
    """How many connections each endpoint was given, per accelerator (tests read it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Served] = Counter()

    def add(self, served: Served) -> None:
        with self._lock:
            self._counts[served] += 1

    def by_region(self, accelerator_arn: str | None = None) -> dict[str, int]:
        with self._lock:
            counts: Counter[str] = Counter()
            for served, count in self._counts.items():
                if accelerator_arn in (None, served.accelerator_arn):
                    counts[served.region] += count
            return dict(counts)

    def by_endpoint(self, accelerator_arn: str | None = None) -> dict[str, int]:
        with self._lock:
            counts: Counter[str] = Counter()
            for served, count in self._counts.items():
                if accelerator_arn in (None, served.accelerator_arn):
                    counts[served.endpoint_id] += count
            return dict(counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class DataPlane:
    def __init__(
        self,
        route_for: Callable[[str], Route | None],
        address_of: Callable[[str], tuple[str, int] | None],
        healthy: Health,
        nearest_first: Callable[[], Sequence[str]],
    ) -> None:
        self.route_for = route_for
        """Accelerator ARN → the configuration it serves now (None: it serves nothing)."""
        self.address_of = address_of
        """Endpoint (load balancer) ARN → the loopback address of its site, if it has one."""
        self.healthy = healthy
        self.nearest_first = nearest_first
        self.served = ServedCounts()
        self._lock = threading.Lock()
        self._sockets: dict[str, socket.socket] = {}
        self._selector = selectors.DefaultSelector()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()  # noqa: S311  (traffic shares, not cryptography)

    # ------------------------------------------------------------------ sockets

    def serving(self) -> dict[str, int]:
        """Accelerator ARN → the port it is served on."""
        with self._lock:
            return {arn: sock.getsockname()[1] for arn, sock in self._sockets.items()}

    def open(self, arn: str, port: int) -> int:
        """Serve accelerator `arn`, on `port` if it is free (else any free port)."""
        with self._lock:
            if arn in self._sockets:
                return int(self._sockets[arn].getsockname()[1])
            listener = bind_loopback(port, backlog=128)
            listener.setblocking(False)
            self._sockets[arn] = listener
            self._selector.register(listener, selectors.EVENT_READ, arn)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._accept_loop, name="mmtui-global-accelerator", daemon=True
                )
                self._thread.start()
            return int(listener.getsockname()[1])

    def close(self, arn: str) -> None:
        """Stop serving `arn`: its port refuses connections from now on."""
        with self._lock:
            listener = self._sockets.pop(arn, None)
            if listener is None:
                return
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(listener)
            listener.close()

    def stop(self) -> None:
        self._stopping.set()
        for arn in list(self.serving()):
            self.close(arn)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        self._stopping.clear()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                events = self._selector.select(timeout=ACCEPT_POLL)
            except (OSError, ValueError):
                continue  # a socket closed while selecting: select again
            for key, _ in events:
                arn = str(key.data)
                try:
                    connection, peer = key.fileobj.accept()  # type: ignore[union-attr]
                except (BlockingIOError, OSError):
                    continue
                connection.setblocking(True)
                threading.Thread(
                    target=self._serve_connection,
                    args=(arn, connection, (str(peer[0]), int(peer[1]))),
                    name="mmtui-global-accelerator-connection",
                    daemon=True,
                ).start()

    # ------------------------------------------------------------------ connections

    def _serve_connection(self, arn: str, client: socket.socket, peer: tuple[str, int]) -> None:
        try:
            address = self._place(arn, peer[0])
            if address is None:
                reset(client)
                return
            forward(client, peer, address, IDLE_TIMEOUT)
        except OSError:
            reset(client)
        finally:
            client.close()

    def _place(self, arn: str, client_ip: str) -> tuple[str, int] | None:
        """The address of the site a new connection goes to (None: the connection fails)."""
        route = self.route_for(arn)
        if route is None or not route.serves:
            return None
        rng = self._rng
        if route.affinity == "SOURCE_IP":
            # The same client reaches the same endpoint while the configuration stands.
            rng = random.Random(zlib.crc32(f"{arn}|{client_ip}".encode()))  # noqa: S311
        chosen = choose(route, self.healthy, rng, self.nearest_first())
        if chosen is None:
            return None
        group, endpoint = chosen
        address = self.address_of(endpoint.endpoint_id)
        if address is None:
            return None  # the load balancer is gone: nothing answers there
        self.served.add(Served(arn, group.region, endpoint.endpoint_id))
        return address
