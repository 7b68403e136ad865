"""The loopback HTTP servers that stand in for load balancers' DNS names."""

from __future__ import annotations

import socket
import threading
from typing import Any


def serve(port: int, app: Any, name: str) -> Any:
    """A threaded WSGI server for `app` on 127.0.0.1 (on `port` when it is free), serving from
    a daemon thread; its `server_address` tells the port it got."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log(self, *_: Any, **__: Any) -> None:
            """Nothing reaches the terminal."""

    listener = _bind(port)
    try:
        server = make_server(
            "127.0.0.1",
            listener.getsockname()[1],
            app,
            threaded=True,
            request_handler=QuietHandler,
            fd=listener.fileno(),
        )
    finally:
        listener.close()
    # threaded=True makes a ThreadedWSGIServer, which has daemon_threads.
    server.daemon_threads = True  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


def shut_down(servers: list[Any]) -> None:
    """Stop servers side by side: each `shutdown()` waits for its loop's next poll (up to half
    a second), and restoring a snapshot may stop one per attendee account."""
    threads = [threading.Thread(target=server.shutdown, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for server in servers:
        server.server_close()


def _bind(port: int) -> socket.socket:
    """Bind the remembered port if it is free, else any free port."""
    for candidate in (port, 0) if port else (0,):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", candidate))
            listener.listen(64)
            return listener
        except OSError:
            listener.close()
    raise OSError("no free port on 127.0.0.1")
