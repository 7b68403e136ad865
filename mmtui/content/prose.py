"""Lab prose as paragraphs: content is written with hard line breaks (YAML `|` blocks) that
only fit the editor's width; a screen wraps text to its own width, so the breaks go."""

from __future__ import annotations

import re

_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")


def reflow(text: str) -> str:
    """`text` with each paragraph on one line; blank lines between paragraphs and list items
    (lines starting with `- `, `* ` or `1. `) each on their own line, as written."""
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines: list[str] = []
        for line in block.split("\n"):
            if lines and not _ITEM.match(line):
                lines[-1] = f"{lines[-1]} {line.strip()}"
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)
