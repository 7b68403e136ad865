"""The plugin of a lab whose modules sit in one package, laid out alike: `steps` (importing it
registers every check and task), `catalog` (CHECKS and TASKS), `permissions` (PERMISSIONS) and
`facts` (the class named by `facts_class`). Each is imported when first asked for, so building
the command line imports none of them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mmtui.engine.plugin import LabPlugin
from mmtui.engine.registry import CheckDecl, LabPermissions, Registry, TaskDecl

if TYPE_CHECKING:
    from mmtui.content.loader import LabContent
    from mmtui.engine.context import CheckContext


class PackagedLab(LabPlugin):
    package: str
    """The lab's package, e.g. `mmtui.labs.lab4`."""
    facts_class: str
    """The name of its facts class in `<package>.facts`."""

    def _module(self, name: str) -> Any:
        return importlib.import_module(f"{self.package}.{name}")

    def load_content(self) -> LabContent:
        from mmtui.content.loader import load_guided_lab

        # Found through workshop.yaml, which names the lab's folder.
        return load_guided_lab(self.id)

    @property
    def checks(self) -> Registry[CheckDecl]:
        self._module("steps")  # attaches the implementations
        found: Registry[CheckDecl] = self._module("catalog").CHECKS
        return found

    @property
    def tasks(self) -> Registry[TaskDecl]:
        self._module("steps")
        found: Registry[TaskDecl] = self._module("catalog").TASKS
        return found

    @property
    def permissions(self) -> LabPermissions:
        found: LabPermissions = self._module("permissions").PERMISSIONS
        return found

    def facts(self, ctx: CheckContext) -> Any:
        return getattr(self._module("facts"), self.facts_class)(ctx)
