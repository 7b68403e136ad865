"""`mmtui serve`: the guide (or the live room) in a browser tab, through textual-serve.

Each browser tab that opens the page starts its own `mmtui run …` (or `mmtui fleet watch …`)
process, driven over a websocket: the same app, the same state folder and target as in a
terminal. Whoever can open the page drives the guide with this user's AWS credentials, so the
server listens on loopback unless told otherwise, and the page and its websocket both want a
random token that only the printed link carries (as Jupyter does): another local user, or a
web page the browser visits, cannot drive it without the link.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import secrets
import shlex
import signal
import socket
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from mmtui.exitcodes import ExitCode, MmtuiError

if TYPE_CHECKING:
    from aiohttp import web

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SERVABLE = {"run": "the guide", "fleet watch": "the live room"}


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def serve(host: str, port: int, command: tuple[str, ...]) -> None:
    """Serve the guide in a browser: `mmtui serve [run ... | fleet watch ...]`.

    Without a command it serves `mmtui run` (the guide, on the embedded sandbox unless a target
    is given after `run`). Open the printed link, token included; every tab is a guide of its
    own. Listens on 127.0.0.1 unless --host says otherwise. Ctrl-C stops.
    """
    words = list(command) or ["run"]
    served = served_command(words)
    parse_served(words)
    port = bind_check(host, port)
    token = secrets.token_urlsafe(18)
    # A wildcard address is no place to browse to: the link names the machine instead.
    shown_host = socket.gethostname() if host in ("0.0.0.0", "::") else host
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    link = f"http://{shown_host}:{port}/?token={token}"
    if not is_loopback(host):
        click.echo(
            f"warning: --host {host}: anyone who can reach this machine on port {port} and has "
            "the link can drive mmtui with your AWS credentials",
            err=True,
        )
    where = "this machine only" if is_loopback(host) else "other machines too"
    lines = [
        f"serving:  mmtui {shlex.join(words)} ({served})",
        f"listening on {host}:{port} ({where})",
        f"open:     {link}",
        "ready: open the link in a browser; Ctrl-C stops",
    ]
    app_command = shlex.join([sys.executable, "-m", "mmtui", *words])
    server = TokenServer(app_command, host, port, token, title=f"mmtui {words[0]}")
    # Said once the server listens, so that the link works when "ready" shows.
    server.serve(on_listening=lambda: click.echo("\n".join(lines)))


def served_command(words: list[str]) -> str:
    """What the command words serve; a usage error (exit 2) for anything else."""
    if words[0] == "run":
        return SERVABLE["run"]
    if words[:2] == ["fleet", "watch"]:
        return SERVABLE["fleet watch"]
    raise MmtuiError(
        f"mmtui serve {shlex.join(words[:2])}: only `run` and `fleet watch` can be served "
        "(they are the screens; the other commands print and end: run them in a terminal)",
        ExitCode.USAGE,
    )


def parse_served(words: list[str]) -> None:
    """Parse the served command line as `mmtui` would, without running it: a bad option or
    value is said here, once, rather than in every browser tab that opens."""
    # The `mmtui` group this command runs under (found through click, not imported: the
    # group's module imports the guide's).
    cli = click.get_current_context().find_root().command
    context = cli.make_context("mmtui", list(words))
    command: click.Command = cli
    while isinstance(command, click.Group):
        with warnings.catch_warnings():
            # Click 8.2 deprecates protected_args (9.0 folds them into args); both hold the
            # subcommand's words today.
            warnings.simplefilter("ignore", DeprecationWarning)
            arguments = [*context.protected_args, *context.args]
        name, found, rest = command.resolve_command(context, arguments)
        assert found is not None and name is not None
        command, context = found, found.make_context(name, rest, parent=context)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_check(host: str, port: int) -> int:
    """The port to serve on (a free one for 0), refused as a usage error if it is taken or the
    address is not this machine's."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except socket.gaierror as exc:
            raise MmtuiError(
                f"--host {host}: not an address ({exc.strerror})", ExitCode.USAGE
            ) from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise MmtuiError(
                    f"--port: port {port} on {host} is already in use; choose another with "
                    "--port N (or --port 0 for any free one)",
                    ExitCode.USAGE,
                ) from None
            raise MmtuiError(
                f"--host {host}: cannot listen there ({exc.strerror})", ExitCode.USAGE
            ) from None
        return int(probe.getsockname()[1])


def _server_class() -> Any:
    # Imported here: textual-serve brings aiohttp, which no other command needs.
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.server import Server

    class _TokenServer(Server):
        """textual-serve's server, its page and websocket behind the link's token."""

        def __init__(self, command: str, host: str, port: int, token: str, title: str) -> None:
            super().__init__(command, host=host, port=port, title=title)
            self.token = token

        def initialize_logging(self) -> None:
            pass  # the start lines say what is served; no access log on the terminal

        async def on_startup(self, app: web.Application) -> None:
            pass  # (textual-serve prints a banner of its own here)

        def _check(self, given: str) -> None:
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                raise web.HTTPForbidden(
                    text="mmtui serve: this address needs the link the server printed, "
                    "token included\n"
                )

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            self._check(request.query.get("token", ""))
            # The page's websocket carries the token in its path (the page's script appends
            # its own query, the terminal's size), on the host the browser used.
            context = {
                "font_size": 16,
                "app_websocket_url": f"ws://{request.host}/ws/{self.token}",
                "config": {"static": {"url": f"http://{request.host}/static/"}},
                "application": {"name": self.title},
            }
            response: web.StreamResponse = aiohttp_jinja2.render_template(
                "app_index.html", request, context
            )
            return response

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            self._check(request.match_info.get("token", ""))
            response: web.WebSocketResponse = await super().handle_websocket(request)
            return response

        def serve_until_stopped(self, on_listening: Callable[[], None]) -> None:
            """textual-serve's `serve`, telling once it listens; Ctrl-C or SIGTERM stop it."""
            import asyncio  # here: `mmtui --help` must not pay for it

            loop = asyncio.new_event_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_exit)
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=lambda *_args: on_listening(),
            )

        async def _make_app(self) -> web.Application:
            app: web.Application = await super()._make_app()
            app.router.add_get("/ws/{token}", self.handle_websocket)
            return app

    return _TokenServer


class TokenServer:
    """textual-serve's server behind a token, built on first use (so that no other command
    imports aiohttp)."""

    def __init__(self, command: str, host: str, port: int, token: str, title: str) -> None:
        self._server = _server_class()(command, host, port, token, title)

    def serve(self, on_listening: Callable[[], None]) -> None:
        self._server.serve_until_stopped(on_listening)
