"""Filling lab text with the attendee's own names.

Text is a Jinja2 template. Undefined names are errors (StrictUndefined), so a typo in content
fails lint instead of showing an empty gap to an attendee. Autoescape is off: the output is
Markdown and shell commands, not HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import jinja2
from jinja2 import meta


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1024)
def template(text: str) -> jinja2.Template:
    """`text` compiled once: compiling is most of what rendering costs, and the same texts
    (parameter defaults, step instructions) are rendered again and again."""
    return environment().from_string(text)


def render(text: str, values: Mapping[str, str]) -> str:
    return template(text).render(**values)


def names_used(text: str) -> set[str]:
    """The variables a template reads; raises jinja2.TemplateSyntaxError on bad syntax."""
    return meta.find_undeclared_variables(environment().parse(text))
