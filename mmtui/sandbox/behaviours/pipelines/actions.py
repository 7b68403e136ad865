"""The actions a pipeline execution runs: CodeCommit source, CodeBuild build, ECS deploy.

Each action reads its input artifacts from the pipeline's S3 artifact stores, does its work in
the action's own region (the source zips the commit; the build runs the buildspec for real with
build.py, keeping the build's record and log stream current while it runs; the deploy hands the
image definitions to deploy.py) and stores its output artifacts. engine.py schedules the
executions and calls `run_action` for each action, handing over the pipelines extension.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.behaviours.pipelines.artifacts import (
    artifact_key,
    get_artifact,
    put_artifact,
    s3_arn,
    zip_tree,
)
from mmtui.sandbox.behaviours.pipelines.build import BuildHooks, BuildRequest, BuildRun
from mmtui.sandbox.behaviours.pipelines.deploy import ecs_deploy
from mmtui.sandbox.behaviours.pipelines.moto_models import (
    artifact_bucket,
    build_logs,
    codebuild_project,
    ensure_log_stream,
    new_build_record,
)
from mmtui.sandbox.behaviours.pipelines.records import (
    ActionRun,
    Execution,
    Location,
)

if TYPE_CHECKING:
    from mmtui.sandbox.behaviours.pipelines.engine import Pipelines

LOG_BATCH = 1000


class Cancelled(Exception):
    """The work is no longer wanted: the execution was stopped, or the state replaced."""


class ActionFailure(Exception):
    """The action fails with errorDetails {code, message}."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ActionOutcome:
    summary: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    outputs: dict[str, Location] = field(default_factory=dict)
    revision: dict[str, Any] | None = None
    """For a source action: its artifactRevision (name, revisionId, revisionSummary, ...)."""


def run_action(
    pipelines: Pipelines,
    execution: Execution,
    run: ActionRun,
    action: dict[str, Any],
    generation: int,
    cancel: threading.Event,
) -> ActionOutcome:
    kind = run.action_type
    provider = (kind.get("category"), kind.get("owner"), kind.get("provider"))
    if provider == ("Source", "AWS", "CodeCommit"):
        return _source(pipelines, execution, run, action)
    if provider == ("Build", "AWS", "CodeBuild"):
        return _build(pipelines, execution, run, action, generation, cancel)
    if provider == ("Deploy", "AWS", "ECS"):
        return _deploy(pipelines, execution, run, action, generation, cancel)
    raise ActionFailure(
        "JobFailed",
        f"The mmtui sandbox does not run {kind.get('category')} actions of provider "
        f"{kind.get('owner')}/{kind.get('provider')}",
    )


def _source(
    pipelines: Pipelines, execution: Execution, run: ActionRun, action: dict[str, Any]
) -> ActionOutcome:
    repo = run.configuration.get("RepositoryName", "")
    branch = run.configuration.get("BranchName", "")
    if execution.pinned is not None and execution.pinned[:2] == (repo, branch):
        commit: str | None = execution.pinned[2]
    else:
        commit = git_store.head(pipelines.sandbox, repo, branch, execution.account)
    if commit is None:
        if (
            not git_store.valid_name(repo)
            or not git_store.bare_path(pipelines.sandbox, repo, execution.account).is_dir()
        ):
            raise ActionFailure(
                "ConfigurationError", f"The repository {repo} does not exist in CodeCommit"
            )
        raise ActionFailure(
            "RevisionUnavailable", f"The branch {branch} does not exist in repository {repo}"
        )
    try:
        with tempfile.TemporaryDirectory(prefix="mmtui-source-") as scratch:
            checkout = Path(scratch) / "checkout"
            git_store.export(pipelines.sandbox, repo, commit, checkout, execution.account)
            data = zip_tree(checkout)
        message = git_store.commit_message(pipelines.sandbox, repo, commit, execution.account)
    except git_store.GitError:
        # A push replaced the branch (or the repository) since this execution was queued.
        raise ActionFailure(
            "RevisionUnavailable", f"The commit {commit} is no longer in repository {repo}"
        ) from None
    outputs = _store_outputs(pipelines, execution, run, action, data)
    url = (
        f"https://{run.region}.console.aws.amazon.com/codesuite/codecommit/repositories/"
        f"{repo}/commit/{commit}?region={run.region}"
    )
    output_name = next(iter(outputs), "SourceArtifact")
    return ActionOutcome(
        summary=message,
        external_id=commit,
        external_url=url,
        outputs=outputs,
        revision={
            "name": output_name,
            "revisionId": commit,
            "revisionSummary": message,
            "created": time.time(),
            "revisionUrl": url,
        },
    )


def _build(
    pipelines: Pipelines,
    execution: Execution,
    run: ActionRun,
    action: dict[str, Any],
    generation: int,
    cancel: threading.Event,
) -> ActionOutcome:
    region, account = run.region, execution.account
    project_name = run.configuration.get("ProjectName", "")
    with pipelines.lock:
        project = codebuild_project(account, region, project_name)
    if project is None:
        raise ActionFailure(
            "JobFailed",
            f"Error calling startBuild: Project cannot be found: arn:aws:codebuild:{region}:"
            f"{account}:project/{project_name} (Service: AWSCodeBuild; Status Code: 400; "
            f"Error Code: ResourceNotFoundException; Request ID: {uuid.uuid4()}; Proxy: null)",
        )
    inputs = [str(a["name"]) for a in action.get("inputArtifacts", [])]
    primary = run.configuration.get("PrimarySource") or (inputs[0] if inputs else "")
    if not primary:
        raise ActionFailure("ConfigurationError", "The CodeBuild action has no input artifact")
    location = _input(pipelines, execution, run, primary)
    source_zip = get_artifact(pipelines.client("s3", region, account), location)
    try:
        overrides = json.loads(run.configuration.get("EnvironmentVariables") or "[]")
    except ValueError:
        raise ActionFailure(
            "ConfigurationError", "EnvironmentVariables is not a JSON list of variables"
        ) from None
    build_id = f"{project_name}:{uuid.uuid4()}"
    stream = build_id.split(":", 1)[1]
    logs_config = (project.get("logsConfig") or {}).get("cloudWatchLogs") or {}
    cloudwatch = logs_config.get("status", "ENABLED") != "DISABLED"
    group = str(logs_config.get("groupName") or f"/aws/codebuild/{project_name}")
    if logs_config.get("streamName"):
        stream = f"{logs_config['streamName']}/{stream}"
    commit = next(
        (r["revisionId"] for r in execution.artifact_revisions if r["name"] == primary),
        execution.pinned[2] if execution.pinned else "",
    )
    with pipelines.lock:
        if not pipelines.is_current(generation, execution):
            raise Cancelled()
        number = pipelines.state.build_numbers.get(project["arn"], 0) + 1
        pipelines.state.build_numbers[project["arn"]] = number
        record = new_build_record(
            build_id, number, project, region, account, execution.pipeline, location, commit
        )
        record["logs"] = build_logs(region, account, group, stream, cloudwatch)
        pipelines.state.builds[build_id] = record
        run.external_id = build_id
        run.external_url = (
            f"https://console.aws.amazon.com/codebuild/home?region={region}#/builds/"
            f"{build_id}/view/new"
        )
        pipelines.sandbox.mark_dirty()
    logs = pipelines.client("logs", region, account) if cloudwatch else None
    if logs is not None:
        ensure_log_stream(logs, group, stream)
    # The build acts in the pipeline's account, as CodeBuild's service role would.
    access_key, secret_key = pipelines.sandbox.credentials(account)
    request = BuildRequest(
        build_id=build_id,
        project=project,
        region=region,
        account=account,
        source_zip=source_zip,
        source_version=s3_arn(location),
        resolved_source_version=commit,
        initiator=f"codepipeline/{execution.pipeline}",
        build_number=number,
        endpoint=pipelines.sandbox.url,
        access_key=access_key,
        secret_key=secret_key,
        log_path=pipelines.log_path(build_id),
        environment_overrides=[v for v in overrides if isinstance(v, dict) and "name" in v],
        wants_artifact=bool(action.get("outputArtifacts")),
    )
    hooks = _RecordHooks(pipelines, record, generation, execution, logs, group, stream)
    outcome = BuildRun(request, hooks, cancel).run()
    with pipelines.lock:
        if pipelines.is_current(generation, execution):
            record.update(
                buildStatus=outcome.status,
                buildComplete=True,
                currentPhase="COMPLETED",
                endTime=time.time(),
            )
            pipelines.sandbox.mark_dirty()
    if cancel.is_set():
        raise Cancelled()
    if outcome.status != "SUCCEEDED":
        raise ActionFailure(
            "JobFailed",
            f"Build terminated with state: {outcome.status}. Phase: {outcome.phase}, "
            f"Code: {outcome.code}, Message: {outcome.message}",
        )
    outputs = _store_outputs(pipelines, execution, run, action, outcome.artifact or b"")
    if outputs:
        with pipelines.lock:
            if pipelines.is_current(generation, execution):
                record["artifacts"] = {"location": s3_arn(next(iter(outputs.values())))}
    return ActionOutcome(outputs=outputs)


def _deploy(
    pipelines: Pipelines,
    execution: Execution,
    run: ActionRun,
    action: dict[str, Any],
    generation: int,
    cancel: threading.Event,
) -> ActionOutcome:
    inputs = [str(a["name"]) for a in action.get("inputArtifacts", [])]
    if not inputs:
        raise ActionFailure("ConfigurationError", "The ECS action has no input artifact")
    location = _input(pipelines, execution, run, inputs[0])
    account = execution.account
    data = get_artifact(pipelines.client("s3", run.region, account), location)
    result = ecs_deploy(
        lambda service, region: pipelines.client(service, region, account),
        run.region,
        run.configuration,
        inputs[0],
        data,
        lambda: pipelines.still_wanted(generation, execution, cancel),
    )
    if pipelines.ecs_deploy_seconds > 0:
        # ECS replaces the tasks one by one, draining the old ones: minutes on AWS.
        cancel.wait(pipelines.ecs_deploy_seconds)
        pipelines.still_wanted(generation, execution, cancel)
    cluster = run.configuration.get("ClusterName", "")
    service = run.configuration.get("ServiceName", "")
    return ActionOutcome(
        summary=result.summary,
        external_id=result.deployment,
        external_url=(
            f"https://console.aws.amazon.com/ecs/home?region={run.region}#/clusters/"
            f"{cluster}/services/{service}/details"
        ),
    )


def _store_outputs(
    pipelines: Pipelines, execution: Execution, run: ActionRun, action: dict[str, Any], data: bytes
) -> dict[str, Location]:
    """Put the action's output artifact in the artifact store of its region."""
    outputs = [str(a["name"]) for a in action.get("outputArtifacts", [])]
    if not outputs:
        return {}
    bucket = artifact_bucket(execution.definition or {}, run.region, execution.region)
    if bucket is None:
        raise ActionFailure(
            "ConfigurationError", f"The pipeline has no artifact store in {run.region}"
        )
    location = put_artifact(
        pipelines.client("s3", run.region, execution.account),
        bucket,
        artifact_key(execution.pipeline, outputs[0]),
        data,
    )
    return {outputs[0]: location}


def _input(pipelines: Pipelines, execution: Execution, run: ActionRun, name: str) -> Location:
    """Where the input artifact is in the action's region, copying it there if needed (as
    CodePipeline does for a cross-region action)."""
    with pipelines.lock:
        locations = dict(execution.artifacts.get(name, {}))
    if not locations:
        raise ActionFailure(
            "ConfigurationError",
            f"The input artifact {name} was not produced by an earlier action of the pipeline",
        )
    location = locations.get(run.region)
    if location is None:
        bucket = artifact_bucket(execution.definition or {}, run.region, execution.region)
        if bucket is None:
            raise ActionFailure(
                "ConfigurationError",
                f"The pipeline has no artifact store in {run.region}: an action in another "
                "region needs artifactStores with a bucket in that region",
            )
        first = next(iter(locations.values()))
        s3_here = pipelines.client("s3", execution.region, execution.account)
        s3_there = pipelines.client("s3", run.region, execution.account)
        data = get_artifact(s3_here, first)
        location = put_artifact(s3_there, bucket, first["objectKey"], data)
        with pipelines.lock:
            execution.artifacts.setdefault(name, {})[run.region] = location
    with pipelines.lock:
        for entry in run.input_artifacts:
            if entry["name"] == name:
                entry["location"] = location
    return location


class _RecordHooks(BuildHooks):
    """Keeps the build's record and its CloudWatch Logs stream up to date while it runs."""

    def __init__(
        self,
        pipelines: Pipelines,
        record: dict[str, Any],
        generation: int,
        execution: Execution,
        logs: Any,
        group: str,
        stream: str,
    ) -> None:
        self.pipelines = pipelines
        self.record = record
        self.generation = generation
        self.execution = execution
        self.logs = logs
        self.group = group
        self.stream = stream

    def phases_changed(self, phases: list[dict[str, Any]], current: str) -> None:
        with self.pipelines.lock:
            if self.pipelines.is_current(self.generation, self.execution):
                self.record["phases"] = phases
                self.record["currentPhase"] = current
                self.pipelines.sandbox.mark_dirty()

    def log_events(self, events: list[tuple[int, str]]) -> None:
        if self.logs is None or not events:
            return
        for start in range(0, len(events), LOG_BATCH):
            batch = events[start : start + LOG_BATCH]
            try:
                self.logs.put_log_events(
                    logGroupName=self.group,
                    logStreamName=self.stream,
                    logEvents=[{"timestamp": t, "message": m} for t, m in batch],
                )
            except Exception:  # noqa: BLE001, S112  (the file log still has them)
                continue
