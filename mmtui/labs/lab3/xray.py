"""The X-Ray groups of Lab 1 (their names and filter expressions), which the prerequisites
check in the primary region and step 5 creates in the secondary one.
"""

from __future__ import annotations

import re

from mmtui.engine.checks import Checker, describe
from mmtui.engine.results import CheckResult
from mmtui.labs.lab3.aws import facts

XRAY_GROUPS = {
    "like-service": 'service("Like Service") AND http.method = "POST"',
    "like-service-errors-faults": 'service("Like Service") { error = true OR fault = true }',
}


def check_xray_groups(check: Checker, region: str, lab: str) -> CheckResult:
    groups = facts(check).groups(region)
    expected = ", ".join(XRAY_GROUPS)
    problems = []
    for name, expression in XRAY_GROUPS.items():
        if name not in groups:
            problems.append(f"{name} is missing")
        elif normalise_expression(groups[name]) != normalise_expression(expression):
            problems.append(f"{name} filters on {groups[name]!r}, not {expression!r}")
    observed = describe(n for n in groups if n != "Default")
    if problems:
        return check.failed(expected, observed, f"In {region}: {'; '.join(problems)} ({lab}).")
    return check.passed(expected, observed, f"Both X-Ray groups exist in {region}.")


def normalise_expression(expression: str) -> str:
    return re.sub(r"\s+", " ", expression).strip()
