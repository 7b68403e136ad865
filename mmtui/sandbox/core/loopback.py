"""Loopback ports the sandbox serves on besides its API (load balancer sites, accelerators):
remembered across restarts, so the addresses in sandbox.env stay the same."""

from __future__ import annotations

import socket


def bind_loopback(port: int, backlog: int = 64) -> socket.socket:
    """A listening socket on 127.0.0.1: the remembered `port` if it is free, else any free
    port (OSError when there is none)."""
    for candidate in (port, 0) if port else (0,):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", candidate))
            listener.listen(backlog)
            return listener
        except OSError:
            listener.close()
    raise OSError("no free port on 127.0.0.1")
