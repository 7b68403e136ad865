"""A step's "Do it by hand" as Markdown: what the guide shows on its By hand tab.

Kept apart from the screen so that what an attendee reads can be tested without Textual, and
so that every front end words an action's situation and its terminal form the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from mmtui.content.model import ManualAction, ManualPath


def manual_markdown(manual: ManualPath, render: Callable[[str], str]) -> list[str]:
    """One Markdown block per paragraph of the actions, numbered from 1, each text rendered
    with `render` (the lab's names)."""
    numbers = {action.title: number for number, action in enumerate(manual.actions, start=1)}
    parts: list[str] = []
    for number, action in enumerate(manual.actions, start=1):
        parts.append(f"### {number}. {render(action.title)} ({action.where})")
        if action.only_if:
            parts.append(f"*Only if {render(action.only_if)}; otherwise skip it.*")
        if action.text:
            parts.append(render(action.text))
        parts += _code(action.commands, render)
        if action.stand_in:
            parts.append("Or from a terminal:")
            parts += _code(action.stand_in, render)
        if action.same_as:
            parts.append(f"Or from a terminal: {_listed(action, numbers, render)}.")
    return parts


def _code(commands: list[str], render: Callable[[str], str]) -> list[str]:
    return [f"```sh\n{render(command)}\n```" for command in commands]


def _listed(action: ManualAction, numbers: dict[str, int], render: Callable[[str], str]) -> str:
    """ "2. Fetch…, 3. Edit… and 4. Save…" for the actions `same_as` names."""
    named = [f"{numbers[title]}. {render(title)}" for title in action.same_as]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
