"""The workshop's CI/CD as Lab 0 leaves it: the nested stack's pipelines, and their first run.

The workshop's nested CI/CD stack (cicd.yml) makes, besides the repositories
(repositories.py): an artifact bucket, the CodePipeline and CodeBuild roles, one CodeBuild
project and one pipeline per service (Source → Build_Docker_Container → Deploy), and an
EventBridge rule per repository that starts its pipeline on a push to master. They are created
here over the sandbox's API with the stack's names. Lab 0's bootstrap then pushed the initial
commits, which ran both pipelines: the images in the primary registries and the services'
task definitions come from those runs. The repositories were pushed before the pipelines
existed here, so each pipeline is started once for its initial commit, both at the same time,
and the baseline is only ready once both succeeded.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.sandbox import git_store
from mmtui.sandbox.pipelines.engine import event_rule_arn, find
from mmtui.sandbox.pipelines.records import SUCCEEDED
from mmtui.sandbox.primary_app import stack_outputs
from mmtui.sandbox.protocol import DEFAULT_ACCOUNT
from mmtui.sandbox.workshop import PRIMARY_STACK

if TYPE_CHECKING:
    from mmtui.sandbox.server import Sandbox

BUILD_IMAGE = "aws/codebuild/docker:17.09.0"
SEED_TIMEOUT = 120.0
"""Seconds the two initial executions may take (they take one or two)."""
# key → (label, pipeline prefix, build project prefix, ECS service output)
SERVICES = {
    "core": ("Core", "CorePipeline", "core-service-build", "CoreEcsServiceName"),
    "like": ("Like", "LikePipeline", "like-service-build", "LikeEcsServiceName"),
}
PIPELINE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codepipeline.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
BUILD_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codebuild.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
EVENTS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# The permissions of cicd.yml's roles, in short.
PIPELINE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "codecommit:*",
                "s3:*",
                "elasticloadbalancing:*",
                "autoscaling:*",
                "cloudwatch:*",
                "ecs:*",
                "codebuild:*",
                "iam:PassRole",
                "cloudformation:DescribeStacks",
                "cloudformation:UpdateStack",
            ],
            "Resource": "*",
        }
    ],
}
BUILD_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["logs:*", "s3:*", "ecr:*"],
            "Resource": "*",
        }
    ],
}


def nested_name(repo: str) -> str:
    """`mm-multi-region-MythicalCiCdStack-XXXX` from `core-service-<that>`."""
    return repo.split("-", 2)[2]


def seed_pipelines(sandbox: Sandbox, repos: dict[str, str], account: str = DEFAULT_ACCOUNT) -> None:
    region = sandbox.options.primary_region
    nested = nested_name(repos["core"])
    suffix = nested.rsplit("-", 1)[-1]
    outputs = stack_outputs(sandbox, PRIMARY_STACK, region, account)
    iam = sandbox.client("iam", region, account)
    pipeline_role = _role(iam, f"{nested}-CodePipelineServiceRole", PIPELINE_TRUST, PIPELINE_POLICY)
    build_role = _role(iam, f"{nested}-CodeBuildServiceRole", BUILD_TRUST, BUILD_POLICY)
    events_role = _role(
        iam,
        f"{nested}-CodeCommitCloudWatchEventRole",
        EVENTS_TRUST,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "codepipeline:StartPipelineExecution",
                    "Resource": "*",
                }
            ],
        },
    )
    bucket = f"{nested.lower()}-mythicalartifactbucket-{suffix.lower()}"[:63]
    sandbox.client("s3", region, account).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
    )
    codebuild = sandbox.client("codebuild", region, account)
    codepipeline = sandbox.client("codepipeline", region, account)
    events = sandbox.client("events", region, account)
    names: dict[str, str] = {}
    for key, (label, pipeline_prefix, project_prefix, service_output) in SERVICES.items():
        repo = repos[key]
        project = f"{project_prefix}-{nested}"
        codebuild.create_project(
            name=project,
            source={"type": "CODEPIPELINE", "buildspec": "buildspec_prod.yml"},
            artifacts={"type": "CODEPIPELINE"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": BUILD_IMAGE,
                "computeType": "BUILD_GENERAL1_SMALL",
                "privilegedMode": True,
                "environmentVariables": [
                    {"name": "AWS_ACCOUNT_ID", "value": account, "type": "PLAINTEXT"}
                ],
            },
            serviceRole=build_role,
        )
        name = f"{pipeline_prefix}-{nested}"
        codepipeline.create_pipeline(
            pipeline=pipeline_declaration(
                name,
                pipeline_role,
                bucket,
                repo,
                project,
                outputs["EcsClusterName"],
                outputs[service_output],
            )
        )
        # The rule of cicd.yml: a push to master of the repository starts the pipeline.
        rule = f"{nested}-{label}ServiceCodeCommitCloudWatchEventRule"[:64]
        events.put_rule(
            Name=rule,
            EventPattern=json.dumps(
                {
                    "source": ["aws.codecommit"],
                    "detail-type": ["CodeCommit Repository State Change"],
                    "resources": [f"arn:aws:codecommit:{region}:{account}:{repo}"],
                    "detail": {
                        "event": ["referenceCreated", "referenceUpdated"],
                        "referenceType": ["branch"],
                        "referenceName": [git_store.DEFAULT_BRANCH],
                    },
                }
            ),
            State="ENABLED",
        )
        events.put_targets(
            Rule=rule,
            Targets=[
                {
                    "Id": f"codepipeline-{pipeline_prefix}",
                    "Arn": f"arn:aws:codepipeline:{region}:{account}:{name}",
                    "RoleArn": events_role,
                }
            ],
        )
        names[key] = name
    run_initial_executions(sandbox, repos, names, account)


def pipeline_declaration(
    name: str,
    role: str,
    bucket: str,
    repo: str,
    project: str,
    cluster: str,
    service: str,
) -> dict[str, Any]:
    """The pipeline of cicd.yml: Source → Build_Docker_Container → Deploy."""
    return {
        "name": name,
        "roleArn": role,
        "artifactStore": {"type": "S3", "location": bucket},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Source",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "CodeCommit",
                            "version": "1",
                        },
                        "configuration": {
                            "RepositoryName": repo,
                            "BranchName": git_store.DEFAULT_BRANCH,
                            "PollForSourceChanges": "false",
                        },
                        "outputArtifacts": [{"name": "SourceArtifact"}],
                        "runOrder": 1,
                    }
                ],
            },
            {
                "name": "Build_Docker_Container",
                "actions": [
                    {
                        "name": "CodeBuild",
                        "actionTypeId": {
                            "category": "Build",
                            "owner": "AWS",
                            "provider": "CodeBuild",
                            "version": "1",
                        },
                        "configuration": {"ProjectName": project},
                        "inputArtifacts": [{"name": "SourceArtifact"}],
                        "outputArtifacts": [{"name": "BuildArtifact"}],
                        "runOrder": 1,
                    }
                ],
            },
            {
                "name": "Deploy",
                "actions": [
                    {
                        "name": "Deploy",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "ECS",
                            "version": "1",
                        },
                        "configuration": {
                            "ClusterName": cluster,
                            "ServiceName": service,
                            "FileName": "imagedefinitions_primary.json",
                        },
                        "inputArtifacts": [{"name": "BuildArtifact"}],
                        "runOrder": 1,
                    }
                ],
            },
        ],
    }


def run_initial_executions(
    sandbox: Sandbox, repos: dict[str, str], names: dict[str, str], account: str = DEFAULT_ACCOUNT
) -> None:
    """Run each pipeline once on its repository's initial commit; fail loudly if one fails."""
    region = sandbox.options.primary_region
    pipelines = find(sandbox)
    started = []
    for key, name in names.items():
        repo = repos[key]
        commit = git_store.head(sandbox, repo, git_store.DEFAULT_BRANCH, account=account)
        if commit is None:
            raise MmtuiError(
                f"the sandbox could not start {name}: {repo} has no {git_store.DEFAULT_BRANCH}",
                ExitCode.AWS_ERROR,
            )
        trigger = {
            "triggerType": "CloudWatchEvent",
            "triggerDetail": event_rule_arn(account, region, name, repo, git_store.DEFAULT_BRANCH),
        }
        started.append(
            pipelines.start_execution(
                account, region, name, trigger, pinned=(repo, git_store.DEFAULT_BRANCH, commit)
            ).execution_id
        )
    finished = pipelines.wait(started, SEED_TIMEOUT)
    failed = [e for e in finished if e.status != SUCCEEDED]
    if failed or len(finished) != len(started):
        reasons = (
            "; ".join(f"{e.pipeline}: {e.status_summary or e.status}" for e in failed)
            or "an execution went missing"
        )
        raise MmtuiError(
            f"the sandbox's initial pipeline executions in account {account} did not succeed "
            f"({reasons}); build "
            f"logs are in {sandbox.state_dir / 'builds'}",
            ExitCode.AWS_ERROR,
        )


def _role(iam: Any, name: str, trust: dict[str, Any], policy: dict[str, Any]) -> str:
    name = name[:64]
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )
    iam.put_role_policy(
        RoleName=name, PolicyName=f"{name[:100]}-policy", PolicyDocument=json.dumps(policy)
    )
    return arn
