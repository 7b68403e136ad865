"""The by-hand commands of lab content, and the read-only command of each check, must be valid
bash once rendered.

Attendees paste `commands` (and the checks' "see for yourself" commands) into a terminal, and
the suite runs the commands, with each `stand_in`, as one script (tests/test_lab3_by_hand.py):
an unclosed quote or heredoc would only show there, or at an event. `bash -n` parses without
running anything.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import jinja2

from mmtui.content.loader import Problem
from mmtui.content.model import Check, Lab
from mmtui.content.render import TemplateRefused, render
from mmtui.content.yamlload import LoadedYaml


def shell_problems(loaded: LoadedYaml, lab: Lab, values: dict[str, str]) -> Iterator[Problem]:
    """One problem per command or stand-in that bash cannot parse, rendered with `values`."""
    bash = shutil.which("bash")
    if bash is None:  # nothing to parse with (e.g. Windows without Git Bash): not a content error
        return
    for where, check in _checks_with_locations(lab):
        refused = _refused_template(bash, check.command, values)
        if refused:
            yield Problem(
                loaded.path,
                loaded.line_of((*where, "command")),
                f"the command of check {check.name!r} is not valid bash once rendered: {refused}",
            )
    for step_index, step in enumerate(lab.steps):
        for action_index, action in enumerate(step.manual.actions):
            for key in ("commands", "stand_in"):
                for index, command in enumerate(getattr(action, key)):
                    refused = _refused_template(bash, command, values)
                    if refused:
                        loc = ("steps", step_index, "manual", "actions", action_index, key, index)
                        yield Problem(
                            loaded.path,
                            loaded.line_of(loc),
                            f"{key}[{index}] of {action.title!r} is not valid bash once "
                            f"rendered: {refused}",
                        )


def _checks_with_locations(lab: Lab) -> Iterator[tuple[tuple[str | int, ...], Check]]:
    for index, check in enumerate(lab.prerequisites):
        yield ("prerequisites", index), check
    for step_index, step in enumerate(lab.steps):
        for index, check in enumerate(step.checks):
            yield ("steps", step_index, "checks", index), check


def _refused_template(bash: str, template: str, values: dict[str, str]) -> str:
    try:
        rendered = render(template, values)
    except (jinja2.TemplateError, TemplateRefused):
        return ""  # the template checks report it; there is no script to parse
    return _refusal(bash, rendered)


def _refusal(bash: str, script: str) -> str:
    """bash's complaint about `script` (empty when it parses)."""
    try:
        parsed = subprocess.run(
            [bash, "-n", "-c", script], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bash could not parse it ({exc})"
    # A heredoc without its end marker parses with only a warning, yet swallows every line
    # after it when pasted or run as part of a script: a warning is a problem too.
    if parsed.returncode == 0 and not parsed.stderr.strip():
        return ""
    # "bash: -c: line 2: unexpected EOF while looking for matching `''": the line is within
    # the command; "bash: -c: " says nothing.
    lines = [re.sub(r"^\S*bash: (-c: )?", "", line) for line in parsed.stderr.strip().splitlines()]
    return "; ".join(lines) or f"bash exited {parsed.returncode}"
