"""Load balancers that answer: every ELBv2 load balancer in the sandbox gets a loopback URL.

moto stores load balancers but serves nothing behind their DNS names. Here each one gets an
HTTP server on 127.0.0.1 that plays the workshop's application as that region's ECS services
would: the Core service answers `/` and `/mysfits`, the Like service answers
`POST /mysfits/<id>/like` (the listener rule of the workshop). A service only answers when it
runs a real application image from its own region's registry; until then the load balancer
says 503, as an ALB with no healthy targets does.

The site reads AWS through the sandbox's own API over HTTP, like the real services do, so it
never touches moto's models or holds the sandbox lock; it acts in its load balancer's account.

moto names every load balancer `<name>-1.<region>.elb.amazonaws.com`, so the same stack in two
accounts would give two load balancers one DNS name, and the resolve map could not tell them
apart. AWS puts a number of its own in the name; here an attendee account's load balancers get
one derived from the account, region and name (the same after every restart), while the
default account keeps moto's names.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

_LIKE_PATH = re.compile(r"^/mysfits/(?P<id>[^/]+)/like/?$")
_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repo>[^:@]+)[:@](?P<ref>.+)$"
)
_UNAVAILABLE = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"
)
CHAOS_ENV = "MMTUI_SANDBOX_CHAOS"
"""`off` disables the Like service's chaos mode in the sandbox (tests use it)."""


@dataclass(frozen=True)
class Balancer:
    dns: str
    region: str
    account: str
    arn: str = ""


class LoadBalancers(Extension):
    name = "load_balancers"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.ports: dict[str, int] = {}
        """DNS name → port, kept in the saved state so URLs stay the same across restarts."""
        self.servers: dict[str, Any] = {}
        self.started = False
        self._sync_lock = threading.Lock()

    # ------------------------------------------------------------------ extension API

    def after(self, request: AwsRequest, response: AwsResponse) -> AwsResponse:
        if (
            self.started
            and request.service in ("elasticloadbalancing", "cloudformation")
            and request.may_write
        ):
            self.sync()
        return response

    def get_state(self) -> Any:
        return dict(self.ports)

    def set_state(self, state: Any) -> None:
        self.ports = dict(state or {})
        if self.started:
            self.sync()

    def on_start(self) -> None:
        self.started = True
        self.sync()

    def import_account(self, account: str, data: Any) -> None:
        """An account was installed behind moto's API: serve its load balancers."""
        if self.started:
            self.sync()

    def drop_account(self, account: str) -> None:
        if self.started:
            self.sync()

    def close(self) -> None:
        self.started = False
        _shut_down(list(self.servers.values()))
        self.servers.clear()

    def resolve_map(self) -> dict[str, str]:
        return {
            dns: f"http://127.0.0.1:{port}"
            for dns, port in sorted(self.ports.items())
            if dns in self.servers
        }

    def target_health(self, arn: str) -> str:
        """The health of load balancer `arn`'s targets as its own health checks see them:
        "healthy" (at least one healthy target behind it, so it can serve), "unhealthy", or
        "initial" (not judged yet). Global Accelerator's endpoints read this, as AWS's read an
        ALB's target health. (First version: the Core service runs a real image.)"""
        for balancer in self._balancers():
            if balancer.arn == arn:
                site = SiteApp(self.sandbox, balancer)
                return "healthy" if site.running_service("service") is not None else "unhealthy"
        return "unhealthy"

    # ------------------------------------------------------------------ servers

    def sync(self) -> None:
        """Serve every load balancer moto has, and stop serving the deleted ones."""
        with self._sync_lock:
            wanted = {balancer.dns: balancer for balancer in self._balancers()}
            doomed = [dns for dns in self.servers if dns not in wanted]
            _shut_down([self.servers.pop(dns) for dns in doomed])
            for dns in doomed:
                self.ports.pop(dns, None)
            for dns, balancer in wanted.items():
                if dns not in self.servers:
                    self.servers[dns] = self._serve(balancer)
            self.sandbox.env_changed()

    def _balancers(self) -> list[Balancer]:
        from moto.elbv2.models import elbv2_backends

        return [
            Balancer(balancer.dns_name, region, account, balancer.arn)
            for account, regions in list(elbv2_backends.items())
            for region, backend in list(regions.items())
            for balancer in list(backend.load_balancers.values())
        ]

    def _serve(self, balancer: Balancer) -> Any:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log(self, *_: Any, **__: Any) -> None:
                """Nothing reaches the terminal."""

        listener = _bind(self.ports.get(balancer.dns, 0))
        self.ports[balancer.dns] = listener.getsockname()[1]
        try:
            server = make_server(
                "127.0.0.1",
                self.ports[balancer.dns],
                SiteApp(self.sandbox, balancer),
                threaded=True,
                request_handler=QuietHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()
        # threaded=True makes a ThreadedWSGIServer, which has daemon_threads.
        server.daemon_threads = True  # type: ignore[attr-defined]
        threading.Thread(
            target=server.serve_forever, name=f"mmtui-lb-{balancer.dns}", daemon=True
        ).start()
        return server


def _shut_down(servers: list[Any]) -> None:
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


class SiteApp:
    """The Mysfits site behind one load balancer (WSGI)."""

    def __init__(self, sandbox: Sandbox, balancer: Balancer) -> None:
        self.sandbox = sandbox
        self.balancer = balancer

    def client(self, service: str) -> Any:
        # The sandbox's shared clients (thread-safe once made; making one per request would
        # cost tens of milliseconds), asked each time: they follow the account's current key,
        # which a snapshot restore may change while this site keeps serving.
        return self.sandbox.client(service, self.balancer.region, self.balancer.account)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", "/"))
        try:
            status, content_type, body = self.route(method, path)
        except Exception:  # noqa: BLE001  (an ALB in front of a crashed task says 502)
            status, content_type, body = 502, "text/html", b"<h1>502 Bad Gateway</h1>\n"
        start_response(
            f"{status} {_REASON.get(status, 'Status')}",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        return [body]

    def route(self, method: str, path: str) -> tuple[int, str, bytes]:
        like = _LIKE_PATH.match(path)
        container = "like-service" if like else "service"
        service = self.running_service(container)
        if service is None:
            return 503, "text/html", _UNAVAILABLE
        table = _environment(service, container).get("DDB_TABLE_NAME") or "MysfitsTable"
        if like:
            if method != "POST":
                return 405, "application/json", b'{"message": "Method Not Allowed"}'
            return self.like(like["id"], table, _environment(service, container))
        if path in ("/", "/index.html") and method in ("GET", "HEAD"):
            # As the Core service: the page names its region and loads the mysfits from
            # /mysfits in the browser, so it answers even while the table cannot be read.
            return 200, "text/html; charset=utf-8", self.page()
        if path.rstrip("/") == "/mysfits" and method == "GET":
            body = {"mysfits": self.mysfits(table)}
            return 200, "application/json", json.dumps(body).encode()
        return 404, "application/json", b'{"message": "Not Found"}'

    def running_service(self, container: str) -> dict[str, Any] | None:
        """The task definition of the region's service with `container`, if it runs a real
        application image from this region's own registry."""
        ecs = self.client("ecs")
        for cluster in ecs.list_clusters().get("clusterArns", []):
            arns = ecs.list_services(cluster=cluster).get("serviceArns", [])
            if not arns:
                continue
            for service in ecs.describe_services(cluster=cluster, services=arns)["services"]:
                if service.get("status") != "ACTIVE" or not service.get("desiredCount"):
                    continue
                definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
                    "taskDefinition"
                ]
                for spec in definition.get("containerDefinitions", []):
                    if spec.get("name") == container and self.is_real_image(spec.get("image", "")):
                        return dict(definition)
        return None

    def is_real_image(self, image: str) -> bool:
        match = _IMAGE.match(image)
        if not match or match["region"] != self.balancer.region:
            return False
        reference = match["ref"]
        image_id = (
            {"imageDigest": reference}
            if reference.startswith("sha256:")
            else {"imageTag": reference}
        )
        try:
            found = self.client("ecr").describe_images(
                repositoryName=match["repo"], imageIds=[image_id]
            )
        except Exception:  # noqa: BLE001  (no such repository or image: not runnable)
            return False
        return bool(found.get("imageDetails"))

    def mysfits(self, table: str) -> list[dict[str, Any]]:
        dynamodb = self.client("dynamodb")
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = dynamodb.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted((as_api(item) for item in items), key=lambda m: m["name"])

    def page(self) -> bytes:
        from jinja2 import Environment, FileSystemLoader, select_autoescape

        environment = Environment(
            loader=FileSystemLoader(
                Path(__file__).resolve().parent.parent / "workshop" / "assets" / "site"
            ),
            autoescape=select_autoescape(["html"]),
        )
        html = environment.get_template("index.html").render(region=self.balancer.region)
        return html.encode()

    def like(self, mysfit_id: str, table: str, env: dict[str, str]) -> tuple[int, str, bytes]:
        if env.get("CHAOSMODE") == "on" and os.environ.get(CHAOS_ENV, "on") != "off":
            roll = random.randint(1, 100)  # noqa: S311  (chaos, not cryptography)
            if roll < 30:
                return 500, "application/json", b'{"message": "Internal Server Error"}'
            if roll < 60:
                return 404, "application/json", b'{"message": "Not Found"}'
        self.client("dynamodb").update_item(
            TableName=table,
            Key={"MysfitId": {"S": mysfit_id}},
            UpdateExpression="SET Likes = Likes + :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
        return 200, "application/json", b'{"Update": "Success"}'


def _environment(definition: dict[str, Any], container: str) -> dict[str, str]:
    for spec in definition.get("containerDefinitions", []):
        if spec.get("name") == container:
            return {e["name"]: e.get("value", "") for e in spec.get("environment", [])}
    return {}


_REASON = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
}


def as_api(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the Core service's `GET /mysfits` shows it."""

    def text(key: str) -> str:
        return str(item.get(key, {}).get("S", ""))

    return {
        "mysfitId": text("MysfitId"),
        "name": text("Name"),
        "species": text("Species"),
        "description": text("Description"),
        "age": int(item.get("Age", {}).get("N", "0")),
        "goodevil": text("GoodEvil"),
        "lawchaos": text("LawChaos"),
        "thumbImageUri": text("ThumbImageUri"),
        "profileImageUri": text("ProfileImageUri"),
        "likes": item.get("Likes", {}).get("N", "0"),
        "adopted": bool(item.get("Adopted", {}).get("BOOL", False)),
    }
