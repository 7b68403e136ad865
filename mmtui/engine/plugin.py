"""What a lab provides: the one interface between the engine (and the front ends) and a lab.

The engine owns no lab. A lab is a `LabPlugin`: its content (lab.yaml and its Markdown), its
own registries of checks and tasks (so two labs may each have a step of the same id, and checks of
the same names), its live facts, and the optional extras the front ends show when a lab has
them: an inventory with the overview's picture, console-like forms, a preview of what a
solve will change, a site to visit, a reset order, and commands of its own. Every extra has a
default meaning "this lab has none", so a small lab implements only what it needs.

Which labs are installed is decided at the top (`mmtui.labs`), never here: the command line,
the guide and the fleet receive the lab they work on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmtui.engine.registry import CheckDecl, LabPermissions, Registry, TaskDecl

if TYPE_CHECKING:
    from mmtui.content.loader import LabContent
    from mmtui.content.model import Step
    from mmtui.engine.context import CheckContext
    from mmtui.engine.tasks import TaskContext

OverviewRow = tuple[str, Any, Any]
"""(layer, primary cell, secondary cell): a row of the overview's two-region picture; the
cells are anything Rich renders."""


class NoFacts:
    """The facts of a lab that reads none from the account: no names beyond its parameters."""

    def known(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Preview:
    """What a step's solve will change, shown (and confirmed) before it runs."""

    title: str
    """One line over the changes, e.g. "config.yml: 2 to change"."""
    changes: list[tuple[str, Any]]
    """(where, change): a change has `needed` (bool) and `diff()` (unified diff text)."""
    note: str = ""
    """What happens once confirmed, under the changes."""
    confirm: str = "Go"
    """The words of the button that goes ahead."""


@dataclass(frozen=True)
class SiteVisit:
    """A site fetched as an attendee's browser would, told in a few lines."""

    text: str
    status: int | None = None
    """The HTTP status, or None when nothing answered."""
    raw: Any = field(default=None, compare=False)
    """The lab's own view of the visit (its tests read it)."""


@dataclass(frozen=True)
class Traffic:
    """Live traffic a lab sends and watches (Lab 5: likes through the accelerator)."""

    regions: tuple[str, str]
    """The primary and secondary regions, in the order the view shows them."""
    start: Callable[[float], Any]
    """Rate (requests per second) → a running load: `snapshot()` (its answers so far, see
    mmtui.load.answers), `elapsed()`, `stop()`."""
    status: Callable[[], list[tuple[str, str, str]]]
    """(region, traffic dial, endpoint health) of each region now, read from AWS."""
    drill: Callable[[float, float, Callable[[Any], None], Callable[[Any], None]], Any] | None = None
    """(rate, duration, on_event, on_second) → a failover drill's report, or None."""


class LabPlugin(ABC):
    """A lab of the workshop as mmtui runs it. Subclass it, then register an instance in
    `mmtui.labs` (or, from outside mmtui, with `mmtui.labs.register`)."""

    id: str
    """The lab's id, as workshop.yaml, lab.yaml and `--lab` name it."""
    prerequisites_title: str = "Prerequisites"
    """How check results name the lab's prerequisite checks (`prerequisites:` in lab.yaml)."""
    prerequisites_short: str = "pre"
    """The same in a narrow table column (the fleet's)."""
    overview_title: str = "Lab overview"
    """The command palette's name for the lab's overview screen."""
    overview_lead: str = ""
    """The sentence over the overview's two-region picture (`{secondary_region}` is filled
    in); empty for a lab with no picture, whose overview then shows only its steps."""
    form_steps: frozenset[str] = frozenset()
    """Ids of the steps that have a console-like form (`open_form`)."""
    preview_steps: frozenset[str] = frozenset()
    """Ids of the steps whose solve shows a `preview` first and asks before changing."""
    visit_steps: frozenset[str] = frozenset()
    """Ids of the steps whose screen can fetch the site (`visit`)."""
    traffic_steps: frozenset[str] = frozenset()
    """Ids of the steps whose screen opens the live traffic view (`traffic`)."""

    # ------------------------------------------------------------------ required

    @abstractmethod
    def load_content(self) -> LabContent:
        """The lab's validated content (ContentError names every problem, file and line)."""

    @property
    @abstractmethod
    def checks(self) -> Registry[CheckDecl]:
        """The lab's own checks, every one implemented by the time this returns."""

    @property
    @abstractmethod
    def tasks(self) -> Registry[TaskDecl]:
        """The lab's own solve and reset tasks, every one implemented by this time."""

    # ------------------------------------------------------------------ optional

    @property
    def permissions(self) -> LabPermissions | None:
        """The IAM actions of each check and task (None: not declared, no `mmtui policy`)."""
        return None

    def facts(self, ctx: CheckContext) -> Any:
        """The lab's live facts for one round of checks: an object with `known()` (the names
        found so far) and whatever the lab's checks ask of it."""
        return NoFacts()

    def reset_order(self, steps: list[Step]) -> list[Step]:
        """The order a whole-lab reset undoes `steps` in: last step first by default."""
        return list(reversed(steps))

    def inventory(self, ctx: CheckContext, executor: Executor | None = None) -> Any:
        """What exists now, for the overview (read-only; None: the lab has no picture)."""
        return None

    def overview_rows(self, inventory: Any) -> list[OverviewRow]:
        """The overview's two-region picture of `inventory`, one row per layer."""
        return []

    def open_form(self, step_id: str, ctx: CheckContext) -> Any:
        """The console-like form of a step in `form_steps`, its choices read from AWS."""
        raise LookupError(f"lab {self.id} has no form for {step_id}")

    def preview(self, step: Step, ctx: TaskContext) -> Preview:
        """What the solve of a step in `preview_steps` will change, before it changes it."""
        raise LookupError(f"lab {self.id} has no preview for {step.id}")

    def visit(self, ctx: CheckContext, resolve: Mapping[str, str]) -> SiteVisit:
        """Fetch the lab's site for a step in `visit_steps` (`resolve`: the connection's
        address map, for a sandbox's load balancers)."""
        raise LookupError(f"lab {self.id} has no site to visit")

    def traffic(self, ctx: CheckContext, tasks: TaskContext) -> Traffic:
        """The live traffic of a step in `traffic_steps` (`tasks` for a drill's changes)."""
        raise LookupError(f"lab {self.id} has no live traffic")

    def commands(self) -> list[Any]:
        """Click commands the lab adds to `mmtui` (e.g. a probe); called when the command
        line is built, so the modules they import at run time must stay out of it."""
        return []

    # ------------------------------------------------------------------ derived

    def validate(self) -> None:
        """When the lab declares its permissions: every check and task of the lab declares
        its IAM actions, and no declaration names a unit that does not exist. Raised when the
        lab is loaded, so a lab cannot ship an undeclared unit."""
        problems = []
        declared = self.permissions
        if declared is not None:
            missing, unknown = undeclared_units(self, declared.units)
            if missing:
                problems.append(f"no IAM actions declared for {', '.join(missing)}")
            if unknown:
                problems.append(f"IAM actions declared for unknown units {', '.join(unknown)}")
        if problems:
            raise RuntimeError(f"lab {self.id}: " + "; ".join(problems))


def undeclared_units(lab: LabPlugin, units: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """(the lab's checks and tasks with no declared permissions, declarations naming none of
    the lab's units)."""
    names = {d.name for d in lab.checks} | {d.name for d in lab.tasks}
    return sorted(names - set(units)), sorted(set(units) - names)
