"""Likes at a steady rate, each connection labelled with the region that serves it.

A like's answer (`{"Update": "Success"}`) does not say which region served it, and neither Global
Accelerator nor the load balancer adds a header that would. But Global Accelerator places each
TCP *connection* on one endpoint, for as long as the connection lives. So each worker opens a
connection, asks for the home page on it first (the Core service prints "Current region: ..."),
and then sends a few likes on the same kept-alive connection: those were served by that region.
A connection is used for a handful of likes only, so that a change of traffic dials shows within
a second or two, as it would for many users.

The rate is kept by a clock, not by the answers: a slow or failing region does not slow the
sending, which is what an outage looks like to the users who keep clicking.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from mmtui.load.answers import Answer

GRETTA = "da5303ae-5aba-495c-b5d6-eb5c4a66b941"
"""The mysfit the workshop's `ab` command likes (Gretta the Gorgon)."""
_REGION = re.compile(rb"Current region:\s*([a-z0-9-]+)")
LIKES_PER_CONNECTION = 5
TIMEOUT = 5.0
"""Seconds before a like with no answer counts as failed (users give up about as fast)."""


def address_of(host: str, resolve: Mapping[str, str]) -> tuple[str, int]:
    """Where to connect for `host`: the connection's address map (a sandbox's loopback port for
    a name that is not in public DNS), else the host itself on port 80."""
    url = resolve.get(host)
    if url:
        parts = urlsplit(url)
        return parts.hostname or host, parts.port or 80
    return host, 80


class LoadGenerator:
    """Sends likes to `host` at `rate` per second until stopped; `answers` grows as they come."""

    def __init__(
        self,
        host: str,
        resolve: Mapping[str, str],
        rate: float,
        mysfit: str = GRETTA,
        *,
        workers: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("the rate must be above 0 likes per second")
        self.host = host
        self.address = address_of(host, resolve)
        self.rate = rate
        self.path = f"/mysfits/{mysfit}/like"
        self.clock = clock
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticks: list[float] = []
        self._tick_ready = threading.Condition()
        # Enough workers that a like waiting out its timeout never holds back the rate.
        self._workers = workers or max(4, min(64, int(rate * TIMEOUT / 2) + 2))
        self._threads: list[threading.Thread] = []
        self.started = 0.0
        self.stopped_at: float | None = None
        """Seconds since the start when the sending stopped (None while it runs)."""

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        self.started = self.clock()
        self._threads = [
            threading.Thread(target=self._pace, name="mmtui-load-pace", daemon=True),
            *(
                threading.Thread(target=self._work, name=f"mmtui-load-{n}", daemon=True)
                for n in range(self._workers)
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, wait: float = TIMEOUT + 1) -> None:
        if not self._stop.is_set():
            self.stopped_at = self.elapsed()
        self._stop.set()
        with self._tick_ready:
            self._tick_ready.notify_all()
        deadline = time.monotonic() + wait
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def run_for(self, seconds: float) -> list[Answer]:
        """Send for `seconds`, then stop; the answers, in the order they were sent."""
        self.start()
        try:
            self._stop.wait(seconds)
        finally:
            self.stop()
        return self.snapshot()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return sorted(self.answers, key=lambda a: a.at)

    # ------------------------------------------------------------------ threads

    def _pace(self) -> None:
        """Put one tick per like on the queue, at the rate, by the clock: the k-th like is due
        k / rate seconds after the start (computed, not summed, so no error accumulates), and
        a late thread catches up at once, never skipping a like."""
        interval = 1.0 / self.rate
        count = 0
        while not self._stop.is_set():
            with self._tick_ready:
                self._ticks.append(count * interval)
                self._tick_ready.notify()
            count += 1
            pause = self.started + count * interval - self.clock()
            if pause > 0:
                self._stop.wait(pause)

    def _next_tick(self) -> float | None:
        with self._tick_ready:
            while not self._ticks and not self._stop.is_set():
                self._tick_ready.wait(0.5)
            return self._ticks.pop(0) if self._ticks else None

    def _work(self) -> None:
        connection: http.client.HTTPConnection | None = None
        region: str | None = None
        used = 0
        while True:
            tick = self._next_tick()
            if tick is None:
                break
            began = self.clock()
            try:
                if connection is None or used >= LIKES_PER_CONNECTION:
                    if connection is not None:
                        connection.close()
                    connection, region, used = self._connect(), None, 0
                    region = self._region_of(connection)
                connection.request("POST", self.path, body=b"", headers={"Host": self.host})
                response = connection.getresponse()
                response.read()
                used += 1
                # After a server error the next like opens a new connection, as `ab` (a new
                # connection per request) and a user reloading would: the accelerator places
                # it on a healthy endpoint, where a kept-alive one would stay on a failed one.
                if (
                    response.getheader("Connection", "").lower() == "close"
                    or response.status >= 500
                ):
                    connection.close()
                    connection = None
                answer = Answer(tick, response.status, self.clock() - began, region)
            except (OSError, http.client.HTTPException) as exc:
                if connection is not None:
                    connection.close()
                connection = None
                reason = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
                answer = Answer(tick, None, self.clock() - began, None, reason)
            with self._lock:
                self.answers.append(answer)
        if connection is not None:
            connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self.address
        return http.client.HTTPConnection(host, port, timeout=TIMEOUT)

    def _region_of(self, connection: http.client.HTTPConnection) -> str | None:
        """Ask for the home page on this connection: it names the region serving it."""
        connection.request("GET", "/", headers={"Host": self.host})
        response = connection.getresponse()
        body = response.read(400_000)
        found = _REGION.search(body)
        return found.group(1).decode() if found else None
