"""Checks on the sandbox: read-only by construction, honest statuses, the manual path by CLI."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import pytest

import mmtui.labs
from mmtui.content.model import Check
from mmtui.engine.checks import Checker, run_checks, run_one
from mmtui.engine.context import CheckContext
from mmtui.engine.results import CheckResult, Status
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.connect import Connection
from mmtui.target.readonly import WriteRefused
from mmtui.target.spec import TargetFlags, resolve_target
from tests.conftest import aws_cli, check_step, cli_target, invoke, xray_group_by_hand


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> dict[str, str]:
    cli_target(sandbox, monkeypatch)
    return sandbox.env()


def context(sandbox: Sandbox) -> CheckContext:
    from mmtui.target.clients import ClientFactory

    spec = resolve_target(TargetFlags(endpoint_url=sandbox.url), env={})
    factory = ClientFactory(spec, endpoint_url=sandbox.url, credentials=sandbox.credentials())
    connection = Connection(spec, factory, resolver=sandbox.resolve_map)
    lab, content = mmtui.labs.load("3")
    return CheckContext(connection, content, lab)


def check_json(sandbox: Sandbox, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("check", "--endpoint-url", sandbox.url, "--format", "json", *args)
    assert result.stdout, result.stderr
    return result.code, json.loads(result.stdout)


def statuses(document: dict[str, Any], step: str) -> dict[str, str]:
    (found,) = [s for s in document["steps"] if s["id"] == step]
    return {c["id"]: c["status"] for c in found["checks"]}


def aws(sandbox: Sandbox, *args: str) -> str:
    return aws_cli(sandbox, *args)


def test_a_check_that_writes_fails_loudly(sandbox: Sandbox) -> None:
    ctx = context(sandbox)

    def sneaky(check: Checker) -> CheckResult:
        check.ctx.client("sqs", check.region).create_queue(QueueName="should-not-exist")
        return check.passed("", "", "")

    spec = Check(name="test.sneaky", title="A check that writes", region="primary", command="true")
    ctx.lab.checks.implement(spec.name)(sneaky)
    try:
        with pytest.raises(WriteRefused, match="sqs:CreateQueue writes; checks are read-only"):
            run_one(ctx, spec)
    finally:
        ctx.lab.checks._items.pop(spec.name)
    queues = sandbox.client("sqs", "us-west-2").list_queues().get("QueueUrls", [])
    assert queues == []


def test_baseline_steps_fail_and_prerequisites_hold(
    sandbox: Sandbox, creds: dict[str, str]
) -> None:
    code, document = check_json(sandbox)
    assert code == 1  # steps fail; every check is built, so no exit 2
    assert document["lab"] == "3"
    assert document["status"] == "fail"
    assert document["target"]["account"] == "123456789012"
    prerequisites = statuses(document, "prerequisites")
    for name in (
        "prereq.primary_stack",
        "prereq.table_seeded",
        "prereq.xray_groups",
        "prereq.dashboard",
    ):
        assert prerequisites[name] == "pass", (name, document)
    for step in ("infrastructure", "data-tier", "pipeline", "dashboard", "checkpoint"):
        assert set(statuses(document, step).values()) == {"fail"}, step
    check = document["steps"][1]["checks"][0]
    assert set(check) == {
        "id",
        "title",
        "region",
        "status",
        "expected",
        "observed",
        "message",
        "command",
    }
    assert check["command"].startswith("aws cloudformation describe-stacks")


def test_step1_by_hand_with_the_aws_cli_then_check_passes(
    sandbox: Sandbox,
    creds: dict[str, str],
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    secondary_by_hand()
    code, document = check_json(sandbox, "--step", "1")
    assert statuses(document, "infrastructure") == {
        "infrastructure.stack_complete": "pass",
        "infrastructure.stack_is_secondary": "pass",
        "infrastructure.secondary_outputs": "pass",
        "infrastructure.cluster_and_services": "pass",
        "infrastructure.registries": "pass",
        "infrastructure.load_balancer": "pass",
    }
    assert code == 0
    assert [s["id"] for s in document["steps"]] == ["infrastructure"]  # no prerequisites


def test_step1_deployed_without_is_secondary_says_so(
    sandbox: Sandbox,
    creds: dict[str, str],
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    secondary_by_hand(is_secondary=False)
    code, document = check_json(sandbox, "--step", "infrastructure")
    assert code == 1
    (result,) = [
        c for c in document["steps"][0]["checks"] if c["id"] == "infrastructure.stack_is_secondary"
    ]
    assert result["status"] == "fail"
    assert result["observed"] == "IsSecondary=false"
    assert "IsSecondary=true" in result["message"]


def test_step2_half_done_then_pending_then_pass(sandbox: Sandbox, creds: dict[str, str]) -> None:
    global_tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    # CREATING until the test ends it below: how busy the machine is must not decide which
    # state the check sees (4 s once ran out on CI between the aws call and the check).
    global_tables.replica_create_seconds = 600.0  # type: ignore[attr-defined]
    aws(
        sandbox,
        "dynamodb",
        "update-table",
        "--table-name",
        "mm-ddbtable",
        "--stream-specification",
        "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
        "--region",
        "us-west-2",
    )
    code, step = check_step(["--endpoint-url", sandbox.url], "2")
    assert code == 1
    assert step["data_tier.stream_enabled"]["status"] == "pass"
    assert step["data_tier.replica_active"]["status"] == "fail"
    assert (
        step["data_tier.replica_active"]["message"]
        == "mm-ddbtable has no replica in us-east-1 yet."
    )
    aws(
        sandbox,
        "dynamodb",
        "update-table",
        "--table-name",
        "mm-ddbtable",
        "--replica-updates",
        '[{"Create":{"RegionName":"us-east-1"}}]',
        "--region",
        "us-west-2",
    )
    code, document = check_json(sandbox, "--step", "data-tier")
    assert statuses(document, "data-tier")["data_tier.replica_active"] == "pending"
    assert code == 1
    with sandbox.lock:  # the replica's creation ends now
        for group in global_tables.state.groups:  # type: ignore[attr-defined]
            for member in group.members.values():
                if member.status == "CREATING":
                    member.until = 0.0
    global_tables._kick()  # type: ignore[attr-defined]  # noqa: SLF001
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, document = check_json(sandbox, "--step", "2")
        if code == 0:
            break
    assert set(statuses(document, "data-tier").values()) == {"pass"}


def test_step5_by_hand_groups_and_dashboard(sandbox: Sandbox, creds: dict[str, str]) -> None:
    xray_group_by_hand(sandbox, "like-service")
    code, step = check_step(["--endpoint-url", sandbox.url], "5")
    assert step["dashboard.xray_groups_secondary"]["status"] == "fail"
    assert (
        "like-service-errors-faults is missing"
        in step["dashboard.xray_groups_secondary"]["message"]
    )
    xray_group_by_hand(sandbox, "like-service-errors-faults")
    code, document = check_json(sandbox, "--step", "5")
    assert statuses(document, "dashboard")["dashboard.xray_groups_secondary"] == "pass"


def test_checks_run_concurrently_and_report_as_they_finish(sandbox: Sandbox) -> None:
    ctx = context(sandbox)
    threads: set[str] = set()
    seen: list[str] = []
    lock = threading.Lock()

    def sink(step_id: str, result: CheckResult) -> None:
        with lock:
            threads.add(threading.current_thread().name)
            seen.append(result.id)

    steps = run_checks(ctx, list(ctx.content.lab.steps), sink=sink)
    assert len(threads) > 1
    assert sorted(seen) == sorted(c.id for s in steps for c in s.checks)
    assert steps[0].id == "prerequisites"
    assert all(c.seconds > 0 for s in steps for c in s.checks)


def test_a_round_fetches_what_checks_share_once(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = context(sandbox)
    calls: list[str] = []
    counted: set[int] = set()
    lock = threading.Lock()
    make_client = CheckContext.client

    def counting_client(self: CheckContext, service: str, region: str) -> Any:
        client = make_client(self, service, region)
        with lock:
            if id(client) not in counted:
                counted.add(id(client))
                client.meta.events.register(
                    "before-call", lambda model, **_: calls.append(model.name)
                )
        return client

    monkeypatch.setattr(CheckContext, "client", counting_client)
    steps = run_checks(ctx, list(ctx.content.lab.steps))
    by_id = {c.id: c for s in steps for c in s.checks}
    assert by_id["prereq.dashboard"].status == Status.PASS
    assert by_id["prereq.pipelines_succeeded"].status == Status.PASS
    # Four checks read the dashboard, two the pipelines' last runs, three the pipelines.
    assert calls.count("GetDashboard") == 1  # the only dashboard, read once for all
    assert calls.count("ListDashboards") == 1
    assert calls.count("ListPipelineExecutions") == 2  # one per pipeline
    assert calls.count("GetPipeline") <= 2
    assert calls.count("DescribeStacks") <= 2  # one per stack
    # Three of step 2's checks read the table (only the primary region has one yet); the
    # prerequisites count the mysfits that step 2 compares across the regions.
    assert calls.count("DescribeTable") == 1
    assert calls.count("Scan") == 2  # the primary's items, the secondary's (not there)


def test_junit_and_table_output(sandbox: Sandbox, creds: dict[str, str]) -> None:
    result = invoke("check", "--endpoint-url", sandbox.url, "--step", "2", "--format", "junit")
    assert result.code == 1
    suites = ElementTree.fromstring(result.stdout.split("?>", 1)[1])
    (suite,) = suites.findall("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "3"
    failure = suite.find("testcase/failure")
    assert failure is not None and "see it: aws dynamodb" in (failure.text or "")
    table = invoke("check", "--endpoint-url", sandbox.url, "--step", "checkpoint")
    assert table.code == 1
    assert "Checkpoint: the secondary site answers" in table.stdout


def test_statuses_combine_worst_first() -> None:
    from mmtui.engine.results import combine

    assert combine([Status.PASS, Status.PENDING]) == Status.PENDING
    assert combine([Status.PENDING, Status.FAIL]) == Status.FAIL
    assert combine([Status.FAIL, Status.ERROR]) == Status.ERROR
    assert combine([]) == Status.PASS


def test_step4_names_each_missing_piece_of_the_starting_buildspecs(
    sandbox: Sandbox,
    creds: dict[str, str],
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    secondary_by_hand()
    code, step = check_step(["--endpoint-url", sandbox.url], "4")
    assert code == 1
    for service in ("core", "like"):
        assert step[f"build_artifacts.{service}_buildspec"]["status"] == "pass"
        for piece in (
            "secondary_uri",
            "secondary_region",
            "tag",
            "login",
            "push",
            "imagedefinitions",
            "artifact",
        ):
            assert step[f"build_artifacts.{service}_{piece}"]["status"] == "fail", piece
    hint = step["build_artifacts.like_imagedefinitions"]["message"]
    assert '"name":"like-service"' in hint and "imagedefinitions_secondary.json" in hint
    assert step["build_artifacts.pipelines_succeeded"]["status"] == "pass"


def test_a_check_result_in_json_is_every_field_but_its_error_code_and_time() -> None:
    """to_json writes the fields one by one: a field added to CheckResult must be added there
    too (or left out on purpose, like the error code and the seconds)."""
    import dataclasses

    result = CheckResult(
        "id",
        "title",
        "us-west-2",
        Status.FAIL,
        "expected",
        "observed",
        "message",
        "aws x",
        "E",
        2.5,
    )
    expected = dataclasses.asdict(result)
    expected["status"] = "fail"
    del expected["error_code"], expected["seconds"]
    assert list(result.to_json().items()) == list(expected.items())
    assert json.loads(json.dumps(result.to_json())) == expected


def test_a_round_can_begin_at_any_check_and_reports_in_the_labs_order(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet begins each target's round at another check (so that fifty targets do not make
    the same call in the same instant); the results come back in the lab's order all the
    same."""
    import mmtui.engine.checks as engine

    ctx = context(sandbox)
    steps = list(ctx.content.lab.steps)
    started: list[str] = []
    run = engine.run_one

    def recording(ctx: CheckContext, check: Check) -> CheckResult:
        started.append(check.name)
        return run(ctx, check)

    monkeypatch.setattr(engine, "run_one", recording)
    in_order = run_checks(ctx, steps, workers=1)
    names = list(started)
    started.clear()
    rotated = run_checks(context(sandbox), steps, workers=1, first=3)
    assert started == names[3:] + names[:3]
    assert [[c.id for c in s.checks] for s in rotated] == [
        [c.id for c in s.checks] for s in in_order
    ]
    assert [[c.status for c in s.checks] for s in rotated] == [
        [c.status for c in s.checks] for s in in_order
    ]
