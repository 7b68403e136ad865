"""`mmtui lint`: every problem in lab content, each as `file:line: message`.

The loader stops at what makes content unusable; the linter goes on to what makes it wrong:
duplicate ids, names nothing registers, templates that read undeclared names, region or
stack names typed into prose instead of taken from the parameters, and by-hand commands that
bash cannot parse.

What the labs' code registers is handed in (`Known`, per lab id) by the command line, which
knows the installed labs: content imports neither the engine's registries nor any lab.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from jinja2 import meta, nodes

from mmtui.content.loader import (
    LAB_FILE,
    WORKSHOP_FILE,
    ContentError,
    LabTextError,
    Problem,
    WorkshopTextError,
    content_root,
    inside,
    load_lab,
    load_workshop,
    template_problems,
    templates_root,
    yaml_texts,
)
from mmtui.content.model import Lab
from mmtui.content.render import names_used, render
from mmtui.content.shell_lint import shell_problems
from mmtui.content.template_rules import parse, refusals
from mmtui.content.yamlload import LoadedYaml, Loc


@dataclass(frozen=True)
class Known:
    """What one lab's code registers: its check names, and its task names with their kind."""

    checks: frozenset[str] = frozenset()
    tasks: Mapping[str, str] = field(default_factory=dict)
    """Task name → "solve" or "reset"."""

    def names(self, what: str) -> list[str]:
        return sorted(self.checks if what == "check" else self.tasks)


class _Run:
    """One lint run: what the installed labs register, and the lab folders already linted."""

    def __init__(self, known: Mapping[str, Known]) -> None:
        self.known = known
        self.seen_labs: set[Path] = set()

    def every_check(self) -> Known:
        """The checks of every installed lab (workshop.yaml's prerequisite labs name them)."""
        return Known(frozenset().union(*(k.checks for k in self.known.values())))


def lint_paths(paths: Iterable[Path], known: Mapping[str, Known]) -> list[Problem]:
    """Lint each path: a content root (with workshop.yaml), a lab folder, or one of the files.
    `known`: installed lab id → what that lab's code registers."""
    run = _Run(known)
    problems: list[Problem] = []
    for path in paths:
        problems.extend(_lint_path(path, run))
    return sorted(set(problems))


def lint_default(known: Mapping[str, Known]) -> list[Problem]:
    """The content mmtui ships: the labs and the buildspec templates that labs render."""
    return lint_paths([content_root(), templates_root()], known)


def _lint_path(path: Path, run: _Run) -> Iterator[Problem]:
    if path.is_file():
        if path.name == WORKSHOP_FILE:
            yield from _lint_workshop(path.parent, run)
        elif path.name == LAB_FILE:
            yield from _lint_lab(path.parent, run)
        elif path.suffix == TEMPLATE_SUFFIX:
            yield from lint_templates(_templates_folder(path), only=path)
        else:
            yield Problem(path, 1, f"not lab content: expected {WORKSHOP_FILE} or {LAB_FILE}")
    elif (path / WORKSHOP_FILE).is_file():
        yield from _lint_workshop(path, run)
    elif (path / LAB_FILE).is_file():
        yield from _lint_lab(path, run)
    elif path.is_dir() and any(path.rglob(f"*{TEMPLATE_SUFFIX}")):
        yield from lint_templates(path)
    elif path.exists():
        yield Problem(path, 1, f"no {WORKSHOP_FILE} or {LAB_FILE} in this folder")
    else:
        yield Problem(path, 1, "no such file or folder")


def _lint_workshop(root: Path, run: _Run) -> Iterator[Problem]:
    try:
        workshop, loaded = load_workshop(root)
    except WorkshopTextError as exc:
        yield from exc.problems  # and the labs are still worth linting
        workshop, loaded = exc.workshop, exc.loaded
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
            if name not in run.every_check().checks:
                yield _unregistered(
                    loaded, ("labs", index, "checks", check_index), "check", name, run.every_check()
                )
        if entry.role == "guided" and entry.path is None:
            yield Problem(loaded.path, line, f"lab {entry.id} is guided but has no path")
            continue
        if entry.path is None:
            continue
        lab_dir = root / entry.path
        path_line = loaded.line_of(("labs", index, "path"))
        if not inside(root, lab_dir):
            yield Problem(loaded.path, path_line, f"lab folder {entry.path!r} is outside {root}")
            continue
        if not (lab_dir / LAB_FILE).is_file():
            yield Problem(loaded.path, path_line, f"lab folder {entry.path!r} has no {LAB_FILE}")
            continue
        lab_problems = list(_lint_lab(lab_dir, run))
        yield from lab_problems
        if not lab_problems:
            lab = load_lab(lab_dir).lab
            if lab.id != entry.id:
                yield Problem(
                    loaded.path,
                    path_line,
                    f"lab {entry.id} points at {entry.path!r}, whose lab.yaml says id {lab.id!r}",
                )


def _lint_lab(folder: Path, run: _Run) -> Iterator[Problem]:
    if folder.resolve() in run.seen_labs:
        return
    run.seen_labs.add(folder.resolve())
    try:
        content = load_lab(folder)
    except LabTextError as exc:
        # The YAML is valid, so what needs only the YAML can still be checked. Nothing is
        # rendered: the texts may be the very templates that were just refused.
        yield from exc.problems
        yield from _lint_lab_model_only(folder, run)
        return
    except ContentError as exc:
        yield from exc.problems  # schema errors hide the rest
        return
    yield from _lint_model(content.source, content.lab, run)
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
    yield from shell_problems(content.source, content.lab, values)


def _lint_lab_model_only(folder: Path, run: _Run) -> Iterator[Problem]:
    from mmtui.content.loader import validate
    from mmtui.content.yamlload import load_yaml

    loaded = load_yaml(folder / LAB_FILE)
    lab = validate(loaded, Lab, [])
    if lab is not None:
        yield from _lint_model(loaded, lab, run)


def _lint_model(loaded: LoadedYaml, lab: Lab, run: _Run) -> Iterator[Problem]:
    known = run.known.get(lab.id)
    if known is None:
        installed = ", ".join(sorted(run.known)) or "none"
        yield Problem(
            loaded.path,
            loaded.line_of(("id",)),
            f"no lab of id {lab.id!r} is installed, so nothing registers its checks and tasks "
            f"(installed: {installed}; see mmtui/labs/__init__.py)",
        )
        known = Known()
    yield from _duplicates(loaded, [s.id for s in lab.steps], ("steps",), "id", "step id")
    numbers = [s.number for s in lab.steps if s.number is not None]
    if numbers != list(range(1, len(numbers) + 1)):
        yield Problem(
            loaded.path,
            loaded.line_of(("steps",)),
            f"steps must be numbered 1, 2, 3… in order; found {numbers}",
        )
    declared: list[tuple[str, Loc]] = [
        (check.name, ("prerequisites", index, "name"))
        for index, check in enumerate(lab.prerequisites)
    ]
    declared += [
        (check.name, ("steps", index, "checks", check_index, "name"))
        for index, step in enumerate(lab.steps)
        for check_index, check in enumerate(step.checks)
    ]
    seen: set[str] = set()
    for name, where in declared:
        if name in seen:
            yield Problem(
                loaded.path, loaded.line_of(where), f"check {name!r} is declared twice in this lab"
            )
        seen.add(name)
        if name not in known.checks:
            yield _unregistered(loaded, where, "check", name, known)
    if lab.id in run.known:
        # The other way round: Python judging a check that no content describes would never
        # run, and would carry no title, region or command to show.
        for name in sorted(known.checks - seen):
            yield Problem(
                loaded.path,
                loaded.line_of(("steps",)),
                f"lab {lab.id} implements the check {name!r}, which no entry of this file declares",
            )
    for index, step in enumerate(lab.steps):
        for kind in ("solve", "reset"):
            name = getattr(step.automated, kind)
            loc: Loc = ("steps", index, "automated", kind)
            if name is None:
                continue
            if name not in known.tasks:
                yield _unregistered(loaded, loc, "task", name, known)
            elif known.tasks[name] != kind:
                yield Problem(
                    loaded.path,
                    loaded.line_of(loc),
                    f"task {name!r} is a {known.tasks[name]} task, not a {kind} task",
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


def _unregistered(loaded: LoadedYaml, loc: Loc, what: str, name: str, registered: Known) -> Problem:
    close = [k for k in registered.names(what) if k.split(".")[0] == name.split(".")[0]]
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
    for loc, text in yaml_texts(lab.model_dump()):
        if loc[0] == "parameters" and loc[-1] == "default":
            continue
        if loc[-1] in ("instructions", "intro", "solve", "reset") or "checks" in loc:
            continue
        if loc[0] == "prerequisites":
            continue
        yield from _template_problems(loaded.path, loaded.line_of(loc), text, values, defaults)


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
    refused = template_problems(path, line, text, markdown=markdown)
    if refused:
        yield from refused
        return
    used = names_used(text)
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


TEMPLATE_SUFFIX = ".j2"


def _templates_folder(template: Path) -> Path:
    """The folder a template's includes are relative to: the highest of the folders above it
    that hold templates themselves (core/x.j2 includes _shared.j2 from the folder above)."""
    folder = template.parent
    while folder.parent != folder and any(folder.parent.glob(f"*{TEMPLATE_SUFFIX}")):
        folder = folder.parent
    return folder


def lint_templates(folder: Path, only: Path | None = None) -> list[Problem]:
    """The buildspec templates under `folder` (or just `only`), judged from their syntax trees.

    They may set constant texts and include each other (see template_rules); every other name
    must be one of the values the buildspec renderer passes in or one that a template sets.
    """
    problems = _template_folder_problems(folder)
    return [p for p in problems if only is None or p.path == only]


def _template_folder_problems(folder: Path) -> list[Problem]:
    from mmtui.gitops.buildspecs import BuildspecValues

    problems: list[Problem] = []
    trees: dict[Path, nodes.Template] = {}
    for path in sorted(folder.rglob(f"*{TEMPLATE_SUFFIX}")):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path, 1, f"cannot read the template: {exc}"))
            continue
        try:
            tree = parse(text)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(Problem(path, exc.lineno or 1, f"template error: {exc.message}"))
            continue
        found = refusals(tree, statements=True)
        problems.extend(Problem(path, refusal.line, refusal.message) for refusal in found)
        if not found:
            trees[path] = tree
    values = sorted(field.name for field in dataclasses.fields(BuildspecValues))
    declared = set(values)
    for tree in trees.values():
        for assign in tree.find_all(nodes.Assign):
            if isinstance(assign, nodes.Assign) and isinstance(assign.target, nodes.Name):
                declared.add(assign.target.name)
    root = folder.resolve()
    for path, tree in trees.items():
        for name in sorted(meta.find_undeclared_variables(tree) - declared):
            line = next(
                n.lineno for n in tree.find_all(nodes.Name) if getattr(n, "name", None) == name
            )
            problems.append(
                Problem(
                    path,
                    line,
                    f"template uses {{{{ {name} }}}}, which is neither a buildspec value "
                    f"({', '.join(values)}) nor set by a template",
                )
            )
        for include in tree.find_all(nodes.Include):
            if not isinstance(include, nodes.Include) or not isinstance(
                include.template, nodes.Const
            ):
                continue  # refusals() let only a constant file name through
            target = str(include.template.value)
            included = (root / target).resolve()
            if not included.is_relative_to(root):
                problems.append(
                    Problem(path, include.lineno, f"{target!r} is outside the templates folder")
                )
            elif not included.is_file():
                problems.append(Problem(path, include.lineno, f"{target!r} does not exist"))
    return problems
