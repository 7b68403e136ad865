"""Registries of checks and tasks, looked up by the names that lab content uses.

Lab content (`lab.yaml`) names its checks and its solve/reset tasks; each lab declares them in
registries of its own (a `LabPlugin`'s `checks` and `tasks`), as cloud-custodian registers
filters and actions, so two labs may use the same names. This module imports no lab.

A declaration carries what the content and the linter need to know (title, region scope); the
callable that does the work is attached by the module that implements it. `implemented` tells
the two apart honestly, so a command can say "not built yet" instead of pretending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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


@dataclass(frozen=True)
class OnBehalf:
    """Permissions AWS evaluates against the caller for work a call starts (CloudFormation
    creating a template's resources, DynamoDB making a replica): the call itself is declared
    with its unit; these are granted in a statement of their own that says why."""

    sid: str
    actions: frozenset[str]


@dataclass(frozen=True)
class LabPermissions:
    """What a lab's units need from IAM, declared in one module per lab."""

    units: Mapping[str, frozenset[str]]
    """Check or task name → the IAM actions of the calls it makes."""
    on_behalf: Mapping[str, tuple[OnBehalf, ...]] = field(default_factory=dict)
    """Task name → what AWS also requires of the caller for what its calls start."""
    guide: frozenset[str] = frozenset()
    """Reads the guide makes beyond the checks' (inventory, forms)."""


def declare_permissions(lab_id: str, declared: LabPermissions) -> LabPermissions:
    """`declared`, once every IAM action in it is well formed (a lab's permissions module
    calls this when imported; its plugin proves every unit is covered, see LabPlugin)."""
    from mmtui.engine.permissions import invalid_actions

    every = [a for actions in declared.units.values() for a in actions]
    every += [a for grants in declared.on_behalf.values() for g in grants for a in g.actions]
    bad = invalid_actions([*every, *declared.guide])
    if bad:
        raise ValueError(f"lab {lab_id} declares malformed IAM actions: {', '.join(bad)}")
    return declared
