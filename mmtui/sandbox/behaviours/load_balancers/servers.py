"""The loopback HTTP servers that stand in for load balancers' DNS names."""

from __future__ import annotations

import threading
from typing import Any

from mmtui.sandbox.core.loopback import bind_loopback


def serve(port: int, app: Any, name: str) -> Any:
    """A threaded WSGI server for `app` on 127.0.0.1 (on `port` when it is free), serving from
    a daemon thread; its `server_address` tells the port it got."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log(self, *_: Any, **__: Any) -> None:
            """Nothing reaches the terminal."""

    listener = bind_loopback(port)
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
