"""A fork server for the `aws` and `docker` commands inside sandbox builds.

Each `aws` a build runs used to start a Python and import awscli and botocore: about 0.4 s of
CPU per command, most of a build's time and, with the workshop's first pipeline runs, most of a
fresh sandbox's start; each `docker` (docker.py) started a Python too. This server imports them
once, and parses the botocore data files every `aws` command reads (model_preload.py); each
command is a fork of it, handed the command's program, arguments, environment, folder and
standard streams (its file descriptors, over a Unix socket), so it runs exactly as the script
would have (aws_cli.py decides what the image's CLI lacks; docker.py is the docker stand-in),
with the build's own pipes as its output and its exit status sent back.

The build's `aws` and `docker` are command_client.py, which falls back to running the script
itself when the server cannot be reached; so a server that died costs time, never a build.

It runs as a script (`python -I command_server.py SOCKET`) and imports nothing of mmtui: a
forked copy of the sandbox itself would inherit its threads' locks.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

LENGTH_BYTES = 4
"""Every request is a 4-byte big-endian length, then that many bytes (command_client.py)."""
ACCEPTED = b"+"
"""Sent to a client once its connection is accepted, before its command runs."""
STREAMS = 3
"""The client hands over its stdin, stdout and stderr with the request."""
PARENT_POLL_SECONDS = 1.0
"""How often the server looks whether the sandbox that started it is still there."""
PROGRAMS = ("aws", "docker")
_MAINS: dict[str, Callable[[list[str]], int]] = {}
"""Each program's `main(argv)`, imported by serve() before any fork."""
_prepare_aws: Callable[[], None] = lambda: None  # noqa: E731
"""What an `aws` fork does first: take the files the server preloaded (model_preload.py)."""


class Request:
    """What one command is: its program, folder, arguments and environment."""

    def __init__(self, payload: bytes) -> None:
        # program NUL cwd NUL argc NUL argv... NUL env "KEY=VALUE"... (all raw OS bytes)
        fields = payload.split(b"\0")
        if len(fields) < 3 or not fields[2].isdigit():
            raise ValueError("a malformed request")
        self.program = os.fsdecode(fields[0])
        if self.program not in PROGRAMS:
            raise ValueError(f"no such program: {self.program}")
        self.cwd = fields[1]
        argc = int(fields[2])
        self.argv = [os.fsdecode(a) for a in fields[3 : 3 + argc]]
        self.env: dict[bytes, bytes] = {}
        for entry in fields[3 + argc :]:
            key, sep, value = entry.partition(b"=")
            if sep:
                self.env[key] = value


def receive_request(conn: socket.socket) -> tuple[Request, list[int]]:
    """The request and the file descriptors that came with its first bytes."""
    data, fds, _flags, _address = socket.recv_fds(conn, 65536, STREAMS)
    while len(data) < LENGTH_BYTES or len(data) < LENGTH_BYTES + _length(data):
        more = conn.recv(65536)
        if not more:
            raise ConnectionError("the client went away mid-request")
        data += more
    return Request(data[LENGTH_BYTES : LENGTH_BYTES + _length(data)]), fds


def _length(data: bytes) -> int:
    return int.from_bytes(data[:LENGTH_BYTES], "big")


def run_command(conn: socket.socket) -> None:
    """In the fork: become the command, run it, answer its status. Never returns."""
    status = 1
    try:
        request, fds = receive_request(conn)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request.cwd)
        os.environb.clear()
        os.environb.update(request.env)
        sys.argv = [request.program, *request.argv]
        # The client gone (its build stopped or timed out) ends the command too.
        threading.Thread(target=_exit_when_closed, args=(conn,), daemon=True).start()
        status = _run(request.program, request.argv)
    except BaseException:  # noqa: BLE001  (said on the command's stderr, as Python would)
        # Only a failure before the command ran comes here (_run catches the command's own).
        sys.excepthook(*sys.exc_info())
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        with contextlib.suppress(OSError):
            conn.sendall((status & 0xFF).to_bytes(LENGTH_BYTES, "big"))
        os._exit(0)


def _run(program: str, argv: list[str]) -> int:
    """The program's exit status, as `sys.exit(main(argv))` in its script would end it."""
    if program == "aws":
        _add_awscli_data_path()
        _prepare_aws()
    try:
        return int(_MAINS[program](argv) or 0)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return int(stop.code or 0)
        sys.stderr.write(f"{stop.code}\n")
        return 1
    except BaseException:  # noqa: BLE001  (the traceback and status a script would end with)
        sys.excepthook(*sys.exc_info())
        return 1


def _add_awscli_data_path() -> None:
    """What importing awscli does to the environment (its __init__ appends its own data folder
    to AWS_DATA_PATH), done again for the command's environment: the import happened before."""
    import awscli  # type: ignore[import-untyped]

    paths = [
        os.path.expanduser(os.path.expandvars(path))
        for path in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep)
        if path
    ]
    paths.append(os.path.join(os.path.dirname(os.path.abspath(awscli.__file__)), "data"))
    os.environ["AWS_DATA_PATH"] = os.pathsep.join(paths)


def _exit_when_closed(conn: socket.socket) -> None:
    try:
        while conn.recv(1):
            pass
    except OSError:
        pass
    os._exit(143)


def serve(path: str) -> None:
    global _prepare_aws
    # Listening before the imports: a client that comes meanwhile waits in the backlog for
    # them to finish (a third of a second) instead of importing awscli all over again in a
    # process of its own. It is told ACCEPTED when its command is taken, so that a server that
    # dies before (its queued connections closed unanswered) still costs only time.
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    here = str(Path(__file__).parent)
    # Beside this script: the programs' scripts and the preloading.
    sys.path.insert(0, here)
    import aws_cli  # type: ignore[import-not-found]
    import docker  # type: ignore[import-untyped]  # (moto's docker package, as mypy sees it)
    import model_preload  # type: ignore[import-not-found]

    # A `docker` package installed among the site packages must not hide the stand-in.
    if os.path.dirname(os.path.abspath(docker.__file__)) != here:
        raise RuntimeError("the docker stand-in was not found beside the server")
    _MAINS.update(aws=aws_cli.main, docker=docker.main)
    # What every `aws` command needs, imported and parsed once before any fork.
    import awscli.clidriver  # type: ignore[import-untyped]  # noqa: F401
    import awscli.handlers  # type: ignore[import-untyped]  # noqa: F401

    model_preload.preload()
    _prepare_aws = model_preload.install
    # Out of the collector's sight: a fork's collections would otherwise walk (and so copy)
    # the pages of everything imported and parsed here.
    gc.freeze()

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the forks are reaped by the kernel
    listener.settimeout(PARENT_POLL_SECONDS)
    print("ready", flush=True)
    while os.getppid() == parent:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            break
        conn.settimeout(None)
        try:
            conn.sendall(ACCEPTED)
        except OSError:
            conn.close()  # the client is gone already
            continue
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # a command may wait on its children
            run_command(conn)
        conn.close()
    listener.close()


if __name__ == "__main__":
    serve(sys.argv[1])
