"""The checks and tasks of Lab 4, by name: the contract between
`labs/lab-4-global-accelerator/lab.yaml` and the step modules (`steps/<step>.py`), which attach
the implementations. The registries are Lab 4's own."""

from mmtui.engine.registry import CheckDecl, Registry, TaskDecl

CHECKS: Registry[CheckDecl] = Registry("check", make=CheckDecl)
TASKS: Registry[TaskDecl] = Registry("task")

_STEPS = ["accelerator", "listener", "endpoint_groups", "endpoints", "test"]

for _step in _STEPS:
    _words = _step.replace("_", " ")
    TASKS.declare(TaskDecl(f"{_step}.solve", f"Do the {_words} step", "solve"))
    if _step != "test":  # the test only verifies: it creates nothing to undo
        TASKS.declare(TaskDecl(f"{_step}.reset", f"Undo the {_words} step", "reset"))
