"""What the pipelines remember: executions, their actions, and CodeBuild's builds.

These are plain dataclasses because they are pickled with the rest of the sandbox's state
(history and queued executions survive a restart). The AWS-shaped answers are made from them in
api.py; the builds are kept directly in the shape BatchGetBuilds answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
STOPPING = "Stopping"
STOPPED = "Stopped"
ABANDONED = "Abandoned"
RUNNING_STATES = (IN_PROGRESS, STOPPING)

Location = dict[str, str]
"""An S3 location of an artifact: {"bucketName": ..., "objectKey": ...}."""


class StopRefused(Exception):
    """StopPipelineExecution refused, with the AWS error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ActionRun:
    """One run of one action within an execution (an ActionExecutionDetail)."""

    execution_id: str
    stage: str
    action: str
    action_execution_id: str
    pipeline_version: int
    action_type: dict[str, str]
    configuration: dict[str, str]
    region: str
    role_arn: str | None
    start: float
    updated: float
    status: str = IN_PROGRESS
    input_artifacts: list[dict[str, Any]] = field(default_factory=list)
    output_artifacts: list[dict[str, Any]] = field(default_factory=list)
    summary: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    error: dict[str, str] | None = None
    """errorDetails: {"code": ..., "message": ...}."""
    revision: str | None = None
    """For a source action: the commit it read."""


@dataclass
class Execution:
    """One pipeline execution, queued or running or finished."""

    execution_id: str
    account: str
    region: str
    pipeline: str
    trigger: dict[str, str]
    created: float
    updated: float
    status: str = IN_PROGRESS
    started: bool = False
    """False while it waits for the pipeline's previous executions to finish."""
    start: float | None = None
    version: int | None = None
    definition: dict[str, Any] | None = None
    """The pipeline as it was stored when the execution started (it runs that)."""
    pinned: tuple[str, str, str] | None = None
    """(repository, branch, commit) of the push that started it: its Source reads that commit."""
    status_summary: str | None = None
    stop: str | None = None
    """None, or how a stop was asked: "abandon" (now) or "finish" (after the running actions)."""
    stop_reason: str | None = None
    source_revisions: list[dict[str, Any]] = field(default_factory=list)
    artifact_revisions: list[dict[str, Any]] = field(default_factory=list)
    artifacts: dict[str, dict[str, Location]] = field(default_factory=dict)
    """Output artifact name → region → where it is (the first region is the pipeline's)."""
    actions: list[ActionRun] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account, self.region, self.pipeline)

    def run_of(self, stage: str, action: str) -> ActionRun | None:
        for run in reversed(self.actions):
            if run.stage == stage and run.action == action:
                return run
        return None


@dataclass
class State:
    executions: list[Execution] = field(default_factory=list)
    """Every execution of every pipeline, oldest first (that is also the order they run in)."""
    builds: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Build ID → the build as BatchGetBuilds describes it."""
    build_numbers: dict[str, int] = field(default_factory=dict)
    """Project ARN → the number of its last build."""

    def of_pipeline(self, account: str, region: str, pipeline: str) -> list[Execution]:
        return [e for e in self.executions if e.key == (account, region, pipeline)]

    def find(self, account: str, region: str, pipeline: str, execution_id: str) -> Execution | None:
        for execution in self.executions:
            if execution.execution_id == execution_id and execution.key == (
                account,
                region,
                pipeline,
            ):
                return execution
        return None


def stage_status(execution: Execution, stage: str) -> str | None:
    """The status of a stage within an execution (None if it never reached the stage)."""
    runs = [run for run in execution.actions if run.stage == stage]
    if not runs:
        return None
    statuses = {run.status for run in runs}
    if IN_PROGRESS in statuses:
        return STOPPING if execution.status == STOPPING else IN_PROGRESS
    if FAILED in statuses:
        return FAILED
    if ABANDONED in statuses:
        return STOPPED
    definition = execution.definition or {}
    declared = next((s for s in definition.get("stages", []) if s.get("name") == stage), None)
    if declared is not None and len({run.action for run in runs}) < len(declared["actions"]):
        return STOPPED if execution.status == STOPPED else IN_PROGRESS
    return SUCCEEDED
