"""Sandbox state on disk: moto's backends and the extensions' state, pickled together.

moto keeps everything in memory. Its models are plain objects, so a pickle of the loaded
backends restores them exactly; the few locks inside are recreated empty. Everything goes into
one pickle so that objects shared between services stay shared. The file is written to a
temporary name and renamed, so a crash mid-write leaves the previous state intact. A snapshot
from another moto version is refused rather than half-loaded (moto is pinned for this reason).
"""

from __future__ import annotations

import collections
import copyreg
import importlib
import io
import pickle
import sys
import threading
import weakref
from typing import Any

FORMAT = 1


def _lock_reducers() -> dict[type, Any]:
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    table[type(threading.Lock())] = lambda _lock: (threading.Lock, ())
    table[type(threading.RLock())] = lambda _lock: (threading.RLock, ())
    # moto's Lambda indexes its functions by ARN in a WeakValueDictionary (the functions
    # themselves are held elsewhere in the same pickle, so the index refills as it loads).
    table[weakref.WeakValueDictionary] = lambda index: (weakref.WeakValueDictionary, (dict(index),))
    table[collections.defaultdict] = _reduce_defaultdict
    return table


def _reduce_defaultdict(value: collections.defaultdict[Any, Any]) -> tuple[Any, ...]:
    """A defaultdict whose factory is a lambda (moto's Lambda: `lambda: {}`) is saved with
    the builtin type that lambda makes, which pickles; others as pickle would save them."""
    factory = value.default_factory
    if getattr(factory, "__name__", "") == "<lambda>" and factory is not None:
        made = factory()
        if type(made) in (dict, list, set) and not made:
            factory = type(made)
    return (collections.defaultdict, (factory,), None, None, iter(value.items()))


class StatePickler(pickle.Pickler):
    dispatch_table = _lock_reducers()


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def loaded_backends() -> dict[str, Any]:
    """Every moto backend dict of the services used so far, keyed `module:attribute`.

    A service's models module is imported on its first request, so this holds exactly the
    services with state; the rest need nothing saved.
    """
    from moto.core.base_backend import BackendDict

    found: dict[str, Any] = {}
    for module_name, module in sorted(sys.modules.items()):
        if not (module_name.startswith("moto.") and module_name.endswith(".models")):
            continue
        for attribute, value in vars(module).items():
            if isinstance(value, BackendDict) and attribute.endswith("_backends"):
                found.setdefault(f"{module_name}:{attribute}", value)
    return found


def dump_state(extension_state: dict[str, Any]) -> bytes:
    state = {
        "format": FORMAT,
        "moto": moto_version(),
        "backends": loaded_backends(),
        "extensions": extension_state,
    }
    buffer = io.BytesIO()
    StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return buffer.getvalue()


class SnapshotMismatch(Exception):
    pass


def load_state(data: bytes) -> dict[str, Any]:
    """Install the backends of a snapshot into moto; returns the extensions' state."""
    state = pickle.loads(data)  # noqa: S301  (our own file, in the user's own state folder)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SnapshotMismatch("the snapshot was written by another version of mmtui")
    if state.get("moto") != moto_version():
        raise SnapshotMismatch(
            f"the snapshot was written with moto {state.get('moto')}, this is {moto_version()}"
        )
    for key, saved in state["backends"].items():
        module_name, attribute = key.split(":")
        live = getattr(importlib.import_module(module_name), attribute)
        live.clear()
        live.update(saved)
    extensions: dict[str, Any] = state["extensions"]
    return extensions
