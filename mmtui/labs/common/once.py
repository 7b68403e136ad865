"""Facts fetched once per round of checks, however many checks (threads) ask at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class FetchedOnce:
    """A per-key cache: the first caller of a key fetches it while the others wait for it, so
    checks running side by side share every read and nothing is fetched twice."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def once(self, key: str, fetch: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = fetch()
            value: T = self._values[key]
            return value

    def fetched(self, key: str) -> bool:
        """Whether `key` has been fetched (facts for lab text use only what is fetched)."""
        return key in self._values

    def value(self, key: str) -> Any:
        """What `key` was fetched as, None when it has not been fetched."""
        return self._values.get(key)
