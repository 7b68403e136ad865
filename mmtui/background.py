"""Threads that never hold up quitting.

A call to an AWS endpoint that accepts connections and never answers blocks its thread until
the client's timeouts and retries give up, minutes later, and Python cannot interrupt a thread.
`concurrent.futures.ThreadPoolExecutor` joins its threads when the interpreter exits, and
asyncio waits for its default executor's threads when its loop closes, so a guide or a
`mmtui check` whose work is stuck on such a call could not quit until the call gave up. The
work mmtui does in the background only reads AWS or waits on it (a solve's AWS changes are
each one call, made or not), so leaving a stuck thread behind at exit loses nothing: this pool
runs its work on daemon threads and never waits for them when it is shut down.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_STOP = object()


class DaemonPool(ThreadPoolExecutor):
    """At most `workers` daemon threads, started as work arrives; `shutdown` never waits.

    A ThreadPoolExecutor by type only (asyncio accepts no other as a loop's default executor):
    it runs nothing on the base class's threads."""

    _numbers = itertools.count(1)

    def __init__(self, workers: int, name: str = "mmtui-background") -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        super().__init__(max_workers=workers, thread_name_prefix=name)
        self._workers = workers
        self._name = name
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._daemons: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit work to a pool that was shut down")
            self._queue.put((future, fn, args, kwargs))
            if self._idle == 0 and len(self._daemons) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{next(self._numbers)}", daemon=True
                )
                self._daemons.append(thread)
                thread.start()
            else:
                self._idle -= 1 if self._idle else 0
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to whoever waits on the future
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work. Never waits, whatever `wait` says (see the module's docstring):
        queued work is cancelled when `cancel_futures`, running work finishes on its own."""
        with self._lock:
            self._closed = True
            threads = list(self._daemons)
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not _STOP:
                    item[0].cancel()
        for _ in threads:
            self._queue.put(_STOP)

    def running(self) -> int:
        """Threads still alive (work in progress or waiting for work)."""
        return sum(thread.is_alive() for thread in self._daemons)
