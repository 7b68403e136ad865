"""Pipelines that really run: pushes start them, builds run the buildspec, deploys reach ECS.

Everything goes over HTTP (the sandbox's AWS API, its git server with the real `git`, the load
balancer stand-ins); tests wait on real conditions with bounded polling, never fixed sleeps.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.behaviours.dynamodb_global import DynamoDBGlobalTables
from mmtui.sandbox.behaviours.pipelines import buildspec as buildspecs
from mmtui.sandbox.behaviours.pipelines.build import BuildHooks, BuildRequest, BuildRun
from mmtui.sandbox.behaviours.pipelines.engine import find
from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop.primary_app import stack_outputs
from mmtui.sandbox.workshop.repositories import repository_names
from mmtui.sandbox.workshop.stacks import CAPABILITIES, PRIMARY_STACK, SECONDARY_STACK
from tests.conftest import REPO, codecommit_git, secondary_template

PRIMARY, SECONDARY = "us-west-2", "us-east-1"
DOCKER = REPO / "mmtui/sandbox/behaviours/pipelines/docker.py"
TIMEOUT = 60.0


# ---------------------------------------------------------------------- helpers


def wait_until(condition: Callable[[], Any], timeout: float = TIMEOUT, what: str = "") -> Any:
    """Poll `condition` until it returns something truthy (bounded; no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)


def git(*args: str, cwd: Path) -> str:
    done = git_store.run_git(*args, cwd=cwd)
    return done.stdout.decode().strip()


def names(sandbox: Sandbox) -> dict[str, str]:
    """Repository and pipeline names of both services."""
    repos = repository_names(sandbox)
    nested = repos["core"].removeprefix("core-service-")
    return {
        "core": repos["core"],
        "like": repos["like"],
        "core_pipeline": f"CorePipeline-{nested}",
        "like_pipeline": f"LikePipeline-{nested}",
    }


def push(sandbox: Sandbox, repo: str, files: dict[str, str], message: str) -> str:
    """Commit files in the workspace clone and `git push` them; returns the commit."""
    clone = sandbox.workspace / repo
    # The sandbox was reset to the baseline: start from what the server has now.
    codecommit_git("fetch", "--quiet", "origin", cwd=clone, aws=sandbox)
    git("reset", "--quiet", "--hard", "origin/master", cwd=clone)
    for path, text in files.items():
        (clone / path).write_text(text)
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "--no-verify", "-m", message, cwd=clone)
    codecommit_git("push", "--quiet", "origin", "master", cwd=clone, aws=sandbox)
    return git("rev-parse", "HEAD", cwd=clone)


def execution_of(sandbox: Sandbox, pipeline: str, commit: str) -> dict[str, Any] | None:
    summaries = sandbox.client("codepipeline").list_pipeline_executions(pipelineName=pipeline)[
        "pipelineExecutionSummaries"
    ]
    for summary in summaries:
        if any(r["revisionId"] == commit for r in summary.get("sourceRevisions", [])):
            return dict(summary)
    return None


def finished(sandbox: Sandbox, pipeline: str, commit: str) -> dict[str, Any]:
    """The execution of that commit, once it is over."""

    def done() -> dict[str, Any] | None:
        found = execution_of(sandbox, pipeline, commit)
        return found if found and found["status"] not in ("InProgress", "Stopping") else None

    result: dict[str, Any] = wait_until(done, what=f"{pipeline} to run {commit}")
    return result


def actions(sandbox: Sandbox, pipeline: str, execution_id: str) -> dict[str, dict[str, Any]]:
    """Action name → its ActionExecutionDetail in that execution."""
    details = sandbox.client("codepipeline").list_action_executions(
        pipelineName=pipeline, filter={"pipelineExecutionId": execution_id}
    )["actionExecutionDetails"]
    return {d["actionName"]: d for d in details}


def image_tags(sandbox: Sandbox, region: str, repository_uri: str) -> set[str]:
    repository = repository_uri.split("/", 1)[1]
    details = sandbox.client("ecr", region).describe_images(repositoryName=repository)
    return {tag for d in details["imageDetails"] for tag in d.get("imageTags", [])}


def service_image(sandbox: Sandbox, region: str, cluster: str, service: str, container: str) -> str:
    ecs = sandbox.client("ecs", region)
    described = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    assert described["runningCount"] == described["desiredCount"] == 1
    (deployment,) = described["deployments"]
    assert (deployment["status"], deployment["rolloutState"]) == ("PRIMARY", "COMPLETED")
    definition = ecs.describe_task_definition(taskDefinition=described["taskDefinition"])
    (spec,) = [
        c for c in definition["taskDefinition"]["containerDefinitions"] if c["name"] == container
    ]
    return str(spec["image"])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def create_secondary(sandbox: Sandbox) -> dict[str, str]:
    """Lab 3 step 1 (the secondary stack) and step 2 (the table's replica there)."""
    sandbox.client("cloudformation", SECONDARY).create_stack(
        StackName=SECONDARY_STACK,
        TemplateBody=secondary_template(),
        Capabilities=CAPABILITIES,
        Parameters=[{"ParameterKey": "IsSecondary", "ParameterValue": "true"}],
    )
    sandbox.client("dynamodb", PRIMARY).update_table(
        TableName="mm-ddbtable",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    sandbox.client("dynamodb", PRIMARY).update_table(
        TableName="mm-ddbtable", ReplicaUpdates=[{"Create": {"RegionName": SECONDARY}}]
    )
    return stack_outputs(sandbox, SECONDARY_STACK, SECONDARY)


def add_cross_region_deploy(sandbox: Sandbox, pipeline: str, secondary: dict[str, str]) -> None:
    """Lab 3 step 3: the CrossRegionDeploy stage, with an artifact store in each region."""
    bucket = "codepipeline-us-east-1-mmtui-test"
    sandbox.client("s3", SECONDARY).create_bucket(Bucket=bucket)
    codepipeline = sandbox.client("codepipeline")
    declaration = codepipeline.get_pipeline(name=pipeline)["pipeline"]
    declaration["artifactStores"] = {
        PRIMARY: declaration.pop("artifactStore"),
        SECONDARY: {"type": "S3", "location": bucket},
    }
    declaration["stages"].append(cross_region_stage(secondary))
    codepipeline.update_pipeline(pipeline=declaration)


def cross_region_stage(secondary: dict[str, str]) -> dict[str, Any]:
    return {
        "name": "CrossRegionDeploy",
        "actions": [
            {
                "name": "CrossRegionDeploy",
                "actionTypeId": {
                    "category": "Deploy",
                    "owner": "AWS",
                    "provider": "ECS",
                    "version": "1",
                },
                "region": SECONDARY,
                "inputArtifacts": [{"name": "BuildArtifact"}],
                "configuration": {
                    "ClusterName": secondary["EcsClusterName"],
                    "ServiceName": secondary["CoreEcsServiceName"],
                    "FileName": "imagedefinitions_secondary.json",
                },
                "runOrder": 1,
            }
        ],
    }


def core_buildspec(primary_uri: str, secondary_uri: str, *, push_secondary: bool = True) -> str:
    """The finished core buildspec of Lab 3 step 4, logging in as the workshop's image's
    AWS CLI (version 1, before get-login-password) can: `$(aws ecr get-login ...)`, the
    secondary with `get-login` printing a `docker login -p` line."""
    secondary_push = (
        [
            "      - $(aws ecr get-login --no-include-email --region $SECONDARY_REGION)",
            "      - docker push $SECONDARY_CORE_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION",
        ]
        if push_secondary
        else []
    )
    lines = [
        "version: 0.2",
        "phases:",
        "  pre_build:",
        "    commands:",
        f"      - PRIMARY_CORE_REPO_URI={primary_uri}",
        "      - PRIMARY_REGION=$AWS_DEFAULT_REGION",
        f"      - SECONDARY_CORE_REPO_URI={secondary_uri}",
        f"      - SECONDARY_REGION={SECONDARY}",
        "      - $(aws ecr get-login --no-include-email --region $PRIMARY_REGION)",
        "  build:",
        "    commands:",
        "      - docker build -t core-service:$CODEBUILD_RESOLVED_SOURCE_VERSION .",
        "      - docker tag core-service:$CODEBUILD_RESOLVED_SOURCE_VERSION "
        "$PRIMARY_CORE_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION",
        "      - docker tag core-service:$CODEBUILD_RESOLVED_SOURCE_VERSION "
        "$SECONDARY_CORE_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION",
        "  post_build:",
        "    commands:",
        "      - docker push $PRIMARY_CORE_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION",
        *secondary_push,
        '      - printf \'[{"name":"service","imageUri":"%s"}]\' '
        "$PRIMARY_CORE_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION > imagedefinitions_primary.json",
        '      - printf \'[{"name":"service","imageUri":"%s"}]\' '
        "$SECONDARY_CORE_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION > "
        "imagedefinitions_secondary.json",
        "artifacts:",
        "  files:",
        "    - imagedefinitions_primary.json",
        "    - imagedefinitions_secondary.json",
    ]
    return "\n".join(lines) + "\n"


def build_log(sandbox: Sandbox, build_id: str) -> tuple[dict[str, Any], str, str]:
    """(the build, its CloudWatch Logs text, its log file's text)."""
    (build,) = sandbox.client("codebuild").batch_get_builds(ids=[build_id])["builds"]
    events = sandbox.client("logs").get_log_events(
        logGroupName=build["logs"]["groupName"], logStreamName=build["logs"]["streamName"]
    )["events"]
    text = "".join(event["message"] for event in events)
    file_text = (sandbox.state_dir / "builds" / f"{build_id}.log").read_text()
    return build, text, file_text


@pytest.fixture
def fast_replicas(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The secondary's table replica is ACTIVE at once (it takes seconds otherwise)."""
    (extension,) = [e for e in sandbox.extensions if isinstance(e, DynamoDBGlobalTables)]
    monkeypatch.setattr(extension, "replica_create_seconds", 0.0)


# ---------------------------------------------------------------------- the baseline


def test_baseline_pipelines_ran_once_and_deployed_the_real_images(sandbox: Sandbox) -> None:
    n = names(sandbox)
    outputs = stack_outputs(sandbox, PRIMARY_STACK, PRIMARY)
    codepipeline = sandbox.client("codepipeline")
    for key, label, container in (("core", "Core", "service"), ("like", "Like", "like-service")):
        pipeline = n[f"{key}_pipeline"]
        declaration = codepipeline.get_pipeline(name=pipeline)["pipeline"]
        assert [s["name"] for s in declaration["stages"]] == [
            "Source",
            "Build_Docker_Container",
            "Deploy",
        ]
        source = declaration["stages"][0]["actions"][0]["configuration"]
        assert source == {
            "RepositoryName": n[key],
            "BranchName": "master",
            "PollForSourceChanges": "false",
        }
        (summary,) = codepipeline.list_pipeline_executions(pipelineName=pipeline)[
            "pipelineExecutionSummaries"
        ]
        commit = git_store.head(sandbox, n[key], "master")
        assert summary["status"] == "Succeeded"
        assert summary["trigger"]["triggerType"] == "CloudWatchEvent"
        assert summary["sourceRevisions"][0]["revisionId"] == commit
        assert summary["sourceRevisions"][0]["revisionSummary"] == (
            f"Initial Commit of {label} Service"
        )
        # The service runs the image that run built, from the region's own registry.
        repository_uri = outputs[f"{label}ServiceEcrRepo"]
        assert commit in image_tags(sandbox, PRIMARY, repository_uri)
        image = service_image(
            sandbox,
            PRIMARY,
            outputs["EcsClusterName"],
            outputs[f"{label}EcsServiceName"],
            container,
        )
        assert image == f"{repository_uri}:{commit}"
        project = declaration["stages"][1]["actions"][0]["configuration"]["ProjectName"]
        (build_id,) = sandbox.client("codebuild").list_builds_for_project(projectName=project)[
            "ids"
        ]
        build, text, file_text = build_log(sandbox, build_id)
        assert (build["buildStatus"], build["resolvedSourceVersion"]) == ("SUCCEEDED", commit)
        assert build["environment"]["environmentVariables"] == [
            {"name": "AWS_ACCOUNT_ID", "value": sandbox.account_id, "type": "PLAINTEXT"}
        ]
        assert "Login Succeeded" in text and text == file_text
    # The primary site is up (it requires the real images).
    (url,) = [u for dns, u in sandbox.resolve_map().items() if f".{PRIMARY}." in dns]
    status, page = fetch(url + "/")
    assert status == 200 and "Current region: us-west-2" in page


# ---------------------------------------------------------------------- Lab 3 end to end


def test_complete_buildspec_and_cross_region_deploy_reach_the_secondary(
    sandbox: Sandbox, fast_replicas: None
) -> None:
    n = names(sandbox)
    primary = stack_outputs(sandbox, PRIMARY_STACK, PRIMARY)
    secondary = create_secondary(sandbox)
    add_cross_region_deploy(sandbox, n["core_pipeline"], secondary)
    buildspec = core_buildspec(
        primary["CoreServiceEcrRepo"], secondary["SecondaryCoreServiceEcrRepo"]
    )
    commit = push(
        sandbox,
        n["core"],
        {"buildspec_prod.yml": buildspec},
        "Updating core buildspec for multi-region deploy",
    )

    summary = finished(sandbox, n["core_pipeline"], commit)
    assert summary["status"] == "Succeeded", summary
    assert summary["trigger"]["triggerType"] == "CloudWatchEvent"
    # One image, tagged with the commit, in both regions' registries.
    assert commit in image_tags(sandbox, PRIMARY, primary["CoreServiceEcrRepo"])
    assert commit in image_tags(sandbox, SECONDARY, secondary["SecondaryCoreServiceEcrRepo"])
    # Both regions' services run it, each from its own registry.
    primary_image = service_image(
        sandbox, PRIMARY, primary["EcsClusterName"], primary["CoreEcsServiceName"], "service"
    )
    secondary_image = service_image(
        sandbox, SECONDARY, secondary["EcsClusterName"], secondary["CoreEcsServiceName"], "service"
    )
    assert primary_image == f"{primary['CoreServiceEcrRepo']}:{commit}"
    assert secondary_image == f"{secondary['SecondaryCoreServiceEcrRepo']}:{commit}"

    # The checkpoint: the secondary's load balancer shows the site with its own region.
    url = sandbox.resolve_map()[secondary["SecondaryLoadBalancerDNS"]]
    page = wait_until(
        lambda: (lambda got: got[1] if got[0] == 200 else None)(fetch(url + "/")),
        what="the secondary site",
    )
    assert "Current region: us-east-1" in page

    # The pipeline's state and its action executions tell what happened, region by region.
    state = sandbox.client("codepipeline").get_pipeline_state(name=n["core_pipeline"])
    assert state["pipelineVersion"] == 2
    stages = {s["stageName"]: s for s in state["stageStates"]}
    assert list(stages) == ["Source", "Build_Docker_Container", "Deploy", "CrossRegionDeploy"]
    for stage in stages.values():
        assert stage["latestExecution"] == {
            "pipelineExecutionId": summary["pipelineExecutionId"],
            "status": "Succeeded",
            "type": "STANDARD",
        }
        assert stage["actionStates"][0]["latestExecution"]["status"] == "Succeeded"
    assert stages["Source"]["actionStates"][0]["currentRevision"]["revisionId"] == commit
    ran = actions(sandbox, n["core_pipeline"], summary["pipelineExecutionId"])
    cross = ran["CrossRegionDeploy"]
    assert cross["input"]["region"] == SECONDARY
    (artifact,) = cross["input"]["inputArtifacts"]
    assert artifact["name"] == "BuildArtifact"
    assert artifact["s3location"]["bucket"] == "codepipeline-us-east-1-mmtui-test"
    assert ran["Deploy"]["input"]["region"] == PRIMARY
    build_id = ran["CodeBuild"]["output"]["executionResult"]["externalExecutionId"]
    build, text, _ = build_log(sandbox, build_id)
    assert build["buildStatus"] == "SUCCEEDED"
    # Both `$(aws ecr get-login ...)` logins worked on the workshop's image.
    assert text.count("Login Succeeded") == 2
    assert "WARNING! Using --password via the CLI is insecure" in text
    execution = sandbox.client("codepipeline").get_pipeline_execution(
        pipelineName=n["core_pipeline"], pipelineExecutionId=summary["pipelineExecutionId"]
    )["pipelineExecution"]
    assert execution["artifactRevisions"][0]["revisionId"] == commit
    assert execution["pipelineVersion"] == 2


def test_buildspec_without_the_secondary_push_fails_in_the_cross_region_deploy(
    sandbox: Sandbox,
) -> None:
    n = names(sandbox)
    primary = stack_outputs(sandbox, PRIMARY_STACK, PRIMARY)
    secondary = create_secondary(sandbox)
    add_cross_region_deploy(sandbox, n["core_pipeline"], secondary)
    placeholder = service_image(
        sandbox, SECONDARY, secondary["EcsClusterName"], secondary["CoreEcsServiceName"], "service"
    )
    buildspec = core_buildspec(
        primary["CoreServiceEcrRepo"],
        secondary["SecondaryCoreServiceEcrRepo"],
        push_secondary=False,
    )
    commit = push(sandbox, n["core"], {"buildspec_prod.yml": buildspec}, "Forgot a push")

    summary = finished(sandbox, n["core_pipeline"], commit)
    assert summary["status"] == "Failed"
    state = sandbox.client("codepipeline").get_pipeline_state(name=n["core_pipeline"])
    statuses = {s["stageName"]: s["latestExecution"]["status"] for s in state["stageStates"]}
    assert statuses == {
        "Source": "Succeeded",
        "Build_Docker_Container": "Succeeded",
        "Deploy": "Succeeded",
        "CrossRegionDeploy": "Failed",
    }
    failed = state["stageStates"][3]["actionStates"][0]["latestExecution"]
    uri = f"{secondary['SecondaryCoreServiceEcrRepo']}:{commit}"
    assert failed["status"] == "Failed"
    assert "CannotPullContainerError" in failed["errorDetails"]["message"]
    assert uri in failed["errorDetails"]["message"]
    assert "CrossRegionDeploy" in summary["statusSummary"]
    # The primary got the new image; the secondary keeps running what it ran before.
    assert commit in image_tags(sandbox, PRIMARY, primary["CoreServiceEcrRepo"])
    assert commit not in image_tags(sandbox, SECONDARY, secondary["SecondaryCoreServiceEcrRepo"])
    assert (
        service_image(
            sandbox,
            SECONDARY,
            secondary["EcsClusterName"],
            secondary["CoreEcsServiceName"],
            "service",
        )
        == placeholder
    )


def test_shell_error_fails_the_build_with_the_error_in_the_log(sandbox: Sandbox) -> None:
    n = names(sandbox)
    clone = sandbox.workspace / n["like"]
    codecommit_git("fetch", "--quiet", "origin", cwd=clone, aws=sandbox)
    git("reset", "--quiet", "--hard", "origin/master", cwd=clone)
    original = (clone / "buildspec_prod.yml").read_text()
    broken = original.replace(
        "      - echo Building the Like service image\n",
        "      - echo Building the Like service image\n      - cat service/no-such-file.txt\n",
    )
    assert broken != original
    before = stack_outputs(sandbox, PRIMARY_STACK, PRIMARY)
    image_before = service_image(
        sandbox, PRIMARY, before["EcsClusterName"], before["LikeEcsServiceName"], "like-service"
    )
    commit = push(sandbox, n["like"], {"buildspec_prod.yml": broken}, "A typo")

    summary = finished(sandbox, n["like_pipeline"], commit)
    assert summary["status"] == "Failed"
    state = sandbox.client("codepipeline").get_pipeline_state(name=n["like_pipeline"])
    stages = {s["stageName"]: s for s in state["stageStates"]}
    assert stages["Build_Docker_Container"]["latestExecution"]["status"] == "Failed"
    # Deploy never ran for this execution: its latest is still the initial one.
    assert (
        stages["Deploy"]["latestExecution"]["pipelineExecutionId"]
        != (summary["pipelineExecutionId"])
    )
    action = stages["Build_Docker_Container"]["actionStates"][0]["latestExecution"]
    message = action["errorDetails"]["message"]
    assert message == (
        "Build terminated with state: FAILED. Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, "
        "Message: Error while executing command: cat service/no-such-file.txt. Reason: exit "
        "status 1"
    )
    build, text, file_text = build_log(sandbox, action["externalExecutionId"])
    assert build["buildStatus"] == "FAILED"
    phases = {p["phaseType"]: p.get("phaseStatus") for p in build["phases"]}
    assert phases["BUILD"] == "FAILED" and phases["PRE_BUILD"] == "SUCCEEDED"
    for log in (text, file_text):
        assert "cat: service/no-such-file.txt: No such file or directory" in log
        assert "Command did not exit successfully cat service/no-such-file.txt exit status 1" in log
    assert (
        service_image(
            sandbox, PRIMARY, before["EcsClusterName"], before["LikeEcsServiceName"], "like-service"
        )
        == image_before
    )


def test_two_pushes_close_together_run_in_order_both(sandbox: Sandbox) -> None:
    n = names(sandbox)
    first = push(sandbox, n["like"], {"NOTES.md": "one\n"}, "First change")
    second = push(sandbox, n["like"], {"NOTES.md": "two\n"}, "Second change")

    done_second = finished(sandbox, n["like_pipeline"], second)
    done_first = finished(sandbox, n["like_pipeline"], first)
    assert done_first["status"] == done_second["status"] == "Succeeded"
    # One at a time, in push order: the second started once the first was over.
    assert done_first["lastUpdateTime"] <= done_second["startTime"]
    listed = sandbox.client("codepipeline").list_pipeline_executions(
        pipelineName=n["like_pipeline"]
    )["pipelineExecutionSummaries"]
    assert [s["sourceRevisions"][0]["revisionId"] for s in listed[:2]] == [second, first]
    outputs = stack_outputs(sandbox, PRIMARY_STACK, PRIMARY)
    assert (
        service_image(
            sandbox,
            PRIMARY,
            outputs["EcsClusterName"],
            outputs["LikeEcsServiceName"],
            "like-service",
        )
        == f"{outputs['LikeServiceEcrRepo']}:{second}"
    )


def test_start_and_stop_pipeline_execution_and_errors(sandbox: Sandbox) -> None:
    n = names(sandbox)
    codepipeline = sandbox.client("codepipeline")
    pipelines = find(sandbox)
    with sandbox.lock:
        # Held, so that the execution is still queued when it is stopped.
        queued = pipelines.start_execution(
            sandbox.account_id,
            PRIMARY,
            n["core_pipeline"],
            {"triggerType": "StartPipelineExecution"},
        )
        pipelines.stop_execution(queued, abandon=False, reason="changed my mind")
    detail = codepipeline.get_pipeline_execution(
        pipelineName=n["core_pipeline"], pipelineExecutionId=queued.execution_id
    )["pipelineExecution"]
    assert (detail["status"], detail["statusSummary"]) == ("Stopped", "changed my mind")
    with pytest.raises(codepipeline.exceptions.PipelineExecutionNotStoppableException):
        codepipeline.stop_pipeline_execution(
            pipelineName=n["core_pipeline"], pipelineExecutionId=queued.execution_id
        )

    execution_id = codepipeline.start_pipeline_execution(name=n["core_pipeline"])[
        "pipelineExecutionId"
    ]
    (done,) = pipelines.wait([execution_id], TIMEOUT)
    assert done.status == "Succeeded"
    commit = git_store.head(sandbox, n["core"], "master")
    assert done.source_revisions[0]["revisionId"] == commit

    unknown = codepipeline.start_pipeline_execution(
        name=n["core_pipeline"],
        sourceRevisions=[
            {"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": "f" * 40}
        ],
    )["pipelineExecutionId"]
    (failed,) = pipelines.wait([unknown], TIMEOUT)
    assert failed.status == "Failed"
    state = codepipeline.get_pipeline_state(name=n["core_pipeline"])
    source = state["stageStates"][0]["actionStates"][0]["latestExecution"]
    assert source["errorDetails"]["code"] == "RevisionUnavailable"

    with pytest.raises(codepipeline.exceptions.PipelineNotFoundException):
        codepipeline.start_pipeline_execution(name="nope")
    with pytest.raises(codepipeline.exceptions.PipelineExecutionNotFoundException):
        codepipeline.get_pipeline_execution(
            pipelineName=n["core_pipeline"], pipelineExecutionId="0" * 36
        )
    with pytest.raises(codepipeline.exceptions.PipelineNotFoundException):
        codepipeline.get_pipeline_state(name="nope")


def test_update_pipeline_refuses_a_cross_region_action_without_artifact_stores(
    sandbox: Sandbox,
) -> None:
    n = names(sandbox)
    codepipeline = sandbox.client("codepipeline")
    declaration = codepipeline.get_pipeline(name=n["core_pipeline"])["pipeline"]
    secondary = {"EcsClusterName": "Cluster-x", "CoreEcsServiceName": "core"}
    declaration["stages"].append(cross_region_stage(secondary))
    with pytest.raises(codepipeline.exceptions.InvalidStructureException, match="artifactStores"):
        codepipeline.update_pipeline(pipeline=declaration)

    store = declaration.pop("artifactStore")
    declaration["artifactStores"] = {PRIMARY: store}
    with pytest.raises(codepipeline.exceptions.InvalidStructureException, match="us-east-1"):
        codepipeline.update_pipeline(pipeline=declaration)
    declaration["artifactStores"][SECONDARY] = {"type": "S3", "location": "not-there"}
    with pytest.raises(
        codepipeline.exceptions.InvalidStructureException, match="No bucket with the name"
    ):
        codepipeline.update_pipeline(pipeline=declaration)
    declaration["artifactStores"][SECONDARY] = store  # a us-west-2 bucket
    with pytest.raises(codepipeline.exceptions.InvalidStructureException, match="not located"):
        codepipeline.update_pipeline(pipeline=declaration)
    assert codepipeline.get_pipeline(name=n["core_pipeline"])["pipeline"]["version"] == 1


def gated_push(sandbox: Sandbox, gate: Path, message: str) -> tuple[str, str]:
    """Push a Like buildspec whose build waits until `gate` exists; returns (commit, build ID)
    once the build waits there."""
    n = names(sandbox)
    clone = sandbox.workspace / n["like"]
    codecommit_git("fetch", "--quiet", "origin", cwd=clone, aws=sandbox)
    git("reset", "--quiet", "--hard", "origin/master", cwd=clone)
    buildspec = (
        (clone / "buildspec_prod.yml")
        .read_text()
        .replace(
            "      - echo Building the Like service image\n",
            "      - echo Building the Like service image\n"
            f"      - while [ ! -e {gate} ]; do sleep 0.05; done\n",
        )
    )
    commit = push(sandbox, n["like"], {"buildspec_prod.yml": buildspec}, message)
    codebuild = sandbox.client("codebuild")
    project = f"like-service-build-{n['like'].removeprefix('like-service-')}"

    def building() -> str | None:
        ids = codebuild.list_builds_for_project(projectName=project)["ids"]
        (build,) = codebuild.batch_get_builds(ids=ids[:1])["builds"]
        waiting = build["currentPhase"] == "BUILD" and build["resolvedSourceVersion"] == commit
        return str(build["id"]) if waiting else None

    build_id: str = wait_until(building, what="the build to wait at the gate")
    return commit, build_id


def test_execution_interrupted_mid_build_carries_on_after_a_restore(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The saved state keeps a running execution; restored, it runs the interrupted action
    again and carries on (what a sandbox restart does)."""
    n = names(sandbox)
    gate = tmp_path / "gate"
    commit, first_build = gated_push(sandbox, gate, "Wait for the gate")
    saved = sandbox.snapshot()
    gate.touch()
    before = finished(sandbox, n["like_pipeline"], commit)
    assert before["status"] == "Succeeded"
    source_run = actions(sandbox, n["like_pipeline"], before["pipelineExecutionId"])["Source"]

    sandbox.restore_snapshot(saved)
    after = finished(sandbox, n["like_pipeline"], commit)
    assert after["pipelineExecutionId"] == before["pipelineExecutionId"]
    assert after["status"] == "Succeeded"
    ran = actions(sandbox, n["like_pipeline"], after["pipelineExecutionId"])
    assert ran["Source"]["actionExecutionId"] == source_run["actionExecutionId"]  # not again
    second_build = ran["CodeBuild"]["output"]["executionResult"]["externalExecutionId"]
    assert second_build != first_build
    codebuild = sandbox.client("codebuild")
    (interrupted,) = codebuild.batch_get_builds(ids=[first_build])["builds"]
    assert interrupted["buildStatus"] == "STOPPED"


def test_stop_and_abandon_stops_the_running_build(sandbox: Sandbox, tmp_path: Path) -> None:
    n = names(sandbox)
    commit, build_id = gated_push(sandbox, tmp_path / "never", "Never finishes")
    running = execution_of(sandbox, n["like_pipeline"], commit)
    assert running is not None and running["status"] == "InProgress"
    codepipeline = sandbox.client("codepipeline")
    codepipeline.stop_pipeline_execution(
        pipelineName=n["like_pipeline"],
        pipelineExecutionId=running["pipelineExecutionId"],
        abandon=True,
        reason="taking too long",
    )
    stopped = finished(sandbox, n["like_pipeline"], commit)
    assert stopped["status"] == "Stopped"
    assert stopped["stopTrigger"] == {"reason": "taking too long"}
    ran = actions(sandbox, n["like_pipeline"], stopped["pipelineExecutionId"])
    assert ran["CodeBuild"]["status"] == "Abandoned" and "Deploy" not in ran
    (build,) = sandbox.client("codebuild").batch_get_builds(ids=[build_id])["builds"]
    assert build["buildStatus"] == "STOPPED" and build["buildComplete"]


def test_ecs_services_report_their_tasks_running(sandbox: Sandbox) -> None:
    outputs = stack_outputs(sandbox, PRIMARY_STACK, PRIMARY)
    ecs = sandbox.client("ecs")
    service = ecs.describe_services(
        cluster=outputs["EcsClusterName"], services=[outputs["CoreEcsServiceName"]]
    )["services"][0]
    assert (service["runningCount"], service["pendingCount"]) == (1, 0)
    ecs.update_service(
        cluster=outputs["EcsClusterName"], service=outputs["CoreEcsServiceName"], desiredCount=0
    )
    service = ecs.describe_services(
        cluster=outputs["EcsClusterName"], services=[outputs["CoreEcsServiceName"]]
    )["services"][0]
    assert (service["desiredCount"], service["runningCount"]) == (0, 0)
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"


# ---------------------------------------------------------------------- the docker stand-in


def docker(
    sandbox: Sandbox, tmp_path: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "MMTUI_DOCKER_ENDPOINT": sandbox.url,
        "MMTUI_DOCKER_ACCESS_KEY": sandbox.credentials()[0],
        "MMTUI_DOCKER_SECRET_KEY": sandbox.credentials()[1],
        "MMTUI_DOCKER_ROOT": str(tmp_path / "images"),
    }
    return subprocess.run(
        [sys.executable, "-I", "-S", str(DOCKER), *args],
        cwd=tmp_path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_docker_push_needs_a_login_and_a_repository(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /app.txt\n")
    (tmp_path / "app.txt").write_text("hello\n")
    assert docker(sandbox, tmp_path, "build", "-t", "app:1", ".").returncode == 0
    again = docker(sandbox, tmp_path, "build", "-q", "-t", "app:2", ".")
    listed = docker(sandbox, tmp_path, "images").stdout
    assert "app" in listed and again.stdout.strip().startswith("sha256:")
    host = f"{sandbox.account_id}.dkr.ecr.{SECONDARY}.amazonaws.com"
    image = f"{host}/app:1"
    assert docker(sandbox, tmp_path, "tag", "app:1", image).returncode == 0

    no_login = docker(sandbox, tmp_path, "push", image)
    assert no_login.returncode == 1 and "no basic auth credentials" in no_login.stderr
    wrong = docker(sandbox, tmp_path, "login", "-u", "AWS", "-p", "guess", host)
    assert wrong.returncode == 1 and "400 Bad Request" in wrong.stderr
    email = docker(sandbox, tmp_path, "login", "-u", "AWS", "-p", "x", "-e", "none", host)
    assert email.returncode == 125 and "unknown shorthand flag: 'e'" in email.stderr
    token = sandbox.client("ecr", SECONDARY).get_authorization_token()["authorizationData"][0]
    password = base64.b64decode(token["authorizationToken"]).decode().split(":")[1]
    login = docker(
        sandbox, tmp_path, "login", "--username", "AWS", "--password-stdin", host, stdin=password
    )
    assert login.returncode == 0 and "Login Succeeded" in login.stdout

    missing = docker(sandbox, tmp_path, "push", image)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        f"name unknown: The repository with name 'app' does not exist in the registry with id "
        f"'{sandbox.account_id}'"
    )
    sandbox.client("ecr", SECONDARY).create_repository(repositoryName="app")
    pushed = docker(sandbox, tmp_path, "push", image)
    assert pushed.returncode == 0 and "1: digest: sha256:" in pushed.stdout
    assert image_tags(sandbox, SECONDARY, f"{host}/app") == {"1"}
    assert docker(sandbox, tmp_path, "push", image).returncode == 0  # already there: fine


def test_docker_build_reports_what_docker_would(sandbox: Sandbox, tmp_path: Path) -> None:
    no_dockerfile = docker(sandbox, tmp_path, "build", "-t", "x", ".")
    assert no_dockerfile.returncode == 1 and "Dockerfile" in no_dockerfile.stderr
    (tmp_path / "Dockerfile").write_text("FROM python:3\nCOPY missing.txt /x\n")
    missing = docker(sandbox, tmp_path, "build", "-t", "x", ".")
    assert "COPY failed: file not found in build context" in missing.stderr
    (tmp_path / "Dockerfile").write_text("FROM python:3\nBOGUS thing\n")
    assert "unknown instruction: BOGUS" in docker(sandbox, tmp_path, "build", ".").stderr
    untagged = docker(sandbox, tmp_path, "tag", "nothing:1", "other:1")
    assert "No such image: nothing:1" in untagged.stderr
    assert docker(sandbox, tmp_path, "run", "x").returncode == 1


# ---------------------------------------------------------------------- buildspecs and builds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n", "Commands[0]"),
        ("phases: {}\n", "missing version"),
        ("version: 0.2\nphases:\n  deploy:\n    commands: [x]\n", "Unknown phase name"),
        ("version: 0.2\nphases:\n  build: [\n", "yaml: line"),
    ],
)
def test_buildspec_errors(text: str, message: str) -> None:
    with pytest.raises(buildspecs.BuildspecError, match=message.replace("[", r"\[")):
        buildspecs.parse(text)


class _Phases(BuildHooks):
    def __init__(self) -> None:
        self.phases: list[dict[str, Any]] = []

    def phases_changed(self, phases: list[dict[str, Any]], current: str) -> None:
        self.phases = phases


def _run_build(
    tmp_path: Path, spec: str, image: str = "aws/codebuild/docker:17.09.0"
) -> tuple[Any, list[dict[str, Any]], str]:
    log = tmp_path / f"build-{len(list(tmp_path.glob('build-*.log')))}.log"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as source:
        source.writestr("buildspec.yml", spec)
    hooks = _Phases()
    request = BuildRequest(
        build_id="p:1",
        project={"source": {"type": "CODEPIPELINE"}, "environment": {"image": image}},
        region=PRIMARY,
        account="123456789012",
        source_zip=archive.getvalue(),
        source_version="arn:aws:s3:::bucket/key",
        resolved_source_version="c0ffee",
        initiator="codepipeline/p",
        build_number=1,
        endpoint="http://127.0.0.1:9",
        access_key="k",
        secret_key="s",
        log_path=log,
    )
    outcome = BuildRun(request, hooks, threading.Event()).run()
    return outcome, hooks.phases, log.read_text()


def test_one_shell_across_phases_and_codebuild_phase_rules(tmp_path: Path) -> None:
    outcome, phases, log = _run_build(
        tmp_path,
        "version: 0.2\n"
        "env:\n  variables:\n    GREETING: hello\n"
        "phases:\n"
        "  pre_build:\n    commands:\n      - NAME=mysfits\n      - mkdir out && cd out\n"
        "  build:\n    commands:\n"
        '      - echo "$GREETING $NAME $CODEBUILD_RESOLVED_SOURCE_VERSION in $(basename $PWD)"\n'
        "      - exit_code_three() { return 3; }; exit_code_three\n"
        "      - echo never\n"
        "  post_build:\n    commands:\n"
        '      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"\n'
        "      - echo '[]' > result.json\n"
        "artifacts:\n  files:\n    - out/result.json\n",
    )
    assert "hello mysfits c0ffee in out" in log
    assert "never" not in log.replace("Running command echo never", "")
    assert "succeeding=0" in log  # post_build still ran, told the build is failing
    assert (outcome.status, outcome.phase, outcome.code) == (
        "FAILED",
        "BUILD",
        "COMMAND_EXECUTION_ERROR",
    )
    assert outcome.message.endswith("Reason: exit status 3")
    statuses = {p["phaseType"]: p.get("phaseStatus") for p in phases}
    assert statuses["POST_BUILD"] == statuses["UPLOAD_ARTIFACTS"] == "SUCCEEDED"
    assert outcome.artifact is not None

    outcome, phases, log = _run_build(
        tmp_path,
        "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - false\n"
        "  build:\n    commands:\n      - echo built\n"
        "artifacts:\n  files:\n    - nothing.json\n",
    )
    statuses = {p["phaseType"]: p.get("phaseStatus") for p in phases}
    assert statuses["PRE_BUILD"] == "FAILED" and "BUILD" not in statuses
    assert "UPLOAD_ARTIFACTS" not in statuses and statuses["COMPLETED"] is None

    outcome, phases, log = _run_build(
        tmp_path,
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo '{}' > a.json\n"
        "artifacts:\n  files:\n    - a.json\n    - b.json\n",
    )
    assert (outcome.phase, outcome.code, outcome.message) == (
        "UPLOAD_ARTIFACTS",
        "CLIENT_ERROR",
        "no matching artifact paths found",
    )
    assert "Skipping invalid file path b.json" in log


@pytest.mark.parametrize(
    ("image", "command", "status"),
    [
        # The workshop's image: AWS CLI version 1 from before 1.17.10 (AWS documents
        # get-login-password from 1.17.10): a command line it cannot parse, status 2.
        ("aws/codebuild/docker:17.09.0", "aws ecr get-login-password --region us-west-2", 2),
        # A current image: AWS CLI version 2, where get-login is gone; its usage error is 252.
        (
            "aws/codebuild/standard:7.0",
            "$(aws ecr get-login --no-include-email --region us-west-2)",
            252,
        ),
        ("aws/codebuild/standard:7.0", "aws --region us-west-2 ecr get-login", 252),
    ],
)
def test_a_build_images_cli_refuses_the_login_it_lacks(
    tmp_path: Path, image: str, command: str, status: int
) -> None:
    """Red team / audit B5: the sandbox's builds run the CLI of the project's image."""
    outcome, _, log = _run_build(
        tmp_path,
        f"version: 0.2\nphases:\n  pre_build:\n    commands:\n      - {command}\n",
        image,
    )
    assert (outcome.status, outcome.phase, outcome.code) == (
        "FAILED",
        "PRE_BUILD",
        "COMMAND_EXECUTION_ERROR",
    )
    assert outcome.message == (
        f"Error while executing command: {command}. Reason: exit status {status}"
    )
    assert "aws: error: argument operation: Invalid choice, valid choices are:" in log
    assert "usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]" in log


def test_get_login_password_on_the_workshops_image_fails_the_build(sandbox: Sandbox) -> None:
    """The portable-looking login fails on the workshop's CodeBuild image as it would on AWS:
    the CLI's error in the log, docker given no password, the build and the pipeline failed."""
    n = names(sandbox)
    clone = sandbox.workspace / n["like"]
    codecommit_git("fetch", "--quiet", "origin", cwd=clone, aws=sandbox)
    original = git("show", "origin/master:buildspec_prod.yml", cwd=clone) + "\n"
    login = "$(aws ecr get-login --no-include-email --region $PRIMARY_REGION)"
    assert login in original
    modern = original.replace(
        login,
        "aws ecr get-login-password --region $PRIMARY_REGION | docker login --username AWS "
        "--password-stdin ${PRIMARY_LIKE_REPO_URI%%/*}",
    )
    commit = push(sandbox, n["like"], {"buildspec_prod.yml": modern}, "Modern login")
    summary = finished(sandbox, n["like_pipeline"], commit)
    assert summary["status"] == "Failed"
    state = sandbox.client("codepipeline").get_pipeline_state(name=n["like_pipeline"])
    stages = {s["stageName"]: s for s in state["stageStates"]}
    action = stages["Build_Docker_Container"]["actionStates"][0]["latestExecution"]
    assert "Phase: PRE_BUILD, Code: COMMAND_EXECUTION_ERROR" in action["errorDetails"]["message"]
    _, text, _ = build_log(sandbox, action["externalExecutionId"])
    assert "aws: error: argument operation: Invalid choice, valid choices are:" in text


def test_an_ecs_deploy_lasts_as_long_as_the_time_scale_says(sandbox: Sandbox) -> None:
    """With a time scale, the deploy action stays InProgress for the scaled rollout after the
    service took the new task definition, as an ECS rollout does on AWS."""
    n = names(sandbox)
    pipelines = find(sandbox)
    pipelines.ecs_deploy_seconds = 600.0  # still rolling out for the whole test (conftest
    # puts it back)
    execution_id = sandbox.client("codepipeline").start_pipeline_execution(name=n["like_pipeline"])[
        "pipelineExecutionId"
    ]
    try:

        def deploying() -> dict[str, Any] | None:
            deploy = [
                d
                for d in actions(sandbox, n["like_pipeline"], execution_id).values()
                if d["stageName"] != "Source" and d["input"]["actionTypeId"]["category"] == "Deploy"
            ]
            return deploy[0] if deploy and deploy[0]["status"] == "InProgress" else None

        wait_until(deploying, what="the deploy action to be in progress")
        summary = sandbox.client("codepipeline").get_pipeline_execution(
            pipelineName=n["like_pipeline"], pipelineExecutionId=execution_id
        )["pipelineExecution"]
        assert summary["status"] == "InProgress"
    finally:
        sandbox.client("codepipeline").stop_pipeline_execution(
            pipelineName=n["like_pipeline"], pipelineExecutionId=execution_id, abandon=True
        )
