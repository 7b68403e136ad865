"""The two service pipelines as several steps read them: their names (from the primary
stack's outputs) and their last runs.
"""

from __future__ import annotations

from mmtui.engine.checks import Checker
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import TaskContext
from mmtui.labs.lab3.aws import facts
from mmtui.labs.lab3.facts import service_pipelines


def last_runs(
    check: Checker,
    pipelines: dict[str, str],
    expected: str,
    advice: str,
    fix: str | None = None,
) -> CheckResult:
    """Pass when every pipeline's last run succeeded; pending while one runs. A failure says
    which action failed and why when that can be read, then `fix` (default `advice`, which is
    said alone when it cannot)."""
    states = {name: facts(check).last_run(name, check.region) for name in pipelines.values()}
    observed = ", ".join(f"{n}: {s}" for n, s in states.items()) or "no pipelines"
    (
        f"aws codepipeline get-pipeline-state --name {pipelines.get('core', '')} "
        f"--region {check.region}"
    )
    if states and all(s == "Succeeded" for s in states.values()):
        return check.passed(expected, observed, "Both pipelines last succeeded.")
    # Stopping ends as Stopped: not a verdict yet. Stopped and Superseded are final (a run
    # someone stopped, or one a newer run replaced before it finished): not a success.
    if any(s in ("InProgress", "Stopping") for s in states.values()):
        return check.pending(expected, observed, "A pipeline is running; wait for it.")
    reasons = [
        failure_reason(check, name, check.region)
        for name, state in states.items()
        if state not in ("Succeeded", "never ran")
    ]
    why = "; ".join(r for r in reasons if r)
    if why:
        return check.failed(
            expected,
            observed,
            f"A pipeline's last run did not succeed: {why}. {_sentence(fix or advice)}.",
        )
    return check.failed(expected, observed, f"A pipeline's last run did not succeed; {advice}.")


def failure_reason(check: Checker, pipeline: str, region: str) -> str:
    """Why the pipeline's last run failed, as an attendee would dig it out: the failed action
    (stage/action) from its state, and for a build its log's last error (`no basic auth
    credentials`), else the action's own error message. "" when none can be read (a stopped
    run, or no permission to look: the verdict stands without the reason)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        state = check.ctx.client("codepipeline", region).get_pipeline_state(name=pipeline)
        for stage in state.get("stageStates", []):
            for action in stage.get("actionStates", []):
                latest = action.get("latestExecution") or {}
                if latest.get("status") != "Failed":
                    continue
                where = f"{pipeline} failed at {stage['stageName']}/{action['actionName']}"
                message = str((latest.get("errorDetails") or {}).get("message", "")).strip()
                logged = _build_error(check, region, str(latest.get("externalExecutionId", "")))
                said = logged or message
                return f"{where}: {said}" if said else where
    except (ClientError, BotoCoreError):
        return ""
    return ""


def _build_error(check: Checker, region: str, build_id: str) -> str:
    """The last error a CodeBuild build logged: the last line of the command's own output
    before CodeBuild's "Command did not exit successfully" (the command named with it)."""
    if ":" not in build_id:  # not a CodeBuild build id (project:uuid)
        return ""
    builds = check.ctx.client("codebuild", region).batch_get_builds(ids=[build_id])
    logs = ((builds.get("builds") or [{}])[0]).get("logs") or {}
    group, stream = logs.get("groupName"), logs.get("streamName")
    if not group or not stream:
        return ""
    events = check.ctx.client("logs", region).get_log_events(
        logGroupName=group, logStreamName=stream, startFromHead=False, limit=200
    )
    lines = [line for e in events.get("events", []) for line in str(e["message"]).splitlines()]
    for index in range(len(lines) - 1, -1, -1):
        marker = lines[index].find("Command did not exit successfully")
        if marker < 0:
            continue
        command = lines[index][marker + len("Command did not exit successfully") :].strip()
        start = max(
            (j for j in range(index) if "Running command" in lines[j]), default=-1
        )  # what that command printed, not an earlier one's output
        output = [
            line.strip()
            for line in lines[start + 1 : index]
            if line.strip() and not line.startswith("[Container]")
        ]
        return f"{output[-1]} ({command})" if output else command
    return ""


def pipeline_names(ctx: TaskContext) -> dict[str, str]:
    """{"Core": name, "Like": name}: the service pipelines, keyed as the stack outputs are."""
    found = service_pipelines(
        ctx.client("codepipeline", ctx.primary_region), ctx.param("primary_stack")
    )
    return {kind.title(): name for kind, name in found.items()}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
