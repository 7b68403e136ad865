"""The one way a repair changes moto: `patch`, which checks the target and records it.

Every repair replaces attributes of moto's modules and classes. Each replacement goes through
`patch`, which names the repair, refuses to create an attribute moto does not have (unless the
repair adds it on purpose: `new=True`), and records what it replaced. tests/sandbox/
test_moto_repairs.py compares that record with targets.py, and checks targets.py against a
moto that no repair has touched, so a moto upgrade that moves or reshapes a target fails
there, naming the repair, instead of as a wrong AWS answer somewhere else.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any


class MotoTargetMissing(RuntimeError):
    """moto no longer has what a repair replaces (moto was upgraded past the pin)."""


@dataclass(frozen=True)
class Patched:
    repair: str
    """The repair's name: module of moto_repairs and what it repairs."""
    owner: str
    """`module` or `module:Class` of moto that holds the attribute."""
    attribute: str
    new: bool
    """True when moto has no such attribute and the repair adds one."""


PATCHED: list[Patched] = []
"""Every replacement made in this process, in order."""


def owner_name(owner: Any) -> str:
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    return f"{owner.__module__}:{owner.__qualname__}"


def patch(repair: str, owner: Any, name: str, value: Any, *, new: bool = False) -> None:
    """Replace `owner.name` (a moto module or class) by `value` for the repair `repair`."""
    if not new and not hasattr(owner, name):
        raise MotoTargetMissing(
            f"moto repair {repair!r}: {owner_name(owner)} has no attribute {name!r} any more; "
            "moto must stay at the version pinned in pyproject.toml"
        )
    PATCHED.append(Patched(repair, owner_name(owner), name, new))
    setattr(owner, name, value)
