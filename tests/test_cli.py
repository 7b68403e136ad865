"""The command line contract of DESIGN.md: names, options, help, exit codes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import cli_target, invoke, run_mmtui

COMMANDS_WITH_OPTIONS = {
    ("run",): [
        "--sandbox",
        "--endpoint-url",
        "--aws",
        "--profile",
        "--primary-region",
        "--secondary-region",
        "--workspace",
        "--lab",
    ],
    ("sandbox",): ["--dir", "--port", "--fresh"],
    ("check",): [
        "--sandbox",
        "--endpoint-url",
        "--aws",
        "--profile",
        "--lab",
        "--step",
        "--format",
        "table",
        "json",
        "junit",
    ],
    ("solve",): ["--lab", "--step", "--through"],
    ("reset",): ["--lab", "--step", "--dry-run", "--yes"],
    ("probe", "replication"): ["--samples", "--endpoint-url", "--aws"],
    ("lint",): ["PATH"],
    ("fleet", "check"): ["--targets", "--concurrency", "--format", "csv", "--step", "--lab"],
    ("fleet", "solve"): ["--targets", "--through", "--step", "--concurrency", "--format"],
    ("fleet", "reset"): ["--targets", "--yes", "--dry-run", "--step", "--format"],
    ("fleet",): ["role_arn", "account_id", "Exit codes"],
    ("target",): ["--endpoint-url", "--primary-region", "--primary-stack", "--dashboard"],
    ("policy",): [
        *("check", "solve", "reset", "cleanup", "load", "drill"),
        *("--lab", "--primary-region", "--secondary-region"),
    ],
}

NAME_OPTIONS = ["--primary-stack", "--secondary-stack", "--table", "--dashboard"]
for _command in (("run",), ("check",), ("solve",), ("reset",), ("target",)):
    COMMANDS_WITH_OPTIONS[_command] = [*COMMANDS_WITH_OPTIONS[_command], *NAME_OPTIONS]


@pytest.mark.parametrize("command", sorted(COMMANDS_WITH_OPTIONS), ids=" ".join)
def test_every_command_has_help_with_its_options(command: tuple[str, ...]) -> None:
    result = invoke(*command, "--help")
    assert result.code == 0, result.stderr
    for option in COMMANDS_WITH_OPTIONS[command]:
        assert option in result.stdout, f"{option} missing from `mmtui {' '.join(command)} --help`"


def test_top_level_help_lists_commands_and_exit_codes() -> None:
    result = invoke("--help")
    assert result.code == 0
    for name in ("run", "sandbox", "check", "solve", "reset", "probe", "lint", "fleet", "policy"):
        assert f"  {name} " in result.stdout
    assert "3 missing credentials" in " ".join(result.stdout.split())


def test_python_dash_m_and_version() -> None:
    result = run_mmtui("--version")
    assert result.code == 0
    assert result.stdout.strip() == "mmtui, version 0.1.0"


def test_bare_mmtui_means_run_and_takes_run_options() -> None:
    help_text = run_mmtui("--help")
    assert "run      Open the guide (the default command)." in help_text.stdout
    bad_region = invoke("--primary-region", "eu-west-9")
    assert bad_region.code == 2
    assert "--primary-region" in bad_region.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("check", "--step", "7"), "--step: '7' is not a step of Lab 3"),
        (("check", "--step", "data"), "1/infrastructure, 2/data-tier"),
        (("solve", "--through", "nope"), "--through: 'nope' is not a step"),
        (("check", "--lab", "1"), "--lab: Lab 1 (Distributed tracing with X-Ray) is not guided"),
        (("check", "--lab", "9"), "--lab: there is no Lab '9'"),
        (
            ("check", "--secondary-region", "us-est-1"),
            "'us-est-1' is not an AWS region; did you mean",
        ),
        (("check", "--primary-region", "us-east-1"), "both us-east-1"),
        # Red-team C6: regions of two partitions cannot be a pair.
        (
            ("check", "--secondary-region", "cn-north-1"),
            "--primary-region us-west-2 and --secondary-region cn-north-1 are in different AWS "
            "partitions (aws and aws-cn)",
        ),
        (
            ("solve", "--primary-region", "us-gov-west-1", "--step", "1"),
            "--primary-region us-gov-west-1 and --secondary-region us-east-1 are in different",
        ),
        (
            ("policy", "check", "--secondary-region", "cn-northwest-1"),
            "partitions (aws and aws-cn)",
        ),
        (("check", "--aws", "--endpoint-url", "http://127.0.0.1:1"), "choose one target"),
        (("check", "--endpoint-url", "localhost:5000"), "is not an http(s) URL"),
        (("check", "--profile", "p", "--sandbox"), "--profile selects a real AWS account"),
        (("check", "--format", "xml"), "'xml' is not one of"),
        (("solve", "--step", "1", "--through", "2"), "give --step or --through, not both"),
        (("fleet", "check"), "Missing option '--targets'"),
        (("probe", "replication", "--samples", "0"), "--samples"),
        (("frobnicate",), "No such command 'frobnicate'"),
        (("check", "--primary-stack", "1st-stack"), "--primary-stack: '1st-stack' is not a valid"),
        (("solve", "--secondary-stack", "my_stack"), "--secondary-stack: 'my_stack' is not a"),
        (("reset", "--table", "ab"), "--table: 'ab' is not a valid DynamoDB table name"),
        (("target", "--dashboard", "my dash"), "--dashboard: 'my dash' is not a valid Cloud"),
        (("probe", "replication", "--table", "a/b"), "--table: 'a/b' is not a valid"),
        (("--primary-stack", "x" * 129), "--primary-stack: "),
    ],
)
def test_usage_errors_name_the_flag_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    result = invoke(*args)
    assert result.code == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_step_accepts_number_or_id() -> None:
    # Each spelling gets past step validation and stops at the next hurdle: no credentials
    # (exit 3), before any AWS call.
    for step in ("4", "build-artifacts", "checkpoint", "DATA-TIER"):
        result = invoke("check", "--step", step, "--aws")
        assert result.code == 3, (step, result.stderr)
        assert "no AWS credentials found" in result.stderr


def test_a_name_from_the_environment_is_validated_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MMTUI_SECONDARY_STACK", "-standby")
    result = invoke("check", "--aws")
    assert result.code == 2
    assert "MMTUI_SECONDARY_STACK: '-standby' is not a valid stack name" in result.stderr
    # The flag wins over the variable, as --primary-region does over MMTUI_PRIMARY_REGION.
    flagged = invoke("check", "--aws", "--secondary-stack", "standby")
    assert flagged.code == 3, flagged.stderr


def test_target_shows_the_names_in_use(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    target = cli_target(sandbox, monkeypatch)
    monkeypatch.setenv("MMTUI_TABLE", "shared-ddbtable")
    result = invoke("target", *target, "--primary-stack", "ana-mm")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "primary stack:     ana-mm  (chosen)" in lines
    assert "secondary stack:   mm-secondary-region" in lines
    assert "table:             shared-ddbtable  (chosen)" in lines
    # The dashboard's default is built from the primary stack's name, and follows it.
    assert "dashboard:         ana-mm_Dashboard" in lines
