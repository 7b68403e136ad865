"""The guide's sandbox as a process of its own: it outlives the guide that started it.

An attendee's second terminal uses the sandbox through sandbox.env; if the sandbox lived inside
the guide, quitting the guide would take that terminal's AWS with it. So the guide runs
`mmtui sandbox --dir DIR` detached (its own session, output to DIR/sandbox.log) and talks to it
as to any running sandbox; the next guide, `mmtui check` or a second guide on the same folder
finds it through the folder's lock and sandbox.env. `mmtui sandbox stop` ends it.

A folder's state: its lock free (no sandbox), held with no sandbox.env yet (one is starting:
the server removes the previous run's file when it takes the lock), or held with sandbox.env
(ready). The lock file names the holder's process id.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mmtui.exitcodes import ExitCode, MmtuiError

LOG_FILE = "sandbox.log"
START_SECONDS = 300.0
"""A fresh folder is seeded first (Labs 0-2: several seconds, more on a busy machine)."""
STOP_SECONDS = 60.0
_POLL = 0.05


def _files() -> tuple[str, str]:
    from mmtui.sandbox.core.server import ENV_FILE, LOCK_FILE

    return ENV_FILE, LOCK_FILE


def holder(state_dir: Path) -> int | None:
    """The process id of the sandbox that holds `state_dir` (0 when it holds the lock but the
    file names no process: an older mmtui), or None when no sandbox runs there."""
    _, lock_file = _files()
    lock_path = state_dir / lock_file
    if not lock_path.exists():
        return None
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            text = handle.read().strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def ready_env(state_dir: Path) -> dict[str, str] | None:
    """The env of the sandbox running on `state_dir` once it is ready, else None."""
    from mmtui.target.connect import read_env_file

    env_file, _ = _files()
    if holder(state_dir) is None:
        return None
    try:
        env = read_env_file(state_dir / env_file)
    except OSError:
        return None  # starting: its sandbox.env is written when it answers
    return env if env.get("AWS_ENDPOINT_URL") else None


def running_env(state_dir: Path, wait: float = START_SECONDS) -> dict[str, str] | None:
    """The env of the sandbox on `state_dir`, waiting up to `wait` seconds for one that is
    starting; None when none runs there."""
    deadline = time.monotonic() + wait
    while True:
        env = ready_env(state_dir)
        if env is not None or holder(state_dir) is None:
            return env
        if time.monotonic() > deadline:
            raise MmtuiError(
                f"the sandbox on {state_dir} has not become ready in {wait:.0f} s; see "
                f"{state_dir / LOG_FILE}, or stop it: mmtui sandbox stop --dir {state_dir}",
                ExitCode.AWS_ERROR,
            )
        time.sleep(_POLL)


_begun: dict[Path, tuple[subprocess.Popen[bytes], Path, int]] = {}
"""The sandboxes this process started (`begin`), not yet waited for by `start_detached`: the
process, its log and where this run's lines start in it."""


def begin(state_dir: Path, primary_region: str, secondary_region: str) -> None:
    """Start a detached `mmtui sandbox` on `state_dir` now if none runs there, without waiting
    for it: the guide calls this first thing, so that the sandbox imports and seeds while the
    guide itself starts (on the other core); `start_detached` then waits for this one."""
    if state_dir in _begun or holder(state_dir) is not None:
        return
    _begun[state_dir] = _spawn(state_dir, primary_region, secondary_region)


def start_detached(
    state_dir: Path,
    primary_region: str,
    secondary_region: str,
    wait: float = START_SECONDS,
) -> dict[str, str]:
    """The env of the sandbox on `state_dir`: the one running there, or a new detached
    `mmtui sandbox` started there (it keeps running after this process ends)."""
    begun = _begun.pop(state_dir, None)
    if begun is None:
        env = running_env(state_dir, wait)
        if env is not None:
            return env
        begun = _spawn(state_dir, primary_region, secondary_region)
    process, log_path, start = begun
    deadline = time.monotonic() + wait
    while True:
        env = ready_env(state_dir)
        if env is not None:
            return env
        if process.poll() is not None and holder(state_dir) is None:
            # It ended, and no other sandbox (a second guide's, started at the same moment)
            # holds the folder: it could not start. Say what it said.
            said = _tail(log_path, start)
            raise MmtuiError(
                f"the sandbox could not start on {state_dir}" + (f": {said}" if said else ""),
                ExitCode.USAGE,
            )
        if time.monotonic() > deadline:
            raise MmtuiError(
                f"the sandbox on {state_dir} has not become ready in {wait:.0f} s; see {log_path}",
                ExitCode.AWS_ERROR,
            )
        time.sleep(_POLL)


def _spawn(
    state_dir: Path, primary_region: str, secondary_region: str
) -> tuple[subprocess.Popen[bytes], Path, int]:
    """A detached `mmtui sandbox` on `state_dir`: (the process, its log, where its lines
    start)."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = state_dir / LOG_FILE
    with open(log_path, "ab") as log:
        os.chmod(log_path, 0o600)
        start = log.tell()
        command = [sys.executable, "-m", "mmtui", "sandbox", "--dir", str(state_dir)]
        command += ["--primary-region", primary_region, "--secondary-region", secondary_region]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not the guide's terminal's: its Ctrl-C and hang-up
            close_fds=True,
        )
    return process, log_path, start


def stop(state_dir: Path, wait: float = STOP_SECONDS) -> int | None:
    """Stop the sandbox running on `state_dir` (it saves its state first) and return its
    process id once it has let the folder go; None when none was running there."""
    pid = holder(state_dir)
    if pid is None:
        return None
    if pid <= 0:
        raise MmtuiError(
            f"a sandbox holds {state_dir} but does not say which process it is (an older "
            "mmtui): stop it where it runs (Ctrl-C in its terminal)",
            ExitCode.USAGE,
        )
    with contextlib.suppress(ProcessLookupError):  # gone between the look and the signal
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while holder(state_dir) is not None:
        if time.monotonic() > deadline:
            raise MmtuiError(
                f"the sandbox on {state_dir} (process {pid}) has not stopped in {wait:.0f} s",
                ExitCode.AWS_ERROR,
            )
        time.sleep(_POLL)
    return pid


def _tail(path: Path, start: int) -> str:
    """The last lines a sandbox wrote to its log since `start`, as one line."""
    try:
        with open(path, "rb") as log:
            log.seek(start)
            text = log.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[-3:])
