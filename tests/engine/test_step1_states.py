"""Step 1 from every state a real account can leave the secondary stack in.

On AWS the workshop's template rolls back (its clean-up function's python3.7 is refused), a
CREATE change set that was never executed leaves the stack REVIEW_IN_PROGRESS, and a solve
interrupted mid-creation leaves it CREATE_IN_PROGRESS. The checks must tell each state for
what it is, and solving again must finish the step from there.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop.stacks import CAPABILITIES, SECONDARY_STACK, template_body
from tests.conftest import Result, cli_target, invoke, secondary_template

SECONDARY = "us-east-1"
IS_SECONDARY = [{"ParameterKey": "IsSecondary", "ParameterValue": "true"}]
STEP1_CHECKS = (
    "infrastructure.stack_complete",
    "infrastructure.stack_is_secondary",
    "infrastructure.secondary_outputs",
    "infrastructure.cluster_and_services",
    "infrastructure.registries",
    "infrastructure.load_balancer",
)


@pytest.fixture
def target(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return cli_target(sandbox, monkeypatch, "MMTUI_WORKSPACE")


def stacks(sandbox: Sandbox) -> Any:
    return sandbox.client("cloudformation", SECONDARY)


def cloudformation_extension(sandbox: Sandbox) -> Any:
    return next(e for e in sandbox.extensions if e.name == "cloudformation")


def check(target: list[str], *step: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """`mmtui check` as JSON: its exit code and every check's result by id."""
    result = invoke("check", *target, "--format", "json", *(["--step", *step] if step else []))
    document = json.loads(result.stdout)
    return result.code, {c["id"]: c for s in document["steps"] for c in s["checks"]}


def solve(target: list[str]) -> Result:
    return invoke("solve", *target, "--step", "1")


def status(sandbox: Sandbox) -> str:
    found: str = stacks(sandbox).describe_stacks(StackName=SECONDARY_STACK)["Stacks"][0][
        "StackStatus"
    ]
    return found


def deploy_the_workshop_template_as_is(sandbox: Sandbox) -> None:
    """What the workshop's own command does today: the stack rolls back."""
    stacks(sandbox).create_stack(
        StackName=SECONDARY_STACK,
        TemplateBody=template_body(),
        Parameters=IS_SECONDARY,
        Capabilities=CAPABILITIES,
    )
    assert status(sandbox) == "ROLLBACK_COMPLETE"


def assert_step1_passes(target: list[str]) -> None:
    code, results = check(target, "1")
    assert {name: results[name]["status"] for name in STEP1_CHECKS} == dict.fromkeys(
        STEP1_CHECKS, "pass"
    )
    assert code == 0


# ---------------------------------------------------------------------- the checks


def test_a_rolled_back_stack_names_the_resource_and_aws_reason(
    sandbox: Sandbox, target: list[str]
) -> None:
    deploy_the_workshop_template_as_is(sandbox)
    code, results = check(target, "1")
    assert code == 1
    complete = results["infrastructure.stack_complete"]
    assert complete["status"] == "fail"
    assert complete["observed"] == "ROLLBACK_COMPLETE"
    assert "CleanDeletionLambdaFunction (AWS::Lambda::Function)" in complete["message"]
    assert "The runtime parameter of python3.7 is no longer supported" in complete["message"]
    assert "delete-stack --stack-name mm-secondary-region" in complete["message"]
    # The checks that need its outputs fail too (it never got any), saying why.
    outputs = results["infrastructure.secondary_outputs"]
    assert (outputs["status"], outputs["observed"]) == ("fail", "ROLLBACK_COMPLETE")


def test_a_stack_under_review_is_not_still_deploying(sandbox: Sandbox, target: list[str]) -> None:
    stacks(sandbox).create_change_set(
        StackName=SECONDARY_STACK,
        ChangeSetName="never-executed",
        ChangeSetType="CREATE",
        TemplateBody=secondary_template(),
        Parameters=IS_SECONDARY,
        Capabilities=CAPABILITIES,
    )
    assert status(sandbox) == "REVIEW_IN_PROGRESS"
    code, results = check(target, "1")
    assert code == 1
    complete = results["infrastructure.stack_complete"]
    assert (complete["status"], complete["observed"]) == ("fail", "REVIEW_IN_PROGRESS")
    assert "never executed" in complete["message"]
    assert "list-change-sets" in complete["message"]
    assert {results[name]["status"] for name in STEP1_CHECKS} == {"fail"}


def test_a_stack_being_deleted_is_not_a_deployment(sandbox: Sandbox, target: list[str]) -> None:
    assert solve(target).code == 0
    cloudformation_extension(sandbox).stack_delete_seconds = 600  # the whole test long
    stacks(sandbox).delete_stack(StackName=SECONDARY_STACK)
    code, results = check(target, "1")
    assert code == 1
    complete = results["infrastructure.stack_complete"]
    assert (complete["status"], complete["observed"]) == ("fail", "DELETE_IN_PROGRESS")
    assert "being deleted" in complete["message"]


def test_while_the_stack_is_created_the_checks_that_need_it_are_pending(
    sandbox: Sandbox, target: list[str]
) -> None:
    cloudformation_extension(sandbox).stack_create_seconds = 600  # the whole test long
    stacks(sandbox).create_stack(
        StackName=SECONDARY_STACK,
        TemplateBody=secondary_template(),
        Parameters=IS_SECONDARY,
        Capabilities=CAPABILITIES,
    )
    code, results = check(target)
    assert code == 1
    for name in (*STEP1_CHECKS, "checkpoint.secondary_site"):
        assert results[name]["status"] == "pending", results[name]
    assert "still being created" in results["infrastructure.secondary_outputs"]["message"]


def test_a_rolled_back_update_is_a_failure(sandbox: Sandbox, target: list[str]) -> None:
    assert solve(target).code == 0
    # The workshop's template as is, deployed over the good stack: the update rolls back.
    change_set = stacks(sandbox).create_change_set(
        StackName=SECONDARY_STACK,
        ChangeSetName="as-is",
        ChangeSetType="UPDATE",
        TemplateBody=template_body(),
        Parameters=IS_SECONDARY,
        Capabilities=CAPABILITIES,
    )["Id"]
    stacks(sandbox).execute_change_set(ChangeSetName=change_set)
    assert status(sandbox) == "UPDATE_ROLLBACK_COMPLETE"
    code, results = check(target, "1")
    assert code == 1
    complete = results["infrastructure.stack_complete"]
    assert (complete["status"], complete["observed"]) == ("fail", "UPDATE_ROLLBACK_COMPLETE")
    assert "CleanDeletionLambdaFunction" in complete["message"]


# ---------------------------------------------------------------------- solving again


def test_solve_raises_the_runtime_and_says_so(sandbox: Sandbox, target: list[str]) -> None:
    solved = solve(target)
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "python3.7 → python3.12" in solved.stderr  # the log
    assert status(sandbox) == "CREATE_COMPLETE"
    # Each resource's creation shows once in progress, once complete (AWS emits a second
    # "in progress" event per resource, "Resource creation Initiated": not a new line).
    lines = solved.stderr.splitlines()
    assert lines.count("us-east-1: VPC CREATE_IN_PROGRESS") == 1, solved.stderr
    assert lines.count("us-east-1: VPC CREATE_COMPLETE") == 1, solved.stderr
    functions = sandbox.client("lambda", SECONDARY).list_functions()["Functions"]
    assert [f["Runtime"] for f in functions] == ["python3.12"]
    assert_step1_passes(target)


def test_solve_again_after_a_rollback_deletes_and_creates_the_stack(
    sandbox: Sandbox, target: list[str]
) -> None:
    deploy_the_workshop_template_as_is(sandbox)
    solved = solve(target)
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "is ROLLBACK_COMPLETE" in solved.stderr  # the log
    assert "CleanDeletionLambdaFunction" in solved.stderr
    assert "deleted and created again" in solved.stderr
    assert status(sandbox) == "CREATE_COMPLETE"
    assert_step1_passes(target)
    again = solve(target)
    assert again.code == 0 and "already done, nothing changed" in again.stdout


def test_solve_again_on_a_stack_under_review_creates_it(
    sandbox: Sandbox, target: list[str]
) -> None:
    stacks(sandbox).create_change_set(
        StackName=SECONDARY_STACK,
        ChangeSetName="never-executed",
        ChangeSetType="CREATE",
        TemplateBody=template_body(),
        Parameters=IS_SECONDARY,
        Capabilities=CAPABILITIES,
    )
    solved = solve(target)
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "is REVIEW_IN_PROGRESS" in solved.stderr  # the log
    assert "new CREATE change set" in solved.stderr
    assert status(sandbox) == "CREATE_COMPLETE"
    assert_step1_passes(target)


def test_solve_again_while_the_stack_is_created_waits_for_it(
    sandbox: Sandbox, target: list[str]
) -> None:
    # Long enough for the solve's process to start and find the creation still going.
    cloudformation_extension(sandbox).stack_create_seconds = 8.0
    stacks(sandbox).create_stack(
        StackName=SECONDARY_STACK,
        TemplateBody=secondary_template(),
        Parameters=IS_SECONDARY,
        Capabilities=CAPABILITIES,
    )
    assert status(sandbox) == "CREATE_IN_PROGRESS"
    solved = solve(target)
    assert solved.code == 0, solved.stdout + solved.stderr
    assert "is CREATE_IN_PROGRESS; waiting for it to finish first" in solved.stderr
    assert "waited for mm-secondary-region to finish (CREATE_COMPLETE)" in solved.stderr
    assert status(sandbox) == "CREATE_COMPLETE"
    assert_step1_passes(target)


def test_an_update_that_rolls_back_is_reported_as_a_failure(
    sandbox: Sandbox, target: list[str]
) -> None:
    # The attendee's slip: the stack deployed without IsSecondary=true.
    stacks(sandbox).create_stack(
        StackName=SECONDARY_STACK, TemplateBody=secondary_template(), Capabilities=CAPABILITIES
    )
    # ... and its clean-up function deleted behind CloudFormation's back: the secondary's
    # custom resource, which the update adds, cannot reach it, so the update rolls back.
    functions = sandbox.client("lambda", SECONDARY)
    (function,) = functions.list_functions()["Functions"]
    functions.delete_function(FunctionName=function["FunctionName"])
    solved = solve(target)
    assert solved.code == 4, solved.stdout + solved.stderr
    assert "deployed mm-secondary-region" not in solved.stdout + solved.stderr
    assert "it is UPDATE_ROLLBACK_COMPLETE" in solved.stderr
    assert "SecondaryCleanDeletionCustomResource (Custom::CleanDelete)" in solved.stderr
    assert status(sandbox) == "UPDATE_ROLLBACK_COMPLETE"


def test_reset_stops_at_a_failed_deletion_with_its_reason(
    sandbox: Sandbox, target: list[str]
) -> None:
    assert solve(target).code == 0
    # A subnet made outside the stack keeps its VPC alive, as on AWS: the deletion fails.
    ec2 = sandbox.client("ec2", SECONDARY)
    (vpc,) = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]]
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.200.0/24")
    reset = invoke("reset", *target, "--step", "1", "--yes")
    assert reset.code == 4, reset.stdout + reset.stderr
    assert "it is DELETE_FAILED" in reset.stderr
    assert "VPC (AWS::EC2::VPC)" in reset.stderr
    assert status(sandbox) == "DELETE_FAILED"


def test_raising_runtimes_edits_only_the_runtimes() -> None:
    from mmtui.labs.lab3.runtimes import raise_runtimes

    yaml_body = (
        "Resources:\n"
        "  Old:\n"
        "    Properties:\n"
        "      Runtime: python3.7\n"
        "      Code: {ZipFile: 'print(\"Runtime: python3.7\")'}\n"
        "  Quoted:\n"
        "    Properties: {Runtime: 'nodejs12.x', Handler: x}\n"
        "  Current:\n"
        "    Properties:\n"
        "      Runtime: python3.12\n"
    )
    raised, changes = raise_runtimes(yaml_body)
    assert raised == (
        yaml_body.replace("Runtime: python3.7\n", "Runtime: python3.12\n").replace(
            "'nodejs12.x'", "'nodejs24.x'"
        )
    )
    assert [c.describe() for c in changes] == ["python3.7 → python3.12", "nodejs12.x → nodejs24.x"]
    json_body = '{"Resources": {"F": {"Properties": {"Runtime": "go1.x", "Handler": "h"}}}}'
    assert raise_runtimes(json_body)[0] == json_body.replace("go1.x", "provided.al2023")
    assert raise_runtimes(template_body())[1][0].count == 1
