"""Console-like forms, so that a by-hand path can be done in the terminal.

Lab 3's "Create replica" (step 2) and "Add stage" (step 3), and Lab 4's accelerator wizard
(steps 1 to 4), ask what the AWS console asks, with choices
read from the live account, and make the same API calls the console makes. A form is declared
as data (`Field`s: name, label, kind, choices, default, help), so a UI renders any form the same
way. Its life:

1. `open_form(step, ctx)` reads the account (read-only clients; a few calls, so run it off the
   UI thread) and returns an immutable form.
2. `form.fields(values)` gives the fields for the values chosen so far (no calls): choices and
   defaults can depend on other fields (`Field.depends_on`; step 3's clusters depend on the
   region). When `form.stale(values)` is true, `form.refreshed(ctx, values)` (calls again, off
   the UI thread) returns a form that knows the newly chosen region's clusters.
3. `form.validate(values)` names every field that is wrong, before any call.
4. `form.apply(values, task_ctx)` does it and says what changed; applying the same values twice
   changes nothing the second time.
"""

from __future__ import annotations

import difflib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, Self

from mmtui.engine.context import CheckContext
from mmtui.engine.tasks import TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError

FieldKind = Literal["choice", "text", "info"]
"""choice: one of `choices`; text: free text; info: read-only text (its `default`), no value."""


Values = Mapping[str, str]


NAME_PATTERN = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")
"""What CodePipeline accepts as a stage or action name."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: FieldKind
    help: str = ""
    default: str = ""
    choices: tuple[Choice, ...] = ()
    depends_on: tuple[str, ...] = ()
    """Fields that decide this one's choices and default: when one of them changes, drop this
    field's value so that it takes the new default."""

    def values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)


@dataclass(frozen=True)
class Problem:
    field: str | None
    """The field that is wrong; None when the problem is the form's as a whole."""
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class FormInvalid(MmtuiError):
    """`apply` was given values that do not validate (or that AWS no longer allows)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems), ExitCode.USAGE)
        self.problems = problems


@dataclass(frozen=True)
class Applied:
    changes: tuple[str, ...]
    """What was done, one line each; empty when everything was already so."""

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class Form(ABC):
    step: ClassVar[str]
    """The id of the lab step this form does by hand."""
    title: ClassVar[str]

    @abstractmethod
    def fields(self, values: Values | None = None) -> tuple[Field, ...]:
        """The fields, with choices and defaults for the values chosen so far; no AWS call."""

    def defaults(self, values: Values | None = None) -> dict[str, str]:
        """`values` completed with the default of every field not given (info fields aside)."""
        return _completed(self.fields(values), values or {})

    def stale(self, values: Values | None = None) -> bool:
        """True when `refreshed` must read the account before these values can be judged."""
        return False

    def refreshed(self, ctx: CheckContext, values: Values | None = None) -> Self:
        """This form, knowing what `values` need (AWS calls: run it off the UI thread)."""
        return self

    @abstractmethod
    def validate(self, values: Values) -> list[Problem]:
        """Every problem with `values`, named by field; no AWS call."""

    @abstractmethod
    def apply(self, values: Values, ctx: TaskContext) -> Applied:
        """Do it (AWS calls that write; off the UI thread). FormInvalid if `values` do not
        validate, before any call."""


def _completed(fields: tuple[Field, ...], values: Values) -> dict[str, str]:
    return {f.name: values.get(f.name, f.default) for f in fields if f.kind != "info"}


def entered_text(values: Values, name: str) -> str:
    return str(values.get(name, "")).strip()


def unknown_choice(value: str, known: tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(value, known, n=2, cutoff=0.6)
    if close:
        return f"{value!r} is not {what}; did you mean {' or '.join(close)}?"
    if 0 < len(known) <= 5:  # few enough to list
        return f"{value!r} is not {what}; choose one of {', '.join(known)}."
    return f"{value!r} is not {what}."


def available_regions(ctx: CheckContext, service: str) -> tuple[tuple[str, ...], str]:
    """The regions of the primary region's partition that offer `service` and that this
    account has enabled (EC2 DescribeRegions lists only those), and where that came from.

    An account that may not call DescribeRegions still gets the partition's regions.
    """
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    session = botocore.session.get_session()
    partition = session.get_partition_for_region(ctx.primary_region)
    offered = set(session.get_available_regions(service, partition_name=partition))
    try:
        described = ctx.client("ec2", ctx.primary_region).describe_regions()["Regions"]
    except (ClientError, BotoCoreError):
        return tuple(sorted(offered)), f"the {partition} partition"
    enabled = {str(r["RegionName"]) for r in described}
    return tuple(sorted(offered & enabled)), "the account's enabled regions"
