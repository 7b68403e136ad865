"""Names of the lab's resources that a user may choose: stacks, the table, the dashboard.

Lab 0 invites a custom stack name in a shared account, and the workshop's scripts ask for a
secondary stack name; an attendee who chose other names gives them here, as a flag, an
environment variable, or a key of the fleet targets file. Each is a lab parameter (lab.yaml
`parameters:`); the value replaces its default, and defaults built from it (the dashboard is
`<primary stack>_Dashboard`) follow. Values are checked against AWS's own naming rules, so a
typo is a usage error naming where it came from, not a "there is no stack" verdict later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mmtui.exitcodes import ExitCode, MmtuiError


@dataclass(frozen=True)
class NameSetting:
    parameter: str
    """The lab parameter it sets (and the key in a fleet targets file)."""
    flag: str
    env: str
    what: str
    """Which AWS resource, for messages."""
    rule: re.Pattern[str]
    rule_text: str

    @property
    def label(self) -> str:
        """ "primary stack", "DynamoDB table", ...: for help texts and headers."""
        if self.what == "stack":
            return self.parameter.replace("_", " ")
        return self.what


# AWS's rules: CloudFormation stack names (CreateStack), DynamoDB table names (CreateTable),
# CloudWatch dashboard names (PutDashboard).
_STACK = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_STACK_TEXT = "1 to 128 letters, digits and hyphens, starting with a letter"
SETTINGS = (
    NameSetting(
        "primary_stack", "--primary-stack", "MMTUI_PRIMARY_STACK", "stack", _STACK, _STACK_TEXT
    ),
    NameSetting(
        "secondary_stack",
        "--secondary-stack",
        "MMTUI_SECONDARY_STACK",
        "stack",
        _STACK,
        _STACK_TEXT,
    ),
    NameSetting(
        "table",
        "--table",
        "MMTUI_TABLE",
        "DynamoDB table",
        re.compile(r"^[A-Za-z0-9_.-]{3,255}$"),
        "3 to 255 letters, digits, underscores, hyphens and dots",
    ),
    NameSetting(
        "dashboard",
        "--dashboard",
        "MMTUI_DASHBOARD",
        "CloudWatch dashboard",
        re.compile(r"^[A-Za-z0-9_-]{1,255}$"),
        "1 to 255 letters, digits, hyphens and underscores",
    ),
)
BY_PARAMETER = {setting.parameter: setting for setting in SETTINGS}


def validate_name(setting: NameSetting, value: str, source: str) -> str:
    """`value` if AWS accepts it as that resource's name; else a usage error naming `source`."""
    if not setting.rule.match(value):
        raise MmtuiError(
            f"{source}: {value!r} is not a valid {setting.what} name ({setting.rule_text})",
            ExitCode.USAGE,
        )
    return value


def names_from(
    given: Mapping[str, str | None], env: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """The names chosen by flags (`given`: parameter → value or None) or else the environment,
    validated, as (parameter, value) pairs in a fixed order."""
    chosen: list[tuple[str, str]] = []
    for setting in SETTINGS:
        flag_value = given.get(setting.parameter)
        if flag_value is not None:
            chosen.append((setting.parameter, validate_name(setting, flag_value, setting.flag)))
        elif env.get(setting.env):
            value = env[setting.env]
            chosen.append((setting.parameter, validate_name(setting, value, setting.env)))
    return tuple(chosen)


def require_declared(names: Mapping[str, str], declared: Mapping[str, object], lab: str) -> None:
    """Every chosen name must be a parameter of the lab: the content says which names exist."""
    for parameter in names:
        if parameter not in declared:
            setting = BY_PARAMETER[parameter]
            raise MmtuiError(
                f"{setting.flag}: Lab {lab} has no {parameter} to name "
                f"(its parameters: {', '.join(declared)})",
                ExitCode.USAGE,
            )
