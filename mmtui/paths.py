"""Where mmtui keeps what it must remember: progress, sandbox state, crash reports.

`MMTUI_STATE_DIR` overrides the platform's user state folder (tests and instructors use it).
"""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    override = os.environ.get("MMTUI_STATE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_state_path

    return user_state_path("mmtui", appauthor=False)


def default_sandbox_dir() -> Path:
    return state_dir() / "sandbox"
