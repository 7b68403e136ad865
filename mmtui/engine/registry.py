"""Registries of checks and tasks, looked up by the names that lab content uses.

Lab content (`lab.yaml`) names its checks and its solve/reset tasks; code declares them here,
as cloud-custodian registers filters and actions. A declaration carries what the content and
the linter need to know (title, region scope); the callable that does the work is attached by
the module that implements it. `implemented` tells the two apart honestly, so a command can say
"not built yet" instead of pretending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar

RegionScope = Literal["primary", "secondary", "both", "local"]
"""Where a check looks: one region, both, or only local files (a git repository)."""


@dataclass(frozen=True)
class CheckDecl:
    name: str
    title: str
    region: RegionScope
    run: Callable[..., Any] | None = field(default=None, compare=False)

    @property
    def implemented(self) -> bool:
        return self.run is not None


@dataclass(frozen=True)
class TaskDecl:
    name: str
    title: str
    kind: Literal["solve", "reset"]
    run: Callable[..., Any] | None = field(default=None, compare=False)

    @property
    def implemented(self) -> bool:
        return self.run is not None


D = TypeVar("D", CheckDecl, TaskDecl)


class Registry(Generic[D]):
    """A name → declaration map that refuses a second declaration of the same name."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._items: dict[str, D] = {}

    def declare(self, decl: D) -> D:
        if decl.name in self._items:
            raise ValueError(f"{self._what} {decl.name!r} is declared twice")
        self._items[decl.name] = decl
        return decl

    def implement(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator attaching the implementation to an already declared name."""

        def attach(fn: Callable[..., Any]) -> Callable[..., Any]:
            if name not in self._items:
                raise KeyError(f"{self._what} {name!r} is implemented but never declared")
            self._items[name] = replace(self._items[name], run=fn)
            return fn

        return attach

    def get(self, name: str) -> D:
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[D]:
        return iter(self._items.values())

    def names(self) -> list[str]:
        return sorted(self._items)


CHECKS: Registry[CheckDecl] = Registry("check")
TASKS: Registry[TaskDecl] = Registry("task")


def load_catalogues() -> None:
    """Import every module that declares checks and tasks (idempotent: imports are cached)."""
    import mmtui.labs.lab3.catalog  # noqa: F401
    import mmtui.labs.lab3.checks  # noqa: F401
    import mmtui.labs.lab3.tasks  # noqa: F401
