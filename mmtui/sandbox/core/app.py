"""The sandbox's WSGI application: moto behind mmtui's extensions, with AWS-shaped errors.

Every request passes through here. Extensions may answer it themselves (an API moto lacks) or
adjust moto's answer (a field moto leaves out). An operation nobody implements comes back as
an AWS error naming it, never as moto's HTML error page. One lock serialises requests and the
background work that edits moto's state (replication, snapshots): moto's models are plain
Python objects with no locking of their own.

Before anything else, a request must be addressed to loopback (auth.host_allowed) and, unless
an extension serves it raw (git, which checks its own credentials), carry a valid AWS
signature (auth.verify): an unsigned or badly signed request never reaches moto.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mmtui.sandbox.core import auth, direct, proxy
from mmtui.sandbox.core.extension import Extension, StartResponse
from mmtui.sandbox.core.fair_lock import FairRLock
from mmtui.sandbox.core.protocol import (
    DEFAULT_ACCOUNT,
    AwsRequest,
    AwsResponse,
    aws_error,
    not_available,
    rest_operation,
)
from mmtui.sandbox.core.realism import TIMEOUT_HOLD, Realism, fault_error


class UnknownService(LookupError):
    pass


HOSTS_REMEMBERED = 4096
"""Host names whose backend the dispatcher remembers: a room's regions times its services is a
few hundred; a bound keeps odd Host headers from growing it without end."""


def quiet_moto_dispatcher() -> Any:
    """moto's dispatcher, minus its print() for services it does not know, and quick.

    moto finds a request's backend by listing its own package folder (a listdir and a stat per
    service, on every request) and then trying some 150 URL patterns in turn: about a fifth of
    the time the sandbox spent answering a room's calls, all of it under the sandbox lock. The
    folder never changes while the process runs and a host always maps to the same backend, so
    both are worked out once."""
    from moto import backends
    from moto.moto_server.werkzeug_app import (
        DEFAULT_SERVICE_REGION,
        DomainDispatcherApplication,
        create_backend_app,
    )

    modules = frozenset(backends.list_of_moto_modules())

    class QuietDispatcher(DomainDispatcherApplication):
        def __init__(self, create_app: Any) -> None:
            super().__init__(create_app)
            self.backends_by_host: dict[str, str] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host is None:
                return None
            found = self.backends_by_host.get(host)
            if found is None:
                found = self._backend_for_host(host)
                if len(self.backends_by_host) < HOSTS_REMEMBERED:
                    self.backends_by_host[host] = found
            return found

        def backend_name(self, environ: dict[str, Any]) -> str | None:
            """The backend `get_application` picks for `environ` (None: moto's own API or
            instance metadata, which never go direct)."""
            path_info = environ.get("PATH_INFO", "")
            if path_info.startswith(("/moto-api", "/latest/")) or path_info == "/favicon.ico":
                return None
            with self.lock:
                host = self.infer_service_region_host(environ, path_info)
                if host is None:
                    service, region = DEFAULT_SERVICE_REGION
                    host = f"{service}.{region}.amazonaws.com"
                return str(self.get_backend_for_host(host))

        def app_for(self, backend: str) -> Any:
            """`backend`'s Flask application, made once (as `get_application` does)."""
            with self.lock:
                app = self.app_instances.get(backend)
                if app is None:
                    app = self.app_instances[backend] = self.create_app(backend)  # type: ignore[arg-type]
                return app

        def _backend_for_host(self, host: str) -> str:
            if host == "moto_api" or host in modules:
                return host
            for backend, pattern in self.backend_url_patterns:
                if pattern.match(f"http://{host}"):
                    return str(backend)
            raise UnknownService(host)

    return QuietDispatcher(create_backend_app)


class SandboxApp:
    def __init__(
        self,
        extensions: Sequence[Extension],
        lock: FairRLock,
        on_change: Callable[[AwsRequest, AwsResponse], None] = lambda request, response: None,
        *,
        keys: Callable[[str], auth.Principal | None],
        port: Callable[[], int],
        resolve: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.moto = quiet_moto_dispatcher()
        self.extensions = list(extensions)
        self.lock = lock
        self.on_change = on_change
        self.keys = keys
        """Access key → who it is (None: unknown); takes the sandbox lock itself."""
        self.port = port
        self.resolve = resolve
        """The names the sandbox serves as a proxy (core/proxy.py) → their loopback URLs."""
        self.realism = Realism()
        self.journal: Callable[[str], None] | None = None
        """Told each change the sandbox acknowledges (core/journal.py); None keeps no record."""
        """What the sandbox simulates of a slow, busy, faulty AWS (off unless set)."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        proxied = proxy.proxied_host(environ)
        if proxied is not None:  # a shell's `curl http://<load balancer name>/` (sandbox.env)
            return proxy.forward(environ, start_response, proxied, self.resolve)
        if not auth.host_allowed(environ.get("HTTP_HOST"), self.port()):
            # Another host name: a web page's request through DNS rebinding, or a proxy.
            # Refused before anything reads it.
            message = (
                b"the mmtui sandbox only answers requests addressed to 127.0.0.1, localhost "
                b"or [::1]\n"
            )
            start_response(
                "403 Forbidden",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(message)))],
            )
            return [message]
        # moto would act in whatever account this header names: never a caller's choice.
        environ.pop("HTTP_X_MOTO_ACCOUNT_ID", None)
        for extension in self.extensions:
            answer = extension.serve_raw(environ, start_response)
            if answer is not None:
                return answer
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        request = AwsRequest.from_environ(environ, body)
        verdict = auth.verify(environ, body, self.keys)
        if isinstance(verdict, auth.Refused):
            return self._send(start_response, refused(request, verdict))
        if self.realism.active:
            # Outside the lock: a slow or held call delays its caller, not everyone's.
            unreal = self._as_aws_would(request, environ)
            if unreal is not None:
                return self._send(start_response, unreal)
        with self.lock:
            response = self.handle(request, environ)
            if request.may_write and response.status < 300 and self.journal is not None:
                # Before the answer leaves: an acknowledged change is either saved or listed
                # as lost when the sandbox starts again (journal.py).
                self.journal(describe_change(request))
            if request.may_write:
                # May have changed state: the next autosave writes it. Under the lock, before
                # the answer: a call that follows sees a deleted key as deleted (find_key).
                self.on_change(request, response)
        return self._send(start_response, response)

    def _as_aws_would(self, request: AwsRequest, environ: dict[str, Any]) -> AwsResponse | None:
        """The latency, throttling and faults asked for (realism.py): an answer instead of
        the real one, or None to serve the call (after its delay)."""
        realism = self.realism
        realism.delay(request)
        throttled = realism.throttled(request)
        if throttled is not None:
            return throttled
        kind = realism.fault(request)
        if kind == "timeout":
            realism.sleep(TIMEOUT_HOLD)  # the caller has given up by now; answer as usual
        elif kind == "reset":
            reset_connection(environ)
            return AwsResponse(500, b"", {})  # written to a closed socket: never read
        elif kind is not None:
            return fault_error(request, kind)
        return None

    @staticmethod
    def _send(start_response: StartResponse, response: AwsResponse) -> Iterable[bytes]:
        start_response(
            f"{response.status} {_REASONS.get(response.status, 'Status')}",
            [*response.headers.items(), ("Content-Length", str(len(response.body)))],
        )
        return [response.body]

    def handle(self, request: AwsRequest, environ: dict[str, Any]) -> AwsResponse:
        for extension in self.extensions:
            answer = extension.before(request)
            if answer is not None:
                return answer
        response = self.call_moto(request, environ)
        for extension in self.extensions:
            response = extension.after(request, response)
        return response

    def call_moto(self, request: AwsRequest, environ: dict[str, Any]) -> AwsResponse:
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(request.body)
        environ["CONTENT_LENGTH"] = str(len(request.body))
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers

        try:
            # The backend is found once: its Flask application, or its handler called directly.
            backend = self.moto.backend_name(environ)
            app = self.moto.app_for(backend) if backend else self.moto
            path = environ.get("PATH_INFO", "")
            handler = direct.handler_for(backend, app, request.method, path) if backend else None
            if handler is not None:
                # The service's handler, called as moto's in-process mode calls it.
                captured["status"], answered, body = direct.call(handler, environ, request.body)
                captured["headers"] = list(answered.items())
            else:
                chunks = app(environ, capture)
                try:
                    body = b"".join(chunks)
                finally:
                    close = getattr(chunks, "close", None)
                    if close is not None:
                        close()
        except UnknownService:
            return not_available(request, "this service is not part of the sandbox")
        except NotImplementedError:
            return not_available(request)
        except Exception as exc:  # noqa: BLE001  (moto bug: answer as AWS would, not HTML)
            return not_available(request, f"the emulator failed ({type(exc).__name__})")
        headers = {
            name: value
            for name, value in captured.get("headers", [])
            if name.lower() not in ("content-length", "transfer-encoding")
        }
        response = AwsResponse(captured.get("status", 500), body, headers)
        if response.status in (404, 405, 500) and _is_html(response):
            # moto's answer for a route it lacks or an operation it does not implement.
            return not_available(request)
        return response


def refused(request: AwsRequest, verdict: auth.Refused) -> AwsResponse:
    """The error AWS answers a refused request with, in the wire format of its service (known
    from the credential scope when the request has one, else guessed from its shape)."""
    protocol = auth.protocol_of(request.service)
    if not protocol:
        shape = request.protocol
        protocol = ("json" if request.target else "rest-json") if shape == "json" else shape
    status, code, message = auth.refusal(verdict, protocol)
    wire = {"json": "json", "rest-json": "json", "query": "query", "ec2": "ec2"}
    return aws_error(request, status, code, message, protocol=wire.get(protocol, "rest-xml"))


def describe_change(request: AwsRequest) -> str:
    """A change in a few words, for the journal: what, where and, off the default account,
    whose. Read with the sandbox lock held (the account is)."""
    account = request.account
    whose = f" (account {account})" if account != DEFAULT_ACCOUNT else ""
    named = request.target or request.form.get("Action")
    # A REST call whose operation is not recognised is told by its method and path.
    what = (
        request.operation
        if named
        else rest_operation(request.service, request.method, request.path)
        or f"{request.method} {request.path}"
    )
    return f"{request.service} {what} in {request.region}{whose}"


def reset_connection(environ: dict[str, Any]) -> None:
    """Drop the caller's connection with a reset (RST), as a broken network path does."""
    import socket
    import struct

    connection = environ.get("werkzeug.socket")
    if connection is None:
        return
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


def _is_html(response: AwsResponse) -> bool:
    """moto's error page, judged by its body: an empty HEAD answer (a real "404: no such
    bucket") carries Flask's default text/html type and must pass through untouched."""
    return response.body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    301: "Moved Permanently",
    307: "Temporary Redirect",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}
