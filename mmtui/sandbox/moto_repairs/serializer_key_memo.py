"""moto's response serializer works out each member's possible attribute names once, not per call.

Not a difference from AWS but a cost: to answer a call, moto walks the operation's output shape
and, for every member of every structure (a DescribeTable answer has some 175), asks six alias
providers which attribute names of its Python object might hold the value, making an object per
provider per member. That was half of the time the sandbox spent on a room's calls, under the
sandbox lock. The answer depends only on the object's class (its `Meta.serialization_aliases`
and name), the member's shape (its name, serialization name and parent structure) and the
member's key, so it is remembered per (class, shape, key). Only the default alias providers are
remembered (what moto's responses use); a picker given its own falls through to moto's code.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "serializer_key_memo"

REMEMBERED = 65536
"""Entries kept: the workshop's answers need a few thousand; the bound only guards memory."""


def install() -> None:
    """Remember the possible keys per (class, shape, key) (called once, by moto_repairs.install)."""
    from moto.core import serialize

    picker = serialize.XFormedAttributePicker
    original = picker.get_possible_keys
    defaults = serialize.DEFAULT_ALIAS_PROVIDERS
    remembered: dict[tuple[type, int, str], tuple[Any, Any, tuple[str, ...]]] = {}
    lock = threading.Lock()

    @functools.wraps(original)
    def get_possible_keys(self: Any, context: Any) -> Iterator[str]:
        obj, shape = context.obj, context.shape
        kind = type(obj)
        # An alias table on the object itself (not its class) would make the answer per
        # object: not remembered.
        if self.alias_providers is not defaults or getattr(obj, "Meta", None) is not getattr(
            kind, "Meta", None
        ):
            return original(self, context)
        parent = getattr(shape, "parent", None)
        key = (kind, id(shape), context.key)
        found = remembered.get(key)
        # The shape and its parent are kept in the entry and compared by identity: an id is
        # only unique while its object lives, and moto sets a member's parent as it walks.
        if found is not None and found[0] is shape and found[1] is parent:
            return iter(found[2])
        keys = tuple(original(self, context))
        with lock:
            if len(remembered) >= REMEMBERED:
                remembered.clear()
            remembered[key] = (shape, parent, keys)
        return iter(keys)

    patch(REPAIR, picker, "get_possible_keys", get_possible_keys)
