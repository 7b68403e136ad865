"""A fork server for the `aws` command inside sandbox builds.

Each `aws` a build runs used to start a Python and import awscli and botocore: about 0.4 s of
CPU per command, most of a build's time and, with the workshop's first pipeline runs, most of a
fresh sandbox's start. This server imports them once; each command is a fork of it, handed the
command's arguments, environment, folder and standard streams (its file descriptors, over a Unix
socket), so it runs exactly as the script would have (aws_cli.py decides what the image's CLI
lacks), with the build's own pipes as its output and its exit status sent back.

The build's `aws` is aws_client.py, which falls back to running aws_cli.py itself when the server
cannot be reached; so a server that died costs time, never a build.

It runs as a script (`python -I aws_server.py SOCKET`) and imports nothing of mmtui: a forked
copy of the sandbox itself would inherit its threads' locks.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
import threading
from pathlib import Path

HEADER = struct.Struct("!I")
"""Every message is a 4-byte length, then that many bytes of JSON."""
ACCEPTED = b"+"
"""Sent to a client once its connection is accepted, before its command runs."""
STREAMS = 3
"""The client hands over its stdin, stdout and stderr with the request."""
PARENT_POLL_SECONDS = 1.0
"""How often the server looks whether the sandbox that started it is still there."""


def receive_request(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    """The request's JSON and the file descriptors that came with its first bytes."""
    data, fds, _flags, _address = socket.recv_fds(conn, 65536, STREAMS)
    while len(data) < HEADER.size or len(data) < HEADER.size + HEADER.unpack(data[:4])[0]:
        more = conn.recv(65536)
        if not more:
            raise ConnectionError("the client went away mid-request")
        data += more
    (length,) = HEADER.unpack(data[: HEADER.size])
    request = json.loads(data[HEADER.size : HEADER.size + length])
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object")
    return request, fds


def run_command(conn: socket.socket) -> None:
    """In the fork: become the command, run it, answer its status. Never returns."""
    status = 1
    try:
        request, fds = receive_request(conn)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(str(request["cwd"]))
        environment = request["env"]
        assert isinstance(environment, dict)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in environment.items()})
        _add_awscli_data_path()
        argv = [str(a) for a in request["argv"]]  # type: ignore[attr-defined]
        sys.argv = ["aws", *argv]
        # The client gone (its build stopped or timed out) ends the command too.
        threading.Thread(target=_exit_when_closed, args=(conn,), daemon=True).start()
        status = _run(argv)
    except BaseException as exc:  # noqa: BLE001  (say it on the command's stderr, then exit)
        if not isinstance(exc, SystemExit):
            sys.stderr.write(f"aws: {type(exc).__name__}: {exc}\n")
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        with contextlib.suppress(OSError):
            conn.sendall(HEADER.pack(status & 0xFF))
        os._exit(0)


def _run(argv: list[str]) -> int:
    # Beside this script, which serve() put on sys.path.
    import aws_cli  # type: ignore[import-not-found]

    try:
        return int(aws_cli.main(argv))
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return int(stop.code or 0)
        sys.stderr.write(f"{stop.code}\n")
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
    # Listening before the imports: a client that comes meanwhile waits in the backlog for
    # them to finish (a third of a second) instead of importing awscli all over again in a
    # process of its own. It is told ACCEPTED when its command is taken, so that a server that
    # dies before (its queued connections closed unanswered) still costs only time.
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    sys.path.insert(0, str(Path(__file__).parent))
    # What every command needs, imported once before any fork.
    import aws_cli  # noqa: F401
    import awscli.clidriver  # type: ignore[import-untyped]  # noqa: F401
    import awscli.handlers  # type: ignore[import-untyped]  # noqa: F401

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
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # aws may wait on its own children
            run_command(conn)
        conn.close()
    listener.close()


if __name__ == "__main__":
    serve(sys.argv[1])
