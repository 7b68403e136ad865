"""Check results for people (a rich table per step), for scripts (JSON) and for CI (JUnit)."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from mmtui.engine.checks import NOT_BUILT, lab_status
from mmtui.engine.results import Status, StepResult
from mmtui.exitcodes import ExitCode
from mmtui.target.identity import DENIED_CODES

_STYLE = {
    Status.PASS: "green",
    Status.FAIL: "red",
    Status.PENDING: "yellow",
    Status.ERROR: "magenta",
}
_MARK = {Status.PASS: "✔", Status.FAIL: "✘", Status.PENDING: "…", Status.ERROR: "!"}


def exit_code(steps: list[StepResult]) -> ExitCode:
    checks = [check for step in steps for check in step.checks]
    errors = [check for check in checks if check.status == Status.ERROR]
    if any(check.error_code in DENIED_CODES for check in errors):
        return ExitCode.CREDENTIALS
    if any(check.error_code != NOT_BUILT for check in errors):
        return ExitCode.AWS_ERROR
    if errors:
        return ExitCode.USAGE
    if any(check.status in (Status.FAIL, Status.PENDING) for check in checks):
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


def as_json(lab_id: str, target: dict[str, Any], steps: list[StepResult]) -> str:
    overall = lab_status(steps)
    document = {
        "lab": lab_id,
        "target": target,
        "status": "pass" if overall == Status.PASS else "fail",
        "steps": [step.to_json() for step in steps],
    }
    return json.dumps(document, indent=2)


def as_junit(lab_id: str, steps: list[StepResult]) -> str:
    suites = ElementTree.Element("testsuites", name=f"mmtui lab {lab_id}")
    for step in steps:
        failures = sum(c.status in (Status.FAIL, Status.PENDING) for c in step.checks)
        errors = sum(c.status == Status.ERROR for c in step.checks)
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=f"{step.id}: {step.title}",
            tests=str(len(step.checks)),
            failures=str(failures),
            errors=str(errors),
            time=f"{sum(c.seconds for c in step.checks):.3f}",
        )
        for check in step.checks:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"lab{lab_id}.{step.id}",
                name=f"{check.id} [{check.region}]",
                time=f"{check.seconds:.3f}",
            )
            detail = (
                f"expected: {check.expected}\nobserved: {check.observed}\nsee it: {check.command}"
            )
            if check.status in (Status.FAIL, Status.PENDING):
                failure = ElementTree.SubElement(
                    case, "failure", message=check.message, type=check.status.value
                )
                failure.text = detail
            elif check.status == Status.ERROR:
                error = ElementTree.SubElement(
                    case, "error", message=check.message, type=check.error_code or "error"
                )
                error.text = detail
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def print_tables(steps: list[StepResult], console: Any) -> None:
    from rich.table import Table

    for step in steps:
        label = f"Step {step.number}: {step.title}" if step.number else step.title
        table = Table(
            title=f"{_MARK[step.status]} {label}",
            title_justify="left",
            show_lines=False,
            expand=True,
        )
        table.add_column("", width=1)
        table.add_column("check", ratio=3)
        table.add_column("region", no_wrap=True)
        table.add_column("what mmtui saw", ratio=5)
        for check in step.checks:
            style = _STYLE[check.status]
            table.add_row(
                f"[{style}]{_MARK[check.status]}[/]",
                check.title,
                check.region,
                f"[{style}]{check.message}[/]",
            )
        console.print(table)
