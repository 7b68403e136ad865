"""Lambda runtimes in a template that AWS no longer accepts for new functions, raised.

The workshop's template declares its clean-up function on python3.7. Lambda refuses new
functions on a deprecated runtime, so deploying that template as a new stack rolls back;
step 1 deploys the primary's template with such runtimes raised to a supported one of the
same language. The template is edited as text, so everything else stays byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUPPORTED = {
    "python": "python3.12",
    "nodejs": "nodejs24.x",
    "ruby": "ruby3.4",
    "java": "java21",
    "provided": "provided.al2023",
    "dotnet": "dotnet10",
}
"""The runtime each language is raised to: supported for years after this was written."""

DEPRECATED: dict[str, tuple[str, ...]] = {
    "python": ("python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "python3.10"),
    "nodejs": (
        "nodejs",
        "nodejs4.3",
        "nodejs4.3-edge",
        "nodejs6.10",
        "nodejs8.10",
        "nodejs10.x",
        "nodejs12.x",
        "nodejs14.x",
        "nodejs16.x",
        "nodejs18.x",
        "nodejs20.x",
    ),
    "ruby": ("ruby2.5", "ruby2.7", "ruby3.2"),
    "java": ("java8",),
    # Go's own runtime went away; Go functions run on the OS-only runtime.
    "provided": ("go1.x", "provided", "provided.al2"),
    "dotnet": (
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "dotnetcore3.1",
        "dotnet6",
        "dotnet7",
        "dotnet8",
    ),
}
"""The runtimes AWS has deprecated (its runtime deprecation schedule), by language."""

RAISED: dict[str, str] = {
    old: SUPPORTED[language] for language, olds in DEPRECATED.items() for old in olds
}
"""Deprecated runtime → the runtime mmtui deploys instead."""

# `Runtime: python3.7` in YAML (quoted or not), `"Runtime": "python3.7"` in JSON.
_RUNTIME = re.compile(
    r"""(?P<key>(?:^[ \t]*|[{,][ \t]*)["']?Runtime["']?[ \t]*:[ \t]*)(?P<quote>["']?)"""
    r"""(?P<runtime>[A-Za-z0-9.\-]+)(?P=quote)""",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Raised:
    old: str
    new: str
    count: int

    def describe(self) -> str:
        times = "" if self.count == 1 else f" ({self.count} functions)"
        return f"{self.old} → {self.new}{times}"


def raise_runtimes(body: str) -> tuple[str, list[Raised]]:
    """The template with deprecated Lambda runtimes raised, and what was raised."""
    counts: dict[tuple[str, str], int] = {}

    def replace(match: re.Match[str]) -> str:
        runtime = match["runtime"]
        new = RAISED.get(runtime)
        if new is None:
            return match[0]
        counts[(runtime, new)] = counts.get((runtime, new), 0) + 1
        return f"{match['key']}{match['quote']}{new}{match['quote']}"

    raised = _RUNTIME.sub(replace, body)
    return raised, [Raised(old, new, n) for (old, new), n in counts.items()]
