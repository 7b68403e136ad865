"""moto writes its XML answers (STS, CloudFormation, IAM, ELB: the query protocol) as strings
built directly, the same bytes as before, not through xmltodict and a SAX generator.

Not a difference from AWS but a cost: moto builds a nested dictionary of the answer, then
xmltodict walks it and writes it through xml.sax's XMLGenerator, a few Python calls per element
and character run. That was four tenths of a DescribeStacks answer's time, spent under the
sandbox lock while a room's fifty attendees asked for their stacks at once (issue 15).

The writer below does what xmltodict 1.0 and XMLGenerator do for what moto hands them (no
pretty printing, no full document, empty elements written short): element and attribute names
as given, text escaped for &, < and >, attributes quoted as `quoteattr` quotes them, None as an
empty element, booleans as true/false, lists as repeated elements, empty lists left out, text
after an element's children. Anything else (comments, a table of namespaces under `@xmlns`, a
name xmltodict would refuse or rewrite, pretty printing) goes to xmltodict as before.
tests/sandbox/test_moto_repairs.py compares both writers on the edge cases of those rules and
on every XML answer of a lab's check round.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "xml_body"

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
"""Names written as they are: what xmltodict neither refuses nor rewrites (no namespaces are
given to it, so a colon would be kept too, but none of moto's names has one)."""


class Unusual(Exception):
    """Something the direct writer leaves to xmltodict."""


def install() -> None:
    from moto.core import serialize

    original = serialize.BaseXMLSerializer._serialize_body

    @functools.wraps(original)
    def _serialize_body(self: Any, body: Any) -> str:
        if self.pretty_print or not isinstance(body, dict):
            return original(self, body)
        try:
            return written(body)
        except Unusual:
            return original(self, body)

    patch(REPAIR, serialize.BaseXMLSerializer, "_serialize_body", _serialize_body)


def written(body: dict[Any, Any]) -> str:
    """`body` as xmltodict.unparse(body, full_document=False, short_empty_elements=True)
    writes it; raises Unusual for what only xmltodict should write."""
    out: list[str] = []
    for key, value in body.items():
        _emit(key, value, out.append)
    return "".join(out)


def _text(value: Any) -> str:
    """A value as xmltodict turns it into text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _name(key: Any) -> str:
    if type(key) is not str or key == "#comment" or not _PLAIN_NAME.fullmatch(key):
        raise Unusual
    return key


def _emit(key: Any, value: Any, write: Callable[[str], None]) -> None:
    name = _name(key)
    if not hasattr(value, "__iter__") or isinstance(
        value, (str, bytes, bytearray, memoryview, dict)
    ):
        value = (value,)
    for item in value:
        if item is None:
            item = {}
        elif not isinstance(item, (dict, str)):
            item = _text(item)
        if isinstance(item, str):
            # The common case: an element holding only text.
            write(f"<{name}>{escape(item)}</{name}>" if item else f"<{name}/>")
            continue
        text: str | None = None
        attributes: list[str] = []
        inner: list[str] = []
        for child, child_value in item.items():
            if child == "#text":
                text = None if child_value is None else _text(child_value)
            elif isinstance(child, str) and child.startswith("@"):
                if child == "@xmlns" and isinstance(child_value, dict):
                    raise Unusual  # a table of namespaces
                attribute = _name(child[1:])
                shown = "" if child_value is None else _text(child_value)
                attributes.append(f" {attribute}={quoteattr(shown)}")
            elif isinstance(child_value, list) and not child_value:
                continue  # xmltodict leaves empty lists out
            else:
                _emit(child, child_value, inner.append)
        if text:
            inner.append(escape(text))
        head = f"<{name}{''.join(attributes)}"
        if inner:
            write(f"{head}>{''.join(inner)}</{name}>")
        else:
            write(f"{head}/>")
