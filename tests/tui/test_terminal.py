"""`mmtui` with nothing else, in a real terminal (a pseudo-terminal), as a new user starts it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from mmtui.target.detached import ready_env, stop
from tests.conftest import caller_account

ALT_SCREEN_OFF = b"\x1b[?1049l"
CURSOR_ON = b"\x1b[?25h"


def read_until(fd: int, wanted: list[bytes], seen: bytearray, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if all(w in seen for w in wanted):
            return True
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return all(w in seen for w in wanted)
            if not chunk:
                return all(w in seen for w in wanted)
            seen += chunk
    return False


def test_mmtui_alone_opens_home_on_the_sandbox_and_quits_cleanly(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("pseudo-terminal test written for Linux")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "TERM": "xterm-256color",
        "MMTUI_STATE_DIR": str(tmp_path / "state"),
        "COLUMNS": "80",
        "LINES": "24",
    }
    folder = tmp_path / "state" / "sandbox"
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new user's shell running `mmtui`
        os.execve(sys.executable, [sys.executable, "-m", "mmtui"], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = bytearray()
    try:
        _quit_and_check(pid, fd, seen, folder)
    finally:
        stop(folder)  # the sandbox the guide left running: never left behind by the test


def _quit_and_check(pid: int, fd: int, seen: bytearray, folder: Path) -> None:
    try:
        home = [b"Workshop", b"initialization", b"verified", b"open", b"check"]
        assert read_until(fd, home, seen, time.monotonic() + 90), seen[-2000:]
        os.write(fd, b"q")
        read_until(fd, [ALT_SCREEN_OFF, CURSOR_ON], seen, time.monotonic() + 30)
        _, status = os.waitpid(pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    tail = bytes(seen[-400:])
    # The terminal is given back: alternate screen left and the cursor shown again.
    assert ALT_SCREEN_OFF in tail and CURSOR_ON in tail, tail
    assert b"Traceback" not in seen
    # The sandbox it started lives where a new user's state lives, and outlives the guide: a
    # second terminal that sourced its sandbox.env keeps working (newcomer walkthrough).
    env = ready_env(folder)
    assert env is not None, (folder / "sandbox.log").read_text()
    assert caller_account(env) == "123456789012"
