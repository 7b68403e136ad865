"""Step 4: the production buildspecs that build for both regions. Its checks (each
piece of each buildspec, the pipelines' runs, the images in both registries, the rollout in the
secondary region), the solve that commits the buildspecs and follows both pipelines, the preview
of that commit, and the reset that restores the primary-only buildspecs.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any

from mmtui.engine.checks import Checker, describe
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext, git_identity
from mmtui.labs.lab3.aws import IMAGE_MISSING, facts, unless_missing
from mmtui.labs.lab3.buildspec import PIECE_CHECKS
from mmtui.labs.lab3.catalog import CHECKS, TASKS
from mmtui.labs.lab3.codepipeline import last_runs, pipeline_names
from mmtui.labs.lab3.stacks import describe_stack, needs_secondary_stack, outputs_of

if TYPE_CHECKING:
    from mmtui.gitops.repository import FileChange

# ---------------------------------------------------------------------- checks


_IMAGE = re.compile(
    r"^(?P<host>\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)/"
    r"(?P<repo>[^:@]+):(?P<tag>.+)$"
)


def _service_images(check: Checker, which: str) -> dict[str, str]:
    """Service name → the image its current task definition runs (first container)."""
    outputs = facts(check).outputs(which)
    region = check.ctx.primary_region if which == "primary" else check.ctx.secondary_region
    cluster = outputs.get("EcsClusterName", "")
    names = [n for n in (outputs.get("CoreEcsServiceName"), outputs.get("LikeEcsServiceName")) if n]
    if not cluster or not names:
        return {}
    ecs = check.ctx.client("ecs", region)
    images: dict[str, str] = {}
    for service in ecs.describe_services(cluster=cluster, services=names).get("services", []):
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
            "taskDefinition"
        ]
        containers = [
            c
            for c in definition.get("containerDefinitions", [])
            if c.get("name") in ("service", "like-service")
        ]
        if containers:
            images[service["serviceName"]] = containers[0].get("image", "")
    return images


def _last_pushed(check: Checker, kind: str) -> str:
    """The commit the `kind` ("Core"/"Like") service's pipeline last ran on ("" if unknown)."""
    name = facts(check).pipelines().get(kind.lower())
    return facts(check).last_revision(name, check.ctx.primary_region) if name else ""


def _image_exists(check: Checker, region: str, repo: str, tag: str) -> bool:
    client = check.ctx.client("ecr", region)
    found = unless_missing(
        lambda: client.describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}]),
        *IMAGE_MISSING,
    )
    return bool(found and found.get("imageDetails"))


def _while_pipelines_run(check: Checker, result: CheckResult) -> CheckResult:
    """A failure while a pipeline is still running is not a verdict yet: pending."""
    from dataclasses import replace

    from mmtui.engine.results import Status

    if result.status != Status.FAIL:
        return result
    primary = check.ctx.primary_region
    running = [
        name
        for name in facts(check).pipelines().values()
        if facts(check).last_run(name, primary) in ("InProgress", "Stopping")
    ]
    if not running:
        return result
    return replace(
        result,
        status=Status.PENDING,
        message=f"{result.message} {describe(running)} is still running.",
    )


@CHECKS.implement("build_artifacts.images_in_both_regions")
def images_in_both_regions(check: Checker) -> CheckResult:
    return _while_pipelines_run(check, _images_in_both_regions(check))


def _images_in_both_regions(check: Checker) -> CheckResult:
    missing_stack = needs_secondary_stack(check, "the secondary registries")
    if missing_stack:
        return missing_stack
    secondary = facts(check).outputs("secondary")
    expected = "each image the primary runs, also in the secondary registry"
    primary_images = _service_images(check, "primary")
    problems, seen = [], []
    for service, image in sorted(primary_images.items()):
        match = _IMAGE.match(image)
        if not match:
            problems.append(f"{service} runs {image}, not an image from a registry")
            continue
        kind = "Core" if "Core" in service else "Like"
        repo = secondary.get(f"Secondary{kind}ServiceEcrRepo", "").split("/", 1)[-1]
        # The commit its pipeline last built, when that is not what runs (the run failed):
        # the attendee's last push is what they look for, not the commit before it.
        pushed = _last_pushed(check, kind)
        tag = pushed or match["tag"]
        seen.append(f"{repo}:{tag}")
        if not _image_exists(check, check.ctx.secondary_region, repo, tag):
            last = (
                f" (the last push, {pushed[:12]}, did not deploy)"
                if pushed != match["tag"] and pushed
                else ""
            )
            problems.append(f"{repo}:{tag[:12]} is not in {check.ctx.secondary_region}{last}")
    (
        f"aws ecr describe-images --repository-name "
        f"{secondary.get('SecondaryCoreServiceEcrRepo', '').split('/', 1)[-1]} "
        f"--region {check.ctx.secondary_region}"
    )
    if not primary_images:
        return check.failed(expected, "no primary services", "The primary services are missing.")
    if problems:
        return check.failed(
            expected,
            "; ".join(problems),
            f"The builds do not push to the secondary registries yet: {'; '.join(problems)}.",
        )
    return check.passed(
        expected,
        describe(seen),
        "The images the primary runs are in the secondary registries too.",
    )


def _rollouts(check: Checker, cluster: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """Service → (rolloutState, reason) of its PRIMARY deployment; COMPLETED when ECS gives no
    rollout state (a deployment controller other than ECS)."""
    if not cluster or not names:
        return {}
    answer = check.ctx.client("ecs", check.ctx.secondary_region).describe_services(
        cluster=cluster, services=names
    )
    found = {}
    for service in answer.get("services", []):
        primary = [d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"]
        state = str(primary[0].get("rolloutState", "COMPLETED")) if primary else "COMPLETED"
        reason = str(primary[0].get("rolloutStateReason", "")) if primary else ""
        found[str(service["serviceName"])] = (state, reason or "see the service's events")
    return found


@CHECKS.implement("build_artifacts.deployed_to_secondary")
def deployed_to_secondary(check: Checker) -> CheckResult:
    return _while_pipelines_run(check, _deployed_to_secondary(check))


def _deployed_to_secondary(check: Checker) -> CheckResult:
    missing_stack = needs_secondary_stack(check, "the secondary services")
    if missing_stack:
        return missing_stack
    expected = "the secondary services run the primary's images, from the secondary registry"
    primary = {
        ("Core" if "Core" in s else "Like"): i for s, i in _service_images(check, "primary").items()
    }
    secondary = _service_images(check, "secondary")
    outputs = facts(check).outputs("secondary")
    (
        f"aws ecs describe-services --cluster {outputs.get('EcsClusterName', '')} "
        f"--services {outputs.get('CoreEcsServiceName', '')} "
        f"{outputs.get('LikeEcsServiceName', '')} --region {check.ctx.secondary_region} "
        "--query 'services[].taskDefinition'"
    )
    problems = []
    for service, image in sorted(secondary.items()):
        kind = "Core" if "Core" in service else "Like"
        match, wanted = _IMAGE.match(image), _IMAGE.match(primary.get(kind, ""))
        if not match or match["region"] != check.ctx.secondary_region:
            problems.append(
                f"{service} runs {image.rsplit('/', 1)[-1]}, not an image from "
                f"{check.ctx.secondary_region}"
            )
        elif wanted and match["tag"] != wanted["tag"]:
            problems.append(
                f"{service} runs {match['tag'][:12]}, the primary runs {wanted['tag'][:12]}"
            )
    if not secondary:
        return check.failed(expected, "no services", "The secondary services are missing.")
    if problems:
        return check.failed(
            expected,
            "; ".join(problems),
            f"The pipelines have not deployed to the secondary region yet: {'; '.join(problems)}.",
        )
    rollouts = _rollouts(check, outputs.get("EcsClusterName", ""), list(secondary))
    failed = [
        f"{name}: {reason}" for name, (state, reason) in rollouts.items() if state == "FAILED"
    ]
    if failed:
        return check.failed(
            expected,
            "rollout FAILED",
            f"The deployment to the secondary failed: {'; '.join(failed)}.",
        )
    rolling = [name for name, (state, _) in rollouts.items() if state == "IN_PROGRESS"]
    if rolling:
        return check.pending(
            expected,
            "rollout IN_PROGRESS",
            f"{describe(rolling)} still rolling out the new build; wait for it to complete.",
        )
    return check.passed(
        expected,
        describe(i.rsplit("/", 1)[-1] for i in secondary.values()),
        "Both secondary services run the same build as the primary.",
    )


def _buildspec_text(check: Checker, which: str) -> tuple[str | None, str]:
    """(text of buildspec_prod.yml on master or None, why not);
    fetched once per check run and shared by the checks of that service."""
    import base64

    from botocore.exceptions import ClientError

    repository = facts(check).source_repository(which)
    primary = check.ctx.primary_region
    if repository is None:
        return None, "the pipeline or its source repository is missing"

    def fetch() -> str | None:
        try:
            answer = check.ctx.client("codecommit", primary).get_file(
                repositoryName=repository, filePath="buildspec_prod.yml", commitSpecifier="master"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") in (
                "FileDoesNotExistException",
                "BranchDoesNotExistException",
                "CommitDoesNotExistException",
            ):
                return None
            raise
        content = answer["fileContent"]
        raw = content if isinstance(content, bytes) else base64.b64decode(content)
        return raw.decode("utf-8", "replace")

    text = facts(check).once(f"buildspec:{which}", fetch)
    return text, f"{repository} has no buildspec_prod.yml on master"


def _buildspec_pieces(check: Checker, which: str) -> tuple[list[Any] | None, str]:
    from mmtui.labs.lab3.buildspec import missing_pieces

    text, why = _buildspec_text(check, which)
    if text is None:
        return None, why
    kind = "Core" if which == "core" else "Like"
    uri = facts(check).outputs("secondary").get(f"Secondary{kind}ServiceEcrRepo", "")
    container = "service" if which == "core" else "like-service"
    # The eight checks of a service read one analysis of its buildspec (parsing it is the
    # costliest thing they do).
    pieces = facts(check).once(
        f"buildspec-pieces:{which}",
        lambda: missing_pieces(text, container, uri, check.ctx.secondary_region),
    )
    return pieces, why


def _buildspec(check: Checker, which: str) -> CheckResult:
    kind = "Core" if which == "core" else "Like"
    expected = "buildspec_prod.yml on master, valid YAML"
    missing_stack = needs_secondary_stack(check, f"the {kind} buildspec")
    if missing_stack:
        return missing_stack
    pieces, why = _buildspec_pieces(check, which)
    if pieces is None:
        return check.failed(expected, "no buildspec", f"{why}.")
    invalid = [p for p in pieces if p.key == "yaml"]
    if invalid:
        return check.failed(expected, "not YAML", f"{invalid[0].hint}.")
    return check.passed(expected, "present", f"The {kind} buildspec is on master.")


def _buildspec_piece(check: Checker, which: str, key: str, what: str) -> CheckResult:
    kind = "Core" if which == "core" else "Like"
    missing_stack = needs_secondary_stack(check, f"the {kind} buildspec")
    if missing_stack:
        return missing_stack
    pieces, why = _buildspec_pieces(check, which)
    if pieces is None:
        return check.failed(what, "no buildspec", f"{why}.")
    if any(p.key == "yaml" for p in pieces):
        return check.failed(what, "not YAML", "buildspec_prod.yml is not valid YAML.")
    missing = [p for p in pieces if p.key == key]
    if missing:
        return check.failed(what, "missing", f"The {kind} buildspec: {missing[0].hint}.")
    return check.passed(what, "present", f"The {kind} buildspec: {what}.")


for _which in ("core", "like"):
    CHECKS.implement(f"build_artifacts.{_which}_buildspec")(
        lambda check, which=_which: _buildspec(check, which)
    )
    for _key, _what in PIECE_CHECKS.items():
        CHECKS.implement(f"build_artifacts.{_which}_{_key}")(
            lambda check, which=_which, key=_key, what=_what: _buildspec_piece(
                check, which, key, what
            )
        )


@CHECKS.implement("build_artifacts.pipelines_succeeded")
def pipelines_last_run(check: Checker) -> CheckResult:
    return last_runs(
        check,
        facts(check).pipelines(),
        "the last run of both pipelines Succeeded",
        "its state shows the failing action and why",
        fix="fix what failed in the buildspec, then commit and push it again",
    )


# ---------------------------------------------------------------------- solve, preview and reset


BUILDSPEC = "buildspec_prod.yml"


RUNNING = ("InProgress", "Stopping")


def _latest_execution(ctx: TaskContext, pipeline: str) -> dict[str, Any] | None:
    runs = (
        ctx.client("codepipeline", ctx.primary_region)
        .list_pipeline_executions(pipelineName=pipeline, maxResults=1)
        .get("pipelineExecutionSummaries", [])
    )
    return dict(runs[0]) if runs else None


def _execution_of(ctx: TaskContext, pipeline: str, commit: str) -> dict[str, Any] | None:
    """The newest run of `pipeline` whose source is `commit` (None: none has read it yet; a
    run's source revisions appear once its Source action has run)."""
    runs = (
        ctx.client("codepipeline", ctx.primary_region)
        .list_pipeline_executions(pipelineName=pipeline, maxResults=20)
        .get("pipelineExecutionSummaries", [])
    )
    for run in runs:
        if any(r.get("revisionId") == commit for r in run.get("sourceRevisions") or []):
            return dict(run)
    return None


def _stages(ctx: TaskContext, pipeline: str, execution: str | None = None) -> str:
    """One line of the pipeline's stages, for the live log: the status each stage has in
    `execution` (a stage that run has not reached yet shows `-`, not an older run's status)."""
    state = ctx.client("codepipeline", ctx.primary_region).get_pipeline_state(name=pipeline)
    parts = []
    for stage in state.get("stageStates", []):
        latest = stage.get("latestExecution") or {}
        same = execution is None or latest.get("pipelineExecutionId") == execution
        parts.append(f"{stage['stageName']} {latest.get('status', '-') if same else '-'}")
    return f"{pipeline}: " + " → ".join(parts)


def _source_action(ctx: TaskContext, pipeline: str) -> dict[str, str]:
    """The configuration of the pipeline's CodeCommit source action (RepositoryName, BranchName)."""
    definition = ctx.client("codepipeline", ctx.primary_region).get_pipeline(name=pipeline)[
        "pipeline"
    ]
    for stage in definition["stages"]:
        for action in stage["actions"]:
            if action["actionTypeId"]["provider"] == "CodeCommit":
                return {k: str(v) for k, v in action["configuration"].items()}
    raise KeyError(pipeline)


def _source_repository(ctx: TaskContext, pipeline: str) -> str:
    """The repository the pipeline builds; refused when it builds another branch than the one
    mmtui pushes to."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.gitops.repository import BRANCH

    source = _source_action(ctx, pipeline)
    branch = source.get("BranchName", BRANCH)
    if branch != BRANCH:
        raise MmtuiError(
            f"{pipeline} builds branch {branch} of {source['RepositoryName']}; "
            f"step 4 pushes to {BRANCH}: change the buildspec there by hand",
            ExitCode.USAGE,
        )
    return source["RepositoryName"]


def _clone(ctx: TaskContext, repository: str) -> Any:
    """The attendee's clone of `repository`, checked to be a clone of it, and fetched."""
    from mmtui.exitcodes import MmtuiError
    from mmtui.gitops.repository import fetch, open_clone, refuse_other_origin

    workspace = ctx.checks.connection.workspace
    if workspace is None:
        raise MmtuiError(
            "step 4 edits your clones of the service repositories: give "
            "--workspace DIR (or set MMTUI_WORKSPACE)"
        )
    metadata = ctx.client("codecommit", ctx.primary_region).get_repository(
        repositoryName=repository
    )["repositoryMetadata"]
    urls = [str(metadata.get(k) or "") for k in ("cloneUrlHttp", "cloneUrlSsh")]
    repo = open_clone(workspace, repository, urls[0])
    refuse_other_origin(repo, repository, urls)
    fetch(repo)
    return repo


def _build_image(ctx: TaskContext, pipeline: str) -> str | None:
    """The image of the CodeBuild project the pipeline's build action runs (None: no such
    action or project)."""
    definition = ctx.client("codepipeline", ctx.primary_region).get_pipeline(name=pipeline)[
        "pipeline"
    ]
    projects = [
        str(a["configuration"]["ProjectName"])
        for s in definition["stages"]
        for a in s["actions"]
        if a["actionTypeId"]["provider"] == "CodeBuild" and "ProjectName" in a["configuration"]
    ]
    if not projects:
        return None
    found = ctx.client("codebuild", ctx.primary_region).batch_get_projects(names=projects[:1])
    for project in found.get("projects", []):
        return str((project.get("environment") or {}).get("image") or "") or None
    return None


def _deploys_to(ctx: TaskContext, pipeline: str, region: str) -> bool:
    """The pipeline has an action running in `region` (the stage step 3 adds, by any name)."""
    definition = ctx.client("codepipeline", ctx.primary_region).get_pipeline(name=pipeline)[
        "pipeline"
    ]
    return any(
        (a.get("region") or ctx.primary_region) == region
        for s in definition["stages"]
        for a in s["actions"]
    )


def _run_status(ctx: TaskContext, pipeline: str, execution: str) -> str:
    return str(
        ctx.client("codepipeline", ctx.primary_region)
        .get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution)[
            "pipelineExecution"
        ]
        .get("status", "")
    )


def _deployed_everywhere(ctx: TaskContext, pipeline: str, head: str, runs: dict[str, str]) -> str:
    """Whether the pipeline's stage in the secondary region last deployed `head`, the remote's
    commit; if not, a run that does is started (or the one under way is noted in `runs`,
    pipeline → execution, to follow). Returns what was done.

    This finishes a step solved out of order: the buildspec pushed before step 3 added the
    cross-region stage is done on the remote, yet nothing was ever deployed there. A deploy
    that predates the secondary stack (step 1 reset and solved again since) went to services
    and registries that no longer exist: the new ones run the template's placeholder image, so
    that deploy does not count either."""
    client = ctx.client("codepipeline", ctx.primary_region)
    secondary = ctx.secondary_region
    created = (describe_stack(ctx, "secondary") or {}).get("CreationTime")
    definition = client.get_pipeline(name=pipeline)["pipeline"]
    stages = {
        s["name"]
        for s in definition["stages"]
        if any((a.get("region") or ctx.primary_region) == secondary for a in s["actions"])
    }
    if not stages:
        return ""  # no stage deploys there (step 3): a run would change nothing
    latest = _latest_execution(ctx, pipeline) or {}
    if latest.get("status") in RUNNING and any(
        r.get("revisionId") == head for r in latest.get("sourceRevisions") or []
    ):
        runs[pipeline] = str(latest["pipelineExecutionId"])
        return ""
    state = client.get_pipeline_state(name=pipeline)
    done = True
    for stage in state.get("stageStates", []):
        if stage["stageName"] not in stages:
            continue
        last = stage.get("latestExecution") or {}
        if created is not None and any(
            (a.get("latestExecution") or {}).get("lastStatusChange", created) < created
            for a in stage.get("actionStates", [])
        ):
            done = False  # deployed to the secondary stack step 1 has replaced since
            continue
        revisions = (
            client.get_pipeline_execution(
                pipelineName=pipeline, pipelineExecutionId=last["pipelineExecutionId"]
            )["pipelineExecution"].get("artifactRevisions", [])
            if last.get("status") == "Succeeded"
            else []
        )
        done = done and any(r.get("revisionId") == head for r in revisions)
    if done:
        return ""
    runs[pipeline] = str(client.start_pipeline_execution(name=pipeline)["pipelineExecutionId"])
    return f"started {pipeline} again: its last run did not deploy {head[:8]} to {secondary}"


def _follow_runs(ctx: TaskContext, runs: dict[str, str]) -> None:
    """Wait for runs known by their execution id (pipeline → execution); fail if one fails."""
    from mmtui.exitcodes import ExitCode, MmtuiError

    for pipeline, execution in runs.items():

        def over(pipeline: str = pipeline, execution: str = execution) -> bool:
            return _run_status(ctx, pipeline, execution) not in RUNNING

        ctx.wait(
            f"{pipeline} to build and deploy", over, partial(_stages, ctx, pipeline, execution)
        )
        status = _run_status(ctx, pipeline, execution)
        if status != "Succeeded":
            raise MmtuiError(
                f"{pipeline} ended {status}; `aws codepipeline get-pipeline-state --name "
                f"{pipeline}` shows why",
                ExitCode.CHECK_FAILED,
            )


def _follow(ctx: TaskContext, pushed: dict[str, str], must_succeed: bool = True) -> None:
    """Wait for the run of each pipeline that builds the commit we pushed (pipeline → commit):
    not merely "a new run", which may be someone else's, or never come."""
    from mmtui.exitcodes import ExitCode, MmtuiError

    for pipeline, commit in pushed.items():

        def finished(pipeline: str = pipeline, commit: str = commit) -> bool:
            run = _execution_of(ctx, pipeline, commit)
            return run is not None and run.get("status") not in RUNNING

        def progress(pipeline: str = pipeline, commit: str = commit) -> str:
            run = _execution_of(ctx, pipeline, commit)
            if run is None:
                return f"{pipeline}: waiting for a run of {commit[:8]} to start"
            return _stages(ctx, pipeline, str(run.get("pipelineExecutionId")))

        ctx.wait(f"{pipeline} to build and deploy {commit[:8]}", finished, progress)
        status = (_execution_of(ctx, pipeline, commit) or {}).get("status")
        if status != "Succeeded":
            message = (
                f"{pipeline} ended {status} for {commit[:8]}; `aws codepipeline "
                f"get-pipeline-state --name {pipeline}` shows why"
            )
            if must_succeed:
                raise MmtuiError(message, ExitCode.CHECK_FAILED)
            ctx.log(message)


def _buildspec_change(ctx: TaskContext, kind: str, repository: str) -> FileChange:
    """What the finished buildspec would change on the remote master of `repository` (the
    attendee's clone is fetched first; its own state is not what the pipeline builds).

    A buildspec on the remote that already does all step 4 asks (finished by hand, or by the
    workshop's own script) and logs in the way the build image can is left as it is."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.gitops.build_images import login_style, unsupported_logins
    from mmtui.gitops.buildspecs import SERVICES, BuildspecValues, render_buildspec
    from mmtui.gitops.repository import FileChange, remote_text
    from mmtui.labs.lab3.buildspec import missing_pieces

    primary = outputs_of(describe_stack(ctx, "primary"))
    secondary = outputs_of(describe_stack(ctx, "secondary"))
    if f"Secondary{kind}ServiceEcrRepo" not in secondary:
        raise MmtuiError(
            f"the buildspecs need {ctx.param('secondary_stack')} (step 1) first",
            ExitCode.CHECK_FAILED,
        )
    repo = _clone(ctx, repository)
    current = remote_text(repo, BUILDSPEC)
    pipeline = pipeline_names(ctx)[kind]
    image = _build_image(ctx, pipeline)
    secondary_uri = secondary[f"Secondary{kind}ServiceEcrRepo"]
    container = SERVICES[kind.lower()]
    if not missing_pieces(
        current, container, secondary_uri, ctx.secondary_region
    ) and not unsupported_logins(image, current):
        return FileChange(repo, BUILDSPEC, current, current)
    values = BuildspecValues(
        primary[f"{kind}ServiceEcrRepo"],
        secondary_uri,
        ctx.secondary_region,
        login_style(image, current),
    )
    return FileChange(repo, BUILDSPEC, current, render_buildspec(kind.lower(), values))


def buildspec_changes(ctx: TaskContext) -> list[tuple[str, FileChange]]:
    """Step 4's changes, before anything is committed: (repository, change) per service.

    The guide shows these diffs and asks before the solve commits and pushes them. The clones
    are fetched from the remote, so git signs as the target here too, like the solve's own
    actions (`step_actions`)."""
    from mmtui.gitops.repository import aws_identity_for_git

    changes = []
    with aws_identity_for_git(git_identity(ctx)):
        for kind, pipeline in sorted(pipeline_names(ctx).items()):
            repository = _source_repository(ctx, pipeline)
            changes.append((repository, _buildspec_change(ctx, kind, repository)))
    return changes


def _outcome(ctx: TaskContext, pipelines: list[str]) -> str:
    """What the followed runs did, as it is: both regions only where a stage deploys there."""
    primary, secondary = ctx.primary_region, ctx.secondary_region
    names = " and ".join(pipelines)
    if all(_deploys_to(ctx, p, secondary) for p in pipelines):
        return f"{names} built, pushed to the registries of both regions and deployed to both"
    return (
        f"{names} built and pushed to the registries of both regions, but deployed only in "
        f"{primary}: no stage deploys to {secondary} yet (step 3)"
    )


@TASKS.implement("build_artifacts.solve")
def solve_build_artifacts(ctx: TaskContext) -> list[Action]:
    from mmtui.gitops.repository import commit_and_push, remote_head

    pipelines = pipeline_names(ctx)
    pushed: dict[str, str] = {}
    released: dict[str, str] = {}
    actions = []
    for kind, pipeline in sorted(pipelines.items()):
        repository = _source_repository(ctx, pipeline)

        def push(kind: str = kind, pipeline: str = pipeline, repository: str = repository) -> str:
            change = _buildspec_change(ctx, kind, repository)
            if not change.needed:
                return _deployed_everywhere(ctx, pipeline, remote_head(change.repo), released)
            if not _deploys_to(ctx, pipeline, ctx.secondary_region):
                ctx.log(
                    f"{pipeline} has no stage deploying to {ctx.secondary_region} (step 3 is "
                    f"not done): its run will push the image to both registries and deploy it "
                    f"only in {ctx.primary_region}"
                )
            for line in change.diff().splitlines():
                ctx.log(f"  {line}")
            commit = commit_and_push(
                change, f"Updating {kind.lower()} buildspec for multi-region deploy"
            )
            if not commit:  # the remote already had it: no push, so no run of ours to wait for
                return _deployed_everywhere(ctx, pipeline, remote_head(change.repo), released)
            pushed[pipeline] = commit
            return f"pushed {commit[:8]} to {repository} (master)"

        actions.append(
            Action(
                ctx.primary_region,
                f"{BUILDSPEC} of {repository}",
                "commit and push the finished",
                push,
            )
        )

    def follow() -> str:
        if not pushed and not released:
            return ""
        _follow(ctx, pushed)
        _follow_runs(ctx, released)
        return _outcome(ctx, sorted({*pushed, *released}))

    actions.append(Action(ctx.primary_region, "the pipelines", "follow until deployed", follow))
    return actions


def _primary_only_version(repo: Any, region: str) -> tuple[str, str] | None:
    """(commit, text) of the newest buildspec on the remote's master that pushes nothing to
    `region`'s registries: what the repository held before step 4 (by mmtui or by hand)."""
    from mmtui.gitops.repository import remote_versions
    from mmtui.labs.lab3.buildspec import pushes_to_region

    for commit, text in remote_versions(repo, BUILDSPEC):
        if text and not pushes_to_region(text, region):
            return commit, text
    return None


@TASKS.implement("build_artifacts.reset")
def reset_build_artifacts(ctx: TaskContext) -> list[Action]:
    """Judged from the remote: a buildspec on master that pushes to the secondary registries
    (mmtui's or finished by hand) goes back to its newest version that does not, with a new
    commit, so the primary pipeline still builds once step 1's reset deletes those registries."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.gitops.repository import FileChange, commit_and_push, remote_text
    from mmtui.labs.lab3.buildspec import pushes_to_region

    secondary = ctx.secondary_region
    actions = []
    pushed: dict[str, str] = {}
    for _kind, pipeline in sorted(pipeline_names(ctx).items()):
        repository = _source_repository(ctx, pipeline)
        repo = _clone(ctx, repository)
        if not pushes_to_region(remote_text(repo, BUILDSPEC), secondary):
            continue
        found = _primary_only_version(repo, secondary)
        if found is None:
            raise MmtuiError(
                f"{BUILDSPEC} of {repository} has pushed to {secondary} in every version on "
                f"master; mmtui has nothing to go back to: remove the {secondary} lines by hand",
                ExitCode.USAGE,
            )
        origin, text = found

        def revert(
            repo: Any = repo,
            repository: str = repository,
            pipeline: str = pipeline,
            origin: str = origin,
            text: str = text,
        ) -> str:
            change = FileChange(repo, BUILDSPEC, remote_text(repo, BUILDSPEC), text)
            commit = commit_and_push(
                change,
                f"Revert {BUILDSPEC} to {origin[:8]}: push images to {ctx.primary_region} only",
            )
            if not commit:
                return ""
            pushed[pipeline] = commit
            return f"reverted {BUILDSPEC} of {repository} to {origin[:8]} (pushed {commit[:8]})"

        actions.append(
            Action(
                ctx.primary_region,
                f"{BUILDSPEC} of {repository} to {origin[:8]}, which pushes to "
                f"{ctx.primary_region} only",
                "revert",
                revert,
            )
        )
    if actions:
        # The revert is a push: the pipelines run again; wait so the lab ends at rest.
        def follow() -> str:
            _follow(ctx, pushed, must_succeed=False)
            return ""

        actions.append(Action(ctx.primary_region, "the pipelines", "follow the rebuild of", follow))
    return actions
