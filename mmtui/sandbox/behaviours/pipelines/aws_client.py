"""The `aws` command inside a sandbox build: hands the command to aws_server.py and waits.

`python -I -S aws_client.py SOCKET -- ARGS...`: sends ARGS, this process's environment and
folder, and its standard streams to the server listening on SOCKET, then exits with the status
the server answers. Without a server (never started, or gone before it took the command) it
becomes aws_cli.py itself, so the command still runs, only slower. Imports nothing beyond the
standard library's core: it starts for every `aws` a build runs.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys

HEADER = struct.Struct("!I")
ACCEPTED = b"+"
"""What the server sends first, once it took the connection (aws_server.py)."""


def main(path: str, argv: list[str]) -> int:
    request = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(path)
        except OSError:
            fallback(argv)
        try:
            socket.send_fds(conn, [HEADER.pack(len(request)) + request], [0, 1, 2])
            # Accepted: the command runs. A server still importing (it listens first) accepts
            # once ready; one that dies first closes the connection unanswered.
            accepted = conn.recv(len(ACCEPTED)) == ACCEPTED
        except OSError:
            accepted = False
        if not accepted:
            fallback(argv)
        answer = b""
        while len(answer) < HEADER.size:
            chunk = conn.recv(HEADER.size - len(answer))
            if not chunk:
                sys.stderr.write("aws: the sandbox's aws server stopped mid-command\n")
                return 255
            answer += chunk
    return int(HEADER.unpack(answer)[0])


def fallback(argv: list[str]) -> None:
    """Become aws_cli.py itself (never returns: typing's NoReturn would cost an import on
    every command)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "aws_cli.py")
    os.execv(sys.executable, [sys.executable, "-I", script, *argv])


if __name__ == "__main__":
    marker = sys.argv.index("--")
    sys.exit(main(sys.argv[1], sys.argv[marker + 1 :]))
