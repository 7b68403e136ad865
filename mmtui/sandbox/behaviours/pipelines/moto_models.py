"""What the pipelines read from, and write into, moto's backends (lock held).

Stored pipelines and the EventBridge rules that start them on a push, CodeBuild projects,
a pipeline's artifact store for a region, and a new build's record with its CloudWatch Logs
stream.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from mmtui.sandbox.behaviours.pipelines.artifacts import s3_arn
from mmtui.sandbox.behaviours.pipelines.records import Location


def pipeline_model(account: str, region: str, name: str) -> Any:
    """moto's stored pipeline, or None (lock held)."""
    from moto.codepipeline.models import codepipeline_backends

    return codepipeline_backends[account][region].pipelines.get(name)


def watching_pipelines(account: str, repo: str, branch: str) -> list[tuple[str, str, bool]]:
    """(region, pipeline, polls) of every pipeline of the account whose CodeCommit source is
    that repository's branch (lock held): the same repository name in another account is
    another repository."""
    import sys

    if "moto.codepipeline.models" not in sys.modules:
        return []  # no pipeline was ever created
    from moto.codepipeline.models import codepipeline_backends

    found: list[tuple[str, str, bool]] = []
    if account in codepipeline_backends:
        for region, backend in list(codepipeline_backends[account].items()):
            for name, stored in list(backend.pipelines.items()):
                for stage in stored.pipeline.get("stages", []):
                    for action in stage.get("actions", []):
                        kind = action.get("actionTypeId", {})
                        config = action.get("configuration", {})
                        if (
                            kind.get("category") == "Source"
                            and kind.get("provider") == "CodeCommit"
                            and config.get("RepositoryName") == repo
                            and config.get("BranchName") == branch
                        ):
                            polls = str(config.get("PollForSourceChanges", "true")).lower()
                            found.append((region, name, polls == "true"))
    return found


def event_rule_arn(account: str, region: str, pipeline: str, repo: str, branch: str) -> str:
    """The EventBridge rule that targets the pipeline (the one that "heard" the push)."""
    import sys

    arn = f"arn:aws:codepipeline:{region}:{account}:{pipeline}"
    if "moto.events.models" in sys.modules:
        from moto.events.models import events_backends

        for bus_rules in _event_rules(events_backends[account][region]):
            for rule in bus_rules:
                if any(target.get("Arn") == arn for target in getattr(rule, "targets", [])):
                    return str(rule.arn)
    return f"arn:aws:events:{region}:{account}:rule/codepipeline-{repo[:6]}-{branch}-rule"


def _event_rules(backend: Any) -> list[list[Any]]:
    buses = getattr(backend, "event_buses", {})
    return [list(getattr(bus, "rules", {}).values()) for bus in buses.values()]


def codebuild_project(account: str, region: str, name: str) -> dict[str, Any] | None:
    """A copy of moto's project as BatchGetProjects describes it, or None (lock held)."""
    from moto.codebuild.models import codebuild_backends

    project = codebuild_backends[account][region].codebuild_projects.get(name)
    return None if project is None else copy.deepcopy(project.project_metadata)


def artifact_bucket(definition: dict[str, Any], region: str, pipeline_region: str) -> str | None:
    stores = definition.get("artifactStores") or {}
    if region in stores:
        return str(stores[region].get("location"))
    store = definition.get("artifactStore")
    if store and region == pipeline_region:
        return str(store.get("location"))
    return None


def new_build_record(
    build_id: str,
    number: int,
    project: dict[str, Any],
    region: str,
    account: str,
    pipeline: str,
    source: Location,
    commit: str,
) -> dict[str, Any]:
    """A build as BatchGetBuilds describes it, just submitted."""
    now = time.time()
    source_spec = project.get("source") or {}
    return {
        "id": build_id,
        "arn": f"arn:aws:codebuild:{region}:{account}:build/{build_id}",
        "buildNumber": number,
        "startTime": now,
        "currentPhase": "SUBMITTED",
        "buildStatus": "IN_PROGRESS",
        "sourceVersion": s3_arn(source),
        "resolvedSourceVersion": commit,
        "projectName": project["name"],
        "phases": [{"phaseType": "SUBMITTED", "startTime": now}],
        "source": {
            "type": "CODEPIPELINE",
            "buildspec": str(source_spec.get("buildspec") or "buildspec.yml"),
            "insecureSsl": False,
        },
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": {"location": ""},
        "secondaryArtifacts": [],
        "cache": project.get("cache") or {"type": "NO_CACHE"},
        "environment": project.get("environment") or {},
        "serviceRole": project.get("serviceRole", ""),
        "timeoutInMinutes": int(project.get("timeoutInMinutes") or 60),
        "queuedTimeoutInMinutes": int(project.get("queuedTimeoutInMinutes") or 480),
        "buildComplete": False,
        "initiator": f"codepipeline/{pipeline}",
        "encryptionKey": project.get("encryptionKey", ""),
    }


def build_logs(region: str, account: str, group: str, stream: str, enabled: bool) -> dict[str, Any]:
    if not enabled:
        return {
            "cloudWatchLogs": {"status": "DISABLED"},
            "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
        }
    return {
        "groupName": group,
        "streamName": stream,
        "deepLink": (
            f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logEvent:"
            f"group={group};stream={stream}"
        ),
        "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:"
        f"{stream}",
        "cloudWatchLogs": {"status": "ENABLED"},
        "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
    }


def ensure_log_stream(logs: Any, group: str, stream: str) -> None:
    from botocore.exceptions import ClientError

    for call, kwargs in (
        (logs.create_log_group, {"logGroupName": group}),
        (logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
    ):
        try:
            call(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise


def arn_account(arn: str) -> str:
    """The account field of an ARN (`arn:aws:codebuild:REGION:ACCOUNT:...`)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""
