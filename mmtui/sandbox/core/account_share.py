"""An account's share of the sandbox: its part of every moto backend and of every extension's
state, dropped whole (a deleted attendee account, or the template account of an image)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmtui.sandbox.core.persistence import loaded_backends
from mmtui.sandbox.moto_repairs.s3_bucket_registry import rebuild_bucket_registry

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox


def drop(sandbox: Sandbox, account: str) -> None:
    """Remove an account from moto and from every extension (the template after its image)."""
    with sandbox.lock:
        seen: set[int] = set()
        for backends in loaded_backends().values():
            if id(backends) not in seen:
                seen.add(id(backends))
                dict.pop(backends, account, None)
        rebuild_bucket_registry()
        for extension in sandbox.extensions:
            extension.drop_account(account)
        sandbox.mark_dirty()
