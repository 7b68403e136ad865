"""`mmtui policy`: the least-privilege IAM policy of a lab, and proof that it is enough.

The proof runs the whole-lab check in an attendee account through a role that carries exactly
`mmtui policy check`'s JSON, which the sandbox enforces (the role is tagged
`mmtui:enforce-iam`): every check says what it says with full rights. With one action removed
from the policy, the check that needs it, and that check alone, reports AccessDenied, and the
command exits 3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

import mmtui.labs
from mmtui.exitcodes import ExitCode
from mmtui.labs.lab3.permissions import TEMPLATE_RESOURCE_ACTIONS
from mmtui.sandbox.workshop.stacks import template_body
from mmtui.target.readonly import is_read_only
from tests.conftest import AttendeeSandbox, assume_role, invoke
from tests.iam_roles import make_role

REGIONS = ["us-west-2", "us-east-1"]


def printed(*args: str) -> dict[str, Any]:
    result = invoke("policy", *args)
    assert result.code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def actions_of(document: dict[str, Any]) -> set[str]:
    return {a for statement in document["Statement"] for a in statement["Action"]}


def assert_valid_policy(document: dict[str, Any], regions: list[str] = REGIONS) -> None:
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(set(sids)) == len(sids)
    for statement in document["Statement"]:
        assert re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"])
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == "*"
        assert statement["Action"] == sorted(set(statement["Action"])) != []
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a) for a in statement["Action"])
        if all(a.startswith("iam:") for a in statement["Action"]):
            assert "Condition" not in statement  # IAM is global: signed for us-east-1
        else:
            assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": regions}}
    # Each action granted once, in the statement of the first step that needs it.
    every = [a for s in document["Statement"] for a in s["Action"]]
    assert len(every) == len(set(every))


def test_the_check_policy_is_read_only_and_holds_what_the_audit_lists() -> None:
    document = printed("check")
    assert_valid_policy(document)
    assert printed() == document  # check is the default mode
    granted = actions_of(document)
    assert all(is_read_only(a.split(":", 1)[1]) for a in granted)
    assert {
        "cloudformation:DescribeStacks",
        "dynamodb:DescribeTable",
        "dynamodb:Scan",
        "ecs:DescribeClusters",
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "ecr:DescribeRepositories",
        "ecr:DescribeImages",
        "elasticloadbalancing:DescribeLoadBalancers",
        "codepipeline:ListPipelines",
        "codepipeline:GetPipeline",
        "codepipeline:ListPipelineExecutions",
        "codecommit:GetFile",
        "xray:GetGroups",
        "cloudwatch:GetDashboard",
        # A failed stack explained from its events; every dashboard graphing both regions.
        "cloudformation:DescribeStackEvents",
        "cloudwatch:ListDashboards",
        # A failed pipeline run explained: its failed action, its build's last logged error.
        "codebuild:BatchGetBuilds",
        "logs:GetLogEvents",
        # The guide's inventory and forms.
        "ecs:ListServices",
        "ecs:ListClusters",
        "codepipeline:GetPipelineState",
        "ec2:DescribeRegions",
    } == granted
    assert "sts:GetCallerIdentity" not in granted  # AWS needs no permission for it


def test_solve_and_reset_add_their_writes_step_by_step() -> None:
    check = actions_of(printed("check"))
    solve = printed("solve")
    assert_valid_policy(solve)
    statements = {s["Sid"]: s for s in solve["Statement"]}
    assert check < actions_of(solve)
    assert {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"} <= set(
        statements["MmtuiSolveInfrastructure"]["Action"]
    )
    # CloudFormation creates the template's resources as the caller (no stack role is passed).
    as_caller = statements["MmtuiCloudFormationCreatesTheTemplateResourcesAsTheCaller"]["Action"]
    assert {"ec2:CreateVpc", "ecs:CreateService", "elasticloadbalancing:CreateLoadBalancer"} <= set(
        as_caller
    )
    iam = statements["MmtuiCloudFormationCreatesTheTemplateResourcesAsTheCallerGlobal"]["Action"]
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:PassRole"} <= set(iam)
    assert (
        "dynamodb:CreateTableReplica"
        in statements["MmtuiDynamoDBCreatesTheReplicaAsTheCaller"]["Action"]
    )
    assert statements["MmtuiDynamoDBMakesItsReplicationRoleGlobal"]["Action"] == [
        "iam:CreateServiceLinkedRole"
    ]
    assert {"codepipeline:UpdatePipeline", "s3:CreateBucket"} <= set(
        statements["MmtuiSolvePipeline"]["Action"]
    )
    assert "codecommit:GitPush" in statements["MmtuiSolveBuildArtifacts"]["Action"]
    assert {"xray:CreateGroup", "cloudwatch:PutDashboard"} <= set(
        statements["MmtuiSolveDashboard"]["Action"]
    )

    reset = printed("reset")
    assert_valid_policy(reset)
    granted = actions_of(reset)
    assert check < granted
    assert {
        "cloudformation:DeleteStack",
        "ecr:BatchDeleteImage",
        "dynamodb:DeleteTableReplica",
        "s3:DeleteBucket",
        "xray:DeleteGroup",
        "codecommit:GitPush",
    } <= granted
    # A reset creates nothing: no create action but the stack's own change set machinery.
    assert not {a for a in granted if a.split(":", 1)[1].startswith("Create")}


def test_the_regions_and_the_lab_are_options() -> None:
    document = printed(
        "check", "--primary-region", "eu-west-1", "--secondary-region", "eu-central-1"
    )
    assert_valid_policy(document, ["eu-west-1", "eu-central-1"])
    unknown = invoke("policy", "--lab", "9")
    assert unknown.code == ExitCode.USAGE
    assert "--lab" in unknown.stderr and "Traceback" not in unknown.stderr
    bad = invoke("policy", "write")
    assert bad.code == ExitCode.USAGE
    typo = invoke("policy", "--secondary-region", "us-est-1")
    assert typo.code == ExitCode.USAGE
    assert "--secondary-region: 'us-est-1' is not an AWS region" in typo.stderr
    same = invoke("policy", "--secondary-region", "us-west-2")
    assert same.code == ExitCode.USAGE and "are both us-west-2" in same.stderr


def test_every_resource_type_of_the_workshop_template_is_granted_to_cloudformation() -> None:
    class Loader(yaml.SafeLoader):
        pass

    # The template's short-form intrinsics (!Ref, !Sub, ...) read as plain values.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(template_body(), Loader=Loader)  # noqa: S506  (SafeLoader subclass)
    types = {str(r["Type"]) for r in template["Resources"].values()}
    types = {
        "AWS::CloudFormation::CustomResource" if t.startswith("Custom::") else t for t in types
    }
    assert types - set(TEMPLATE_RESOURCE_ACTIONS) == set()


# ---------------------------------------------------------------------- enforced on the sandbox

ONLY_ONE_CHECK_NEEDS = "ecr:DescribeRepositories"
SOLVED_FIRST = ("1", "2", "3", "5")
"""Steps solved in the account before it is checked, so the checks go past "not there yet"
into the calls they make on a lab in progress (step 4 runs pipelines and is left undone)."""


def use(monkeypatch: pytest.MonkeyPatch, keys: dict[str, str]) -> None:
    for name, value in keys.items():
        monkeypatch.setenv(name, value)


def check_statuses(url: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = invoke("check", "--endpoint-url", url, "--format", "json")
    assert result.stdout, result.stderr
    document = json.loads(result.stdout)
    return result.code, {c["id"]: c for step in document["steps"] for c in step["checks"]}


def test_the_whole_lab_check_works_under_the_printed_policy_and_not_without_an_action(
    attendee_accounts: Callable[[int], AttendeeSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = mmtui.labs.get("3").permissions
    assert declared is not None
    needing = [u for u, a in declared.units.items() if ONLY_ONE_CHECK_NEEDS in a]
    assert needing == ["infrastructure.registries"]

    room = attendee_accounts(1)
    account = room.ids[0]
    tables = next(e for e in room.sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 0.3  # type: ignore[attr-defined]
    tables.replica_delete_seconds = 0.3  # type: ignore[attr-defined]
    monkeypatch.setenv("MMTUI_RESOLVE_FILE", room.sandbox.env()["MMTUI_RESOLVE_FILE"])

    def as_role(document: dict[str, Any], name: str) -> None:
        """Act through a new enforced role in the account carrying exactly `document`."""
        use(monkeypatch, room.credentials(account))  # the instructor's administrator role
        arn = make_role(room, account, document, name=name)
        use(monkeypatch, assume_role(room.url, room.sandbox.env(), arn, session_name="check"))

    # The steps are solved under `mmtui policy solve`, enforced, as a first proof of it.
    as_role(printed("solve"), "MmtuiSolve")
    for step in SOLVED_FIRST:
        solved = invoke("solve", "--endpoint-url", room.url, "--step", step)
        assert solved.code == 0, solved.stdout + solved.stderr
    use(monkeypatch, room.credentials(account))
    full_code, full = check_statuses(room.url)
    assert full_code == ExitCode.CHECK_FAILED  # step 4 is not done
    assert not [c for c in full.values() if c["status"] == "error"]
    assert full["infrastructure.registries"]["status"] == "pass"

    policy = printed("check")
    as_role(policy, "MmtuiCheckOnly")
    code, seen = check_statuses(room.url)
    assert code == full_code
    assert {k: c["status"] for k, c in seen.items()} == {k: c["status"] for k, c in full.items()}

    for statement in policy["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != ONLY_ONE_CHECK_NEEDS]
    as_role(policy, "MmtuiCheckLacking")
    code, seen = check_statuses(room.url)
    assert code == ExitCode.CREDENTIALS
    refused = {k for k, c in seen.items() if c["status"] != full[k]["status"]}
    assert refused == {"infrastructure.registries"}
    registries = seen["infrastructure.registries"]
    assert registries["status"] == "error"
    assert "AccessDeniedException" in registries["message"]
    assert (
        f"arn:aws:sts::{account}:assumed-role/MmtuiCheckLacking/check is not authorized to "
        f"perform: {ONLY_ONE_CHECK_NEEDS}"
    ) in registries["message"]

    # And the steps are reset under `mmtui policy reset`, enforced.
    as_role(printed("reset"), "MmtuiReset")
    for step in reversed(SOLVED_FIRST):
        reset = invoke("reset", "--endpoint-url", room.url, "--step", step, "--yes")
        assert reset.code == 0, reset.stdout + reset.stderr
        assert "reset done" in reset.stdout
