"""YAML loading that remembers where every value came from, so errors can say `file:line`.

PyYAML throws the marks away once it builds Python objects; composing the node tree first keeps
them. The loader returns the data together with a map from each value's path (the keys and list
indexes leading to it, as pydantic reports them in `loc`) to its 1-based line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it: the content is read on every command, and the
# pure-Python scanner takes a third of a second for Lab 3's lab.yaml. Both keep line marks.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlError(Exception):
    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True)
class LoadedYaml:
    path: Path
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int:
        """The line of the deepest known ancestor of `loc` (pydantic locs can name missing keys)."""
        for cut in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:cut]))
            if line is not None:
                return line
        return 1


def load_yaml(path: Path) -> LoadedYaml:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlError(path, 1, f"cannot read the file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise YamlError(path, 1, f"the file is not UTF-8 text ({exc.reason})") from exc
    try:
        _screen(path, text)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        if "maximum nesting depth" in str(exc.problem):
            # libyaml's scanner reads flow collections ahead of the events _screen counts, and
            # stops at its own limit first: the same refusal, in our words.
            raise YamlError(path, line, f"nested more than {MAX_DEPTH} levels deep") from None
        raise YamlError(path, line, f"invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise YamlError(path, 1, f"invalid YAML: {exc}") from exc
    lines: dict[Loc, int] = {}
    constructor = yaml.constructor.SafeConstructor()
    data = _build(path, root, (), lines, constructor) if root is not None else None
    return LoadedYaml(path, data, lines)


MAX_DEPTH = 64
"""Nesting deeper than any content or targets file needs; deeper input is refused before the
(recursive) composer and builder see it."""


def _screen(path: Path, text: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, which costs time and
    memory in proportion to the text: an alias bomb (`a1: [*a0, *a0, …]` nine levels up) is
    a few hundred bytes that expand to billions of values, and our files never need one."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent):
            raise YamlError(
                path, line, f"YAML aliases (*{event.anchor}) are not allowed; write the value out"
            )
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            raise YamlError(
                path, line, f"YAML anchors (&{event.anchor}) are not allowed; write the value out"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlError(path, line, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _build(
    path: Path,
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    constructor: yaml.constructor.SafeConstructor,
) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(path, key_node, constructor)  # scalar keys only in our files
            if not isinstance(key, str | int):
                raise YamlError(path, key_node.start_mark.line + 1, "keys must be plain words")
            if key in result:
                raise YamlError(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _build(path, value_node, (*loc, key), lines, constructor)
            # A missing-or-wrong value is best reported on its key's line.
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(path, item, (*loc, i), lines, constructor) for i, item in enumerate(node.value)
        ]
    return _scalar(path, node, constructor)


def _scalar(path: Path, node: yaml.Node, constructor: yaml.constructor.SafeConstructor) -> Any:
    """A plain value as YAML's safe loader reads it; an unknown tag (`!foo x`) is the file's
    problem, reported on its line."""
    if not isinstance(node, yaml.ScalarNode):
        return None  # a list or mapping used as a key: the caller says keys must be words
    try:
        return constructor.construct_object(node)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(path, node.start_mark.line + 1, f"invalid YAML: {problem}") from None
