"""Attendee accounts: reached by AssumeRole, each its own Labs 0-2 baseline, isolated, kept.

Everything goes over HTTP as an instructor's tools would: `sts assume-role` with the default
account's keys, then boto3, git and mmtui with the credentials it answered.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.core.protocol import TEMPLATE_ACCOUNT
from mmtui.sandbox.core.server import ENV_FILE, STATE_FILE
from mmtui.sandbox.workshop.repositories import nested_stack_name
from tests.conftest import (
    ATTENDEE_EXTERNAL_ID,
    AttendeeSandbox,
    assume_role,
    codecommit_git,
    invoke,
)

PRIMARY = "us-west-2"
SECONDARY = "us-east-1"
STACK = "mm-multi-region"
TABLE = "mm-ddbtable"
Attendees = Callable[[int], AttendeeSandbox]


def clients(room: AttendeeSandbox, account: str) -> Callable[..., Any]:
    session = room.session(account)

    def client(service: str, region: str = PRIMARY) -> Any:
        return session.client(service, region_name=region, endpoint_url=room.url)

    return client


def git(*args: str, cwd: Path | None = None) -> str:
    """The real git CLI, isolated from the machine's configuration."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=git_store.git_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def outputs(client: Callable[..., Any]) -> dict[str, str]:
    stack = client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def site(room: AttendeeSandbox, dns: str, path: str = "/") -> tuple[int, str]:
    """GET the load balancer named `dns` through the resolve map, as mmtui's checks do."""
    url = room.sandbox.resolve_map()[dns]
    with urllib.request.urlopen(url + path, timeout=30) as answer:  # noqa: S310  (loopback)
        return answer.status, answer.read().decode()


# ---------------------------------------------------------------------- reaching an account


def test_assume_role_acts_in_the_account(attendee_accounts: Attendees) -> None:
    room = attendee_accounts(2)
    for account in room.ids[:2]:
        identity = clients(room, account)("sts").get_caller_identity()
        assert identity["Account"] == account
        assert identity["Arn"] == (
            f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/instructor"
        )
    # The role is there as an administrator would see it, trusting the instructor's account.
    role = clients(room, room.ids[0])("iam").get_role(RoleName="OrganizationAccountAccessRole")
    statement = role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": ATTENDEE_EXTERNAL_ID}}
    # The sandbox's own keys still act in the default account.
    default = room.sandbox.client("sts").get_caller_identity()
    assert default["Account"] == "123456789012"


def _assume(room: AttendeeSandbox, role_arn: str, **extra: str) -> ClientError:
    env = room.sandbox.env()
    sts = boto3.client(
        "sts",
        endpoint_url=room.url,
        region_name=PRIMARY,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="instructor", **extra)
    return refused.value


@pytest.mark.parametrize(
    ("role", "extra"),
    [
        ("OrganizationAccountAccessRole", {"ExternalId": "not-the-one"}),
        ("OrganizationAccountAccessRole", {}),
        ("NoSuchRole", {"ExternalId": ATTENDEE_EXTERNAL_ID}),
    ],
    ids=["wrong external id", "no external id", "no such role"],
)
def test_assume_role_is_refused_as_aws_refuses_it(
    attendee_accounts: Attendees, role: str, extra: dict[str, str]
) -> None:
    room = attendee_accounts(1)
    arn = f"arn:aws:iam::{room.ids[0]}:role/{role}"
    error = _assume(room, arn, **extra)
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Message"] == (
        "User: arn:aws:sts::123456789012:user/moto is not authorized to perform: "
        f"sts:AssumeRole on resource: {arn}"
    )


def test_an_account_the_sandbox_does_not_have_cannot_be_assumed(
    attendee_accounts: Attendees,
) -> None:
    room = attendee_accounts(1)
    error = _assume(
        room,
        "arn:aws:iam::999999999999:role/OrganizationAccountAccessRole",
        ExternalId=ATTENDEE_EXTERNAL_ID,
    )
    assert error.response["Error"]["Code"] == "AccessDenied"


def test_one_attendee_cannot_assume_the_instructor_role_of_another(
    attendee_accounts: Attendees,
) -> None:
    """The role trusts the instructor's account only, not another attendee account."""
    room = attendee_accounts(2)
    first, second = room.ids[:2]
    sts = clients(room, first)("sts")
    target = f"arn:aws:iam::{second}:role/OrganizationAccountAccessRole"
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=target, RoleSessionName="xx", ExternalId=ATTENDEE_EXTERNAL_ID)
    assert refused.value.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{first}:assumed-role/OrganizationAccountAccessRole/instructor is "
        f"not authorized to perform: sts:AssumeRole on resource: {target}"
    )


def test_add_accounts_refuses_bad_ids_and_accounts_it_has(attendee_accounts: Attendees) -> None:
    from mmtui.exitcodes import MmtuiError

    room = attendee_accounts(1)
    for ids in (["12345"], ["123456789012"], [room.ids[0]]):
        with pytest.raises(MmtuiError):
            room.sandbox.add_accounts(ids)
    assert [r.account_id for r in room.sandbox.attendee_accounts] == room.ids


# ---------------------------------------------------------------------- each account's baseline


def test_each_account_has_its_own_labs_0_to_2_baseline(
    attendee_accounts: Attendees, tmp_path: Path
) -> None:
    room = attendee_accounts(2)
    seen: dict[str, set[str]] = {"repos": set(), "urls": set(), "dns": set(), "buckets": set()}
    for account in room.ids[:2]:
        client = clients(room, account)
        found = outputs(client)
        # Lab 0: the workshop stack, with this account's resources.
        assert found["CoreServiceEcrRepo"].startswith(f"{account}.dkr.ecr.{PRIMARY}.")
        items = client("dynamodb").scan(TableName=TABLE)["Items"]
        assert len(items) == 12
        # Lab 1 and 2: the X-Ray groups and the dashboard.
        groups = {g["GroupName"] for g in client("xray").get_groups()["Groups"]}
        assert groups == {"Default", "like-service", "like-service-errors-faults"}
        dashboards = client("cloudwatch").list_dashboards()["DashboardEntries"]
        assert [d["DashboardName"] for d in dashboards] == [f"{STACK}_Dashboard"]

        # The repositories: real git over HTTP, at this account's own URL, with this account's
        # registry written into the buildspec; each pipeline's one run built that commit.
        codecommit = client("codecommit")
        codepipeline = client("codepipeline")
        pipelines = [p["name"] for p in codepipeline.list_pipelines()["pipelines"]]
        assert len(pipelines) == 2
        for pipeline in pipelines:
            (run,) = codepipeline.list_pipeline_executions(pipelineName=pipeline)[
                "pipelineExecutionSummaries"
            ]
            assert run["status"] == "Succeeded"
            definition = codepipeline.get_pipeline(name=pipeline)["pipeline"]
            source = definition["stages"][0]["actions"][0]["configuration"]
            repo = source["RepositoryName"]
            head = codecommit.get_branch(repositoryName=repo, branchName="master")["branch"]
            assert run["sourceRevisions"][0]["revisionId"] == head["commitId"]
            url = codecommit.get_repository(repositoryName=repo)["repositoryMetadata"][
                "cloneUrlHttp"
            ]
            assert url == f"{room.url}/accounts/{account}/v1/repos/{repo}"
            clone = tmp_path / account / repo
            codecommit_git("clone", "--quiet", url, str(clone), aws=room.credentials(account))
            assert git("rev-parse", "HEAD", cwd=clone).strip() == head["commitId"]
            buildspec = (clone / "buildspec_prod.yml").read_text()
            assert f"{account}.dkr.ecr.{PRIMARY}.amazonaws.com/" in buildspec
            seen["repos"].add(repo)
            seen["urls"].add(url)
            # The build pushed that commit's image to this account's registry...
            service = "core" if repo.startswith("core") else "like"
            registry = found[f"{service.capitalize()}ServiceEcrRepo"]
            images = client("ecr").describe_images(repositoryName=registry.split("/", 1)[1])
            tags = {t for i in images["imageDetails"] for t in i.get("imageTags", [])}
            assert head["commitId"] in tags
            # ... and the deploy made this account's service run it.
            ecs = client("ecs")
            (described,) = ecs.describe_services(
                cluster=found["EcsClusterName"],
                services=[found[f"{service.capitalize()}EcsServiceName"]],
            )["services"]
            assert described["runningCount"] == described["desiredCount"] == 1
            definition = ecs.describe_task_definition(taskDefinition=described["taskDefinition"])
            images_run = {c["image"] for c in definition["taskDefinition"]["containerDefinitions"]}
            assert f"{registry}:{head['commitId']}" in images_run
        buckets = [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
        assert len(buckets) == 1
        seen["buckets"].add(buckets[0])

        # The load balancer answers with this account's own table behind it.
        dns = _balancer_dns(client)
        seen["dns"].add(dns)
        status, page = site(room, dns)
        assert status == 200 and f"Current region: {PRIMARY}" in page
        status, body = site(room, dns, "/mysfits")
        assert status == 200 and len(json.loads(body)["mysfits"]) == 12
    # Names that are per account differ between accounts, as on AWS.
    for kind, values in seen.items():
        assert len(values) == (4 if kind in ("repos", "urls") else 2), (kind, values)


def _balancer_dns(client: Callable[..., Any]) -> str:
    (balancer,) = client("elbv2").describe_load_balancers()["LoadBalancers"]
    return str(balancer["DNSName"])


def test_nothing_of_the_template_or_another_account_shows(attendee_accounts: Attendees) -> None:
    """The copies name only their own account: not the template's, not each other's."""
    room = attendee_accounts(2)
    first, second = room.ids[:2]
    client = clients(room, first)
    suffix = nested_stack_name(room.sandbox, second).rsplit("-", 1)[-1]
    pipelines = client("codepipeline")
    answers = [
        client("cloudformation").describe_stacks(StackName=STACK),
        client("cloudformation").describe_stack_resources(StackName=STACK),
        client("ecs").describe_services(
            cluster=outputs(client)["EcsClusterName"],
            services=[outputs(client)["CoreEcsServiceName"]],
        ),
        client("iam").list_roles(),
        client("codebuild").batch_get_builds(ids=client("codebuild").list_builds()["ids"]),
        [pipelines.get_pipeline(name=p["name"]) for p in pipelines.list_pipelines()["pipelines"]],
        client("logs").describe_log_groups(),
        client("cloudwatch").get_dashboard(DashboardName=f"{STACK}_Dashboard"),
    ]
    text = json.dumps(answers, default=str)
    assert first in text
    for foreign in (TEMPLATE_ACCOUNT, second, suffix, suffix.lower()):
        assert foreign not in text, foreign


def test_a_fast_initial_commit_is_the_commit_a_real_seed_pushes(tmp_path: Path) -> None:
    """Copies write their initial commits with git fast-import; a real seed commits in a clone
    and pushes. Both must give the same commit."""
    from mmtui.sandbox.workshop.repositories import (
        SERVICES,
        push_initial_commit,
        service_files,
        write_initial_commit,
    )

    for key, (_, _, message) in SERVICES.items():
        files = service_files(key, "111122223333.dkr.ecr.us-west-2.amazonaws.com/repo")
        pushed, written = tmp_path / f"{key}-pushed.git", tmp_path / f"{key}-written.git"
        for bare in (pushed, written):
            git("init", "--quiet", "--bare", str(bare))
        push_initial_commit(None, str(pushed), files, message, {})
        commit = write_initial_commit(written, files, message)
        assert git("--git-dir", str(pushed), "rev-parse", "refs/heads/master").strip() == commit


# ---------------------------------------------------------------------- isolation


def test_a_change_in_one_account_is_invisible_in_another(attendee_accounts: Attendees) -> None:
    room = attendee_accounts(2)
    first, second = (clients(room, account) for account in room.ids[:2])
    item = {"MysfitId": {"S": "only-in-the-first"}, "Name": {"S": "Zoltar"}}
    first("dynamodb").put_item(TableName=TABLE, Item=item)
    first("xray").create_group(GroupName="only-first", FilterExpression='service("x")')
    first("dynamodb").update_table(
        TableName=TABLE,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    first("dynamodb").update_table(
        TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}]
    )

    key = {"MysfitId": {"S": "only-in-the-first"}}
    assert "Item" in first("dynamodb").get_item(TableName=TABLE, Key=key)
    assert "Item" not in second("dynamodb").get_item(TableName=TABLE, Key=key)
    default = room.sandbox.client("dynamodb", PRIMARY)
    assert "Item" not in default.get_item(TableName=TABLE, Key=key)
    groups = {g["GroupName"] for g in second("xray").get_groups()["Groups"]}
    assert "only-first" not in groups
    replicas = first("dynamodb").describe_table(TableName=TABLE)["Table"]["Replicas"]
    assert [r["RegionName"] for r in replicas] == [SECONDARY]
    assert "Replicas" not in second("dynamodb").describe_table(TableName=TABLE)["Table"]
    assert second("dynamodb", SECONDARY).list_tables()["TableNames"] == []
    assert "Replicas" not in default.describe_table(TableName=TABLE)["Table"]


def test_a_push_runs_that_accounts_pipeline_only(
    attendee_accounts: Attendees, tmp_path: Path
) -> None:
    """A real build in a copied account: it pushes to that account's registry and deploys to
    that account's service; the other account's pipeline does not move."""
    room = attendee_accounts(2)
    first, second = (clients(room, account) for account in room.ids[:2])
    before = {
        p["name"]: len(
            second("codepipeline").list_pipeline_executions(pipelineName=p["name"])[
                "pipelineExecutionSummaries"
            ]
        )
        for p in second("codepipeline").list_pipelines()["pipelines"]
    }
    (core,) = [
        r["repositoryName"]
        for r in first("codecommit").list_repositories()["repositories"]
        if r["repositoryName"].startswith("core-service-")
    ]
    url = first("codecommit").get_repository(repositoryName=core)["repositoryMetadata"][
        "cloneUrlHttp"
    ]
    clone = tmp_path / "core"
    attendee = room.credentials(room.ids[0])
    codecommit_git("clone", "--quiet", url, str(clone), aws=attendee)
    (clone / "service" / "note.txt").write_text("a change\n")
    git("add", "--all", cwd=clone)
    identity = ("-c", "user.name=attendee", "-c", "user.email=attendee@example.com")
    git(*identity, "commit", "--quiet", "-m", "A change", cwd=clone)
    codecommit_git("push", "--quiet", "origin", "master", cwd=clone, aws=attendee)
    commit = git("rev-parse", "HEAD", cwd=clone).strip()

    pipeline = "CorePipeline-" + core.removeprefix("core-service-")
    codepipeline = first("codepipeline")
    deadline = time.monotonic() + 120
    while True:
        runs = codepipeline.list_pipeline_executions(pipelineName=pipeline)[
            "pipelineExecutionSummaries"
        ]
        if len(runs) == 2 and runs[0]["status"] != "InProgress":
            break
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)
    assert runs[0]["status"] == "Succeeded", runs[0]
    assert runs[0]["sourceRevisions"][0]["revisionId"] == commit
    found = outputs(first)
    registry = found["CoreServiceEcrRepo"]
    (service,) = first("ecs").describe_services(
        cluster=found["EcsClusterName"], services=[found["CoreEcsServiceName"]]
    )["services"]
    definition = first("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])
    assert definition["taskDefinition"]["containerDefinitions"][0]["image"] == (
        f"{registry}:{commit}"
    )
    after = {
        name: len(
            second("codepipeline").list_pipeline_executions(pipelineName=name)[
                "pipelineExecutionSummaries"
            ]
        )
        for name in before
    }
    assert after == before


# ---------------------------------------------------------------------- persistence


def test_accounts_survive_a_snapshot_restore(attendee_accounts: Attendees) -> None:
    room = attendee_accounts(2)
    sandbox = room.sandbox
    first = clients(room, room.ids[0])
    item = {"MysfitId": {"S": "kept"}, "Name": {"S": "Kept"}}
    first("dynamodb").put_item(TableName=TABLE, Item=item)
    changed = sandbox.snapshot()

    sandbox.restore_snapshot(sandbox.baseline)  # type: ignore[attr-defined]
    assert sandbox.attendee_accounts == []
    assert set(sandbox.resolve_map()) == {"alb-mm-multi-region-1.us-west-2.elb.amazonaws.com"}
    with pytest.raises(ClientError):
        room.credentials(room.ids[0])

    sandbox.restore_snapshot(changed)
    assert [r.account_id for r in sandbox.attendee_accounts] == room.ids
    first = clients(room, room.ids[0])  # a new session: the old one's key was forgotten too
    key = {"MysfitId": {"S": "kept"}}
    assert "Item" in first("dynamodb").get_item(TableName=TABLE, Key=key)
    for account in room.ids[:2]:
        dns = _balancer_dns(clients(room, account))
        assert site(room, dns)[0] == 200


def test_accounts_survive_a_restart(attendee_accounts: Attendees, tmp_path: Path) -> None:
    """The saved state, loaded by another `mmtui sandbox` process: the accounts, their roles,
    their repositories and their load balancers are all there."""
    room = attendee_accounts(2)
    sandbox = room.sandbox
    sandbox.save()
    copy = tmp_path / "state"
    copy.mkdir()
    shutil.copy2(sandbox.state_dir / STATE_FILE, copy / STATE_FILE)
    shutil.copytree(sandbox.state_dir / "git", copy / "git", symlinks=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "mmtui", "sandbox", "--dir", str(copy)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "ready" in line:
                break
        env = dict(re.findall(r"^export (\w+)=(.*)$", (copy / ENV_FILE).read_text(), re.MULTILINE))
        url = env["AWS_ENDPOINT_URL"]
        assert url != sandbox.url
        for record in room.accounts[:2]:
            account = record.account_id
            assumed = assume_role(url, env, record.role_arn)
            session = boto3.session.Session(
                **{name.lower(): value for name, value in assumed.items()},
                region_name=PRIMARY,
            )
            client = functools.partial(session.client, endpoint_url=url)
            assert client("sts").get_caller_identity()["Account"] == account
            assert len(client("dynamodb").scan(TableName=TABLE)["Items"]) == 12
            repo = client("codecommit").list_repositories()["repositories"][0]["repositoryName"]
            clone_url = client("codecommit").get_repository(repositoryName=repo)[
                "repositoryMetadata"
            ]["cloneUrlHttp"]
            assert clone_url.startswith(f"{url}/accounts/{account}/")
            codecommit_git("clone", "--quiet", clone_url, str(tmp_path / account), aws=assumed)
            dns = _balancer_dns(client)
            site_url = dict(pair.split("=", 1) for pair in env["MMTUI_RESOLVE"].split(","))[dns]
            with urllib.request.urlopen(site_url + "/mysfits", timeout=30) as answer:  # noqa: S310
                assert answer.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


# ---------------------------------------------------------------------- mmtui on an account


def _check(
    monkeypatch: pytest.MonkeyPatch, url: str, credentials: dict[str, str], resolve_file: Path
) -> tuple[int, dict[str, Any]]:
    """`mmtui check --endpoint-url URL --format json` with these credentials in the
    environment (in this process: the target flag means no second sandbox is started)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if name in credentials:
            monkeypatch.setenv(name, credentials[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MMTUI_RESOLVE_FILE", str(resolve_file))
    result = invoke("check", "--endpoint-url", url, "--format", "json")
    assert result.stdout, result.stderr
    return result.code, json.loads(result.stdout)


def _statuses(document: dict[str, Any]) -> dict[str, str]:
    return {
        f"{step['id']}/{check['id']}": check["status"]
        for step in document["steps"]
        for check in step["checks"]
    }


def test_mmtui_check_on_an_attendee_account_as_on_the_default_one(
    attendee_accounts: Attendees, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = attendee_accounts(2)
    account = room.ids[1]
    resolve_file = room.sandbox.state_dir / ENV_FILE
    default_env = room.sandbox.env()
    default_code, default = _check(monkeypatch, room.url, default_env, resolve_file)
    code, document = _check(monkeypatch, room.url, room.credentials(account), resolve_file)

    assert document["target"]["account"] == account
    assert default["target"]["account"] == "123456789012"
    assert code == default_code == 1  # Lab 3's steps are still to do
    prerequisites = [s for s in document["steps"] if s["id"] == "prerequisites"][0]
    assert prerequisites["checks"]
    assert {c["status"] for c in prerequisites["checks"]} == {"pass"}, prerequisites
    steps = {step["id"]: {c["status"] for c in step["checks"]} for step in document["steps"]}
    for step in ("infrastructure", "data-tier", "pipeline", "dashboard", "checkpoint"):
        assert steps[step] == {"fail"}, step
    # Check by check, the same verdicts as for the default account (step 4's included).
    assert _statuses(document) == _statuses(default)


# ---------------------------------------------------------------------- copies are faithful


def test_a_copied_account_is_what_a_real_seed_makes(attendee_accounts: Attendees) -> None:
    """Seed one more account for real (its pipelines really build) and compare everything an
    attendee can read with a copied account, their own names and random ids set aside."""
    room = attendee_accounts(1)
    copied = room.ids[0]
    (real,) = room.sandbox.add_accounts(
        ["299999999999"], external_id=ATTENDEE_EXTERNAL_ID, copy=False
    )
    everyone = AttendeeSandbox(room.sandbox, [*room.accounts, real])
    views = {account: _view(everyone, account) for account in (copied, real.account_id)}
    assert views[copied] == views[real.account_id]


_HEX = re.compile(r"\b[0-9a-fA-F]{7,}\b")
_ID = re.compile(r"\b(vpc|subnet|sg|igw|rtb|nat|eipalloc|eni|acl|rtbassoc|igw-attach)-[0-9a-z]+\b")
# CloudFormation's physical names: `<stack>-<logical id>-<12 random characters>`.
_PHYSICAL = re.compile(r"(?<=-)[A-Z0-9]{12}\b")
_TIME = re.compile(r"\d{4}[-/]\d\d[-/]\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")


def _view(room: AttendeeSandbox, account: str) -> dict[str, Any]:
    """What an attendee can read of their account, with their own names made generic."""
    client = clients(room, account)
    found = outputs(client)
    suffix = nested_stack_name(room.sandbox, account).rsplit("-", 1)[-1]
    codecommit, codepipeline, codebuild = (
        client(s) for s in ("codecommit", "codepipeline", "codebuild")
    )
    repos = sorted(r["repositoryName"] for r in codecommit.list_repositories()["repositories"])
    heads = {
        name: codecommit.get_branch(repositoryName=name, branchName="master")["branch"]["commitId"]
        for name in repos
    }
    stack = client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    pipelines = sorted(p["name"] for p in codepipeline.list_pipelines()["pipelines"])
    builds = codebuild.batch_get_builds(ids=codebuild.list_builds()["ids"])["builds"]
    ecs = client("ecs")
    services = ecs.describe_services(
        cluster=found["EcsClusterName"],
        services=[found["CoreEcsServiceName"], found["LikeEcsServiceName"]],
    )["services"]
    view = {
        "stack": {k: v for k, v in stack.items() if k in ("StackName", "StackStatus")},
        "outputs": found,
        "resources": sorted(
            (r["LogicalResourceId"], r["ResourceType"], r["ResourceStatus"])
            for r in client("cloudformation").describe_stack_resources(StackName=STACK)[
                "StackResources"
            ]
        ),
        "items": sorted(
            json.dumps(i, sort_keys=True) for i in client("dynamodb").scan(TableName=TABLE)["Items"]
        ),
        "groups": client("xray").get_groups()["Groups"],
        "dashboard": client("cloudwatch").get_dashboard(DashboardName=f"{STACK}_Dashboard")[
            "DashboardBody"
        ],
        "repos": repos,
        "pipelines": [codepipeline.get_pipeline(name=name)["pipeline"] for name in pipelines],
        "runs": [
            [
                (r["status"], r["trigger"]["triggerType"], r["sourceRevisions"][0]["revisionId"])
                for r in codepipeline.list_pipeline_executions(pipelineName=name)[
                    "pipelineExecutionSummaries"
                ]
            ]
            for name in pipelines
        ],
        "stages": [
            [
                (s["stageName"], s["latestExecution"]["status"])
                for s in codepipeline.get_pipeline_state(name=name)["stageStates"]
            ]
            for name in pipelines
        ],
        "builds": sorted(
            (
                b["projectName"],
                b["buildStatus"],
                b["resolvedSourceVersion"],
                tuple((p["phaseType"], p.get("phaseStatus")) for p in b["phases"]),
            )
            for b in builds
        ),
        "images": sorted(
            (r["repositoryName"], tuple(sorted(t for i in images for t in i.get("imageTags", []))))
            for r in client("ecr").describe_repositories()["repositories"]
            for images in [
                client("ecr").describe_images(repositoryName=r["repositoryName"])["imageDetails"]
            ]
        ),
        "services": sorted(
            (
                s["serviceName"],
                s["runningCount"],
                tuple(
                    c["image"]
                    for c in ecs.describe_task_definition(taskDefinition=s["taskDefinition"])[
                        "taskDefinition"
                    ]["containerDefinitions"]
                ),
            )
            for s in services
        ),
        "roles": sorted(r["RoleName"] for r in client("iam").list_roles()["Roles"]),
        "log groups": sorted(
            g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]
        ),
        "site": site(room, _balancer_dns(client), "/mysfits"),
    }
    text = json.dumps(view, sort_keys=True, default=str)
    for name, commit in heads.items():
        text = text.replace(commit, f"<head of {name[:4]}>")
    text = text.replace(account, "<account>").replace(suffix, "<suffix>")
    text = text.replace(suffix.lower(), "<suffix>")
    text = _PHYSICAL.sub("<random>", _HEX.sub("<hex>", text))
    text = _TIME.sub("<time>", _ID.sub(r"\1-<id>", text))
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# ---------------------------------------------------------------------- scale


def test_twenty_accounts_each_answer_for_themselves(attendee_accounts: Attendees) -> None:
    """The scale the fleet commands are tested at: every account reachable, every load
    balancer its own, answering from its own table. (Last in the file: from here on the
    session's snapshot holds twenty accounts, and restoring it takes longer.)"""
    room = attendee_accounts(20)
    assert len(room.ids) >= 20
    resolve = room.sandbox.resolve_map()
    for account in room.ids[:20]:
        client = clients(room, account)
        assert client("sts").get_caller_identity()["Account"] == account
        client("dynamodb").update_item(
            TableName=TABLE,
            Key={"MysfitId": {"S": _first_mysfit(client)}},
            UpdateExpression="SET Likes = :n",
            ExpressionAttributeValues={":n": {"N": account[-2:]}},
        )
    likes = set()
    for account in room.ids[:20]:
        dns = _balancer_dns(clients(room, account))
        assert dns in resolve
        status, body = site(room, dns, "/mysfits")
        assert status == 200
        likes.add(max(int(m["likes"]) for m in json.loads(body)["mysfits"]))
    assert len(likes) == 20  # each site read its own account's table
    assert len(resolve) == 1 + len(room.ids)


def _first_mysfit(client: Callable[..., Any]) -> str:
    items = client("dynamodb").scan(TableName=TABLE, ProjectionExpression="MysfitId")["Items"]
    return str(min(item["MysfitId"]["S"] for item in items))
