"""Registries of checks and tasks, looked up by the names that lab content uses.

Lab content (`lab.yaml`) names its checks and its solve/reset tasks; each lab declares them in
registries of its own (a `LabPlugin`'s `checks` and `tasks`), as cloud-custodian registers
filters and actions, so two labs may use the same names. This module imports no lab.

A check is said in the content (its title, region, command and hint: `content.model.Check`);
here it is only a name and the judgement, attached by the module that implements it. A task's
declaration carries its title and kind; its callable is attached the same way. `implemented`
tells a declared unit from a built one honestly, so a command can say "not built yet" instead of
pretending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar


@dataclass(frozen=True)
class CheckDecl:
    name: str
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

    def __init__(self, what: str, make: Callable[[str], D] | None = None) -> None:
        self._what = what
        self._items: dict[str, D] = {}
        self._make: Callable[[str], D] | None = make
        """Given, a name is declared by implementing it (checks: the content says the rest)."""

    def declare(self, decl: D) -> D:
        if decl.name in self._items:
            raise ValueError(f"{self._what} {decl.name!r} is declared twice")
        self._items[decl.name] = decl
        return decl

    def implement(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator attaching the implementation to a declared name (or, in a registry that
        declares by implementing, to a new one)."""

        def attach(fn: Callable[..., Any]) -> Callable[..., Any]:
            if name not in self._items and self._make is not None:
                self.declare(self._make(name))
            if name not in self._items:
                raise KeyError(f"{self._what} {name!r} is implemented but never declared")
            if self._items[name].run is not None:
                raise ValueError(f"{self._what} {name!r} is implemented twice")
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
