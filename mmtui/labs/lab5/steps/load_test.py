"""Step 1: the postfile `ab` needs, and the site answering through the accelerator (also Lab 5's
prerequisite: Lab 4 done)."""

from __future__ import annotations

from pathlib import Path

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.common.site import visit
from mmtui.labs.lab4.reads import needs_accelerator
from mmtui.labs.lab5.catalog import CHECKS, TASKS

POSTFILE = "postfile.txt"


def postfile_path(workspace: Path | None, workshop_dir: str) -> Path | None:
    return None if workspace is None else workspace / workshop_dir / POSTFILE


def serves_through_accelerator(check: Checker) -> CheckResult:
    expected = "HTTP 200 through the accelerator"
    accelerator = needs_accelerator(check, expected)
    if not isinstance(accelerator, dict):
        return accelerator
    page = visit(str(accelerator.get("DnsName", "")), check.ctx.connection.resolve)
    if page.status != 200:
        observed = page.reason if page.status is None else f"HTTP {page.status}"
        return check.failed(
            expected,
            observed,
            f"{page.address} answers {observed}: Lab 4's test must pass first.",
        )
    return check.passed(expected, f"Current region: {page.region}", f"{page.address} answers.")


@CHECKS.implement("prereq.accelerator_serves")
def accelerator_serves(check: Checker) -> CheckResult:
    return serves_through_accelerator(check)


@CHECKS.implement("load_test.accelerator_answers")
def accelerator_answers(check: Checker) -> CheckResult:
    return serves_through_accelerator(check)


@CHECKS.implement("load_test.postfile")
def postfile(check: Checker) -> CheckResult:
    path = postfile_path(check.ctx.connection.workspace, check.ctx.param("workshop_dir"))
    if path is None:
        return check.failed(
            "postfile.txt", "no workspace", "mmtui knows no workspace: give --workspace DIR."
        )
    if not path.is_file():
        return check.failed(str(path), "missing", f"{path} does not exist yet.")
    return check.passed(str(path), f"{path.stat().st_size} bytes", f"{path} is there.")


@TASKS.implement("load_test.solve")
def solve_load_test(ctx: TaskContext) -> list[Action]:
    path = postfile_path(ctx.checks.connection.workspace, ctx.param("workshop_dir"))

    def touch() -> str:
        if path is None:
            raise MmtuiError(
                "mmtui knows no workspace to put postfile.txt in: give --workspace DIR (or set "
                "MMTUI_WORKSPACE)",
                ExitCode.USAGE,
            )
        if path.is_file():
            return ""
        if not path.parent.is_dir():
            raise MmtuiError(
                f"{path.parent} does not exist: the workshop repository is cloned there in Lab 0",
                ExitCode.USAGE,
            )
        path.touch()
        return f"created the empty {path}"

    return [Action("local", str(path or POSTFILE), "create (empty)", touch)]


@TASKS.implement("load_test.reset")
def reset_load_test(ctx: TaskContext) -> list[Action]:
    path = postfile_path(ctx.checks.connection.workspace, ctx.param("workshop_dir"))
    if path is None or not path.is_file():
        return []
    if path.stat().st_size:
        # Not the lab's empty file any more: the attendee wrote in it, and it stays.
        return [Action("local", str(path), "leave (it is not empty)", changes=False)]

    def remove() -> str:
        if path.is_file() and not path.stat().st_size:
            path.unlink()
            return f"removed {path}"
        return ""

    return [Action("local", str(path), "remove", remove)]
