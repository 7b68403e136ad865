"""Finding a step by what a user types: its number or its id."""

from __future__ import annotations

from mmtui.content.model import Lab, Step


def find_step(lab: Lab, text: str) -> Step:
    wanted = text.strip().lower()
    for step in lab.steps:
        if wanted == step.id or (step.number is not None and wanted == str(step.number)):
            return step
    choices = ", ".join(
        f"{step.number}/{step.id}" if step.number is not None else step.id for step in lab.steps
    )
    raise LookupError(f"{text!r} is not a step of Lab {lab.id}; choose one of {choices}")
