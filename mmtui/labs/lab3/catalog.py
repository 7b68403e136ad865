"""The checks and tasks of Lab 3 and of its prerequisites (Labs 0–2), by name.

These declarations are the contract between `labs/lab-3-multi-region-prep/lab.yaml` and the
engine: the content names them, the linter proves every name exists, and each step's module
(`steps/<step>.py`) attaches the implementations of its own. The registries are Lab 3's own
(the plugin, `plugin.py`, hands them to the engine): another lab's names never collide with
these.
"""

from mmtui.engine.registry import CheckDecl, Registry, TaskDecl

CHECKS: Registry[CheckDecl] = Registry("check", make=CheckDecl)
"""Filled by the step modules as they implement their checks: what a check is called, where it
looks, the command that shows it and what to try live in lab.yaml beside the step."""
TASKS: Registry[TaskDecl] = Registry("task")

_STEPS = ["infrastructure", "data_tier", "pipeline", "build_artifacts", "dashboard", "checkpoint"]

for _step in _STEPS:
    _words = _step.replace("_", " ")
    TASKS.declare(TaskDecl(f"{_step}.solve", f"Do the {_words} step", "solve"))
    # The checkpoint's solve catches up: it solves the earlier steps that are not done.
    if _step != "checkpoint":  # the checkpoint only verifies: it creates nothing to undo
        TASKS.declare(TaskDecl(f"{_step}.reset", f"Undo the {_words} step", "reset"))
