"""The sandbox lock (core/fair_lock.py): reentrant, handed to waiters in the order they came,
never taken by a newcomer while someone waits, and usable under a threading.Condition."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from mmtui.sandbox.core.fair_lock import FairRLock


def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def waiting(lock: FairRLock) -> int:
    return len(lock._waiters)


@contextmanager
def held_elsewhere(lock: FairRLock) -> Iterator[None]:
    """`lock` held by another thread until the block ends."""
    holding = threading.Event()
    leave = threading.Event()

    def holder() -> None:
        with lock:
            holding.set()
            leave.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(10)
    try:
        yield
    finally:
        leave.set()
        thread.join(10)


def test_waiters_get_the_lock_in_the_order_they_came() -> None:
    lock = FairRLock()
    order: list[str] = []
    lock.acquire()
    threads = []
    for name in "BCDE":

        def take(name: str = name) -> None:
            with lock:
                order.append(name)

        thread = threading.Thread(target=take)
        thread.start()
        threads.append(thread)
        until(lambda: waiting(lock) == len(threads))  # queued before the next one comes
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == ["B", "C", "D", "E"]


def test_a_newcomer_never_takes_the_lock_from_a_waiter() -> None:
    lock = FairRLock()
    lock.acquire()
    took = threading.Event()
    leave = threading.Event()

    def waiter() -> None:
        with lock:
            took.set()
            leave.wait(10)

    thread = threading.Thread(target=waiter)
    thread.start()
    until(lambda: waiting(lock) == 1)
    lock.release()
    # Whether or not the waiter has run yet, the lock is its own: a threading.RLock would be
    # free here for whoever asks first.
    assert lock.acquire(blocking=False) is False
    took.wait(10)
    leave.set()
    thread.join(10)
    assert lock.acquire(blocking=False) is True
    lock.release()


def test_it_is_reentrant_and_only_its_holder_releases_it() -> None:
    lock = FairRLock()
    with lock, lock:
        assert lock._is_owned()
        failure: list[BaseException] = []

        def other() -> None:
            try:
                lock.release()
            except RuntimeError as exc:
                failure.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert failure
    assert not lock._is_owned()
    with pytest.raises(RuntimeError):
        lock.release()


def test_a_wait_that_runs_out_gives_up_its_place() -> None:
    lock = FairRLock()
    with held_elsewhere(lock):
        assert lock.acquire(timeout=0.05) is False
        assert waiting(lock) == 0
    assert lock.acquire(blocking=False) is True  # free, not handed to a waiter long gone
    lock.release()


def test_a_condition_over_it_releases_every_level_while_it_waits() -> None:
    lock = FairRLock()
    condition = threading.Condition(lock)  # type: ignore[arg-type]
    ready: list[bool] = []

    def notifier() -> None:
        with condition:  # only possible if the waiter let go of both its levels
            ready.append(True)
            condition.notify_all()

    with lock:
        with condition:
            thread = threading.Thread(target=notifier)
            thread.start()
            assert condition.wait_for(lambda: bool(ready), timeout=10)
            assert lock._count == 2  # both levels back
        assert lock._is_owned()
    thread.join(10)
    assert not lock._is_owned()


def test_a_wait_interrupted_never_leaves_the_lock_to_a_waiter_gone() -> None:
    """Ctrl-C reaches the main thread while it waits: its place is given up, and the lock is
    free again once its holder lets go (a waiter that is gone would otherwise get it forever)."""

    class Interrupted:
        """A waiter's gate: taken at once, then its wait is interrupted."""

        taken = False

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            if self.taken:
                raise KeyboardInterrupt
            self.taken = True
            return True

        def release(self) -> None:
            raise AssertionError("handed over to a waiter that is gone")

    lock = FairRLock()
    with held_elsewhere(lock):
        lock._new_gate = Interrupted
        with pytest.raises(KeyboardInterrupt):
            lock.acquire()
        assert waiting(lock) == 0
    assert lock.acquire(blocking=False) is True
    lock.release()
