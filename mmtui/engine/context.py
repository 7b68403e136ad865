"""What a check receives: read-only clients per region, the lab's names, and the facts.

The context is the same whatever the target is: real AWS, an endpoint, or the sandbox. It
carries the lab it runs (a LabPlugin): its registries name the checks and tasks, and it makes
the facts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from mmtui.content.loader import LabContent
from mmtui.content.scopes import RegionScope
from mmtui.engine.plugin import LabPlugin
from mmtui.target.connection import Connection


@dataclass
class CheckContext:
    connection: Connection
    content: LabContent
    lab: LabPlugin
    overrides: dict[str, str] = field(default_factory=dict)
    _facts: Any = None
    _facts_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def primary_region(self) -> str:
        return self.connection.spec.primary_region

    @property
    def secondary_region(self) -> str:
        return self.connection.spec.secondary_region

    def fresh(self) -> CheckContext:
        """The same target and names with no cached facts, to look again after a change."""
        return CheckContext(self.connection, self.content, self.lab, dict(self.overrides))

    def region(self, scope: RegionScope) -> str:
        """The region a check of this scope reports (`both` and `local` report the primary)."""
        return self.secondary_region if scope == "secondary" else self.primary_region

    def client(self, service: str, region: str) -> Any:
        return self.connection.factory.client(service, region, read_only=True)

    @classmethod
    def for_target(
        cls, connection: Connection, content: LabContent, lab: LabPlugin
    ) -> CheckContext:
        """The context of a connected target, with the resource names its user chose."""
        return cls(connection, content, lab, connection.spec.name_overrides)

    def parameters(self) -> dict[str, str]:
        chosen = dict(self.overrides)
        chosen.update(primary_region=self.primary_region, secondary_region=self.secondary_region)
        return self.content.defaults(chosen)

    def param(self, name: str) -> str:
        return self.parameters()[name]

    @property
    def facts(self) -> Any:
        """The lab's live facts (stack outputs, pipeline names, ...), fetched lazily once."""
        # Checks ask from many threads at once: one of them makes the facts, the others wait
        # for it, so the facts' caches are shared and nothing is fetched twice.
        with self._facts_lock:
            if self._facts is None:
                self._facts = self.lab.facts(self)
            return self._facts

    def names(self) -> dict[str, str]:
        """Parameters and the facts known so far, for rendering lab text."""
        known: dict[str, str] = getattr(self.facts, "known", dict)()
        return self.content.names(self.parameters(), known)
