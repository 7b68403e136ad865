"""What the sandbox core asks of an extension: every hook, declared once, with a default.

An extension is a piece of AWS behaviour added on top of moto (mmtui/sandbox/behaviours/).
The core (server.py, app.py) calls each hook directly on every extension; an extension
overrides only the hooks it needs, and the defaults do nothing, so "this extension has no
state" or "nothing to close" needs no code and no `getattr` probing.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable, Iterable
from typing import Any

from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse

StartResponse = Callable[..., Any]


class Extension(ABC):  # noqa: B024  (every hook has a default: none is abstract)
    """A piece of AWS behaviour the sandbox adds on top of moto."""

    name: str
    """The key of its state in the sandbox's snapshot (stable: saved states use it)."""

    # -- requests (app.py, in the order of the sandbox's extension list) --

    def serve_raw(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes] | None:
        """Answer a request that is not an AWS API call (git's smart HTTP) as plain WSGI,
        before its body is read and without the sandbox lock; None passes it on as an AWS
        call."""
        return None

    def before(self, request: AwsRequest) -> AwsResponse | None:
        """Answer the request instead of moto, or None to let moto answer."""
        return None

    def after(self, request: AwsRequest, response: AwsResponse) -> AwsResponse:
        """Adjust moto's answer (return it unchanged when not concerned)."""
        return response

    # -- state (server.py: snapshots, restores and resets) --

    def get_state(self) -> Any:
        """What to save beside moto's backends (picklable); None when it keeps none."""
        return None

    def set_state(self, state: Any) -> None:  # noqa: B027  (optional hook)
        """Take back a saved state; None means start empty (a reset or a fresh sandbox)."""

    # -- attendee accounts (workshop/account_image.py: an account made from the template's image) --

    def export_account(self, account: str) -> Any:
        """Its part of `account` for an account image (picklable); None when it keeps none."""
        return None

    def import_account(self, account: str, data: Any) -> None:  # noqa: B027  (optional hook)
        """Take its part of an account image (`data` as export_account gave it, or None) as
        the state of `account`."""

    def drop_account(self, account: str) -> None:  # noqa: B027  (optional hook)
        """Forget everything it holds for `account` (the account is deleted)."""

    # -- life cycle (server.py) --

    def on_start(self) -> None:  # noqa: B027  (optional hook)
        """The sandbox serves and its state is loaded: start background work."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """The sandbox stops: end background work and free what it holds."""

    # -- what the sandbox publishes (sandbox.env) --

    def resolve_map(self) -> dict[str, str]:
        """Host names it serves (a load balancer's DNS name) → the loopback URL behind them."""
        return {}
