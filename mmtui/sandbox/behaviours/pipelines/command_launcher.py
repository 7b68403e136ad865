"""Starts the builds' `aws` and `docker` fork server (command_server.py) once per process, and
stops it at exit.

One server serves every sandbox build in the process (a process holds one sandbox). It is
started ahead of the first build (`prestart`, when the pipelines come up) so that its imports
overlap the sandbox's own start; a build that comes before it is listening falls back to a
plain `aws` or `docker` (command_client.py), so nothing ever waits for it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).parent
SERVER = HERE / "command_server.py"
CLIENT = HERE / "command_client.py"

_lock = threading.Lock()
_process: subprocess.Popen[bytes] | None = None
_socket: Path | None = None
_folders: list[Path] = []
"""The socket folders made so far (a server that died is replaced): removed at exit."""


def prestart() -> Path:
    """The server's socket path, starting the server if it is not running."""
    global _process, _socket
    with _lock:
        if _process is not None and _process.poll() is None and _socket is not None:
            return _socket
        # A short path: Unix socket paths are limited to about 100 bytes, state folders are not.
        folder = Path(tempfile.mkdtemp(prefix="mmtui-builds-"))
        _socket = folder / "s"
        _process = subprocess.Popen(
            [sys.executable, "-I", str(SERVER), str(_socket)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a build stopped with its process group never stops it
            # The builds' locale (build.py): the forks' standard streams encode as theirs would.
            env={
                **{k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_CTYPE")},
                "LANG": "C.UTF-8",
            },
        )
        if not _folders:
            atexit.register(stop)
        _folders.append(folder)
        return _socket


def command(python: str, program: str = "aws") -> str:
    """The shell words that run one `aws` (or `docker`) command line ("$@") through the
    server."""
    path = prestart()
    return f"{python} -I -S {shlex.quote(str(CLIENT))} {shlex.quote(str(path))} {program} --"


def stop() -> None:
    global _process
    with _lock:
        if _process is not None:
            with contextlib.suppress(OSError):
                _process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                _process.wait(timeout=5)
            _process = None
        for folder in _folders:
            shutil.rmtree(folder, ignore_errors=True)
        _folders.clear()
