"""Pipelines that run: the sandbox extension that executes CodePipeline pipelines.

moto stores pipeline definitions and nothing more. Here an execution starts on a push to the
branch a pipeline's CodeCommit source watches (the workshop's EventBridge rule) or on
StartPipelineExecution, and runs the pipeline as it is stored at that moment, stage by stage and
action by action: the source action zips the commit, the CodeBuild action runs the buildspec for
real (build.py), the ECS action deploys the image definitions to the service (deploy.py), each in
its own region. Artifacts go through the pipeline's S3 artifact stores, as on AWS.

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
import json
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.behaviours.pipelines import api
from mmtui.sandbox.behaviours.pipelines.artifacts import (
    artifact_key,
    get_artifact,
    put_artifact,
    s3_arn,
    zip_tree,
)
from mmtui.sandbox.behaviours.pipelines.build import BuildHooks, BuildRequest, BuildRun
from mmtui.sandbox.behaviours.pipelines.deploy import DeployFailure, ecs_deploy
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
    Location,
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
LOG_BATCH = 1000
CLOSE_SECONDS = 5.0


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
        self._finished = threading.Condition(self.lock)
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
                if _arn_account(str(build.get("arn", ""))) == account
            }
            return {
                "executions": [e for e in self.state.executions if e.account == account],
                "builds": builds,
                "build_numbers": {
                    arn: number
                    for arn, number in self.state.build_numbers.items()
                    if _arn_account(arn) == account
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
                    path = self._log_path(build_id)
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
                b for b, build in self.state.builds.items() if _arn_account(build["arn"]) == account
            ]:
                del self.state.builds[build_id]
                self._log_path(build_id).unlink(missing_ok=True)
            for arn in [arn for arn in self.state.build_numbers if _arn_account(arn) == account]:
                del self.state.build_numbers[arn]
            self._finished.notify_all()

    def _log_path(self, build_id: str) -> Path:
        return self.sandbox.state_dir / BUILDS_FOLDER / f"{build_id}.log"

    def _log_text(self, build_id: str) -> str | None:
        try:
            return self._log_path(build_id).read_text(encoding="utf-8", errors="replace")
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
                    if self._current(generation, execution):
                        self._finish(execution, FAILED, f"mmtui sandbox error: {exc!r}")
            finally:
                with self.lock:
                    if self._cancels.get(execution.execution_id) is cancel:
                        del self._cancels[execution.execution_id]
                    if self._current(generation, execution) and execution.status in RUNNING_STATES:
                        # _run returned without an end: never spin on the same execution.
                        self._finish(execution, FAILED, "the execution ended without a result")

    def _current(self, generation: int, execution: Execution) -> bool:
        """Whether work for this execution is still wanted (lock held)."""
        return (
            not self.closed
            and generation == self.generation
            and any(e is execution for e in self.state.executions)
        )

    def _still_wanted(self, generation: int, execution: Execution, cancel: threading.Event) -> None:
        with self.lock:
            if cancel.is_set() or not self._current(generation, execution):
                raise Cancelled()

    def _finish(self, execution: Execution, status: str, summary: str | None) -> None:
        execution.status = status
        execution.updated = time.time()
        execution.status_summary = summary
        self.sandbox.mark_dirty()
        self._finished.notify_all()

    def _run(self, execution: Execution, generation: int, cancel: threading.Event) -> None:
        with self.lock:
            if not self._current(generation, execution):
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
                    if not self._current(generation, execution):
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
                    outcome = self._run_action(execution, run, action, generation, cancel)
                except Cancelled:
                    with self.lock:
                        if self._current(generation, execution) and execution.stop:
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
                    if not self._current(generation, execution):
                        return
                    self._record_success(execution, run, outcome)
        with self.lock:
            if self._current(generation, execution):
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
            if not self._current(generation, execution):
                return
            run.status, run.updated = FAILED, time.time()
            run.error = {"code": code, "message": message}
            self._finish(execution, FAILED, f"{run.stage}.{run.action}: {message}")

    # ------------------------------------------------------------------ actions

    def _run_action(
        self,
        execution: Execution,
        run: ActionRun,
        action: dict[str, Any],
        generation: int,
        cancel: threading.Event,
    ) -> ActionOutcome:
        kind = run.action_type
        provider = (kind.get("category"), kind.get("owner"), kind.get("provider"))
        if provider == ("Source", "AWS", "CodeCommit"):
            return self._source(execution, run, action)
        if provider == ("Build", "AWS", "CodeBuild"):
            return self._build(execution, run, action, generation, cancel)
        if provider == ("Deploy", "AWS", "ECS"):
            return self._deploy(execution, run, action, generation, cancel)
        raise ActionFailure(
            "JobFailed",
            f"The mmtui sandbox does not run {kind.get('category')} actions of provider "
            f"{kind.get('owner')}/{kind.get('provider')}",
        )

    def _source(
        self, execution: Execution, run: ActionRun, action: dict[str, Any]
    ) -> ActionOutcome:
        repo = run.configuration.get("RepositoryName", "")
        branch = run.configuration.get("BranchName", "")
        if execution.pinned is not None and execution.pinned[:2] == (repo, branch):
            commit: str | None = execution.pinned[2]
        else:
            commit = git_store.head(self.sandbox, repo, branch, execution.account)
        if commit is None:
            if (
                not git_store.valid_name(repo)
                or not git_store.bare_path(self.sandbox, repo, execution.account).is_dir()
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
                git_store.export(self.sandbox, repo, commit, checkout, execution.account)
                data = zip_tree(checkout)
            message = git_store.commit_message(self.sandbox, repo, commit, execution.account)
        except git_store.GitError:
            # A push replaced the branch (or the repository) since this execution was queued.
            raise ActionFailure(
                "RevisionUnavailable", f"The commit {commit} is no longer in repository {repo}"
            ) from None
        outputs = self._store_outputs(execution, run, action, data)
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
        self,
        execution: Execution,
        run: ActionRun,
        action: dict[str, Any],
        generation: int,
        cancel: threading.Event,
    ) -> ActionOutcome:
        region, account = run.region, execution.account
        project_name = run.configuration.get("ProjectName", "")
        with self.lock:
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
        location = self._input(execution, run, primary)
        source_zip = get_artifact(self.client("s3", region, account), location)
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
        with self.lock:
            if not self._current(generation, execution):
                raise Cancelled()
            number = self.state.build_numbers.get(project["arn"], 0) + 1
            self.state.build_numbers[project["arn"]] = number
            record = new_build_record(
                build_id, number, project, region, account, execution.pipeline, location, commit
            )
            record["logs"] = build_logs(region, account, group, stream, cloudwatch)
            self.state.builds[build_id] = record
            run.external_id = build_id
            run.external_url = (
                f"https://console.aws.amazon.com/codebuild/home?region={region}#/builds/"
                f"{build_id}/view/new"
            )
            self.sandbox.mark_dirty()
        logs = self.client("logs", region, account) if cloudwatch else None
        if logs is not None:
            _ensure_log_stream(logs, group, stream)
        # The build acts in the pipeline's account, as CodeBuild's service role would.
        access_key, secret_key = self.sandbox.credentials(account)
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
            endpoint=self.sandbox.url,
            access_key=access_key,
            secret_key=secret_key,
            log_path=self._log_path(build_id),
            environment_overrides=[v for v in overrides if isinstance(v, dict) and "name" in v],
            wants_artifact=bool(action.get("outputArtifacts")),
        )
        hooks = _RecordHooks(self, record, generation, execution, logs, group, stream)
        outcome = BuildRun(request, hooks, cancel).run()
        with self.lock:
            if self._current(generation, execution):
                record.update(
                    buildStatus=outcome.status,
                    buildComplete=True,
                    currentPhase="COMPLETED",
                    endTime=time.time(),
                )
                self.sandbox.mark_dirty()
        if cancel.is_set():
            raise Cancelled()
        if outcome.status != "SUCCEEDED":
            raise ActionFailure(
                "JobFailed",
                f"Build terminated with state: {outcome.status}. Phase: {outcome.phase}, "
                f"Code: {outcome.code}, Message: {outcome.message}",
            )
        outputs = self._store_outputs(execution, run, action, outcome.artifact or b"")
        if outputs:
            with self.lock:
                if self._current(generation, execution):
                    record["artifacts"] = {"location": s3_arn(next(iter(outputs.values())))}
        return ActionOutcome(outputs=outputs)

    def _deploy(
        self,
        execution: Execution,
        run: ActionRun,
        action: dict[str, Any],
        generation: int,
        cancel: threading.Event,
    ) -> ActionOutcome:
        inputs = [str(a["name"]) for a in action.get("inputArtifacts", [])]
        if not inputs:
            raise ActionFailure("ConfigurationError", "The ECS action has no input artifact")
        location = self._input(execution, run, inputs[0])
        account = execution.account
        data = get_artifact(self.client("s3", run.region, account), location)
        result = ecs_deploy(
            lambda service, region: self.client(service, region, account),
            run.region,
            run.configuration,
            inputs[0],
            data,
            lambda: self._still_wanted(generation, execution, cancel),
        )
        if self.ecs_deploy_seconds > 0:
            # ECS replaces the tasks one by one, draining the old ones: minutes on AWS.
            cancel.wait(self.ecs_deploy_seconds)
            self._still_wanted(generation, execution, cancel)
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

    # ------------------------------------------------------------------ artifacts

    def _store_outputs(
        self, execution: Execution, run: ActionRun, action: dict[str, Any], data: bytes
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
            self.client("s3", run.region, execution.account),
            bucket,
            artifact_key(execution.pipeline, outputs[0]),
            data,
        )
        return {outputs[0]: location}

    def _input(self, execution: Execution, run: ActionRun, name: str) -> Location:
        """Where the input artifact is in the action's region, copying it there if needed (as
        CodePipeline does for a cross-region action)."""
        with self.lock:
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
            s3_here = self.client("s3", execution.region, execution.account)
            s3_there = self.client("s3", run.region, execution.account)
            data = get_artifact(s3_here, first)
            location = put_artifact(s3_there, bucket, first["objectKey"], data)
            with self.lock:
                execution.artifacts.setdefault(name, {})[run.region] = location
        with self.lock:
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
            if self.pipelines._current(self.generation, self.execution):
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


# ---------------------------------------------------------------------- moto's models


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


# ---------------------------------------------------------------------- builds


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


def _ensure_log_stream(logs: Any, group: str, stream: str) -> None:
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


def _arn_account(arn: str) -> str:
    """The account field of an ARN (`arn:aws:codebuild:REGION:ACCOUNT:...`)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def find(sandbox: Sandbox) -> Pipelines:
    """The sandbox's pipelines extension."""
    for extension in sandbox.extensions:
        if isinstance(extension, Pipelines):
            return extension
    raise LookupError("the sandbox runs without its pipelines extension")
