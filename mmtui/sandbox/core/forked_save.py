"""Writing the state from a forked copy of the process, so that requests go on meanwhile.

Pickling every account's backends takes a second or more for a room of fifty accounts, and it
must see one consistent state: under the sandbox lock, that stalled every call for as long
(issue 15: the 99th percentile call waited 20 to 70 times the median). A fork is a consistent
copy made in milliseconds (the pages are shared until either side writes them): the parent forks
under the lock and lets go at once; the child pickles and writes the file, then exits, and the
parent waits for it with no lock held.

Only on Linux: elsewhere (macOS above all) forking a process that runs threads is not safe,
and the state is pickled in the process, under the lock, as before.

What the child must not do: take a lock that another thread of the parent might have held at
the fork (it would never be released in the child). It only pickles (moto's objects and the
extensions' state, which the parent gathered under the sandbox lock: no moto code runs
elsewhere) and writes one file. A file the parent has open shares its offset with the child:
moto keeps an S3 object larger than its buffer in an anonymous temporary file, which pickling
reads with seek and read, and the parent may read or rewrite it at the same time. While any
such file is open (`shared_files()`), the state is pickled in the process as before. The child
closes its copies of the parent's sockets (a listening port would otherwise outlive its
server for as long as the child runs).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mmtui.files import write_atomically

CHILD_TIMEOUT = 600.0
"""Seconds a child may take (a room's state pickles in two): beyond, it is taken as stuck."""


def available() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


@dataclass
class Writer:
    """A child writing the state; `wait()` for its outcome."""

    pid: int
    report: int
    """The read end of the pipe the child reports a failure on."""

    def wait(self) -> None:
        """Until the child is done; raises OSError when the file could not be written (as
        write_atomically would have), RuntimeError when the state could not be pickled."""
        chunks: list[bytes] = []
        deadline = time.monotonic() + CHILD_TIMEOUT
        try:
            while True:
                ready, _, _ = select.select(
                    [self.report], [], [], max(0.0, deadline - time.monotonic())
                )
                if not ready:
                    # Stuck (a lock another thread held at the fork, which nothing releases in
                    # the child): the next save tries again rather than saving never again.
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    raise OSError(
                        None, f"the process writing it did not finish in {CHILD_TIMEOUT} s"
                    )
                chunk = os.read(self.report, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self.report)
        _, status = os.waitpid(self.pid, 0)
        if chunks:
            failure = json.loads(b"".join(chunks))
            if failure.get("errno") is not None or failure.get("oserror"):
                raise OSError(failure.get("errno"), failure.get("strerror") or failure["text"])
            raise RuntimeError(f"the sandbox state could not be saved: {failure['text']}")
        if os.WIFSIGNALED(status):
            # Killed (the out-of-memory killer, a user): nothing written; the next save tries.
            raise OSError(
                None, f"the process writing it was killed by signal {os.WTERMSIG(status)}"
            )
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise OSError(None, f"the process writing it exited with {code}")


def start(path: Path, make: Callable[[], bytes], mode: int) -> Writer:
    """Fork a child that writes `make()` to `path` atomically (with `mode`). Call it with the
    state's lock held: the child sees the state as it is at this instant."""
    report_read, report_write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(report_read)
        os.close(report_write)
        raise
    if pid == 0:  # pragma: no cover  (the child: its coverage is never collected)
        _child(report_read, report_write, path, make, mode)
    os.close(report_write)
    return Writer(pid, report_read)


def _child(
    report_read: int, report_write: int, path: Path, make: Callable[[], bytes], mode: int
) -> None:
    code = 1
    try:
        os.close(report_read)
        # Ctrl-C in `mmtui sandbox` reaches the whole process group: the parent stops and saves
        # once this child is done; the child finishes its write rather than leaving it half way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A short life that only pickles and writes: the collector would find no garbage
        # worth freeing, and a full collection would walk (and so copy, page by page) the
        # whole state it shares with the parent.
        gc.disable()
        _close_sockets(keep=report_write)
        failure: dict[str, object] | None = None
        try:
            write_atomically(path, make(), mode)
        except OSError as exc:
            failure = {
                "oserror": True,
                "errno": exc.errno,
                "strerror": exc.strerror,
                "text": str(exc) or type(exc).__name__,
            }
        except BaseException as exc:  # noqa: BLE001  (told to the parent, which raises it)
            failure = {"text": f"{type(exc).__name__}: {exc}"}
        if failure is not None:
            os.write(report_write, json.dumps(failure).encode())
        else:
            code = 0
    finally:
        # Never back into the parent's code: no atexit handlers, no buffers flushed twice.
        os._exit(code)


def shared_files() -> bool:
    """Whether moto holds an S3 object in a temporary file (one larger than its in-memory
    buffer), whose offset a child would share with this process (sandbox lock held)."""
    models = sys.modules.get("moto.s3.models")
    if models is None:
        return False  # no S3 call yet
    for regions in list(models.s3_backends.values()):
        for backend in list(regions.values()):
            for bucket in list(backend.buckets.values()):
                keys = [key for _, versions in bucket.keys.iterlists() for key in versions]
                for upload in bucket.multiparts.values():
                    keys.extend(upload.parts.values())
                if any(_on_disk(key) for key in keys):
                    return True
    return False


def _on_disk(key: object) -> bool:
    buffer = getattr(key, "_value_buffer", None)
    return bool(getattr(buffer, "_rolled", False))


def _close_sockets(keep: int) -> None:
    """Close the child's copies of the parent's sockets."""
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            descriptor = int(name)
            if descriptor <= 2 or descriptor == keep:
                continue
            try:
                if stat.S_ISSOCK(os.fstat(descriptor).st_mode):
                    os.close(descriptor)
            except OSError:
                continue  # the listing's own descriptor, closed by now
