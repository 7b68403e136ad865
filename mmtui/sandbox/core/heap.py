"""Keeping Python's cycle collector off the sandbox's long-lived state.

The sandbox holds every account's moto backends: millions of objects for a room of fifty
accounts, made once (the baseline, a restore, accounts added) and kept. Python's collector
looks at all of them in each full collection, which it runs whenever enough new objects have
outlived two younger collections (a quarter of the long-lived ones): a few runs of a room's
checks are enough. One such collection held the interpreter, with the sandbox lock taken by
whichever call triggered it, for 650 ms (issue 15: the room's 99th percentile answer was nine
times its median in every third run of fifty accounts, all of it one collection).

`settle()` moves everything alive into the collector's permanent generation, which it never
looks at, once the state is built; objects made later are collected as before. What a restore
replaces must be collectable again, or cyclic garbage in it would never be freed:
`unsettle()` before a state is installed gives everything back to the collector (which then
runs its full collections as it did before, until the next `settle()`).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """The state is built: keep the collector off what is alive now."""
    gc.collect(1)  # the young garbage of building it (cheap), rather than keeping it forever
    gc.freeze()


def unsettle() -> None:
    """A state is about to be replaced: its objects become collectable again."""
    gc.unfreeze()
