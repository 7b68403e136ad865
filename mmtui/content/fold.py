"""Code folded to a width so that what is shown can still be run or read back as it is.

A guide shows commands that are often longer than the terminal (a CloudFormation deploy is over
200 characters), and a line cut at the right edge hides exactly the part that matters. Folding
keeps the meaning of what is shown:

- shell: a break at a space outside quotes ends the line with ` \\` and indents the rest (the
  shell joins them again). A word longer than the width is broken where the shell removes a
  backslash-newline wherever it stands (outside single quotes: the rest starts at column 0, so
  no indentation enters the word); inside single quotes the quote is closed and reopened
  around the break (`'ab'\\` + `'cd'` is `abcd`). A comment continues as another comment.
  Here-documents are not folded this way: their bodies are taken as they stand.
- YAML and JSON: breaks at spaces where the document still loads to the same value (checked by
  loading both); YAML's plain scalars fold a line break into a space.
- anything else, or a fold that would change the meaning: a soft wrap whose continuation lines
  start with a visible `↪ `, so nobody mistakes it for the real text.

The text copied to the clipboard is always the original, never the folded one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

SHELLS = {"sh", "bash", "shell", "console", "zsh"}
MARK = "↪ "
"""Starts a continuation line of a soft wrap: not part of the text."""
INDENT = "    "
"""A shell or YAML continuation line's indentation, beyond the line's own."""


def fold(code: str, language: str, width: int) -> str:
    """`code` folded so that no line is wider than `width` (where a fold keeps the meaning)."""
    width = max(width, 16)
    if all(len(line) <= width for line in code.split("\n")):
        return code
    language = (language or "").strip().lower()
    folded: str | None = None
    if language in SHELLS:
        folded = fold_shell(code, width)
    elif language in ("yaml", "yml"):
        folded = _fold_checked(code, width, _yaml_value, "yaml")
    elif language == "json":
        folded = _fold_checked(code, width, _json_value, "json")
    # What could not be folded (a URI with no space in it) is still shown whole, marked.
    return soft_wrap(code if folded is None else folded, width)


def soft_wrap(code: str, width: int) -> str:
    """Each long line cut at spaces (or anywhere), continuation lines marked with `↪ `."""
    lines = code.split("\n")
    return "\n".join(line if len(line) <= width else _soft_lines(line, width) for line in lines)


def _soft_lines(line: str, width: int) -> str:
    """`line` in pieces that join back exactly (a cut at a space keeps it at the piece's end)."""
    parts: list[str] = []
    rest = line
    while len(rest) > width - (len(MARK) if parts else 0):
        room = width - (len(MARK) if parts else 0)
        cut = rest.rfind(" ", 1, room)
        if cut <= 0 or not rest[:cut].strip(" -#"):
            parts.append(rest[:room])
            rest = rest[room:]
        else:
            parts.append(rest[: cut + 1])
            rest = rest[cut + 1 :]
    parts.append(rest)
    return "\n".join([parts[0], *(MARK + part for part in parts[1:])])


def unwrap(text: str) -> str:
    """The text a soft wrap was made from."""
    return text.replace("\n" + MARK, "")


# ---------------------------------------------------------------------- shell


@dataclass
class _Char:
    context: str
    """The innermost quoting around this character: top, cmd, dq, sq, param, bq or comment."""
    escaped: bool
    """It follows an unquoted backslash (a break before it would split the escape)."""


def _scan(code: str) -> list[_Char] | None:
    """Each character's context, or None for text this folding does not take on (here-docs)."""
    stack = ["top"]
    chars: list[_Char] = []
    i = 0
    escape_next = False
    word_start = True
    while i < len(code):
        c = code[i]
        ctx = stack[-1]
        chars.append(_Char(ctx, escape_next))
        if escape_next:
            escape_next = False
            word_start = False
            i += 1
            continue
        nxt = code[i + 1] if i + 1 < len(code) else ""
        if ctx == "comment":
            if c == "\n":
                stack.pop()
                word_start = True
        elif ctx == "sq":
            if c == "'":
                stack.pop()
        elif ctx in ("top", "cmd"):
            if c == "\\":
                escape_next = True
            elif c == "'":
                stack.append("sq")
            elif c == '"':
                stack.append("dq")
            elif c == "`":
                stack.append("bq")
            elif c == "#" and word_start:
                stack.append("comment")
            elif c == "<" and nxt == "<":
                return None
            elif c == "$" and nxt == "(":
                stack.append("cmd")
                chars.append(_Char("cmd", False))
                i += 1
            elif c == "$" and nxt == "{":
                stack.append("param")
                chars.append(_Char("param", False))
                i += 1
            elif c == "(" and ctx == "cmd":
                stack.append("cmd")
            elif c == ")" and ctx == "cmd":
                stack.pop()
            word_start = c in " \t\n;|&("
        elif ctx == "dq":
            if c == "\\":
                escape_next = True
            elif c == '"':
                stack.pop()
            elif c == "`":
                stack.append("bq")
            elif c == "$" and nxt == "(":
                stack.append("cmd")
                chars.append(_Char("cmd", False))
                i += 1
                word_start = True
            elif c == "$" and nxt == "{":
                stack.append("param")
                chars.append(_Char("param", False))
                i += 1
        elif ctx == "param":
            if c == "}":
                stack.pop()
            elif c == "$" and nxt == "{":
                stack.append("param")
                chars.append(_Char("param", False))
                i += 1
        elif ctx == "bq":
            if c == "\\":
                escape_next = True
            elif c == "`":
                stack.pop()
        i += 1
    return chars


def fold_shell(code: str, width: int) -> str | None:
    """`code` folded as shell (see the module's note), or None where it is not foldable."""
    chars = _scan(code)
    if chars is None:
        return None
    out: list[str] = []
    start = 0
    for line in code.split("\n"):
        out.extend(_fold_shell_line(line, chars[start : start + len(line)], width))
        start += len(line) + 1
    return "\n".join(out)


def _fold_shell_line(line: str, chars: list[_Char], width: int) -> list[str]:
    own_indent = line[: len(line) - len(line.lstrip(" "))]
    starts = {
        "space": own_indent + INDENT,  # between words: indentation is only more blanks
        "comment": own_indent + "# ",
        "word": "",  # inside a word: anything before the rest would become part of it
        "quote": "'",  # reopens the single quote closed before the break
    }
    out: list[str] = []
    prefix = ""  # what the current output line starts with before line[s:]
    s = 0
    while len(prefix) + len(line) - s > width:
        cut = _cut(line, chars, s, width - len(prefix))
        if cut is None:
            break  # nothing fits: leave the rest long rather than change its meaning
        end, suffix, resume, kind = cut
        out.append(prefix + line[s:end] + suffix)
        prefix, s = starts[kind], resume
    out.append(prefix + line[s:])
    return out


def _cut(line: str, chars: list[_Char], s: int, room: int) -> tuple[int, str, int, str] | None:
    """Where to break line[s:] in `room` columns: (end, suffix, resume, kind of break).

    A space outside quotes first (the rightmost that fits with its ` \\`); then, for one word
    longer than a line, a break inside it."""
    spaces = _space_breaks(line, chars, s, room)
    # Between arguments first: before an option or after an operator, when that still fills
    # a third of the line; then anywhere but between an option and its value (so that
    # `--stack-name NAME` stays together); then the rightmost space that fits.
    for end, resume, kind in spaces:
        if kind == "space" and end - s >= room // 3 and _boundary(line, end, resume):
            return end, " \\", resume, kind
    for end, resume, kind in spaces:
        if kind == "space" and not line[:end].rsplit(" ", 1)[-1].startswith("-"):
            return end, " \\", resume, kind
    for end, resume, kind in spaces[:1]:
        return end, (" \\" if kind == "space" else ""), resume, kind
    for k in range(s + room - 1, s, -1):  # inside a word
        char = chars[k]
        if char.escaped or char.context == "comment" or line[k - 1] == "\\":
            continue
        if char.context == "sq":
            if chars[k - 1].context == "sq" and line[k - 1] != "'" and k - s + 2 <= room:
                return k, "'\\", k, "quote"
            continue
        return k, "\\", k, "word"
    return None


def _boundary(line: str, end: int, resume: int) -> bool:
    before = line[:end].rsplit(" ", 1)[-1]
    return line[resume] == "-" or before in ("&&", "||", "|", ";") or before.endswith(";")


def _space_breaks(line: str, chars: list[_Char], s: int, room: int) -> list[tuple[int, int, str]]:
    """The spaces where line[s:] may break within `room`, rightmost first: (end, resume, kind)."""
    found: list[tuple[int, int, str]] = []
    for k in range(min(len(line) - 1, s + room), s, -1):
        if line[k] != " " or chars[k].escaped:
            continue
        ctx = chars[k].context
        if ctx not in ("top", "cmd", "comment"):
            continue
        end = k
        while end > s and line[end - 1] == " ":
            end -= 1
        resume = k
        while resume < len(line) and line[resume] == " ":
            resume += 1
        if end == s or resume == len(line):
            continue
        if ctx == "comment" and end - s <= room:
            found.append((end, resume, "comment"))
        if ctx != "comment" and end - s + 2 <= room:
            found.append((end, resume, "space"))
    return [f for i, f in enumerate(found) if f not in found[:i]]


# ---------------------------------------------------------------------- YAML and JSON


def _yaml_value(text: str) -> object:
    return yaml.safe_load(text)


def _json_value(text: str) -> object:
    return json.loads(text)


def _fold_checked(code: str, width: int, load: object, language: str) -> str | None:
    """Break long lines at spaces, continuation lines indented; kept only if `load` reads the
    same value from both (a fragment that does not load is soft-wrapped instead)."""
    assert callable(load)
    try:
        before = load(code)
    except (ValueError, yaml.YAMLError):
        return None
    out: list[str] = []
    for line in code.split("\n"):
        out.extend(_fold_at_spaces(line, width, comment=language == "yaml"))
    folded = "\n".join(out)
    try:
        same = load(folded) == before
    except (ValueError, yaml.YAMLError):
        return None
    return folded if same else None


def _fold_at_spaces(line: str, width: int, comment: bool) -> list[str]:
    body = line.lstrip(" ")
    indent = line[: len(line) - len(body)]
    is_comment = comment and body.startswith("#")
    lead = indent + ("# " if is_comment else "  ")
    out: list[str] = []
    prefix, rest = "", line
    while len(prefix) + len(rest) > width:
        room = width - len(prefix)
        spaces = [
            i
            for i, c in enumerate(rest)
            # Never a continuation starting with "#" (a comment), nor a break right after
            # the "- " or "key:" that starts the line.
            if c == " " and i > 0 and rest[i + 1 : i + 2] not in ("#", "") and rest[:i].strip(" -")
        ]
        if not spaces:
            break
        fitting = [i for i in spaces if i <= room]
        # A word longer than the room goes on a line of its own (the soft wrap marks it).
        cut = fitting[-1] if fitting else spaces[0]
        out.append(prefix + rest[:cut].rstrip(" "))
        prefix, rest = lead, rest[cut:].lstrip(" ")
    out.append(prefix + rest)
    return out
