"""The `aws` and `docker` commands inside a sandbox build: hand the command to
command_server.py and wait.

`python -I -S command_client.py SOCKET PROGRAM -- ARGS...` (PROGRAM `aws` or `docker`): sends
PROGRAM, ARGS, this process's environment and folder, and its standard streams to the server
listening on SOCKET, then exits with the status the server answers. Without a server (never
started, or gone before it took the command) it becomes the program's script itself (aws_cli.py,
docker.py), so the command still runs, only slower.

It starts for every `aws` and `docker` a build runs, so it imports nothing but `_socket` (json,
socket and struct would triple its start): the request is NUL-separated raw bytes.
"""

from __future__ import annotations

import _socket
import os
import sys

LENGTH_BYTES = 4
ACCEPTED = b"+"
"""What the server sends first, once it took the connection (command_server.py)."""
SCRIPTS = {"aws": ("aws_cli.py", ("-I",)), "docker": ("docker.py", ("-I", "-S"))}
"""What each program falls back to, run by this Python with these options (docker.py needs
nothing but the standard library)."""


def request(program: str, argv: list[str]) -> bytes:
    """program NUL cwd NUL argc NUL argv... NUL "KEY=VALUE"..., behind its length."""
    fields = [program.encode(), os.getcwdb(), str(len(argv)).encode()]
    fields += [os.fsencode(argument) for argument in argv]
    fields += [key + b"=" + value for key, value in os.environb.items()]
    payload = b"\0".join(fields)
    return len(payload).to_bytes(LENGTH_BYTES, "big") + payload


def main(path: str, program: str, argv: list[str]) -> int:
    if program not in SCRIPTS:
        sys.stderr.write(f"command_client: no such program: {program}\n")
        return 2
    message = request(program, argv)
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            conn.connect(path)
        except OSError:
            fallback(program, argv)
        streams = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
        try:
            sent = conn.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, streams)])
            if sent < len(message):
                conn.sendall(message[sent:])
            # Accepted: the command runs. A server still importing (it listens first) accepts
            # once ready; one that dies first closes the connection unanswered.
            accepted = conn.recv(len(ACCEPTED)) == ACCEPTED
        except OSError:
            accepted = False
        if not accepted:
            fallback(program, argv)
        answer = b""
        while len(answer) < LENGTH_BYTES:
            chunk = conn.recv(LENGTH_BYTES - len(answer))
            if not chunk:
                sys.stderr.write(f"{program}: the sandbox's command server stopped mid-command\n")
                return 255
            answer += chunk
    finally:
        conn.close()
    return int.from_bytes(answer, "big")


def fallback(program: str, argv: list[str]) -> None:
    """Become the program's script itself (never returns: typing's NoReturn would cost an
    import on every command)."""
    script, options = SCRIPTS[program]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), script)
    os.execv(sys.executable, [sys.executable, *options, path, *argv])


if __name__ == "__main__":
    marker = sys.argv.index("--")
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[marker + 1 :]))
