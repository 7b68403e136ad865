"""Fixtures shared by the engine's tests."""

from __future__ import annotations

import pytest

from mmtui.sandbox.core.server import Sandbox


@pytest.fixture
def quick_replicas(sandbox: Sandbox) -> None:
    """Replicas that are created and deleted in 0.3 s (the `sandbox` fixture puts it back)."""
    tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 0.3  # type: ignore[attr-defined]
    tables.replica_delete_seconds = 0.3  # type: ignore[attr-defined]
