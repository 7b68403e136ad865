"""Filling lab text with the attendee's own names.

Text is a Jinja2 template. Undefined names are errors (StrictUndefined), so a typo in content
fails lint instead of showing an empty gap to an attendee. Autoescape is off: the output is
Markdown and shell commands, not HTML.

Content is data, not code: every template is checked against `template_rules` before it is
compiled (so `{{ lipsum.__globals__.os.popen(...) }}` never runs), and rendering happens in
Jinja's immutable sandbox with no global helpers, a second wall should a rule ever be missed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mmtui.content.template_rules import parse, refusals
from mmtui.exitcodes import ExitCode, MmtuiError


class TemplateRefused(MmtuiError):
    """Lab text that uses more than a template may (or that the sandbox stopped); exit 2."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: lab text refused: {message}", ExitCode.USAGE)
        self.where = where
        self.detail = message


class ContentEnvironment(ImmutableSandboxedEnvironment):
    """A sandbox that also refuses, at compile time, any construct outside `template_rules`.

    Checking in `_parse` covers every way a template gets compiled (`from_string`,
    `get_template`, includes), so no caller can forget it. It is Jinja's private hook, the
    one place every source passes through; the tests exercise it through both public ways.
    """

    def __init__(self, *, statements: bool = False, **options: Any) -> None:
        super().__init__(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            **options,
        )
        self.statements = statements
        # Nothing to reach for: lipsum, cycler, joiner, namespace, range and dict are gone.
        self.globals.clear()

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        try:
            tree = super()._parse(source, name, filename)
        except RecursionError:
            raise jinja2.TemplateSyntaxError(
                "expressions are nested too deeply", 1, name, filename
            ) from None
        found = refusals(tree, statements=self.statements)
        if found:
            first = found[0]
            raise SecurityError(f"line {first.line}: {first.message}")
        return tree


@lru_cache(maxsize=1)
def environment() -> ContentEnvironment:
    return ContentEnvironment()


@lru_cache(maxsize=1024)
def template(text: str) -> jinja2.Template:
    """`text` compiled once: compiling is most of what rendering costs, and the same texts
    (parameter defaults, step instructions) are rendered again and again."""
    return environment().from_string(text)


def render(text: str, values: Mapping[str, str], where: str = "text") -> str:
    """`text` filled with `values`; TemplateRefused (exit 2) for anything the rules or the
    sandbox stop. `where` names the text's origin in that message (a file, a field)."""
    try:
        return template(text).render(**values)
    except SecurityError as exc:
        raise TemplateRefused(where, str(exc)) from None


@lru_cache(maxsize=1024)
def names_used(text: str) -> frozenset[str]:
    """The variables a template reads; raises jinja2.TemplateSyntaxError on bad syntax.
    Remembered per text: a fleet asks it of the same placeholders for every target (parsing
    them anew was about a twentieth of a room's CPU in the fleet)."""
    return frozenset(meta.find_undeclared_variables(parse(text)))
