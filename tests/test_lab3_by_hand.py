"""Lab 3 done entirely by hand, as its manual path says: the `aws` CLI and `git` against the
sandbox, then `mmtui check` passes every step. The whole lab, end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from tests.conftest import aws_cli, deploy_secondary_by_hand, invoke

PRIMARY, SECONDARY = "us-west-2", "us-east-1"


def aws(sandbox: Sandbox, *args: str) -> str:
    return aws_cli(sandbox, *args, "--output", "json")


def git(clone: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    subprocess.run(
        ["git", "-C", str(clone), *args], check=True, capture_output=True, env=env, timeout=60
    )


def finished_buildspec(text: str, kind: str, container: str, secondary_uri: str, login: str) -> str:
    """The starting buildspec with the secondary parts the lab asks for."""
    primary = re.search(rf"PRIMARY_{kind}_REPO_URI=(\S+)", text)
    assert primary
    image = f"{container}:$CODEBUILD_RESOLVED_SOURCE_VERSION"
    target = f"$SECONDARY_{kind}_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION"
    return f"""version: 0.2
phases:
  pre_build:
    commands:
      - PRIMARY_{kind}_REPO_URI={primary.group(1)}
      - SECONDARY_{kind}_REPO_URI={secondary_uri}
      - PRIMARY_REGION=$AWS_DEFAULT_REGION
      - SECONDARY_REGION={SECONDARY}
      - $(aws ecr get-login --no-include-email --region $PRIMARY_REGION)
  build:
    commands:
      - docker build -t {image} .
      - docker tag {image} $PRIMARY_{kind}_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION
      - docker tag {image} {target}
  post_build:
    commands:
      - docker push $PRIMARY_{kind}_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION
      - printf '[{{"name":"{container}","imageUri":"%s"}}]' $PRIMARY_{kind}_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION > imagedefinitions_primary.json
      - {login}
      - docker push {target}
      - printf '[{{"name":"{container}","imageUri":"%s"}}]' {target} > imagedefinitions_secondary.json
artifacts:
  files:
    - imagedefinitions_primary.json
    - imagedefinitions_secondary.json
"""


def check(sandbox: Sandbox, step: str | None = None) -> tuple[int, dict[str, Any]]:
    args = ["check", "--endpoint-url", sandbox.url, "--format", "json"]
    result = invoke(*args, *(["--step", step] if step else []))
    return result.code, json.loads(result.stdout)


def wait_for(condition: Any, what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_whole_lab_by_hand(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    # As `source sandbox.env` would, before any of the lab was done.
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "MMTUI_RESOLVE",
        "MMTUI_RESOLVE_FILE",
    ):
        monkeypatch.setenv(name, sandbox.env()[name])
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")
    tables = next(e for e in sandbox.extensions if e.name == "dynamodb_global")
    tables.replica_create_seconds = 0.5  # type: ignore[attr-defined]

    # Step 1: the same template, deployed as the secondary.
    deploy_secondary_by_hand(sandbox)
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in json.loads(
            aws(
                sandbox,
                "cloudformation",
                "describe-stacks",
                "--stack-name",
                "mm-secondary-region",
                "--region",
                SECONDARY,
            )
        )["Stacks"][0]["Outputs"]
    }

    # Step 2: stream, then replica.
    aws(
        sandbox,
        "dynamodb",
        "update-table",
        "--table-name",
        "mm-ddbtable",
        "--stream-specification",
        "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
        "--region",
        PRIMARY,
    )
    aws(
        sandbox,
        "dynamodb",
        "update-table",
        "--table-name",
        "mm-ddbtable",
        "--replica-updates",
        json.dumps([{"Create": {"RegionName": SECONDARY}}]),
        "--region",
        PRIMARY,
    )

    # Step 3: a CrossRegionDeploy stage and an artifact store per region, in both pipelines.
    bucket = f"mm-pipeline-artifacts-123456789012-{SECONDARY}"
    aws(sandbox, "s3", "mb", f"s3://{bucket}", "--region", SECONDARY)
    names = json.loads(aws(sandbox, "codepipeline", "list-pipelines", "--region", PRIMARY))
    for pipeline_name in sorted(p["name"] for p in names["pipelines"]):
        kind = "Core" if pipeline_name.startswith("Core") else "Like"
        document = json.loads(
            aws(
                sandbox,
                "codepipeline",
                "get-pipeline",
                "--name",
                pipeline_name,
                "--region",
                PRIMARY,
            )
        )
        document.pop("metadata")
        pipeline = document["pipeline"]
        store = pipeline.pop("artifactStore")
        pipeline["artifactStores"] = {PRIMARY: store, SECONDARY: {"type": "S3", "location": bucket}}
        pipeline["stages"].append(
            {
                "name": "CrossRegionDeploy",
                "actions": [
                    {
                        "name": "CrossRegionDeploy",
                        "region": SECONDARY,
                        "runOrder": 1,
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "ECS",
                            "version": "1",
                        },
                        "inputArtifacts": [{"name": "BuildArtifact"}],
                        "configuration": {
                            "ClusterName": outputs["EcsClusterName"],
                            "ServiceName": outputs[f"{kind}EcsServiceName"],
                            "FileName": "imagedefinitions_secondary.json",
                        },
                    }
                ],
            }
        )
        definition = sandbox.state_dir / f"{kind.lower()}-pipeline.json"
        definition.write_text(json.dumps(document))
        aws(
            sandbox,
            "codepipeline",
            "update-pipeline",
            "--cli-input-json",
            f"file://{definition}",
            "--region",
            PRIMARY,
        )

    # Step 4: finish both buildspecs, commit, push; the pipelines run.
    logins = {
        # The workshop's build image has AWS CLI version 1 (before get-login-password): both
        # log in as the primary line does, spelled two ways.
        "Core": "$(aws ecr get-login --no-include-email --region $SECONDARY_REGION)",
        "Like": "$(aws ecr get-login --region us-east-1 --no-include-email)",
    }
    for kind, container in (("Core", "service"), ("Like", "like-service")):
        (clone,) = sandbox.workspace.glob(f"{kind.lower()}-service-*")
        buildspec = clone / "buildspec_prod.yml"
        buildspec.write_text(
            finished_buildspec(
                buildspec.read_text(),
                kind.upper(),
                container,
                outputs[f"Secondary{kind}ServiceEcrRepo"],
                logins[kind],
            )
        )
        git(clone, "add", "buildspec_prod.yml")
        git(clone, "commit", "-m", f"Updating {kind.lower()} buildspec for multi-region deploy")
        git(clone, "push", "origin", "master")

    # Step 5: X-Ray groups in the secondary, and the secondary's widgets on the dashboard.
    aws(
        sandbox,
        "xray",
        "create-group",
        "--group-name",
        "like-service",
        "--filter-expression",
        'service("Like Service") AND http.method = "POST"',
        "--region",
        SECONDARY,
    )
    aws(
        sandbox,
        "xray",
        "create-group",
        "--group-name",
        "like-service-errors-faults",
        "--filter-expression",
        'service("Like Service") { error = true OR fault = true }',
        "--region",
        SECONDARY,
    )
    body = json.loads(
        json.loads(
            aws(
                sandbox,
                "cloudwatch",
                "get-dashboard",
                "--dashboard-name",
                "mm-multi-region_Dashboard",
                "--region",
                PRIMARY,
            )
        )["DashboardBody"]
    )
    alb, cluster = outputs["LoadBalancerFullName"], outputs["EcsClusterName"]
    region_option = {"region": SECONDARY}
    body["widgets"] += [
        {
            "type": "metric",
            "properties": {
                "title": "Secondary ALB",
                "region": PRIMARY,
                "metrics": [
                    [
                        "AWS/ApplicationELB",
                        metric,
                        "LoadBalancer",
                        alb,
                        {**region_option, "label": f"{SECONDARY} {metric}"},
                    ]
                    for metric in (
                        "RequestCount",
                        "HTTPCode_Target_2XX_Count",
                        "HTTPCode_Target_4XX_Count",
                        "HTTPCode_Target_5XX_Count",
                    )
                ],
            },
        },
        *[
            {
                "type": "metric",
                "properties": {
                    "title": f"{SECONDARY} {kind} Service Metrics",
                    "view": "singleValue",
                    "region": SECONDARY,
                    "metrics": [
                        [
                            "AWS/ECS",
                            "CPUUtilization",
                            "ServiceName",
                            outputs[f"{kind}EcsServiceName"],
                            "ClusterName",
                            cluster,
                        ],
                        [".", "MemoryUtilization", ".", ".", ".", "."],
                    ],
                },
            }
            for kind in ("Core", "Like")
        ],
        {
            "type": "metric",
            "properties": {
                "title": "X-Ray",
                "region": PRIMARY,
                "metrics": [
                    [
                        "AWS/X-Ray",
                        "ApproximateTraceCount",
                        "GroupName",
                        "like-service-errors-faults",
                        {**region_option, "label": f"{SECONDARY} errors and faults"},
                    ]
                ],
            },
        },
    ]
    aws(
        sandbox,
        "cloudwatch",
        "put-dashboard",
        "--dashboard-name",
        "mm-multi-region_Dashboard",
        "--dashboard-body",
        json.dumps(body),
        "--region",
        PRIMARY,
    )

    # The pipelines finish; then every step and the checkpoint pass.
    last: list[str] = []

    def all_pass() -> dict[str, Any] | None:
        code, document = check(sandbox)
        last[:] = [
            f"{c['id']}: {c['status']}: {c['message']}"
            for s in document["steps"]
            for c in s["checks"]
            if c["status"] != "pass"
        ]
        return document if code == 0 else None

    try:
        document = wait_for(all_pass, "every check to pass", seconds=60)
    except AssertionError:
        raise AssertionError("still failing: " + " | ".join(last)) from None
    assert document["status"] == "pass"
    assert [s["id"] for s in document["steps"]] == [
        "prerequisites",
        "infrastructure",
        "data-tier",
        "pipeline",
        "build-artifacts",
        "dashboard",
        "checkpoint",
    ]
    assert all(c["status"] == "pass" for s in document["steps"] for c in s["checks"])
