"""moto's response serializer works out each member's possible attribute names once, not per call,
and picks each member's value without building a context for it.

Not a difference from AWS but a cost: to answer a call, moto walks the operation's output shape
and, for every member of every structure (a DescribeTable answer has some 175, a Scan of the
workshop's table some 150 per item), asks six alias providers which attribute names of its
Python object might hold the value, making an object per provider per member. That was half of
the time the sandbox spent on a room's calls, under the sandbox lock. The answer depends only on
the object's class (its `Meta.serialization_aliases` and name), the member's shape (its name,
serialization name and parent structure) and the member's key, so it is remembered per (class,
shape, key). Only the default alias providers are remembered (what moto's responses use); a
picker given its own falls through to moto's code.

Once the names are remembered, picking a member's value still cost a context object, the
member's dotted path joined (read only by response transformers) and a generator, per member:
about two thirds of what remained of serializing a DynamoDB answer. `ResponseSerializer.
get_value` now looks the remembered names up directly when the picker is moto's default one,
applying its response transformers as moto does (CloudFormation's and ECS's answers have some:
a DescribeStacks answer was nine tenths serializing, through moto's slow path), and otherwise (or
on a first sight) does what moto does.
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

Entry = tuple[Any, Any, tuple[str, ...], bool]
"""(shape, its parent, the possible names in moto's order, whether a plain dict may be read by
name: no name holds a dot, which moto's `get_value` reads as a path)."""

_remembered: dict[tuple[type, int, str], Entry] = {}
_lock = threading.Lock()


def install() -> None:
    """Remember the possible keys per (class, shape, key), and pick values from them (called
    once, by moto_repairs.install)."""
    from moto.core import serialize
    from moto.core.constants import MISSING
    from moto.core.utils import get_value as moto_get_value

    picker = serialize.XFormedAttributePicker
    original = picker.get_possible_keys
    defaults = serialize.DEFAULT_ALIAS_PROVIDERS

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
        found = _remembered.get(key)
        # The shape and its parent are kept in the entry and compared by identity: an id is
        # only unique while its object lives, and moto sets a member's parent as it walks.
        if found is not None and found[0] is shape and found[1] is parent:
            return iter(found[2])
        keys = tuple(original(self, context))
        with _lock:
            if len(_remembered) >= REMEMBERED:
                _remembered.clear()
            _remembered[key] = (shape, parent, keys, not any("." in name for name in keys))
        return iter(keys)

    patch(REPAIR, picker, "get_possible_keys", get_possible_keys)

    serializer = serialize.ResponseSerializer
    original_get_value = serializer.get_value
    missing = MISSING

    @functools.wraps(original_get_value)
    def get_value(self: Any, value: Any, key: str, shape: Any) -> Any:
        chooser = self._value_picker
        # Exactly moto's picker (a subclass may pick otherwise): the only case answered here.
        if type(chooser) is not picker:
            return original_get_value(self, value, key, shape)
        kind = type(value)
        found = _remembered.get((kind, id(shape), key))
        if (
            found is None
            or found[0] is not shape
            or found[1] is not getattr(shape, "parent", None)
            or chooser.alias_providers is not defaults
            or getattr(value, "Meta", None) is not getattr(kind, "Meta", None)
        ):
            return original_get_value(self, value, key, shape)  # remembers the names
        picked = None
        if kind is dict and found[3]:
            # moto's get_value on a dict and a plain name: value[name], or missing.
            for name in found[2]:
                if name in value:
                    picked = value[name]
                    break
        else:
            read = moto_get_value
            for name in found[2]:
                candidate = read(value, name, missing)
                if candidate is not missing:
                    picked = candidate
                    break
        transformers = chooser.response_transformers
        if transformers:
            # As moto's picker does (CloudFormation's and ECS's responses have some): the first
            # transformer whose path ends the member's dotted path, applied to what was picked.
            path = f"{'.'.join(self.path)}.{key}"
            for ending, transform in transformers.items():
                if path.endswith(ending):
                    return transform(picked)
        return picked

    patch(REPAIR, serializer, "get_value", get_value)
