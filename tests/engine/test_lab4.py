"""Lab 4 (Global Accelerator) on the sandbox: every step's cycle (check fails → solve → check
passes → solve again changes nothing → reset, plan first → check fails), the catch-up through
the test, and the accelerator's own rules a reset must follow (disable, wait, delete)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import (
    LAB3_DONE,
    Result,
    check_step,
    check_target,
    cli_target,
    invoke,
    step_status,
)

GA = "us-west-2"


@pytest.fixture
def target(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, lab_solved: Callable[..., Sandbox]
) -> list[str]:
    lab_solved(*LAB3_DONE)  # Lab 4 starts where Lab 3 ends: both sites answer
    options = cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE")
    return [*options, "--lab", "4"]


def solve(target: list[str], step: str) -> Result:
    return invoke("solve", *target, "--step", step)


def accelerators(sandbox: Sandbox) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sandbox.client("globalaccelerator", GA).list_accelerators()[
        "Accelerators"
    ]
    return found


def fingerprint(sandbox: Sandbox) -> Any:
    """Everything Lab 4 makes, as the API shows it (a second solve must leave it as it was)."""
    client = sandbox.client("globalaccelerator", GA)
    seen = []
    for accelerator in accelerators(sandbox):
        arn = accelerator["AcceleratorArn"]
        listeners = client.list_listeners(AcceleratorArn=arn)["Listeners"]
        groups = [
            sorted(
                (
                    g["EndpointGroupRegion"],
                    g["TrafficDialPercentage"],
                    sorted((e["EndpointId"], e["Weight"]) for e in g["EndpointDescriptions"]),
                )
                for g in client.list_endpoint_groups(ListenerArn=listener["ListenerArn"])[
                    "EndpointGroups"
                ]
            )
            for listener in listeners
        ]
        seen.append(
            (
                arn,
                accelerator["Enabled"],
                sorted((x["ListenerArn"], x["Protocol"], str(x["PortRanges"])) for x in listeners),
                groups,
            )
        )
    return seen


def prerequisites_hold(target: list[str]) -> bool:
    _, document = check_target(target)
    return all(c["status"] == "pass" for c in document["steps"][0]["checks"])


@pytest.mark.parametrize("step", ["1", "2", "3", "4"])
def test_solve_and_reset_cycle(sandbox: Sandbox, target: list[str], step: str) -> None:
    for earlier in range(1, int(step)):
        assert solve(target, str(earlier)).code == 0
    assert step_status(target, step) == "fail"

    solved = solve(target, step)
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "done" in solved.stdout and "nothing changed" not in solved.stdout
    assert step_status(target, step) == "pass"
    before = fingerprint(sandbox)

    again = solve(target, step)
    assert again.code == 0, again.stderr
    assert "already done, nothing changed" in again.stdout
    assert fingerprint(sandbox) == before

    planned = invoke("reset", *target, "--step", step, "--dry-run")
    assert planned.code == 0, planned.stderr
    assert planned.stdout.startswith("plan:\n")
    assert all(line.endswith(f"({GA})") for line in planned.stdout.splitlines()[1:])
    assert step_status(target, step) == "pass"  # a dry run changes nothing

    reset = invoke("reset", *target, "--step", step, "--yes")
    assert reset.code == 0, reset.stderr
    assert "reset done" in reset.stdout
    assert step_status(target, step) == "fail"
    assert prerequisites_hold(target)

    nothing = invoke("reset", *target, "--step", step, "--yes")
    assert nothing.stdout.strip() == "nothing to reset: the lab has created nothing here"


def test_catch_up_through_the_test_then_reset_the_whole_lab(
    sandbox: Sandbox, target: list[str]
) -> None:
    """`--through test` builds the accelerator, waits for it to deploy with both endpoints
    healthy, and the site answers through it; the whole-lab reset leaves no accelerator."""
    assert step_status(target, "test") == "fail"
    result = invoke("solve", *target, "--through", "test")
    assert result.code == 0, result.stdout + result.stderr
    code, document = check_target(target)
    assert code == 0, document
    site = check_step(target, "test")[1]["test.site"]
    assert site["observed"].startswith("Current region: ")

    # AWS deletes only a disabled accelerator with no listener: step 1's reset alone plans
    # the groups and the listener first, then the disable-and-delete.
    alone = invoke("reset", *target, "--step", "1", "--dry-run").stdout.splitlines()[1:]
    assert [line.split(": ", 1)[1].split(" (")[0] for line in alone] == [
        "delete endpoint group for us-west-2",
        "delete endpoint group for us-east-1",
        "delete listener TCP 80",
        "disable, then delete accelerator mm-global-accelerator",
    ]
    planned = invoke("reset", *target, "--dry-run")
    steps_in_order = [line.split(":")[0].strip() for line in planned.stdout.splitlines()[1:]]
    assert list(dict.fromkeys(steps_in_order)) == [
        "endpoints",
        "endpoint-groups",
        "listener",
        "accelerator",
    ]
    reset = invoke("reset", *target, "--yes")
    assert reset.code == 0, reset.stderr
    assert accelerators(sandbox) == []
    code, document = check_target(target)
    statuses = {s["id"]: s["status"] for s in document["steps"]}
    assert statuses.pop("prerequisites") == "pass"
    assert set(statuses.values()) == {"fail"}


def test_checks_say_what_is_wrong(sandbox: Sandbox, target: list[str]) -> None:
    """Made by hand, slightly off: each check names what differs from the workshop's setup."""
    client = sandbox.client("globalaccelerator", GA)
    arn = client.create_accelerator(Name="mm-global-accelerator", Enabled=False)["Accelerator"][
        "AcceleratorArn"
    ]
    found = check_step(target, "1")[1]
    assert found["accelerator.exists"]["status"] == "pass"
    assert found["accelerator.enabled"]["status"] == "fail"
    assert "disabled" in found["accelerator.enabled"]["message"]

    client.create_listener(
        AcceleratorArn=arn,
        Protocol="TCP",
        PortRanges=[{"FromPort": 80, "ToPort": 81}],
        ClientAffinity="SOURCE_IP",
    )
    found = check_step(target, "2")[1]
    assert found["listener.tcp_80"]["status"] == "fail"
    assert found["listener.tcp_80"]["observed"] == "TCP 80-81"
    assert found["listener.client_affinity"]["status"] == "fail"
    assert solve(target, "2").code == 0  # corrects the listener in place
    assert {c["status"] for c in check_step(target, "2")[1].values()} == {"pass"}

    # A second accelerator of the same name: checks and solves refuse to guess.
    client.create_accelerator(Name="mm-global-accelerator")
    found = check_step(target, "1")[1]
    assert found["accelerator.exists"]["status"] == "fail"
    assert "2 accelerators are named" in found["accelerator.exists"]["message"]
    refused = solve(target, "2")
    assert refused.code == 2
    assert "delete or rename the extra ones" in refused.stderr
