"""File helpers that every part of mmtui uses: the guide's progress, the git clones the solves
edit, and the sandbox's state. They live here, not in the sandbox package, so that the core
never depends on the sandbox to write a file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` in one step. With `mode`, the file has exactly that mode
    whatever the umask (secrets and state are 0600), from its first byte on."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if mode is None:
            handle = open(temporary, "wb")  # noqa: SIM115  (closed by the with below)
        else:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            os.fchmod(descriptor, mode)  # the umask may have taken bits away; a leftover kept its
            handle = os.fdopen(descriptor, "wb")
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        # A full disk or a target that cannot be replaced: the old file stays as it was, and
        # no half-written copy is left beside it to fill the disk further (red-team S10).
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
