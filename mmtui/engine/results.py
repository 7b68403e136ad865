"""What a check reports: a status, what it expected and saw, and how to see it yourself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    PENDING = "pending"
    """AWS is still converging (a replica CREATING, a stack in progress): not a failure."""
    ERROR = "error"
    """The check could not look (AWS error, network): says nothing about the step."""


# The worse status wins when results are combined (a step, a lab).
_SEVERITY = {Status.PASS: 0, Status.PENDING: 1, Status.FAIL: 2, Status.ERROR: 3}


def combine(statuses: list[Status]) -> Status:
    return max(statuses, key=_SEVERITY.__getitem__, default=Status.PASS)


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    region: str
    status: Status
    expected: str
    observed: str
    message: str
    command: str = ""
    """A read-only `aws` CLI command that shows what the check saw."""
    error_code: str | None = None
    """For ERROR results, the AWS error code (decides exit code 3 or 4)."""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        # Field by field rather than asdict, whose deep copy of each field was most of the time
        # a fleet spent writing its JSON document (two thousand checks for fifty attendees):
        # every field kept is a string.
        return {
            "id": self.id,
            "title": self.title,
            "region": self.region,
            "status": self.status.value,
            "expected": self.expected,
            "observed": self.observed,
            "message": self.message,
            "command": self.command,
        }


@dataclass(frozen=True)
class StepResult:
    id: str
    number: int | None
    title: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return combine([check.status for check in self.checks])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "title": self.title,
            "status": self.status.value,
            "checks": [check.to_json() for check in self.checks],
        }
