"""Lab 5 (load test and failover) on the sandbox: every step's cycle, the checkpoint, `mmtui
load`, and the failover drill's RTO and RPO against the health checks and the replication lag
the sandbox is configured with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import Result, check_step, cli_target, invoke, step_status

GA = "us-west-2"
ALB_INTERVAL = 0.1
"""Seconds a load balancer health check interval lasts here (AWS: 10 s)."""
GA_SCALE = 0.02
"""Global Accelerator's health checks: 30 s × 0.02, floored to half a second, 3 in a row."""


def extension(sandbox: Sandbox, name: str) -> Any:
    return next(e for e in sandbox.extensions if e.name == name)


@pytest.fixture
def target(lab4_done: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")  # the primary's likes never fail at random
    balancers = extension(lab4_done, "load_balancers")
    accelerators = extension(lab4_done, "global_accelerator")
    before = (balancers.health_interval_seconds, accelerators.health_check_scale)
    balancers.health_interval_seconds = ALB_INTERVAL
    accelerators.health_check_scale = GA_SCALE
    # Quick turns: a solve's burst of likes and CloudWatch's counts (AWS: a minute or two).
    monkeypatch.setattr(balancers, "metrics_flush_seconds", 0.3)
    monkeypatch.setattr("mmtui.labs.lab5.steps.dials.BURST_SECONDS", 2.0)
    monkeypatch.setattr("mmtui.labs.lab5.steps.dials.METRICS_TIMEOUT", 30.0)  # fail, not hang
    options = cli_target(lab4_done, monkeypatch, "MMTUI_RESOLVE_FILE", "MMTUI_WORKSPACE")
    yield [*options, "--lab", "5"]
    balancers.health_interval_seconds, accelerators.health_check_scale = before


def solve(target: list[str], step: str) -> Result:
    return invoke("solve", *target, "--step", step)


def dials(sandbox: Sandbox) -> dict[str, float]:
    client = sandbox.client("globalaccelerator", GA)
    accelerator = client.list_accelerators()["Accelerators"][0]["AcceleratorArn"]
    listener = client.list_listeners(AcceleratorArn=accelerator)["Listeners"][0]["ListenerArn"]
    return {
        g["EndpointGroupRegion"]: g["TrafficDialPercentage"]
        for g in client.list_endpoint_groups(ListenerArn=listener)["EndpointGroups"]
    }


@pytest.mark.parametrize("step", ["1", "2", "3", "4", "5"])
def test_solve_and_reset_cycle(lab4_done: Sandbox, target: list[str], step: str) -> None:
    sandbox = lab4_done
    assert step_status(target, step) == "fail"
    solved = solve(target, step)
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "done" in solved.stdout and "nothing changed" not in solved.stdout
    assert step_status(target, step) == "pass"
    before = dials(sandbox)

    again = solve(target, step)
    assert again.code == 0, again.stderr
    assert "already done, nothing changed" in again.stdout
    assert dials(sandbox) == before

    planned = invoke("reset", *target, "--step", step, "--dry-run")
    assert planned.code == 0 and planned.stdout.startswith("plan:\n"), planned.stderr
    reset = invoke("reset", *target, "--step", step, "--yes")
    assert reset.code == 0, reset.stdout + reset.stderr
    assert step_status(target, step) == "fail"
    assert dials(sandbox) == {GA: 100.0, "us-east-1": 100.0}  # as Lab 4 left them
    assert check_step(target, "restore")[1]["restore.primary_healthy"]["status"] == "pass"


def test_dials_send_the_load_where_they_say(lab4_done: Sandbox, target: list[str]) -> None:
    """After step 2 every like is served by the primary, after step 3 by the secondary
    (`mmtui load` names the region of each second's likes)."""
    for step, region in (("2", GA), ("3", "us-east-1")):
        assert solve(target, step).code == 0
        result = invoke("load", *target[:-2], "--rate", "20", "--duration", "2", "--format", "json")
        assert result.code == 0, result.stderr
        summary = json.loads(result.stdout)["summary"]
        assert summary["failed"] == 0 and set(summary["by_region"]) == {region}, summary


def test_the_checkpoint_restores_a_network_break(lab4_done: Sandbox, target: list[str]) -> None:
    """Option 2 by hand (the security group narrowed): step 5 passes once the health checks
    see it; the checkpoint fails until its solve puts the rule back."""
    from tests.conftest import aws_cli

    assert solve(target, "4").code == 0  # 50/50: somewhere to fail over to
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in lab4_done.client("cloudformation", GA).describe_stacks(
            StackName="mm-multi-region"
        )["Stacks"][0]["Outputs"]
    }
    group = outputs["FargateContainerSecurityGroup"]
    permissions = "IpProtocol=-1,IpRanges=[{CidrIp=10.0.0.0/%s}]"
    aws_cli(lab4_done, "ec2", "revoke-security-group-ingress", "--group-id", group,
            "--ip-permissions", permissions % 16)  # fmt: skip
    aws_cli(lab4_done, "ec2", "authorize-security-group-ingress", "--group-id", group,
            "--ip-permissions", permissions % 32)  # fmt: skip
    found = check_step(target, "restore")[1]
    assert found["restore.ingress"]["status"] == "fail"
    assert "10.0.0.0/32" in found["restore.ingress"]["observed"]
    waited = invoke("solve", *target, "--step", "5")  # waits for UNHEALTHY; the break is in
    assert waited.code == 0, waited.stdout + waited.stderr
    assert {c["status"] for c in check_step(target, "5")[1].values()} == {"pass"}
    restored = solve(target, "restore")
    assert restored.code == 0, restored.stdout + restored.stderr
    assert {c["status"] for c in check_step(target, "restore")[1].values()} == {"pass"}
    rules = lab4_done.client("ec2", GA).describe_security_groups(GroupIds=[group])[
        "SecurityGroups"
    ][0]["IpPermissions"]
    assert [r["CidrIp"] for p in rules for r in p["IpRanges"]] == ["10.0.0.0/16"]


# ---------------------------------------------------------------------- the drill


def drill(target: list[str], *extra: str) -> dict[str, Any]:
    result = invoke("drill", "failover", *target[:-2], "--rate", "20", "--format", "json", *extra)
    assert result.code == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_drill_rto_within_the_health_check_window_and_no_loss_without_lag(
    lab4_done: Sandbox, target: list[str]
) -> None:
    assert solve(target, "4").code == 0  # 50/50
    tables = extension(lab4_done, "dynamodb_global")
    tables.replication_lag = 0.0
    report = drill(target, "--duration", "9")
    # The accelerator turns the endpoint unhealthy after 3 failed checks half a second apart
    # (its floor); the load balancer drained its targets at once (0 tasks). Until then every
    # like goes to the broken primary (the drill runs active-passive: dials 100/0).
    assert report["failover_at"] is not None and report["rto_seconds"] is not None, report
    detect = report["failover_at"] - report["broken_at"]
    assert 0.9 <= detect <= 8.0, report["events"]  # three checks, two intervals apart at least
    # Recovered within a few seconds of the failover: each client's next like after a failure
    # opens a new connection, which the accelerator places on the healthy secondary.
    assert detect - 1.0 <= report["rto_seconds"] <= detect + 3.0, report["events"]
    assert report["failed_during_outage"] > 0
    assert report["likes_lost_at_failover"] == 0
    assert report["restored_at"] is not None and report["healthy_again_at"] is not None
    assert report["first_served_home_again"] is not None
    assert dials(lab4_done) == {GA: 50.0, "us-east-1": 50.0}
    assert {c["status"] for c in check_step(target, "restore")[1].values()} == {"pass"}


def test_drill_rpo_follows_a_long_replication_lag(lab4_done: Sandbox, target: list[str]) -> None:
    assert solve(target, "4").code == 0
    tables = extension(lab4_done, "dynamodb_global")
    before = tables.replication_lag
    tables.replication_lag = 6.0
    try:
        report = drill(target, "--duration", "9", "--break", "network")
    finally:
        tables.replication_lag = before
    assert report["likes_lost_at_failover"] > 0, report
    assert report["likes_acknowledged_at_failover"] > report["likes_in_secondary_at_failover"]
    assert report["replication_caught_up_after"] is not None
    assert report["replication_caught_up_after"] <= 6.5
    assert {c["status"] for c in check_step(target, "restore")[1].values()} == {"pass"}


def test_drill_refuses_to_start_from_a_broken_primary(
    lab4_done: Sandbox, target: list[str]
) -> None:
    """A drill starts from both regions healthy; it changes nothing when they are not."""
    assert solve(target, "5").code == 0  # the primary broken, as step 5 leaves it
    result = invoke("drill", "failover", *target[:-2], "--duration", "6")
    assert result.code == 1
    assert "the drill starts from both regions healthy" in result.stderr
    assert dials(lab4_done) == {GA: 100.0, "us-east-1": 100.0}


def test_an_interrupted_drill_restores_the_primary(lab4_done: Sandbox, target: list[str]) -> None:
    """Ctrl-C right after the break: the drill still puts the primary back (and the dials)."""
    import mmtui.labs
    from mmtui.engine.context import CheckContext
    from mmtui.engine.tasks import TaskContext
    from mmtui.labs.lab5.drill import Drill, DrillOptions
    from mmtui.target.clients import ClientFactory
    from mmtui.target.connect import Connection
    from mmtui.target.spec import TargetFlags, resolve_target

    spec = resolve_target(TargetFlags(endpoint_url=lab4_done.url), env={})
    factory = ClientFactory(spec, endpoint_url=lab4_done.url, credentials=lab4_done.credentials())
    lab, content = mmtui.labs.load("5")
    checks = CheckContext(Connection(spec, factory, resolver=lab4_done.resolve_map), content, lab)

    def interrupt(event: Any) -> None:
        if event.what.startswith("break:"):
            raise KeyboardInterrupt

    drill = Drill(
        TaskContext(checks, poll_seconds=0.05), DrillOptions(rate=5, duration=6), interrupt
    )
    with pytest.raises(KeyboardInterrupt):
        drill.run()
    ecs = lab4_done.client("ecs", GA)
    services = ecs.describe_services(
        cluster="Cluster-mm-multi-region",
        services=["mm-multi-region_Core-Service", "mm-multi-region_Like-Service"],
    )["services"]
    assert [s["desiredCount"] for s in services] == [1, 1]
    assert [e.what.split(":")[0] for e in drill.report.events] == ["break", "restore"]
    assert dials(lab4_done) == {GA: 100.0, "us-east-1": 100.0}
