"""The checks and tasks of Lab 5, by name (the contract with
`labs/lab-5-load-and-failover/lab.yaml`); the step modules attach the implementations."""

from mmtui.engine.registry import CheckDecl, Registry, TaskDecl

CHECKS: Registry[CheckDecl] = Registry("check", make=CheckDecl)
TASKS: Registry[TaskDecl] = Registry("task")

_STEPS = ["load_test", "primary_only", "secondary_only", "split", "failover", "restore"]

for _step in _STEPS:
    _words = _step.replace("_", " ")
    TASKS.declare(TaskDecl(f"{_step}.solve", f"Do the {_words} step", "solve"))
    if _step != "restore":  # the checkpoint's undo is step 5's break
        TASKS.declare(TaskDecl(f"{_step}.reset", f"Undo the {_words} step", "reset"))
