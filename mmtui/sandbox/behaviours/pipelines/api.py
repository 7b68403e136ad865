"""The CodePipeline and CodeBuild API answers made from the executions and builds that ran.

CodePipeline (JSON 1.1, `CodePipeline_20150709.*`): StartPipelineExecution,
StopPipelineExecution, ListPipelineExecutions, GetPipelineExecution, GetPipelineState and
ListActionExecutions; CreatePipeline and UpdatePipeline are checked for what AWS refuses and
moto lets through (a cross-region action needs `artifactStores`, the buckets must exist in their
regions), then stored by moto. CodeBuild (`CodeBuild_20161006.*`): BatchGetBuilds, ListBuilds and
ListBuildsForProject answer the real builds (moto's own builds "succeed" at the first look);
UpdateProject changes what a workshop changes (the image above all).
Every answer is given with the sandbox lock held (the request holds it).
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.behaviours.pipelines import validation
from mmtui.sandbox.behaviours.pipelines.records import (
    IN_PROGRESS,
    RUNNING_STATES,
    STOPPED,
    ActionRun,
    Execution,
    StopRefused,
    stage_status,
)
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, aws_error, not_available

if TYPE_CHECKING:
    from mmtui.sandbox.behaviours.pipelines.engine import Pipelines

CODEPIPELINE = "CodePipeline_20150709."
CODEBUILD = "CodeBuild_20161006."
MAX_RESULTS = 100


def before(pipelines: Pipelines, request: AwsRequest) -> AwsResponse | None:
    target = request.target or ""
    if target.startswith(CODEPIPELINE):
        handler = _CODEPIPELINE.get(target[len(CODEPIPELINE) :])
    elif target.startswith(CODEBUILD):
        handler = _CODEBUILD.get(target[len(CODEBUILD) :])
    else:
        return None
    if handler is None:
        return None
    try:
        body = request.json()
    except ValueError:
        return None  # moto answers a malformed body as AWS does
    answer: AwsResponse | None = handler(pipelines, request, body)
    return answer


def after(pipelines: Pipelines, request: AwsRequest, response: AwsResponse) -> AwsResponse:
    if response.status == 200 and request.target == f"{CODEPIPELINE}DeletePipeline":
        try:
            name = str(request.json().get("name", ""))
        except ValueError:
            return response
        pipelines.forget(request.account, request.region, name)
    return response


# ---------------------------------------------------------------------- CodePipeline


def _pipeline(request: AwsRequest, name: str) -> Any:
    from moto.codepipeline.models import codepipeline_backends

    return codepipeline_backends[request.account][request.region].pipelines.get(name)


def _no_pipeline(request: AwsRequest, name: str) -> AwsResponse:
    return aws_error(
        request,
        400,
        "PipelineNotFoundException",
        f"Account '{request.account}' does not have a pipeline with name '{name}'",
    )


def _no_execution(request: AwsRequest, name: str, execution_id: str) -> AwsResponse:
    return aws_error(
        request,
        400,
        "PipelineExecutionNotFoundException",
        f"Pipeline execution {execution_id} does not exist in pipeline {name}",
    )


Handler = Callable[["Pipelines", AwsRequest, dict[str, Any]], AwsResponse]
PipelineHandler = Callable[["Pipelines", AwsRequest, dict[str, Any], str, Any], AwsResponse]


def _of_pipeline(name_key: str) -> Callable[[PipelineHandler], Handler]:
    """For a call that names a pipeline in `name_key`: PipelineNotFoundException when the
    region has no pipeline by that name, as AWS answers; otherwise the handler, given the name
    and moto's stored pipeline."""

    def wrap(handler: PipelineHandler) -> Handler:
        def answer(pipelines: Pipelines, request: AwsRequest, body: dict[str, Any]) -> AwsResponse:
            name = str(body.get(name_key, ""))
            stored = _pipeline(request, name)
            if stored is None:
                return _no_pipeline(request, name)
            return handler(pipelines, request, body, name, stored)

        return answer

    return wrap


@_of_pipeline("name")
def start_pipeline_execution(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any], name: str, stored: Any
) -> AwsResponse:
    pinned: tuple[str, str, str] | None = None
    for override in body.get("sourceRevisions") or []:
        # Run a given commit instead of the branch's head (revisionType COMMIT_ID).
        source = next(
            (
                action
                for stage in stored.pipeline.get("stages", [])
                for action in stage.get("actions", [])
                if action.get("name") == override.get("actionName")
            ),
            None,
        )
        config = (source or {}).get("configuration", {})
        if source is None or override.get("revisionType") != "COMMIT_ID":
            return aws_error(
                request,
                400,
                "ValidationException",
                f"The source revision override for action {override.get('actionName')} is not "
                "valid: it must name a CodeCommit source action with revisionType COMMIT_ID",
            )
        pinned = (
            str(config.get("RepositoryName", "")),
            str(config.get("BranchName", "")),
            str(override.get("revisionValue", "")),
        )
    trigger = {
        "triggerType": "StartPipelineExecution",
        "triggerDetail": f"arn:aws:iam::{request.account}:root",
    }
    execution = pipelines.start_execution(request.account, request.region, name, trigger, pinned)
    return _json({"pipelineExecutionId": execution.execution_id})


@_of_pipeline("pipelineName")
def stop_pipeline_execution(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any], name: str, _stored: Any
) -> AwsResponse:
    execution_id = str(body.get("pipelineExecutionId", ""))
    execution = pipelines.state.find(request.account, request.region, name, execution_id)
    if execution is None:
        return _no_execution(request, name, execution_id)
    try:
        pipelines.stop_execution(execution, bool(body.get("abandon")), body.get("reason"))
    except StopRefused as refusal:
        return aws_error(request, 400, refusal.code, str(refusal))
    return _json({"pipelineExecutionId": execution_id})


@_of_pipeline("pipelineName")
def list_pipeline_executions(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any], name: str, _stored: Any
) -> AwsResponse:
    executions = list(reversed(pipelines.state.of_pipeline(request.account, request.region, name)))
    stage = (body.get("filter") or {}).get("succeededInStage", {}).get("stageName")
    if stage:
        executions = [e for e in executions if stage_status(e, str(stage)) == "Succeeded"]
    page, token = _page(executions, body)
    answer: dict[str, Any] = {"pipelineExecutionSummaries": [_summary(e) for e in page]}
    if token:
        answer["nextToken"] = token
    return _json(answer)


@_of_pipeline("pipelineName")
def get_pipeline_execution(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any], name: str, stored: Any
) -> AwsResponse:
    execution_id = str(body.get("pipelineExecutionId", ""))
    execution = pipelines.state.find(request.account, request.region, name, execution_id)
    if execution is None:
        return _no_execution(request, name, execution_id)
    detail: dict[str, Any] = {
        "pipelineName": name,
        "pipelineVersion": execution.version or int(stored.pipeline.get("version", 1)),
        "pipelineExecutionId": execution.execution_id,
        "status": execution.status,
        "artifactRevisions": list(execution.artifact_revisions),
        "variables": [],
        "trigger": dict(execution.trigger),
        "executionType": "STANDARD",
    }
    if execution.status_summary:
        detail["statusSummary"] = execution.status_summary
    return _json({"pipelineExecution": detail})


@_of_pipeline("name")
def get_pipeline_state(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any], name: str, stored: Any
) -> AwsResponse:
    executions = pipelines.state.of_pipeline(request.account, request.region, name)
    waiting = [e for e in executions if e.status in RUNNING_STATES and not e.started]
    stages = []
    for index, stage in enumerate(stored.pipeline.get("stages", [])):
        stage_name = str(stage["name"])
        state: dict[str, Any] = {
            "stageName": stage_name,
            "inboundTransitionState": {"enabled": True},
            "actionStates": [
                _action_state(executions, stage_name, action, request.region)
                for action in stage.get("actions", [])
            ],
        }
        latest = next(
            (e for e in reversed(executions) if stage_status(e, stage_name) is not None), None
        )
        if latest is not None:
            status = stage_status(latest, stage_name)
            if status == IN_PROGRESS and latest.status == STOPPED:
                status = STOPPED
            state["latestExecution"] = {
                "pipelineExecutionId": latest.execution_id,
                "status": status,
                "type": "STANDARD",
            }
        if index == 0 and waiting:
            state["inboundExecution"] = {
                "pipelineExecutionId": waiting[0].execution_id,
                "status": IN_PROGRESS,
                "type": "STANDARD",
            }
        stages.append(state)
    return _json(
        {
            "pipelineName": name,
            "pipelineVersion": int(stored.pipeline.get("version", 1)),
            "stageStates": stages,
            "created": _epoch(stored._created),
            "updated": _epoch(stored._updated),
        }
    )


def _action_state(
    executions: list[Execution], stage: str, action: dict[str, Any], region: str
) -> dict[str, Any]:
    name = str(action["name"])
    state: dict[str, Any] = {"actionName": name}
    url = _entity_url(action, str(action.get("region") or region))
    if url:
        state["entityUrl"] = url
    run: ActionRun | None = None
    for execution in reversed(executions):
        run = execution.run_of(stage, name)
        if run is not None:
            break
    if run is None:
        return state
    latest: dict[str, Any] = {
        "actionExecutionId": run.action_execution_id,
        "status": run.status,
        "lastStatusChange": run.updated,
    }
    latest.update(
        _present(
            summary=run.summary,
            externalExecutionId=run.external_id,
            externalExecutionUrl=run.external_url,
            errorDetails=run.error,
        )
    )
    state["latestExecution"] = latest
    if run.revision:
        state["currentRevision"] = {"revisionId": run.revision}
        state["revisionUrl"] = run.external_url
    return state


def _entity_url(action: dict[str, Any], region: str) -> str | None:
    provider = action.get("actionTypeId", {}).get("provider")
    config = action.get("configuration", {})
    console = "https://console.aws.amazon.com"
    if provider == "CodeCommit":
        return (
            f"{console}/codesuite/codecommit/repositories/{config.get('RepositoryName')}/"
            f"browse/{config.get('BranchName')}/--/?region={region}"
        )
    if provider == "CodeBuild":
        return (
            f"{console}/codebuild/home?region={region}#/projects/{config.get('ProjectName')}/view"
        )
    if provider == "ECS":
        return (
            f"{console}/ecs/home?region={region}#/clusters/{config.get('ClusterName')}/services/"
            f"{config.get('ServiceName')}/details"
        )
    return None


@_of_pipeline("pipelineName")
def list_action_executions(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any], name: str, _stored: Any
) -> AwsResponse:
    executions = pipelines.state.of_pipeline(request.account, request.region, name)
    wanted = (body.get("filter") or {}).get("pipelineExecutionId")
    if wanted:
        executions = [e for e in executions if e.execution_id == wanted]
        if not executions:
            return _no_execution(request, name, str(wanted))
    runs = sorted(
        (run for execution in executions for run in execution.actions),
        key=lambda run: run.start,
        reverse=True,
    )
    page, token = _page(runs, body)
    answer: dict[str, Any] = {"actionExecutionDetails": [_action_detail(r) for r in page]}
    if token:
        answer["nextToken"] = token
    return _json(answer)


def _action_detail(run: ActionRun) -> dict[str, Any]:
    result = _present(
        externalExecutionId=run.external_id,
        externalExecutionSummary=run.summary,
        externalExecutionUrl=run.external_url,
        errorDetails=run.error,
    )
    return {
        "pipelineExecutionId": run.execution_id,
        "actionExecutionId": run.action_execution_id,
        "pipelineVersion": run.pipeline_version,
        "stageName": run.stage,
        "actionName": run.action,
        "startTime": run.start,
        "lastUpdateTime": run.updated,
        "status": run.status,
        "input": {
            "actionTypeId": run.action_type,
            "configuration": run.configuration,
            "resolvedConfiguration": run.configuration,
            **({"roleArn": run.role_arn} if run.role_arn else {}),
            "region": run.region,
            "inputArtifacts": [_artifact(a) for a in run.input_artifacts],
        },
        "output": {
            "outputArtifacts": [_artifact(a) for a in run.output_artifacts],
            "executionResult": result,
            "outputVariables": {},
        },
    }


def _epoch(moment: datetime.datetime) -> float:
    """moto's naive UTC datetimes as epoch seconds (`.timestamp()` would take them as local)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that have a value (AWS leaves the others out)."""
    return {key: value for key, value in fields.items() if value}


def _artifact(entry: dict[str, Any]) -> dict[str, Any]:
    artifact: dict[str, Any] = {"name": entry["name"]}
    location = entry.get("location")
    if location:
        artifact["s3location"] = {"bucket": location["bucketName"], "key": location["objectKey"]}
    return artifact


def _summary(execution: Execution) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "pipelineExecutionId": execution.execution_id,
        "status": execution.status,
        "startTime": execution.start or execution.created,
        "lastUpdateTime": execution.updated,
        "sourceRevisions": list(execution.source_revisions),
        "trigger": dict(execution.trigger),
        "executionType": "STANDARD",
    }
    if execution.status_summary:
        summary["statusSummary"] = execution.status_summary
    if execution.stop:
        summary["stopTrigger"] = {"reason": execution.stop_reason or ""}
    return summary


def _page(items: list[Any], body: dict[str, Any]) -> tuple[list[Any], str | None]:
    """One page of `items` after `nextToken`, at most `maxResults` long (offsets as tokens)."""
    try:
        size = max(1, min(int(body.get("maxResults") or MAX_RESULTS), 1000))
        start = int(body.get("nextToken") or 0)
    except ValueError:
        size, start = MAX_RESULTS, 0
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)


def check_pipeline(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any]
) -> AwsResponse | None:
    problem = validation.problem(body.get("pipeline"), request.region, request.account)
    if problem is None:
        return None
    return aws_error(request, 400, "InvalidStructureException", problem)


# ---------------------------------------------------------------------- CodeBuild


def batch_get_builds(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any]
) -> AwsResponse | None:
    ids = [str(i) for i in body.get("ids") or []]
    ours = [i for i in ids if i in pipelines.state.builds]
    if not ours:
        return None  # builds started with StartBuild: moto's
    from moto.codebuild.models import codebuild_backends

    others = [i for i in ids if i not in pipelines.state.builds]
    moto_builds = {
        build["id"]: build
        for build in codebuild_backends[request.account][request.region].batch_get_builds(others)
    }
    builds = []
    for build_id in ids:
        if build_id in pipelines.state.builds:
            record = pipelines.state.builds[build_id]
            if _in_scope(record, request):
                builds.append(record)
        elif build_id in moto_builds:
            builds.append(_jsonable(moto_builds[build_id]))
    found = {b["id"] for b in builds}
    return _json({"builds": builds, "buildsNotFound": [i for i in ids if i not in found]})


def list_builds_for_project(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any]
) -> AwsResponse | None:
    from moto.codebuild.models import codebuild_backends

    backend = codebuild_backends[request.account][request.region]
    project = str(body.get("projectName", ""))
    if project not in backend.codebuild_projects:
        return aws_error(
            request,
            400,
            "ResourceNotFoundException",
            f"The provided project arn:aws:codebuild:{request.region}:{request.account}:project/"
            f"{project} does not exist",
        )
    ours = [
        b
        for b in pipelines.state.builds.values()
        if b["projectName"] == project and _in_scope(b, request)
    ]
    return _build_ids(ours, list(backend.list_builds_for_project(project)), body)


_UPDATABLE = (
    "description",
    "source",
    "artifacts",
    "environment",
    "serviceRole",
    "timeoutInMinutes",
)


def update_project(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any]
) -> AwsResponse | None:
    """UpdateProject for what a workshop changes on a project (its image above all: the AWS CLI
    inside it decides which ECR login works); the next build runs with it."""
    from moto.codebuild.models import codebuild_backends

    backend = codebuild_backends[request.account][request.region]
    name = str(body.get("name", ""))
    project = backend.codebuild_projects.get(name)
    if project is None:
        return aws_error(
            request,
            400,
            "ResourceNotFoundException",
            f"Project cannot be found: arn:aws:codebuild:{request.region}:{request.account}:"
            f"project/{name}",
        )
    others = sorted(set(body) - {"name", *_UPDATABLE})
    if others:
        return not_available(request, f"changing {', '.join(others)}")
    metadata = project.project_metadata
    for key in _UPDATABLE:
        if key in body:
            metadata[key] = body[key]
    metadata["lastModified"] = time.time()
    return _json({"project": _jsonable(metadata)})


def list_builds(
    pipelines: Pipelines, request: AwsRequest, body: dict[str, Any]
) -> AwsResponse | None:
    from moto.codebuild.models import codebuild_backends

    ours = [b for b in pipelines.state.builds.values() if _in_scope(b, request)]
    theirs = list(codebuild_backends[request.account][request.region].list_builds())
    return _build_ids(ours, theirs, body)


def _in_scope(build: dict[str, Any], request: AwsRequest) -> bool:
    """Whether a build is the requester's: in its region and its account."""
    return f":{request.region}:{request.account}:build/" in str(build["arn"])


def _build_ids(ours: list[dict[str, Any]], theirs: list[str], body: dict[str, Any]) -> AwsResponse:
    ids = [b["id"] for b in sorted(ours, key=lambda b: b["startTime"])] + theirs
    ids.reverse()  # newest first, AWS's default order (DESCENDING)
    if str(body.get("sortOrder", "DESCENDING")).upper() == "ASCENDING":
        ids.reverse()
    page, token = _page(ids, body)
    answer: dict[str, Any] = {"ids": page}
    if token:
        answer["nextToken"] = token
    return _json(answer)


def _jsonable(build: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(build, default=str))
    return loaded


def _json(payload: dict[str, Any]) -> AwsResponse:
    return AwsResponse(
        200, json.dumps(payload).encode(), {"Content-Type": "application/x-amz-json-1.1"}
    )


_CODEPIPELINE = {
    "StartPipelineExecution": start_pipeline_execution,
    "StopPipelineExecution": stop_pipeline_execution,
    "ListPipelineExecutions": list_pipeline_executions,
    "GetPipelineExecution": get_pipeline_execution,
    "GetPipelineState": get_pipeline_state,
    "ListActionExecutions": list_action_executions,
    "CreatePipeline": check_pipeline,
    "UpdatePipeline": check_pipeline,
}
_CODEBUILD = {
    "BatchGetBuilds": batch_get_builds,
    "ListBuildsForProject": list_builds_for_project,
    "ListBuilds": list_builds,
    "UpdateProject": update_project,
}
