"""What a template in lab content may contain, decided from its parsed tree without running it.

Lab text only ever needs `{{ name }}`: a parameter or a fact dropped into prose or a command.
Anything richer (attribute access, calls, filters, literals, Jinja's built-in helpers such as
`lipsum`, whose `__globals__` reach the `os` module) is how a template escapes into Python, so
it is refused outright rather than judged case by case. The buildspec templates additionally set
a few string constants and include their shared body; only exactly that shape is allowed there.

Parsing builds a syntax tree and runs nothing, so `mmtui lint` can judge hostile content safely.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import jinja2
from jinja2 import nodes
from jinja2.defaults import DEFAULT_NAMESPACE

JINJA_GLOBALS = frozenset(DEFAULT_NAMESPACE)
"""range, dict, lipsum, cycler, joiner, namespace: helpers Jinja offers every template."""

SPECIAL_NAMES = frozenset({"self", "loop", "caller", "varargs", "kwargs", "super"})
"""Names Jinja gives a meaning of its own inside templates."""

PLAIN_ONLY = "lab text may only use {{ name }} with a parameter or fact"
WITH_STATEMENTS = (
    'a buildspec template may only use {{ name }}, {% set name = "text" %}, '
    '{% include "file.j2" %} and {% if name == "text" %} … {% else %} … {% endif %}'
)


@dataclass(frozen=True)
class Refusal:
    line: int
    """1-based line inside the template text."""
    message: str


@lru_cache(maxsize=1)
def _parser() -> jinja2.Environment:
    # Only its parser is used: same delimiters and options as the renderers, never compiled.
    return jinja2.Environment(autoescape=False, keep_trailing_newline=True)


def parse(text: str) -> nodes.Template:
    """The syntax tree of `text`; raises jinja2.TemplateSyntaxError. Runs nothing."""
    try:
        return _parser().parse(text)
    except RecursionError:
        # Jinja's parser recurses once per nesting level; hostile text can nest thousands deep.
        raise jinja2.TemplateSyntaxError("expressions are nested too deeply", 1) from None


def refusals(tree: nodes.Template, *, statements: bool = False) -> list[Refusal]:
    """Every construct of `tree` that content may not use, one per offending tag.

    `statements` allows what the buildspec templates need: `{% set NAME = "text" %}`,
    `{% include "file" %}` with a constant file name, and `{% if NAME == "text" %}` …
    `{% else %}` … `{% endif %}` choosing between texts by a value's constant.
    """
    return _body_refusals(tree.body, statements)


def _body_refusals(body: list[nodes.Node], statements: bool) -> list[Refusal]:
    rule = WITH_STATEMENTS if statements else PLAIN_ONLY
    found: list[Refusal] = []
    for node in body:
        if isinstance(node, nodes.Output):
            for part in node.nodes:
                if isinstance(part, nodes.TemplateData):
                    continue
                problem = _expression_problem(part, rule)
                if problem:
                    found.append(Refusal(part.lineno, problem))
        elif statements and isinstance(node, nodes.Assign):
            problem = _assign_problem(node)
            if problem:
                found.append(Refusal(node.lineno, problem))
        elif statements and isinstance(node, nodes.Include):
            problem = _include_problem(node)
            if problem:
                found.append(Refusal(node.lineno, problem))
        elif statements and isinstance(node, nodes.If):
            found.extend(_if_refusals(node))
        else:
            found.append(Refusal(node.lineno, f"{_tag(node)} is not allowed: {rule}"))
    return found


def _if_refusals(node: nodes.If) -> list[Refusal]:
    """`{% if NAME == "text" %}` (with `{% elif %}`s of the same shape and an `{% else %}`):
    a choice between texts that runs nothing but a comparison of a value with a constant."""
    found: list[Refusal] = []
    for branch in [node, *node.elif_]:
        if not _is_name_equals_text(branch.test):
            found.append(
                Refusal(
                    branch.lineno,
                    '{% if %} may only compare a name with a text: {% if name == "text" %}',
                )
            )
        else:
            assert isinstance(branch.test, nodes.Compare)
            name = branch.test.expr
            assert isinstance(name, nodes.Name)
            problem = _name_problem(name.name, WITH_STATEMENTS)
            if problem:
                found.append(Refusal(branch.lineno, problem))
        found.extend(_body_refusals(branch.body, True))
    found.extend(_body_refusals(node.else_, True))
    return found


def _is_name_equals_text(test: nodes.Node) -> bool:
    return (
        isinstance(test, nodes.Compare)
        and isinstance(test.expr, nodes.Name)
        and len(test.ops) == 1
        and test.ops[0].op in ("eq", "ne")
        and isinstance(test.ops[0].expr, nodes.Const)
        and isinstance(test.ops[0].expr.value, str)
    )


def _expression_problem(expr: nodes.Node, rule: str) -> str | None:
    """Why `{{ expr }}` is refused, or None for a plain name Jinja gives no meaning of its own."""
    if isinstance(expr, nodes.Name):
        problem = _name_problem(expr.name, rule)
        return f"{{{{ {expr.name} }}}}: {problem}" if problem else None
    return f"{{{{ … }}}} is not a plain name: it {', '.join(_features(expr))}; {rule}"


def _name_problem(name: str, rule: str = PLAIN_ONLY) -> str | None:
    if name.startswith("_"):
        return f"{name!r} starts with an underscore; {rule}"
    if name in JINJA_GLOBALS or name in SPECIAL_NAMES:
        return f"{name!r} is one of Jinja's own names, not a parameter or fact"
    return None


def _features(expr: nodes.Node) -> list[str]:
    """What an expression does, in words, each kind named once."""
    names: list[str] = []
    attributes: list[str] = []
    kinds: list[str] = []
    for node in _walk(expr):
        if isinstance(node, nodes.Name):
            if _name_problem(node.name):
                names.append(node.name)
        elif isinstance(node, nodes.Getattr):
            attributes.append(node.attr)
        elif isinstance(node, nodes.Getitem | nodes.Slice):
            kinds.append("indexes a value")
        elif isinstance(node, nodes.Call):
            kinds.append("calls a function")
        elif isinstance(node, nodes.Filter):
            kinds.append(f"applies the filter {node.name!r}")
        elif isinstance(node, nodes.Test):
            kinds.append(f"applies the test {node.name!r}")
        elif isinstance(node, nodes.Literal):
            kinds.append("holds a literal value")
        elif isinstance(node, nodes.BinExpr | nodes.UnaryExpr | nodes.Compare | nodes.Concat):
            kinds.append("computes a value")
        elif isinstance(node, nodes.CondExpr):
            kinds.append("chooses between values")
        elif not isinstance(node, nodes.Helper):
            kinds.append(f"uses {type(node).__name__}")
    said = [
        f"uses the hidden name {name!r}" if name.startswith("_") else f"uses Jinja's {name!r}"
        for name in dict.fromkeys(names)
    ]
    if attributes:
        # The walk meets a chain's last attribute first; reversed, it reads as written.
        said.append(f"reads attributes ({'.'.join(reversed(attributes))})")
    return said + list(dict.fromkeys(kinds))


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    # Iterative, so that a deeply nested expression cannot exhaust the stack.
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(current.iter_child_nodes())))


def _assign_problem(node: nodes.Assign) -> str | None:
    if not isinstance(node.target, nodes.Name) or not isinstance(node.node, nodes.Const):
        return '{% set %} may only give one name a constant text: {% set name = "text" %}'
    if not isinstance(node.node.value, str):
        return '{% set %} may only give one name a constant text: {% set name = "text" %}'
    return _name_problem(node.target.name, WITH_STATEMENTS)


def _include_problem(node: nodes.Include) -> str | None:
    template = node.template
    if not isinstance(template, nodes.Const) or not isinstance(template.value, str):
        return '{% include %} must name its file as a constant: {% include "file.j2" %}'
    if node.ignore_missing:
        return "{% include … ignore missing %} is not allowed: a missing file must be an error"
    return None


def _tag(node: nodes.Node) -> str:
    names: dict[type[nodes.Node], str] = {
        nodes.Assign: "{% set %}",
        nodes.AssignBlock: "{% set %}…{% endset %}",
        nodes.For: "{% for %}",
        nodes.If: "{% if %}",
        nodes.Macro: "{% macro %}",
        nodes.CallBlock: "{% call %}",
        nodes.FilterBlock: "{% filter %}",
        nodes.With: "{% with %}",
        nodes.Include: "{% include %}",
        nodes.Import: "{% import %}",
        nodes.FromImport: "{% from … import %}",
        nodes.Extends: "{% extends %}",
        nodes.Block: "{% block %}",
        nodes.ExprStmt: "{% do %}",
        nodes.Scope: "a scope",
    }
    return names.get(type(node), f"{{% {type(node).__name__.lower()} %}}")
