"""Clients that can only look: what every check receives.

A check that tried to change AWS would be a bug with real consequences on an attendee's
account, so the guard is structural: every client a check gets refuses, before sending, any
operation whose name does not start like a read.
"""

from __future__ import annotations

from typing import Any

READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Query", "Scan", "Head", "Lookup")


class WriteRefused(RuntimeError):
    """A check called an operation that writes; checks are read-only by construction."""


def is_read_only(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


def guard(client: Any) -> Any:
    """Make `client` refuse writing operations (returns the same client)."""

    def refuse(model: Any, **_: Any) -> None:
        if not is_read_only(model.name):
            service = client.meta.service_model.service_name
            raise WriteRefused(
                f"{service}:{model.name} writes; checks are read-only and may not call it"
            )

    client.meta.events.register_first("before-call.*.*", refuse)
    return client
