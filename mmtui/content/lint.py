"""`mmtui lint`: every problem in lab content, each as `file:line: message`.

The loader stops at what makes content unusable; the linter goes on to what makes it wrong:
duplicate ids, names nothing registers, templates that read undeclared names, and region or
stack names typed into prose instead of taken from the parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import jinja2

from mmtui.content.loader import (
    LAB_FILE,
    WORKSHOP_FILE,
    ContentError,
    Problem,
    content_root,
    load_lab,
    load_workshop,
)
from mmtui.content.model import Lab
from mmtui.content.render import names_used, render
from mmtui.content.yamlload import LoadedYaml, Loc
from mmtui.engine.registry import CHECKS, TASKS, load_catalogues


def lint_paths(paths: Iterable[Path]) -> list[Problem]:
    """Lint each path: a content root (with workshop.yaml), a lab folder, or one of the files."""
    load_catalogues()
    problems: list[Problem] = []
    seen_labs: set[Path] = set()
    for path in paths:
        problems.extend(_lint_path(path, seen_labs))
    return sorted(set(problems))


def lint_default() -> list[Problem]:
    return lint_paths([content_root()])


def _lint_path(path: Path, seen_labs: set[Path]) -> Iterator[Problem]:
    if path.is_file():
        if path.name == WORKSHOP_FILE:
            yield from _lint_workshop(path.parent, seen_labs)
        elif path.name == LAB_FILE:
            yield from _lint_lab(path.parent, seen_labs)
        else:
            yield Problem(path, 1, f"not lab content: expected {WORKSHOP_FILE} or {LAB_FILE}")
    elif (path / WORKSHOP_FILE).is_file():
        yield from _lint_workshop(path, seen_labs)
    elif (path / LAB_FILE).is_file():
        yield from _lint_lab(path, seen_labs)
    elif path.exists():
        yield Problem(path, 1, f"no {WORKSHOP_FILE} or {LAB_FILE} in this folder")
    else:
        yield Problem(path, 1, "no such file or folder")


def _lint_workshop(root: Path, seen_labs: set[Path]) -> Iterator[Problem]:
    try:
        workshop, loaded = load_workshop(root)
    except ContentError as exc:
        yield from exc.problems
        return
    yield from _duplicates(loaded, [lab.id for lab in workshop.labs], ("labs",), "id", "lab id")
    for index, entry in enumerate(workshop.labs):
        line = loaded.line_of(("labs", index))
        for field_name in ("title", "summary"):
            yield from _template_problems(
                loaded.path,
                loaded.line_of(("labs", index, field_name)),
                getattr(entry, field_name),
                {},
                {},
            )
        for check_index, name in enumerate(entry.checks):
            if name not in CHECKS:
                yield _unregistered(loaded, ("labs", index, "checks", check_index), "check", name)
        if entry.role == "guided" and entry.path is None:
            yield Problem(loaded.path, line, f"lab {entry.id} is guided but has no path")
            continue
        if entry.path is None:
            continue
        lab_dir = root / entry.path
        path_line = loaded.line_of(("labs", index, "path"))
        if not (lab_dir / LAB_FILE).is_file():
            yield Problem(loaded.path, path_line, f"lab folder {entry.path!r} has no {LAB_FILE}")
            continue
        lab_problems = list(_lint_lab(lab_dir, seen_labs))
        yield from lab_problems
        if not lab_problems:
            lab = load_lab(lab_dir).lab
            if lab.id != entry.id:
                yield Problem(
                    loaded.path,
                    path_line,
                    f"lab {entry.id} points at {entry.path!r}, whose lab.yaml says id {lab.id!r}",
                )


def _lint_lab(folder: Path, seen_labs: set[Path]) -> Iterator[Problem]:
    if folder.resolve() in seen_labs:
        return
    seen_labs.add(folder.resolve())
    try:
        content = load_lab(folder)
    except ContentError as exc:
        yield from exc.problems
        # Schema errors hide the rest; a missing Markdown file does not, so keep linting then.
        if any("Markdown file" not in p.message for p in exc.problems):
            return
        content = None
    if content is None:
        yield from _lint_lab_model_only(folder)
        return
    yield from _lint_model(content.source, content.lab)
    values = content.names()
    defaults = _literal_defaults(content.source, content.lab)
    yield from _template_problems(
        folder / content.lab.intro, 1, content.intro, values, defaults, markdown=True
    )
    for step in content.lab.steps:
        yield from _template_problems(
            folder / step.instructions,
            1,
            content.instructions[step.id],
            values,
            defaults,
            markdown=True,
        )
    yield from _lint_texts(content.source, content.lab, values, defaults)


def _lint_lab_model_only(folder: Path) -> Iterator[Problem]:
    from mmtui.content.loader import validate
    from mmtui.content.yamlload import load_yaml

    loaded = load_yaml(folder / LAB_FILE)
    lab = validate(loaded, Lab, [])
    if lab is not None:
        yield from _lint_model(loaded, lab)


def _lint_model(loaded: LoadedYaml, lab: Lab) -> Iterator[Problem]:
    yield from _duplicates(loaded, [s.id for s in lab.steps], ("steps",), "id", "step id")
    numbers = [s.number for s in lab.steps if s.number is not None]
    if numbers != list(range(1, len(numbers) + 1)):
        yield Problem(
            loaded.path,
            loaded.line_of(("steps",)),
            f"steps must be numbered 1, 2, 3… in order; found {numbers}",
        )
    for name_index, name in enumerate(lab.prerequisites):
        if name not in CHECKS:
            yield _unregistered(loaded, ("prerequisites", name_index), "check", name)
    for index, step in enumerate(lab.steps):
        for check_index, name in enumerate(step.checks):
            if name not in CHECKS:
                yield _unregistered(loaded, ("steps", index, "checks", check_index), "check", name)
        for name in step.check_hints:
            if name not in step.checks:
                yield Problem(
                    loaded.path,
                    loaded.line_of(("steps", index, "check_hints", name)),
                    f"check_hints names {name!r}, which is not one of this step's checks",
                )
        for kind in ("solve", "reset"):
            name = getattr(step.automated, kind)
            loc: Loc = ("steps", index, "automated", kind)
            if name is None:
                continue
            if name not in TASKS:
                yield _unregistered(loaded, loc, "task", name)
            elif TASKS.get(name).kind != kind:
                yield Problem(
                    loaded.path,
                    loaded.line_of(loc),
                    f"task {name!r} is a {TASKS.get(name).kind} task, not a {kind} task",
                )
    yield from _requires_problems(loaded, lab)
    for name in lab.facts:
        if name in lab.parameters:
            yield Problem(
                loaded.path,
                loaded.line_of(("facts", name)),
                f"{name!r} is declared both as a parameter and as a fact",
            )


def _requires_problems(loaded: LoadedYaml, lab: Lab) -> Iterator[Problem]:
    """`requires:` names earlier steps of the same lab, never the step itself or a later one
    (a step can only build on what the attendee was asked to do before it)."""
    earlier: set[str] = set()
    ids = [step.id for step in lab.steps]
    for index, step in enumerate(lab.steps):
        for required_index, required in enumerate(step.requires):
            if required in earlier:
                continue
            if required not in ids:
                why = f"is not a step of this lab (steps: {', '.join(ids)})"
            else:
                why = "is this step or a later one; a step requires only earlier steps"
            yield Problem(
                loaded.path,
                loaded.line_of(("steps", index, "requires", required_index)),
                f"requires {required!r}, which {why}",
            )
        earlier.add(step.id)


def _unregistered(loaded: LoadedYaml, loc: Loc, what: str, name: str) -> Problem:
    known = CHECKS.names() if what == "check" else TASKS.names()
    close = [k for k in known if k.split(".")[0] == name.split(".")[0]]
    suggestion = f" (known {what}s here: {', '.join(close)})" if close else ""
    return Problem(
        loaded.path, loaded.line_of(loc), f"no {what} is registered as {name!r}{suggestion}"
    )


def _duplicates(
    loaded: LoadedYaml, values: list[str], list_loc: Loc, key: str, what: str
) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, value in enumerate(values):
        line = loaded.line_of((*list_loc, index, key))
        if value in first:
            yield Problem(
                loaded.path, line, f"duplicate {what} {value!r} (first used on line {first[value]})"
            )
        else:
            first[value] = line


def _literal_defaults(loaded: LoadedYaml, lab: Lab) -> dict[str, str]:
    """Parameter defaults that prose must never spell out (it must use the parameter)."""
    values: dict[str, str] = {}
    for name, parameter in lab.parameters.items():
        values[name] = render(parameter.default, values)
    return {name: value for name, value in values.items() if len(value) >= 6}


def _lint_texts(
    loaded: LoadedYaml, lab: Lab, values: dict[str, str], defaults: dict[str, str]
) -> Iterator[Problem]:
    """Every text field of lab.yaml except the parameter defaults themselves."""
    for loc, text in _strings(lab.model_dump(), ()):
        if loc[0] == "parameters" and loc[-1] == "default":
            continue
        if loc[-1] in ("instructions", "intro", "solve", "reset") or "checks" in loc:
            continue
        if loc[0] == "prerequisites":
            continue
        yield from _template_problems(loaded.path, loaded.line_of(loc), text, values, defaults)


def _strings(value: object, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*loc, index))


_JINJA_EXPR = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def _template_problems(
    path: Path,
    line: int,
    text: str,
    values: dict[str, str],
    defaults: dict[str, str],
    *,
    markdown: bool = False,
) -> Iterator[Problem]:
    """Syntax, undeclared names, and hard-coded defaults in one template.

    For a Markdown file `line` is 1 and positions inside the file are counted; for a YAML text
    field the problem is reported on the field's line.
    """
    try:
        used = names_used(text)
    except jinja2.TemplateSyntaxError as exc:
        at = (exc.lineno or 1) if markdown else line
        yield Problem(path, at, f"template error: {exc.message}")
        return
    for name in sorted(used - set(values)):
        at = _line_in(text, "{{", name) if markdown else line
        yield Problem(
            path, at, f"text uses {{{{ {name} }}}}, which is neither a parameter nor a fact"
        )
    prose = _JINJA_EXPR.sub(lambda m: " " * len(m.group(0)), text)
    for name, literal in defaults.items():
        for match in re.finditer(rf"(?<![\w-]){re.escape(literal)}(?![\w-])", prose):
            at = line + prose.count("\n", 0, match.start()) if markdown else line
            yield Problem(
                path,
                at,
                f"{literal!r} is typed out; write {{{{ {name} }}}} so it follows the "
                "attendee's choice",
            )


def _line_in(text: str, opener: str, name: str) -> int:
    match = re.search(re.escape(opener) + r"[^}]*\b" + re.escape(name) + r"\b", text)
    return text.count("\n", 0, match.start()) + 1 if match else 1
