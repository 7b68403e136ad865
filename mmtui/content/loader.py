"""Finding and loading the workshop and its labs, with every problem tied to a file and line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import pydantic
from pydantic import BaseModel

from mmtui.content.model import FORMAT, Check, Lab, Step, Workshop
from mmtui.content.render import names_used, render
from mmtui.content.template_rules import parse, refusals
from mmtui.content.yamlload import LoadedYaml, Loc, YamlError, load_yaml
from mmtui.exitcodes import ExitCode, MmtuiError

WORKSHOP_FILE = "workshop.yaml"
LAB_FILE = "lab.yaml"

DEFAULTS_KEPT = 64
"""Sets of overrides whose defaults a LabContent keeps (a fleet's targets mostly share one)."""
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, order=True)
class Problem:
    path: Path
    line: int
    message: str

    def format(self, cwd: Path | None = None) -> str:
        return f"{display_path(self.path, cwd)}:{self.line}: {self.message}"


class ContentError(MmtuiError):
    """Lab content that cannot be used; carries every problem found, each with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__(
            "the lab content has problems (`mmtui lint` lists them all):\n"
            + "\n".join(p.format() for p in self.problems),
            ExitCode.USAGE,
        )


def display_path(path: Path, cwd: Path | None = None) -> str:
    base = (cwd or Path.cwd()).resolve()
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path)


def _packaged(folder: str) -> Path:
    """A data folder shipped beside the code: inside the wheel when installed (under
    `mmtui/_bundled`), at the repository's top otherwise."""
    package = Path(__file__).resolve().parent.parent
    bundled = package / "_bundled" / folder
    if bundled.is_dir():
        return bundled
    return package.parent / folder


def content_root() -> Path:
    """The folder holding workshop.yaml."""
    return _packaged("labs")


def templates_root() -> Path:
    """The folder holding the buildspec templates."""
    return _packaged("buildspec_templates")


def validate(loaded: LoadedYaml, model: type[M], problems: list[Problem]) -> M | None:
    try:
        return model.model_validate(loaded.data)
    except pydantic.ValidationError as exc:
        for error in exc.errors():
            loc: Loc = tuple(error["loc"])
            problems.append(Problem(loaded.path, loaded.line_of(loc), _describe(error, loc)))
        return None


def _describe(error: Any, loc: Loc) -> str:
    where = _dotted(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}" + (f" in {_dotted(loc[:-1])}" if len(loc) > 1 else "")
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" + (
            f" in {_dotted(loc[:-1])}" if len(loc) > 1 else ""
        )
    if kind == "string_too_short":
        return f"{where} is empty"
    if kind == "too_short":
        return f"{where} needs at least one entry"
    if kind == "string_pattern_mismatch":
        return f"{where}: {error['input']!r} is not a valid name here"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class LabContent:
    """A validated lab with its Markdown read, ready to render for a given set of names."""

    folder: Path
    source: LoadedYaml
    lab: Lab
    intro: str
    instructions: dict[str, str] = field(default_factory=dict)
    """Step id → the raw (unrendered) Markdown of its instructions."""
    _defaults: dict[tuple[tuple[str, str], ...], dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """`defaults` per set of overrides: every check asks for them, on every target of a fleet
    (rendering them each time was a tenth of a fleet's CPU)."""
    _placeholders: dict[tuple[tuple[str, str], ...], dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Per set of overrides, the placeholders that read parameters only, rendered: every
    check's `names` needs them (some twenty renders a check, again a tenth of a fleet's CPU)."""

    def step(self, step_id: str) -> Step:
        for step in self.lab.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def check(self, name: str) -> Check:
        """A check the lab declares, by name (a prerequisite or any step's)."""
        for check in self.lab.every_check():
            if check.name == name:
                return check
        raise KeyError(name)

    def defaults(self, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """Parameter values with the workshop defaults; a default may use earlier parameters,
        and uses their overridden values (`dashboard` follows a custom `primary_stack`)."""
        chosen = overrides or {}
        key = tuple(sorted(chosen.items()))
        found = self._defaults.get(key)
        if found is None:
            found = {}
            for name, parameter in self.lab.parameters.items():
                found[name] = chosen[name] if name in chosen else render(parameter.default, found)
            found.update(chosen)
            if len(self._defaults) < DEFAULTS_KEPT:
                self._defaults[key] = found
        return dict(found)

    def names(
        self, overrides: dict[str, str] | None = None, facts: dict[str, str] | None = None
    ) -> dict[str, str]:
        """All a text may use: parameters (overridden) and facts (placeholders if unknown)."""
        values = self.defaults(overrides)
        rendered = self._parameter_placeholders(overrides, values)
        known = facts or {}
        for name, fact in self.lab.facts.items():
            values[name] = known.get(name) or rendered.get(name) or render(fact.placeholder, values)
        return values

    def _parameter_placeholders(
        self, overrides: dict[str, str] | None, parameters: dict[str, str]
    ) -> dict[str, str]:
        """The placeholders that read no fact (a fact's value, known or not, would make them
        differ per call), rendered with `parameters` (the defaults of `overrides`)."""
        key = tuple(sorted((overrides or {}).items()))
        found = self._placeholders.get(key)
        if found is None:
            facts = set(self.lab.facts)
            found = {
                name: render(fact.placeholder, parameters)
                for name, fact in self.lab.facts.items()
                if not names_used(fact.placeholder) & facts
            }
            if len(self._placeholders) < DEFAULTS_KEPT:
                self._placeholders[key] = found
        return found


def inside(folder: Path, path: Path) -> bool:
    """Whether `path`, symlinks followed, stays within `folder` (`..`, absolute paths and
    links out do not): content names its files relative to itself and reads nothing else."""
    return path.resolve().is_relative_to(folder.resolve())


def read_markdown(folder: Path, relative: str, source: Path, line: int) -> str:
    path = folder / relative
    try:
        within = inside(folder, path)
    except (OSError, RuntimeError) as exc:  # a symlink loop, or a path the OS refuses
        raise ContentError([Problem(source, line, f"cannot read {relative!r}: {exc}")]) from None
    if not within:
        # `../../etc/passwd`, an absolute path or a symlink out: lab text comes from the lab.
        raise ContentError(
            [Problem(source, line, f"Markdown file {relative!r} is outside the lab folder")]
        )
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContentError(
            [Problem(source, line, f"Markdown file {relative!r} is missing")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError([Problem(source, line, f"cannot read {relative!r}: {exc}")]) from None


def template_problems(path: Path, line: int, text: str, *, markdown: bool) -> list[Problem]:
    """Syntax errors and refused constructs (see template_rules) in one text, without running
    it. In a Markdown file lines are counted from the text; a YAML field reports its own line."""
    if not any(mark in text for mark in ("{{", "{%", "{#")):
        # Plain text (most of the strings): Jinja's delimiters, all left at their defaults,
        # are the only way into template syntax. Parsing hundreds of these made every command
        # pay a tenth of a second.
        return []
    try:
        tree = parse(text)
    except jinja2.TemplateSyntaxError as exc:
        at = (exc.lineno or 1) if markdown else line
        return [Problem(path, at, f"template error: {exc.message}")]
    return [
        Problem(path, refusal.line if markdown else line, refusal.message)
        for refusal in refusals(tree)
    ]


def yaml_texts(value: object, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every string of validated YAML data with where it sits (a Jinja template, or a name)."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from yaml_texts(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from yaml_texts(item, (*loc, index))


def _unsafe_texts(loaded: LoadedYaml, model: BaseModel) -> list[Problem]:
    return [
        problem
        for loc, text in yaml_texts(model.model_dump())
        for problem in template_problems(loaded.path, loaded.line_of(loc), text, markdown=False)
    ]


class LabTextError(ContentError):
    """The lab's YAML is valid, but its Markdown or its templates are not: lint goes on to the
    checks that need only the YAML."""


class WorkshopTextError(ContentError):
    """workshop.yaml is valid, but a title or summary is not a usable template: lint goes on
    to the labs it lists, with the validated workshop carried here."""

    def __init__(self, problems: list[Problem], workshop: Workshop, loaded: LoadedYaml) -> None:
        super().__init__(problems)
        self.workshop = workshop
        self.loaded = loaded


def load_workshop(root: Path | None = None) -> tuple[Workshop, LoadedYaml]:
    path = (root or content_root()) / WORKSHOP_FILE
    problems: list[Problem] = []
    try:
        loaded = load_yaml(path)
    except YamlError as exc:
        raise ContentError([Problem(exc.path, exc.line, exc.message)]) from None
    workshop = validate(loaded, Workshop, problems)
    if workshop is None:
        raise ContentError(problems)
    problems = _unsafe_texts(loaded, workshop)
    if problems:
        raise WorkshopTextError(problems, workshop, loaded)
    return workshop, loaded


def load_lab(folder: Path) -> LabContent:
    """Load a lab folder, raising ContentError with every problem found in its YAML."""
    path = folder / LAB_FILE
    try:
        loaded = load_yaml(path)
    except YamlError as exc:
        raise ContentError([Problem(exc.path, exc.line, exc.message)]) from None
    format_problem = _format_problem(loaded)
    if format_problem is not None:
        # Another shape altogether: its every difference would bury the one that matters.
        raise ContentError([format_problem])
    problems: list[Problem] = []
    lab = validate(loaded, Lab, problems)
    if lab is None:
        raise ContentError(problems)
    missing: list[Problem] = []
    intro = ""
    instructions: dict[str, str] = {}
    try:
        intro = read_markdown(folder, lab.intro, path, loaded.line_of(("intro",)))
    except ContentError as exc:
        missing.extend(exc.problems)
    for index, step in enumerate(lab.steps):
        try:
            instructions[step.id] = read_markdown(
                folder, step.instructions, path, loaded.line_of(("steps", index, "instructions"))
            )
        except ContentError as exc:
            missing.extend(exc.problems)
    # Checked before anything renders them: parameter defaults and fact placeholders are
    # rendered as soon as names are asked for, by the guide and by lint alike.
    missing.extend(_unsafe_texts(loaded, lab))
    if intro:
        missing.extend(template_problems(folder / lab.intro, 1, intro, markdown=True))
    for step in lab.steps:
        if step.id in instructions:
            missing.extend(
                template_problems(
                    folder / step.instructions, 1, instructions[step.id], markdown=True
                )
            )
    if missing:
        raise LabTextError(missing)
    return LabContent(folder, loaded, lab, intro, instructions)


def _format_problem(loaded: LoadedYaml) -> Problem | None:
    """The file's `format` when it is not the one this mmtui reads (None when it is)."""
    data = loaded.data
    found = data.get("format") if isinstance(data, dict) else None
    if found == FORMAT and type(found) is int:
        return None
    schema = "labs/lab.schema.json"
    if found is None:
        return Problem(
            loaded.path,
            1,
            f"missing required key 'format': add `format: {FORMAT}` at the top; this mmtui "
            f"reads lab.yaml format {FORMAT} (its shape is in {schema})",
        )
    return Problem(
        loaded.path,
        loaded.line_of(("format",)),
        f"format {found!r} is not one this mmtui reads: it reads lab.yaml format {FORMAT} "
        f"(its shape is in {schema})",
    )


def load_guided_lab(lab_id: str, root: Path | None = None) -> LabContent:
    """The lab the guide walks, by its workshop id (`--lab`)."""
    root = root or content_root()
    workshop, loaded = load_workshop(root)
    for index, entry in enumerate(workshop.labs):
        if entry.id == lab_id:
            if entry.role != "guided" or entry.path is None:
                raise LookupError(
                    f"Lab {lab_id} ({entry.title}) is not guided by mmtui yet; "
                    f"guided: {', '.join(e.id for e in workshop.labs if e.role == 'guided')}"
                )
            if not inside(root, root / entry.path):
                line = loaded.line_of(("labs", index, "path"))
                raise ContentError(
                    [Problem(loaded.path, line, f"lab folder {entry.path!r} is outside {root}")]
                )
            return load_lab(root / entry.path)
    raise LookupError(
        f"there is no Lab {lab_id!r}; the workshop has labs "
        f"{', '.join(e.id for e in workshop.labs)}"
    )
