"""The by-hand commands of lab content must be valid bash once rendered.

Attendees paste `commands` into a terminal and the suite runs them, with each `stand_in`, as
one script (tests/test_lab3_by_hand.py): an unclosed quote or heredoc would only show there,
or at an event. `bash -n` parses without running anything.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import jinja2

from mmtui.content.loader import Problem
from mmtui.content.model import Lab
from mmtui.content.render import TemplateRefused, render
from mmtui.content.yamlload import LoadedYaml


def shell_problems(loaded: LoadedYaml, lab: Lab, values: dict[str, str]) -> Iterator[Problem]:
    """One problem per command or stand-in that bash cannot parse, rendered with `values`."""
    bash = shutil.which("bash")
    if bash is None:  # nothing to parse with (e.g. Windows without Git Bash): not a content error
        return
    for step_index, step in enumerate(lab.steps):
        for action_index, action in enumerate(step.manual.actions):
            for key in ("commands", "stand_in"):
                for index, command in enumerate(getattr(action, key)):
                    try:
                        rendered = render(command, values)
                    except (jinja2.TemplateError, TemplateRefused):
                        continue  # the template checks report it; there is no script to parse
                    refused = _refusal(bash, rendered)
                    if refused:
                        loc = ("steps", step_index, "manual", "actions", action_index, key, index)
                        yield Problem(
                            loaded.path,
                            loaded.line_of(loc),
                            f"{key}[{index}] of {action.title!r} is not valid bash once "
                            f"rendered: {refused}",
                        )


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
