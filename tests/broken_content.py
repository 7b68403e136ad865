"""Helpers for tests that break a private copy of the lab content (fixture `lab_copy`) and
read what `mmtui lint` says about it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LAB3, invoke

LAB = LAB3.name
"""Lab 3's folder under the content root."""


def line_of(path: Path, needle: str) -> int:
    """The number of the first line of `path` that holds `needle`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def lint(*paths: Path) -> tuple[int, list[str]]:
    """`mmtui lint` on the paths: its exit code and its report lines (never a traceback)."""
    result = invoke("lint", *map(str, paths))
    assert "Traceback" not in result.stderr
    return result.code, result.stdout.splitlines()
