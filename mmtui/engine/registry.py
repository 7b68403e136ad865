"""Registries of checks and tasks, looked up by the names that lab content uses.

Lab content (`lab.yaml`) names its checks and its solve/reset tasks; code declares them here,
as cloud-custodian registers filters and actions. A declaration carries what the content and
the linter need to know (title, region scope); the callable that does the work is attached by
the module that implements it. `implemented` tells the two apart honestly, so a command can say
"not built yet" instead of pretending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
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


PERMISSIONS: dict[str, LabPermissions] = {}
"""Lab id → its declared permissions."""


def declare_permissions(lab_id: str, declared: LabPermissions) -> LabPermissions:
    from mmtui.engine.permissions import invalid_actions

    if lab_id in PERMISSIONS:
        raise ValueError(f"the permissions of lab {lab_id} are declared twice")
    every = [a for actions in declared.units.values() for a in actions]
    every += [a for grants in declared.on_behalf.values() for g in grants for a in g.actions]
    bad = invalid_actions([*every, *declared.guide])
    if bad:
        raise ValueError(f"lab {lab_id} declares malformed IAM actions: {', '.join(bad)}")
    PERMISSIONS[lab_id] = declared
    return declared


def undeclared_units(
    declared: Iterable[Mapping[str, Iterable[str]]],
) -> tuple[list[str], list[str]]:
    """(registered checks and tasks with no declared permissions, declarations naming no
    registered unit)."""
    names = {d.name for d in CHECKS} | {d.name for d in TASKS}
    covered: set[str] = set()
    for units in declared:
        covered |= set(units)
    return sorted(names - covered), sorted(covered - names)


def validate_permissions() -> None:
    """Every registered check and task declares its IAM actions, and no declaration names a
    unit that does not exist: raised at import, so a new check cannot ship undeclared."""
    missing, unknown = undeclared_units([p.units for p in PERMISSIONS.values()])
    problems = []
    if missing:
        problems.append(f"no IAM actions declared for {', '.join(missing)}")
    if unknown:
        problems.append(f"IAM actions declared for unknown units {', '.join(unknown)}")
    if problems:
        raise RuntimeError("; ".join(problems) + " (see mmtui/labs/<lab>/permissions.py)")


def load_catalogues() -> None:
    """Import every module that declares checks and tasks (idempotent: imports are cached),
    and prove each declares the permissions it needs."""
    import mmtui.labs.lab3.catalog  # noqa: F401
    import mmtui.labs.lab3.checks  # noqa: F401
    import mmtui.labs.lab3.permissions  # noqa: F401
    import mmtui.labs.lab3.tasks  # noqa: F401

    validate_permissions()
