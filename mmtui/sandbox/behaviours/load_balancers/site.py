"""The Mysfits site behind one load balancer (WSGI): the load balancer's routing, then the
workshop's application as the chosen target's container would answer.

The load balancer's side answers from the health board (health.py), never asking ECS or ECR:
the listener's rule for the path picks a target group, and the group a target as an ALB does.
Then the target's container plays its part: the Core service (`service`) answers `/` and
`/mysfits`, the Like service (`like-service`) answers `POST /mysfits/<id>/like`, with the
environment of the target's task definition (its table, its chaos mode).

The application reads AWS through the sandbox's own API over HTTP, like the real services
do, so it never holds the sandbox lock; it acts in its load balancer's account.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mmtui.sandbox.behaviours.load_balancers.health import Route, Target
from mmtui.sandbox.behaviours.load_balancers.metrics import Meter
from mmtui.sandbox.behaviours.load_balancers.topology import Balancer

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

_LIKE_PATH = re.compile(r"^/mysfits/(?P<id>[^/]+)/like/?$")
CHAOS_ENV = "MMTUI_SANDBOX_CHAOS"
"""`off` disables the Like service's chaos mode in the sandbox (tests use it)."""


def _elb_page(status: int, reason: str) -> bytes:
    """An error page the load balancer itself writes, worded as an ALB's."""
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()


_REASON = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


class Front(Protocol):
    """What a site asks of its load balancer (the LoadBalancers extension)."""

    meter: Meter

    def route(self, balancer: Balancer, path: str) -> Route: ...

    def connect_timeout(self) -> None: ...


class SiteApp:
    """The Mysfits site behind one load balancer (WSGI)."""

    def __init__(self, sandbox: Sandbox, balancer: Balancer, front: Front) -> None:
        self.sandbox = sandbox
        self.balancer = balancer
        self.front = front

    def client(self, service: str) -> Any:
        # The sandbox's shared clients (thread-safe once made; making one per request would
        # cost tens of milliseconds), asked each time: they follow the account's current key,
        # which a snapshot restore may change while this site keeps serving.
        return self.sandbox.client(service, self.balancer.region, self.balancer.account)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", "/"))
        started = time.monotonic()
        route = self.front.route(self.balancer, path)
        by_target = False
        if route.target is None:
            # No registered target that may take requests (none, or only registering or
            # draining ones): an ALB answers 503 itself.
            status, content_type, body = 503, "text/html", _elb_page(503, _REASON[503])
        elif route.target.reach != "ok":
            # A security group drops the load balancer's packets: nothing answers, not even a
            # reset, so the ALB waits out its connection timeout (10 s) and answers 504. (A
            # target that refuses or resets the connection gets a 502 instead, below.)
            self.front.connect_timeout()
            status, content_type, body = 504, "text/html", _elb_page(504, _REASON[504])
        else:
            try:
                status, content_type, body = self.serve(route.target, method, path)
                by_target = True
            except Exception:  # noqa: BLE001  (a task that crashes mid-request: the ALB says 502)
                status, content_type, body = 502, "text/html", _elb_page(502, _REASON[502])
        self.front.meter.record(
            self.balancer,
            status,
            by_target=by_target,
            target_chosen=route.target is not None,
            response_seconds=time.monotonic() - started if by_target else None,
            at=time.time(),
        )
        start_response(
            f"{status} {_REASON.get(status, 'Status')}",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        return [body]

    # ------------------------------------------------------------------ the application

    def serve(self, target: Target, method: str, path: str) -> tuple[int, str, bytes]:
        """The answer of the target's container to the request."""
        env = target.environment
        table = env.get("DDB_TABLE_NAME") or "MysfitsTable"
        if target.container == "like-service":
            like = _LIKE_PATH.match(path)
            if not like:
                return 404, "application/json", b'{"message": "Not Found"}'
            if method != "POST":
                return 405, "application/json", b'{"message": "Method Not Allowed"}'
            return self.like(like["id"], table, env)
        if path in ("/", "/index.html") and method in ("GET", "HEAD"):
            # As the Core service: the page names its region and loads the mysfits from
            # /mysfits in the browser, so it answers even while the table cannot be read.
            return 200, "text/html; charset=utf-8", self.page()
        if path.rstrip("/") == "/mysfits" and method == "GET":
            body = {"mysfits": self.mysfits(table)}
            return 200, "application/json", json.dumps(body).encode()
        return 404, "application/json", b'{"message": "Not Found"}'

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
                Path(__file__).resolve().parent.parent.parent / "workshop" / "assets" / "site"
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
