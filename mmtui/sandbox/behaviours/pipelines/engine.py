"""Pipelines that run: the sandbox extension that executes CodePipeline pipelines.

moto stores pipeline definitions and nothing more. Here an execution starts on a push to the
branch a pipeline's CodeCommit source watches (the workshop's EventBridge rule) or on
StartPipelineExecution, and runs the pipeline as it is stored at that moment, stage by stage and
action by action (actions.py): the source action zips the commit, the CodeBuild action runs the
buildspec for real (build.py), the ECS action deploys the image definitions to the service
(deploy.py), each in its own region. Artifacts go through the pipeline's S3 artifact stores,
as on AWS.

Executions of one pipeline run one at a time, in the order they were started (one worker thread
per busy pipeline; different pipelines run side by side). Nothing is lost when pushes come close
together: the later ones wait. The history, the queued executions and the builds are part of the
sandbox's saved state; an execution that was running when the sandbox stopped carries on from
the action it was in when the sandbox starts again.

Threads never hold the sandbox lock while a build runs or while they call the sandbox over HTTP
(those requests need the lock): they read what they need under the lock, work, and record the
result under the lock, checking first that the state they worked for is still the current one
(a snapshot restore or a stop replaces it).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.behaviours.pipelines import api, command_launcher
from mmtui.sandbox.behaviours.pipelines.actions import (
    ActionFailure,
    ActionOutcome,
    Cancelled,
    run_action,
)
from mmtui.sandbox.behaviours.pipelines.deploy import DeployFailure
from mmtui.sandbox.behaviours.pipelines.moto_models import (
    arn_account,
    event_rule_arn,
    pipeline_model,
    watching_pipelines,
)
from mmtui.sandbox.behaviours.pipelines.records import (
    ABANDONED,
    FAILED,
    IN_PROGRESS,
    RUNNING_STATES,
    STOPPED,
    STOPPING,
    SUCCEEDED,
    ActionRun,
    Execution,
    State,
    StopRefused,
)
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse
from mmtui.sandbox.core.timing import scale_of, seconds
from mmtui.sandbox.moto_repairs.s3_bucket_registry import rebuild_bucket_registry

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

BUILDS_FOLDER = "builds"
CLOSE_SECONDS = 5.0


class Pipelines(Extension):
    name = "pipelines"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.lock = sandbox.lock
        self.state = State()
        self.generation = 0
        """Bumped whenever the state is replaced: work begun for an older one is dropped."""
        self.closed = False
        self._workers: dict[tuple[str, str, str], threading.Thread] = {}
        self._cancels: dict[str, threading.Event] = {}
        # The sandbox lock offers what a Condition uses of an RLock (core/fair_lock.py).
        self._finished = threading.Condition(self.lock)  # type: ignore[arg-type]
        sandbox.account_push_listeners.append(self.on_push)
        note = sandbox.notes.append
        self.ecs_deploy_seconds = seconds("ecs_deploy", scale_of(sandbox.options, note), note)
        """How long an ECS deploy action lasts after the service took the new task definition
        (AWS's rollout of minutes, times the sandbox's time scale)."""

    # ------------------------------------------------------------------ extension API

    def before(self, request: AwsRequest) -> AwsResponse | None:
        return api.before(self, request)

    def after(self, request: AwsRequest, response: AwsResponse) -> AwsResponse:
        return api.after(self, request, response)

    def get_state(self) -> Any:
        return self.state

    def set_state(self, state: Any) -> None:
        with self.lock:
            self.generation += 1
            for cancel in self._cancels.values():
                cancel.set()
            rebuild_bucket_registry()  # the artifact buckets must be found again
            self.state = state if isinstance(state, State) else State()
            now = time.time()
            for build in self.state.builds.values():
                if build.get("buildStatus") == "IN_PROGRESS":
                    # Its process died with the sandbox; the execution runs the action again.
                    build.update(
                        buildStatus="STOPPED",
                        buildComplete=True,
                        currentPhase="COMPLETED",
                        endTime=now,
                    )
            for key in {e.key for e in self.state.executions if e.status in RUNNING_STATES}:
                self._kick(key)
            self._finished.notify_all()

    def export_account(self, account: str) -> Any:
        """The account's executions and builds, with the builds' log files' text."""
        with self.lock:
            builds = {
                build_id: build
                for build_id, build in self.state.builds.items()
                if arn_account(str(build.get("arn", ""))) == account
            }
            return {
                "executions": [e for e in self.state.executions if e.account == account],
                "builds": builds,
                "build_numbers": {
                    arn: number
                    for arn, number in self.state.build_numbers.items()
                    if arn_account(arn) == account
                },
                "logs": {build_id: self._log_text(build_id) for build_id in builds},
            }

    def import_account(self, account: str, data: Any) -> None:
        if not isinstance(data, dict):
            return
        with self.lock:
            self.state.executions += data["executions"]
            self.state.builds.update(data["builds"])
            self.state.build_numbers.update(data["build_numbers"])
            for build_id, text in data["logs"].items():
                if text is not None:
                    path = self.log_path(build_id)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
            for key in {e.key for e in data["executions"] if e.status in RUNNING_STATES}:
                self._kick(key)
            self.sandbox.mark_dirty()

    def drop_account(self, account: str) -> None:
        with self.lock:
            for execution in self.state.executions:
                cancel = self._cancels.get(execution.execution_id)
                if execution.account == account and cancel is not None:
                    cancel.set()
            self.state.executions = [e for e in self.state.executions if e.account != account]
            for build_id in [
                b for b, build in self.state.builds.items() if arn_account(build["arn"]) == account
            ]:
                del self.state.builds[build_id]
                self.log_path(build_id).unlink(missing_ok=True)
            for arn in [arn for arn in self.state.build_numbers if arn_account(arn) == account]:
                del self.state.build_numbers[arn]
            self._finished.notify_all()

    def log_path(self, build_id: str) -> Path:
        return self.sandbox.state_dir / BUILDS_FOLDER / f"{build_id}.log"

    def _log_text(self, build_id: str) -> str | None:
        try:
            return self.log_path(build_id).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def close(self) -> None:
        """Stop running builds; the saved state keeps the executions to carry on with."""
        with self.lock:
            self.closed = True
            for cancel in self._cancels.values():
                cancel.set()
            self._finished.notify_all()
            workers = list(self._workers.values())
        # A stopped build ends within moments; waiting for it lets it remove its work folder
        # before the process exits.
        deadline = time.monotonic() + CLOSE_SECONDS
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ clients

    def client(self, service: str, region: str, account: str) -> Any:
        """A client on the sandbox acting in `account` (the pipeline's: its service roles are
        that account's), shared by the pipelines' threads (the sandbox's cached clients)."""
        return self.sandbox.client(service, region, account)

    # ------------------------------------------------------------------ starting executions

    def start_execution(
        self,
        account: str,
        region: str,
        pipeline: str,
        trigger: dict[str, str],
        pinned: tuple[str, str, str] | None = None,
    ) -> Execution:
        """Queue an execution of the pipeline (it starts when the ones before it are done)."""
        with self.lock:
            now = time.time()
            execution = Execution(
                execution_id=str(uuid.uuid4()),
                account=account,
                region=region,
                pipeline=pipeline,
                trigger=trigger,
                created=now,
                updated=now,
                pinned=pinned,
            )
            self.state.executions.append(execution)
            self.sandbox.mark_dirty()
            self._kick(execution.key)
            return execution

    def stop_execution(self, execution: Execution, abandon: bool, reason: Any) -> None:
        """StopPipelineExecution: a queued execution stops now; a running one after its running
        action (abandon: that action is abandoned, its build stopped)."""
        with self.lock:
            if execution.status == STOPPING:
                raise StopRefused(
                    "DuplicatedStopRequestException",
                    f"Execution {execution.execution_id} is already being stopped",
                )
            if execution.status != IN_PROGRESS:
                raise StopRefused(
                    "PipelineExecutionNotStoppableException",
                    f"Unable to stop pipeline execution {execution.execution_id}: only an "
                    f"execution in progress can be stopped, it is {execution.status}",
                )
            execution.stop = "abandon" if abandon else "finish"
            execution.stop_reason = str(reason or "") or None
            if not execution.started:
                self._finish(execution, STOPPED, execution.stop_reason)
                return
            execution.status = STOPPING
            execution.updated = time.time()
            cancel = self._cancels.get(execution.execution_id)
            if abandon and cancel is not None:
                cancel.set()
            self.sandbox.mark_dirty()

    def forget(self, account: str, region: str, pipeline: str) -> None:
        """A deleted pipeline: AWS forgets its executions; running ones stop where they are."""
        with self.lock:
            key = (account, region, pipeline)
            for execution in self.state.executions:
                cancel = self._cancels.get(execution.execution_id)
                if execution.key == key and cancel is not None:
                    cancel.set()
            self.state.executions = [e for e in self.state.executions if e.key != key]
            self.sandbox.mark_dirty()
            self._finished.notify_all()

    def on_push(self, account: str, repo: str, branch: str, old: str, new: str) -> None:
        """A push changed a branch: start every pipeline of that account whose source watches
        it."""
        if not new.strip("0"):
            return  # the branch was deleted: there is nothing to build
        # A build follows: the builds' `aws` server imports while the pipeline's source runs.
        command_launcher.prestart()
        with self.lock:
            if self.closed:
                return
            for region, name, polling in watching_pipelines(account, repo, branch):
                trigger = (
                    {"triggerType": "PollForSourceChanges", "triggerDetail": ""}
                    if polling
                    else {
                        "triggerType": "CloudWatchEvent",
                        "triggerDetail": event_rule_arn(account, region, name, repo, branch),
                    }
                )
                self.start_execution(account, region, name, trigger, pinned=(repo, branch, new))

    def wait(self, execution_ids: list[str], timeout: float) -> list[Execution]:
        """The executions once none of them runs any more (or when `timeout` seconds passed)."""
        deadline = time.monotonic() + timeout
        with self._finished:
            while True:
                found = [e for e in self.state.executions if e.execution_id in execution_ids]
                remaining = deadline - time.monotonic()
                if all(e.status not in RUNNING_STATES for e in found) or remaining <= 0:
                    return found
                self._finished.wait(remaining)

    # ------------------------------------------------------------------ workers

    def _kick(self, key: tuple[str, str, str]) -> None:
        """Make sure a worker runs the pipeline's executions (called with the lock held)."""
        if self.closed:
            return
        worker = self._workers.get(key)
        if worker is not None and worker.is_alive():
            return
        worker = threading.Thread(
            target=self._work, args=(key,), name=f"mmtui-pipeline-{key[2]}", daemon=True
        )
        self._workers[key] = worker
        worker.start()

    def _work(self, key: tuple[str, str, str]) -> None:
        while True:
            with self.lock:
                if self.closed or self._workers.get(key) is not threading.current_thread():
                    return
                execution = next(
                    (
                        e
                        for e in self.state.executions
                        if e.key == key and e.status in RUNNING_STATES
                    ),
                    None,
                )
                if execution is None:
                    del self._workers[key]
                    return
                generation = self.generation
                cancel = threading.Event()
                if execution.stop == "abandon":
                    cancel.set()
                self._cancels[execution.execution_id] = cancel
            try:
                self._run(execution, generation, cancel)
            except Exception as exc:  # noqa: BLE001  (a sandbox bug fails the execution, no more)
                with self.lock:
                    if self.is_current(generation, execution):
                        self._finish(execution, FAILED, f"mmtui sandbox error: {exc!r}")
            finally:
                with self.lock:
                    if self._cancels.get(execution.execution_id) is cancel:
                        del self._cancels[execution.execution_id]
                    if (
                        self.is_current(generation, execution)
                        and execution.status in RUNNING_STATES
                    ):
                        # _run returned without an end: never spin on the same execution.
                        self._finish(execution, FAILED, "the execution ended without a result")

    def is_current(self, generation: int, execution: Execution) -> bool:
        """Whether work for this execution is still wanted (lock held)."""
        return (
            not self.closed
            and generation == self.generation
            and any(e is execution for e in self.state.executions)
        )

    def still_wanted(self, generation: int, execution: Execution, cancel: threading.Event) -> None:
        with self.lock:
            if cancel.is_set() or not self.is_current(generation, execution):
                raise Cancelled()

    def _finish(self, execution: Execution, status: str, summary: str | None) -> None:
        execution.status = status
        execution.updated = time.time()
        execution.status_summary = summary
        self.sandbox.mark_dirty()
        self._finished.notify_all()

    def _run(self, execution: Execution, generation: int, cancel: threading.Event) -> None:
        with self.lock:
            if not self.is_current(generation, execution):
                return
            if not execution.started:
                stored = pipeline_model(execution.account, execution.region, execution.pipeline)
                if stored is None:
                    self._finish(execution, FAILED, "the pipeline no longer exists")
                    return
                execution.definition = copy.deepcopy(stored.pipeline)
                execution.version = int(stored.pipeline.get("version", 1))
                execution.started = True
                execution.start = execution.updated = time.time()
                self.sandbox.mark_dirty()
            definition = execution.definition or {}
        for stage in definition.get("stages", []):
            actions = sorted(stage.get("actions", []), key=lambda a: int(a.get("runOrder", 1)))
            for action in actions:
                with self.lock:
                    if not self.is_current(generation, execution):
                        return
                    if execution.stop:
                        self._finish(execution, STOPPED, execution.stop_reason)
                        return
                    previous = execution.run_of(stage["name"], action["name"])
                    if previous is not None and previous.status == SUCCEEDED:
                        continue  # done before the sandbox restarted
                    if previous is not None:
                        execution.actions.remove(previous)  # interrupted: it runs again
                    run = self._begin(execution, stage["name"], action, definition)
                try:
                    outcome = run_action(self, execution, run, action, generation, cancel)
                except Cancelled:
                    with self.lock:
                        if self.is_current(generation, execution) and execution.stop:
                            run.status, run.updated = ABANDONED, time.time()
                            self._finish(execution, STOPPED, execution.stop_reason)
                    return
                except (ActionFailure, DeployFailure) as failure:
                    code = failure.code if isinstance(failure, ActionFailure) else "JobFailed"
                    self._record_failure(execution, run, generation, code, str(failure))
                    return
                except Exception as exc:  # noqa: BLE001  (the action fails, the sandbox goes on)
                    message = f"mmtui sandbox error: {type(exc).__name__}: {exc}"
                    self._record_failure(execution, run, generation, "JobFailed", message)
                    return
                with self.lock:
                    if not self.is_current(generation, execution):
                        return
                    self._record_success(execution, run, outcome)
        with self.lock:
            if self.is_current(generation, execution):
                self._finish(execution, SUCCEEDED, None)

    def _begin(
        self, execution: Execution, stage: str, action: dict[str, Any], definition: dict[str, Any]
    ) -> ActionRun:
        now = time.time()
        run = ActionRun(
            execution_id=execution.execution_id,
            stage=stage,
            action=str(action["name"]),
            action_execution_id=str(uuid.uuid4()),
            pipeline_version=int(execution.version or 1),
            action_type=dict(action.get("actionTypeId", {})),
            configuration=dict(action.get("configuration", {})),
            region=str(action.get("region") or execution.region),
            role_arn=action.get("roleArn") or definition.get("roleArn"),
            start=now,
            updated=now,
            input_artifacts=[
                {"name": a["name"], "location": None} for a in action.get("inputArtifacts", [])
            ],
        )
        execution.actions.append(run)
        execution.updated = now
        self.sandbox.mark_dirty()
        return run

    def _record_success(self, execution: Execution, run: ActionRun, outcome: ActionOutcome) -> None:
        now = time.time()
        run.status, run.updated = SUCCEEDED, now
        run.summary = outcome.summary
        run.external_id = outcome.external_id or run.external_id
        run.external_url = outcome.external_url or run.external_url
        for name, location in outcome.outputs.items():
            execution.artifacts[name] = {run.region: location}
            run.output_artifacts.append({"name": name, "location": location})
        if outcome.revision is not None:
            run.revision = str(outcome.revision["revisionId"])
            execution.artifact_revisions.append(outcome.revision)
            execution.source_revisions.append(
                {
                    "actionName": run.action,
                    "revisionId": outcome.revision["revisionId"],
                    "revisionSummary": outcome.revision.get("revisionSummary"),
                    "revisionUrl": outcome.revision.get("revisionUrl"),
                }
            )
        execution.updated = now
        self.sandbox.mark_dirty()

    def _record_failure(
        self, execution: Execution, run: ActionRun, generation: int, code: str, message: str
    ) -> None:
        with self.lock:
            if not self.is_current(generation, execution):
                return
            run.status, run.updated = FAILED, time.time()
            run.error = {"code": code, "message": message}
            self._finish(execution, FAILED, f"{run.stage}.{run.action}: {message}")


def find(sandbox: Sandbox) -> Pipelines:
    """The sandbox's pipelines extension."""
    for extension in sandbox.extensions:
        if isinstance(extension, Pipelines):
            return extension
    raise LookupError("the sandbox runs without its pipelines extension")
