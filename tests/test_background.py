"""The daemon pool: bounded, and it never makes anyone wait for a stuck thread."""

from __future__ import annotations

import threading

import pytest

from mmtui.background import DaemonPool


def test_runs_work_and_hands_back_results_and_errors() -> None:
    pool = DaemonPool(2)
    assert pool.submit(lambda x: x * 2, 21).result(timeout=5) == 42
    failing = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=5)
    pool.shutdown()


def test_at_most_its_workers_run_at_once_and_all_are_daemons() -> None:
    pool = DaemonPool(3)
    gate = threading.Event()
    lock = threading.Lock()
    running = 0
    most = 0
    daemons: list[bool] = []

    def job() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            daemons.append(threading.current_thread().daemon)
        gate.wait(5)
        with lock:
            running -= 1

    futures = [pool.submit(job) for _ in range(9)]
    # The first three hold their threads until the gate opens; the rest are queued.
    for _ in range(500):
        with lock:
            if running == 3:
                break
        threading.Event().wait(0.01)
    gate.set()
    for future in futures:
        future.result(timeout=5)
    assert most == 3
    assert all(daemons) and len(daemons) == 9
    pool.shutdown()


def test_shutdown_never_waits_and_cancels_queued_work() -> None:
    pool = DaemonPool(1)
    gate = threading.Event()
    stuck = pool.submit(gate.wait, 30)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=True, cancel_futures=True)  # returns although `stuck` still runs
    assert not stuck.done()
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)
    gate.set()
    assert stuck.result(timeout=5) is True
