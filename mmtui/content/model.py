"""The shape of lab content, validated strictly so that a typo is a lint error, not a blank screen.

Every text field is Markdown and a Jinja2 template: `{{ secondary_region }}` and friends are
filled from the lab's parameters (workshop defaults the user may override) and facts (names read
from the live account, such as the generated pipeline names), so no region, stack or table name
is ever hard-coded in prose.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mmtui.content.scopes import RegionScope

# Text that must say something: surrounding whitespace is dropped before the length test, so a
# hint of only spaces is as empty as a missing one.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$")]
RegisteredName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]


class Strict(BaseModel):
    # Field docstrings become the descriptions of the published JSON schema (schema.py reads
    # them; pydantic's own `use_attribute_docstrings` would parse this file at every start).
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(Strict):
    """A value the attendee may override; the default is the workshop's."""

    default: Text
    description: Text
    kind: Literal["region", "name", "path"] = "name"


class Fact(Strict):
    """A name that only the live account knows (a generated pipeline or service name)."""

    description: Text
    placeholder: Text
    """Shown, rendered with the parameters, while the fact is not known yet."""


class LearnMore(Strict):
    title: Text
    body: Text


class ManualAction(Strict):
    """One thing to do by hand: console clicks described in `text`, or CLI commands to copy.

    The suite does the whole manual path from these texts (tests/test_lab3_by_hand.py), so
    every action says what a shell runs for it: a terminal action its `commands`; any other
    action either its own `stand_in` commands or, through `same_as`, the other actions of the
    step that do the same work from a terminal.
    """

    title: Text
    where: Literal["terminal", "console", "editor", "browser"]
    text: Text | None = None
    commands: list[Text] = Field(default_factory=list)
    only_if: Text | None = None
    """The situation the action is for ("an earlier attempt rolled back"), shown to the
    attendee; the suite runs it only when a test makes that situation."""
    stand_in: list[Text] = Field(default_factory=list)
    """For a console, editor or browser action: shell commands that do what the text
    describes, shown as "or from a terminal" and run by the suite in its place."""
    same_as: list[Text] = Field(default_factory=list)
    """For a console, editor or browser action whose work other actions of the same step
    already do from a terminal (the "or with the CLI" path): their titles, as written before
    rendering. The suite runs those, in their own places, and skips this one."""

    @model_validator(mode="after")
    def _says_what_a_shell_runs(self) -> ManualAction:
        if self.where == "terminal":
            if not self.commands:
                raise ValueError("a terminal action needs commands")
            if self.stand_in or self.same_as:
                raise ValueError(
                    "a terminal action's commands are what runs: stand_in and same_as are "
                    "for console, editor and browser actions"
                )
            return self
        if self.commands:
            raise ValueError(
                f"{_a(self.where)} action has no commands of its own: give the shell commands "
                "that do the same as stand_in"
            )
        if bool(self.stand_in) == bool(self.same_as):
            raise ValueError(
                f"{_a(self.where)} action needs exactly one of stand_in (commands that do what "
                "it describes) or same_as (titles of this step's actions that do it from a "
                "terminal)"
            )
        return self


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


class ManualPath(Strict):
    summary: Text
    actions: list[ManualAction] = Field(min_length=1)

    @model_validator(mode="after")
    def _same_as_names_actions_that_run(self) -> ManualPath:
        runnable = {action.title for action in self.actions if not action.same_as}
        for action in self.actions:
            for title in action.same_as:
                if title not in runnable:
                    known = "; ".join(sorted(runnable)) or "none"
                    raise ValueError(
                        f"{action.title!r}: same_as names {title!r}, which is not an action of "
                        f"this step with commands or a stand_in (those are: {known})"
                    )
        return self


class AutomatedPath(Strict):
    summary: Text
    solve: RegisteredName
    reset: RegisteredName | None = None
    """Every step has one; the checkpoint only verifies, so it has nothing of its own to undo."""


class Check(Strict):
    """A check as the attendee sees it. Everything said about it lives here; the lab's Python
    (registered under `name`) holds only the judgement: what it reads and how it decides."""

    name: RegisteredName
    title: Text
    """One line saying what holds when the check passes."""
    region: RegionScope
    """The region its result reports (`both` and `local` report the primary)."""
    command: Text
    """The read-only command that shows what the check looks at, as the attendee would type
    it: a template of the lab's parameters and facts, shown beside the result."""
    hint: Text | None = None
    """What to try when the check fails, shown beside it."""


class Step(Strict):
    id: Identifier
    number: int | None = Field(default=None, ge=1)
    """Steps are numbered 1..n; the checkpoint has no number."""
    kind: Literal["step", "checkpoint"] = "step"
    title: Text
    summary: Text
    instructions: Text
    """Path of the step's Markdown, relative to the lab folder."""
    learn_more: list[LearnMore] = Field(default_factory=list)
    hints: list[Text] = Field(min_length=1)
    """Revealed one at a time, in this order: from a nudge to the answer."""
    manual: ManualPath
    automated: AutomatedPath
    checks: list[Check] = Field(min_length=1)
    requires: list[Identifier] = Field(default_factory=list)
    """Ids of earlier steps whose work this step builds on: solving it while their checks
    fail leaves it failing, so `solve` and the guide warn first (`mmtui lint` checks the ids)."""

    @model_validator(mode="after")
    def _numbered_steps_have_resets(self) -> Step:
        if self.kind == "step" and self.number is None:
            raise ValueError("a step needs a number (only the checkpoint has none)")
        if self.kind == "checkpoint" and self.number is not None:
            raise ValueError("the checkpoint has no number")
        if self.kind == "step" and self.automated.reset is None:
            raise ValueError("a step needs automated.reset: every step can be undone")
        return self


FORMAT = 2
"""The version of lab.yaml's shape this mmtui reads. 2: checks are declared in the content
(name, title, region, command, hint) instead of a list of names with `check_hints`."""


class Lab(Strict):
    format: Literal[2]
    """The version of this file's shape (FORMAT); mmtui refuses one it does not read."""
    id: Annotated[str, StringConstraints(pattern=r"^[0-9]+$")]
    title: Text
    summary: Text
    intro: Text
    """Path of the lab's introduction Markdown, relative to the lab folder."""
    parameters: dict[Identifier, Parameter]
    facts: dict[Identifier, Fact] = Field(default_factory=dict)
    prerequisites: list[Check] = Field(default_factory=list)
    """Checks that verify the labs before this one left the account as this lab expects."""
    steps: list[Step] = Field(min_length=1)

    def every_check(self) -> list[Check]:
        """The prerequisites, then each step's checks, in the order of the file."""
        return [*self.prerequisites, *(check for step in self.steps for check in step.checks)]


class WorkshopLab(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[0-9]+$")]
    title: Text
    summary: Text
    role: Literal["prerequisite", "guided", "later"]
    """prerequisite: mmtui verifies it; guided: mmtui walks it; later: listed, not yet guided."""
    path: Text | None = None
    """The lab's folder, relative to workshop.yaml; required for a guided lab."""
    checks: list[RegisteredName] = Field(default_factory=list)
    """For a prerequisite lab: the checks that verify what it left behind."""


class Workshop(Strict):
    title: Text
    summary: Text
    labs: list[WorkshopLab] = Field(min_length=1)
