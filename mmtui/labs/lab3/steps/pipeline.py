"""Step 3: the cross-region deploy stage of both service pipelines, with an artifact store
in each region. Its checks, the solve and reset, and the console's "Add stage" form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, ClassVar, Self

from mmtui.engine.checks import Checker, describe
from mmtui.engine.context import CheckContext
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import Action, TaskContext
from mmtui.labs.common.forms import (
    NAME_PATTERN,
    Applied,
    Choice,
    Field,
    Form,
    FormInvalid,
    Problem,
    Values,
    available_regions,
    entered_text,
    unknown_choice,
)
from mmtui.labs.lab3.aws import facts
from mmtui.labs.lab3.catalog import CHECKS, TASKS
from mmtui.labs.lab3.codepipeline import pipeline_names
from mmtui.labs.lab3.facts import service_pipelines
from mmtui.labs.lab3.stacks import describe_stack, outputs_of

# ---------------------------------------------------------------------- checks


def _cross_region_stage(check: Checker, which: str) -> CheckResult:
    pipelines = facts(check).pipelines()
    name = pipelines.get(which)
    title = "Core" if which == "core" else "Like"
    expected = (
        f"stage CrossRegionDeploy after Deploy: ECS in {check.ctx.secondary_region}, "
        "input BuildArtifact, imagedefinitions_secondary.json"
    )
    if name is None:
        return check.failed(
            expected,
            "no pipeline",
            f"There is no {title}Pipeline-{check.ctx.param('primary_stack')}-… pipeline.",
        )
    pipeline = facts(check).pipeline(name, check.region)
    stages = [s["name"] for s in pipeline.get("stages", [])]
    if "CrossRegionDeploy" not in stages:
        return check.failed(
            expected,
            f"stages: {', '.join(stages)}",
            f"{name} has no CrossRegionDeploy stage yet.",
        )
    if "Deploy" in stages and stages.index("CrossRegionDeploy") < stages.index("Deploy"):
        return check.failed(
            expected,
            f"stages: {', '.join(stages)}",
            "CrossRegionDeploy must come after Deploy.",
        )
    stage = next(s for s in pipeline["stages"] if s["name"] == "CrossRegionDeploy")
    outputs = facts(check).outputs("secondary")
    want_service = outputs.get(f"{title}EcsServiceName")
    want_cluster = outputs.get("EcsClusterName")
    problems = []
    for action in stage.get("actions", []):
        kind = action.get("actionTypeId", {})
        config = action.get("configuration", {})
        found = []
        if kind.get("provider") != "ECS" or kind.get("category") != "Deploy":
            found.append(f"provider {kind.get('provider')} (want Amazon ECS)")
        if action.get("region", check.ctx.primary_region) != check.ctx.secondary_region:
            found.append(
                f"region {action.get('region', check.ctx.primary_region)} "
                f"(want {check.ctx.secondary_region})"
            )
        inputs = [a.get("name") for a in action.get("inputArtifacts", [])]
        if inputs != ["BuildArtifact"]:
            found.append(f"input {describe(inputs)} (want BuildArtifact)")
        if want_cluster and config.get("ClusterName") != want_cluster:
            found.append(f"cluster {config.get('ClusterName')} (want {want_cluster})")
        if want_service and config.get("ServiceName") != want_service:
            found.append(f"service {config.get('ServiceName')} (want {want_service})")
        if config.get("FileName") != "imagedefinitions_secondary.json":
            found.append(f"file {config.get('FileName')} (want imagedefinitions_secondary.json)")
        if not found:
            return check.passed(
                expected,
                f"{action['name']} deploys to {want_service}",
                f"{name} deploys every build to {check.ctx.secondary_region}.",
            )
        problems.append(f"{action.get('name')}: {'; '.join(found)}")
    return check.failed(
        expected,
        "; ".join(problems) or "no action",
        f"The CrossRegionDeploy stage of {name} is not right: "
        f"{'; '.join(problems) or 'it has no action'}.",
    )


@CHECKS.implement("pipeline.core_cross_region_stage")
def core_stage(check: Checker) -> CheckResult:
    return _cross_region_stage(check, "core")


@CHECKS.implement("pipeline.like_cross_region_stage")
def like_stage(check: Checker) -> CheckResult:
    return _cross_region_stage(check, "like")


@CHECKS.implement("pipeline.artifact_stores")
def artifact_stores(check: Checker) -> CheckResult:
    pipelines = facts(check).pipelines()
    regions = {check.ctx.primary_region, check.ctx.secondary_region}
    expected = f"artifactStores for {describe(regions)}"
    if not pipelines:
        return check.failed(
            expected,
            "no pipelines",
            "The service pipelines are missing.",
        )
    problems = []
    for name in pipelines.values():
        pipeline = facts(check).pipeline(name, check.region)
        stores = set(pipeline.get("artifactStores", {}))
        if not regions <= stores:
            problems.append(f"{name}: {describe(stores) if stores else 'one artifactStore'}")
    (
        f"aws codepipeline get-pipeline --name {pipelines.get('core', '')} "
        f"--region {check.region} --query 'pipeline.[artifactStore,artifactStores]'"
    )
    if problems:
        return check.failed(
            expected,
            "; ".join(problems),
            "A cross-region action reads its input from an artifact bucket in "
            "its own region: give each pipeline an artifact store per region.",
        )
    return check.passed(expected, "both pipelines", "Each pipeline has a store per region.")


# ---------------------------------------------------------------------- solve and reset


STAGE = "CrossRegionDeploy"


BUILD_ARTIFACT = "BuildArtifact"


IMAGE_DEFINITIONS = "imagedefinitions_secondary.json"


def bucket_name(ctx: TaskContext, region: str | None = None) -> str:
    """The artifact bucket mmtui makes for a pipeline's actions in `region` (the secondary by
    default). Bucket names are global: the account and region keep it unique."""
    account = ctx.client("sts", ctx.primary_region).get_caller_identity()["Account"]
    return f"mmtui-pipeline-artifacts-{account}-{region or ctx.secondary_region}"


def _ensure_bucket(ctx: TaskContext, bucket: str, region: str) -> bool:
    """Create the artifact bucket in `region` if missing; True when it was created."""
    from botocore.exceptions import ClientError

    s3 = ctx.client("s3", region)
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    config = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    s3.create_bucket(Bucket=bucket, **config)
    return True


def cross_region_stage(
    region: str,
    cluster: str,
    service: str,
    *,
    stage: str = STAGE,
    action: str = STAGE,
    input_artifact: str = BUILD_ARTIFACT,
    file_name: str = IMAGE_DEFINITIONS,
) -> dict[str, Any]:
    """A stage with one Amazon ECS deploy action that runs in `region` (the lab's names by
    default; the step 3 form lets an attendee choose others)."""
    return {
        "name": stage,
        "actions": [
            {
                "name": action,
                "region": region,
                "runOrder": 1,
                "actionTypeId": {
                    "category": "Deploy",
                    "owner": "AWS",
                    "provider": "ECS",
                    "version": "1",
                },
                "inputArtifacts": [{"name": input_artifact}],
                "outputArtifacts": [],
                "configuration": {
                    "ClusterName": cluster,
                    "ServiceName": service,
                    "FileName": file_name,
                },
            }
        ],
    }


def same_stage(current: dict[str, Any], wanted: dict[str, Any], home_region: str) -> bool:
    """Equal in what matters (CodePipeline may add defaults to what it stores, and an action
    with no region runs in the pipeline's own)."""

    def essence(stage: dict[str, Any]) -> list[Any]:
        return [stage.get("name")] + [
            (
                a.get("name"),
                a.get("region") or home_region,
                a.get("actionTypeId", {}).get("category"),
                a.get("actionTypeId", {}).get("provider"),
                [i.get("name") for i in a.get("inputArtifacts", [])],
                a.get("configuration"),
            )
            for a in stage.get("actions", [])
        ]

    return essence(current) == essence(wanted)


class StageConflict(ValueError):
    """The pipeline already has a different stage of that name (and replacing was not asked)."""


def add_stage(
    ctx: TaskContext, name: str, stage: dict[str, Any], *, replace: bool = True
) -> list[str]:
    """Make `stage` the last stage of the pipeline `name`, with an artifact store in every
    region its actions run in; returns what it did (empty: nothing needed doing).

    A stage of the same name is replaced, or, with `replace=False`, refused (StageConflict)
    unless it is the same stage. A cross-region action reads its input from a bucket in its
    own region, so the pipeline switches from `artifactStore` to `artifactStores` (the two are
    exclusive) and a bucket is made where none is given, as the console does on Save. Nothing
    is updated when the pipeline already holds the same stage last and every store: applying
    twice changes nothing.
    """
    primary = ctx.primary_region
    client = ctx.client("codepipeline", primary)
    pipeline = client.get_pipeline(name=name)["pipeline"]
    stages = pipeline["stages"]
    current = next((s for s in stages if s["name"] == stage["name"]), None)
    same = current is not None and same_stage(current, stage, primary)
    if current is not None and not same and not replace:
        raise StageConflict(
            f"{name} already has a different stage named {stage['name']} "
            f"(stages: {', '.join(s['name'] for s in stages)})"
        )
    stores = dict(pipeline.get("artifactStores") or {})
    if primary not in stores and pipeline.get("artifactStore"):
        stores[primary] = pipeline["artifactStore"]
    done = []
    regions = {a.get("region") or primary for a in stage.get("actions", [])}
    for region in sorted(regions - set(stores)):
        bucket = bucket_name(ctx, region)
        if _ensure_bucket(ctx, bucket, region):
            done.append(f"created the artifact bucket {bucket}")
        stores[region] = {"type": "S3", "location": bucket}
    if same and stages[-1] is current and pipeline.get("artifactStores") == stores:
        return done
    wanted = {
        **pipeline,
        "stages": [*(s for s in stages if s["name"] != stage["name"]), stage],
        "artifactStores": stores,
    }
    wanted.pop("artifactStore", None)
    client.update_pipeline(pipeline=wanted)
    return [*done, f"added the {stage['name']} stage to {name}"]


@TASKS.implement("pipeline.solve")
def solve_pipeline(ctx: TaskContext) -> list[Action]:
    from mmtui.exitcodes import ExitCode, MmtuiError

    region = ctx.secondary_region
    actions = []
    for kind, name in sorted(pipeline_names(ctx).items()):

        def add(kind: str = kind, name: str = name) -> str:
            outputs = outputs_of(describe_stack(ctx, "secondary"))
            if "EcsClusterName" not in outputs:
                raise MmtuiError(
                    f"the pipelines need {ctx.param('secondary_stack')} (step 1) first",
                    ExitCode.CHECK_FAILED,
                )
            stage = cross_region_stage(
                region, outputs["EcsClusterName"], outputs[f"{kind}EcsServiceName"]
            )
            return "; ".join(add_stage(ctx, name, stage))

        actions.append(
            Action(ctx.primary_region, f"pipeline {name}", f"add stage {STAGE} ({region})", add)
        )
    return actions


def is_lab_stage(stage: dict[str, Any], secondary: str, cluster: str | None) -> bool:
    """Whether `stage` is one step 3 adds: named CrossRegionDeploy, or (the console's form lets
    an attendee name it otherwise) a stage whose every action is an ECS deploy into the
    secondary stack's cluster in the secondary region. An attendee's own stage deploying to any
    other region or cluster is theirs, whatever it deploys (red-team R3)."""
    if stage.get("name") == STAGE:
        return True
    actions = stage.get("actions") or []
    return bool(actions) and all(
        a.get("region") == secondary
        and a.get("actionTypeId", {}).get("category") == "Deploy"
        and a.get("actionTypeId", {}).get("provider") == "ECS"
        and cluster is not None
        and (a.get("configuration") or {}).get("ClusterName") == cluster
        for a in actions
    )


@dataclass(frozen=True)
class PipelineReset:
    """What step 3's reset does to one pipeline, worked out from what it holds now."""

    pipeline: dict[str, Any]
    """The pipeline as it will be written."""
    stages: tuple[str, ...]
    """The lab's stages taken out."""
    dropped: tuple[str, ...]
    """Regions whose artifact store goes: no stage left runs an action there."""
    kept: tuple[str, ...]
    """Regions other than the pipeline's own whose store stays: a remaining stage uses it."""

    def verb(self, done: bool = False) -> str:
        """For the plan ("remove ... from" + the pipeline) or, `done`, the log."""
        what = []
        if self.stages:
            what.append(f"the stage {', '.join(self.stages)}")
        if self.dropped:
            what.append(f"the artifact store of {', '.join(self.dropped)}")
        text = f"{'removed' if done else 'remove'} {' and '.join(what)} from"
        if self.kept:
            text = (
                f"{'kept' if done else 'keep'} the artifact store of {', '.join(self.kept)} "
                f"(a stage that is not the lab's uses it), {text}"
            )
        return text


def plan_pipeline_reset(
    pipeline: dict[str, Any], home: str, secondary: str, cluster: str | None
) -> PipelineReset | None:
    """The lab's stages out, and the artifact stores no remaining stage needs; None when that
    changes nothing. With one region left the pipeline goes back to a single `artifactStore`
    (as Labs 0-2 made it)."""
    stages = [s for s in pipeline["stages"] if not is_lab_stage(s, secondary, cluster)]
    removed = tuple(s["name"] for s in pipeline["stages"] if is_lab_stage(s, secondary, cluster))
    stores = dict(pipeline.get("artifactStores") or {})
    used = {home} | {a.get("region") or home for s in stages for a in s.get("actions", [])}
    dropped = tuple(sorted(region for region in stores if region not in used))
    kept = tuple(sorted(region for region in stores if region in used and region != home))
    if not removed and not dropped:
        return None
    wanted = {**pipeline, "stages": stages}
    remaining = {region: store for region, store in stores.items() if region in used}
    if stores and set(remaining) <= {home}:
        wanted.pop("artifactStores", None)
        if home in remaining:
            wanted["artifactStore"] = remaining[home]
    elif stores:
        wanted["artifactStores"] = remaining
    return PipelineReset(wanted, removed, dropped, kept)


@TASKS.implement("pipeline.reset")
def reset_pipeline(ctx: TaskContext) -> list[Action]:
    primary, secondary = ctx.primary_region, ctx.secondary_region
    client = ctx.client("codepipeline", primary)
    cluster = outputs_of(describe_stack(ctx, "secondary")).get("EcsClusterName")

    actions = []
    dropped: set[str] = set()
    still_used: set[str] = set()
    for name in sorted(pipeline_names(ctx).values()):
        pipeline = client.get_pipeline(name=name)["pipeline"]
        plan = plan_pipeline_reset(pipeline, primary, secondary, cluster)
        if plan is None:
            still_used.update(pipeline.get("artifactStores") or {})
            continue
        dropped.update(plan.dropped)
        still_used.update(plan.pipeline.get("artifactStores") or {})

        def remove(name: str = name) -> str:
            current = client.get_pipeline(name=name)["pipeline"]
            again = plan_pipeline_reset(current, primary, secondary, cluster)
            if again is None:
                return ""
            client.update_pipeline(pipeline=again.pipeline)
            return f"{again.verb(done=True)} {name}"

        actions.append(Action(primary, f"pipeline {name}", plan.verb(), remove))
    # mmtui's own bucket of a region goes only when no pipeline keeps a store there (the
    # secondary's too when an earlier reset dropped its stores but stopped before the bucket).
    for region in sorted((dropped | {secondary}) - still_used - {primary}):
        bucket = bucket_name(ctx, region)
        found = bucket_state(ctx, bucket, region)
        if found == "exists":
            actions.append(
                Action(
                    region,
                    f"bucket {bucket}",
                    "empty and delete",
                    partial(empty_and_delete_bucket, ctx, bucket, region),
                )
            )
        elif found != "missing":
            # 403: the name is taken by another account, or this identity may not look.
            # Nothing is deleted, and the plan and the log say so.
            message = (
                f"left the artifact bucket {bucket} alone: HeadBucket answered {found}, so "
                "mmtui cannot tell whether it exists or is yours; delete it yourself if it is"
            )
            actions.append(
                Action(
                    region,
                    f"bucket {bucket}",
                    f"leave (cannot tell: HeadBucket {found})",
                    partial(lambda text: text, message),
                )
            )
    return actions


def bucket_state(ctx: TaskContext, bucket: str, region: str) -> str:
    """ "exists", "missing" (404), or the error code that leaves it unknown (403...)."""
    from botocore.exceptions import ClientError

    try:
        ctx.client("s3", region).head_bucket(Bucket=bucket)
        return "exists"
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return "missing"
        return code or "an error"


def empty_and_delete_bucket(ctx: TaskContext, bucket: str, region: str) -> str:
    """Every object version and delete marker, then the bucket. The callers decide whose
    bucket it is: only one mmtui named (or, in `mmtui cleanup`, one the workshop's pipelines
    use and nothing else does)."""
    empty_bucket(ctx, bucket, region)
    ctx.client("s3", region).delete_bucket(Bucket=bucket)
    return f"deleted the artifact bucket {bucket}"


def empty_bucket(ctx: TaskContext, bucket: str, region: str) -> int:
    """Delete every object version and delete marker of a bucket; returns how many."""
    s3 = ctx.client("s3", region)
    count = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": o["Key"], "VersionId": o["VersionId"]}
            for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(objects), 1000):  # DeleteObjects takes a thousand at a time
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects[start : start + 1000]})
        count += len(objects)
    return count


# ---------------------------------------------------------------------- the console's form


@dataclass(frozen=True)
class PipelineChoice:
    kind: str
    """"core" or "like"."""
    name: str
    stages: tuple[Mapping[str, Any], ...]
    output_artifacts: tuple[str, ...]
    """What its actions produce, in order: what a new action can take as input."""


@dataclass(frozen=True)
class RegionServices:
    clusters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Cluster name → its service names."""
    error: str = ""
    """Why they could not be listed ("" when they were)."""


@dataclass(frozen=True)
class CrossRegionStageForm(Form):
    """Step 3: CodePipeline console → the pipeline → Edit → Add stage → Add action group."""

    step: ClassVar[str] = "pipeline"
    title: ClassVar[str] = "Add a cross-region deploy stage"

    home_region: str
    """The pipelines' region (the primary)."""
    lab_region: str
    pipelines: tuple[PipelineChoice, ...]
    regions: tuple[str, ...]
    regions_from: str
    ecs: Mapping[str, RegionServices] = field(default_factory=dict)
    """Region → its clusters and services, for the regions read so far."""

    @classmethod
    def load(cls, ctx: CheckContext, values: Values | None = None) -> CrossRegionStageForm:
        """About eight read calls: the pipelines, the regions, and the clusters and services
        of the chosen region (the lab's secondary by default)."""
        client = ctx.client("codepipeline", ctx.primary_region)
        pipelines = []
        for kind, name in sorted(service_pipelines(client, ctx.param("primary_stack")).items()):
            declaration = client.get_pipeline(name=name)["pipeline"]
            stages = tuple(declaration.get("stages", []))
            outputs = [
                artifact["name"]
                for stage in stages
                for action in stage.get("actions", [])
                for artifact in action.get("outputArtifacts", [])
            ]
            pipelines.append(PipelineChoice(kind, name, stages, tuple(dict.fromkeys(outputs))))
        regions, source = available_regions(ctx, "codepipeline")
        form = cls(
            home_region=ctx.primary_region,
            lab_region=ctx.secondary_region,
            pipelines=tuple(pipelines),
            regions=tuple(r for r in regions if r != ctx.primary_region),
            regions_from=source,
        )
        return form.refreshed(ctx, values)

    def _region(self, values: Values) -> str:
        return entered_text(values, "region") or self.lab_region

    def stale(self, values: Values | None = None) -> bool:
        region = self._region(values or {})
        return region in self.regions and region not in self.ecs

    def refreshed(self, ctx: CheckContext, values: Values | None = None) -> Self:
        if not self.stale(values):
            return self
        region = self._region(values or {})
        return replace(self, ecs={**self.ecs, region: _region_services(ctx, region)})

    def _pipeline(self, name: str) -> PipelineChoice | None:
        return next((p for p in self.pipelines if p.name == name), None)

    def fields(self, values: Values | None = None) -> tuple[Field, ...]:
        chosen: dict[str, str] = {}
        fields = []
        for make in (
            self._pipeline_field,
            self._stage_field,
            self._action_field,
            self._provider_field,
            self._region_field,
            self._input_field,
            self._cluster_field,
            self._service_field,
            self._file_field,
        ):
            made = make(chosen)
            fields.append(made)
            chosen[made.name] = (values or {}).get(made.name, made.default)
        return tuple(fields)

    def _pipeline_field(self, _chosen: dict[str, str]) -> Field:
        return Field(
            "pipeline",
            "Pipeline",
            "choice",
            default=self.pipelines[0].name if self.pipelines else "",
            choices=tuple(Choice(p.name, f"{p.kind.title()}: {p.name}") for p in self.pipelines),
            help=(
                f"The pipeline to edit, in {self.home_region}. The lab adds the stage to both "
                "the Core and the Like pipeline, one after the other."
            ),
        )

    def _stage_field(self, _chosen: dict[str, str]) -> Field:
        return Field(
            "stage_name",
            "Stage name",
            "text",
            default=STAGE,
            help="The new stage comes last, after Deploy. The lab names it CrossRegionDeploy.",
        )

    def _action_field(self, _chosen: dict[str, str]) -> Field:
        return Field(
            "action_name",
            "Action name",
            "text",
            default=STAGE,
            help="The stage's one action. The lab names it CrossRegionDeploy too.",
        )

    def _provider_field(self, _chosen: dict[str, str]) -> Field:
        return Field(
            "provider",
            "Action provider",
            "choice",
            default="ECS",
            choices=(Choice("ECS", "Amazon ECS"),),
            help="Deploys the image named in the image definitions file to an ECS service.",
        )

    def _region_field(self, _chosen: dict[str, str]) -> Field:
        return Field(
            "region",
            "Region",
            "choice",
            default=self.lab_region if self.lab_region in self.regions else "",
            choices=tuple(Choice(r, r) for r in self.regions),
            help=(
                f"Where the action runs; the lab deploys to its secondary region, "
                f"{self.lab_region}. Regions from {self.regions_from}."
            ),
        )

    def _input_field(self, chosen: dict[str, str]) -> Field:
        pipeline = self._pipeline(chosen.get("pipeline", ""))
        artifacts = pipeline.output_artifacts if pipeline else ()
        default = BUILD_ARTIFACT if BUILD_ARTIFACT in artifacts else ""
        return Field(
            "input_artifact",
            "Input artifact",
            "choice",
            default=default or (artifacts[-1] if artifacts else ""),
            choices=tuple(Choice(a, a) for a in artifacts),
            depends_on=("pipeline",),
            help=(
                "The build's output (BuildArtifact) holds the image definitions files; the "
                "source (SourceArtifact) does not."
            ),
        )

    def _cluster_field(self, chosen: dict[str, str]) -> Field:
        clusters = tuple(sorted(self.ecs.get(chosen.get("region", ""), RegionServices()).clusters))
        lab = [c for c in clusters if c.startswith("Cluster-")]
        default = lab[0] if lab else (clusters[0] if len(clusters) == 1 else "")
        return Field(
            "cluster",
            "Cluster name",
            "choice",
            default=default,
            choices=tuple(Choice(c, c) for c in clusters),
            depends_on=("region",),
            help="The ECS cluster in that region; the secondary stack's starts with Cluster-.",
        )

    def _service_field(self, chosen: dict[str, str]) -> Field:
        region = self.ecs.get(chosen.get("region", ""), RegionServices())
        services = region.clusters.get(chosen.get("cluster", ""), ())
        pipeline = self._pipeline(chosen.get("pipeline", ""))
        kind = pipeline.kind.title() if pipeline else ""
        matching = [s for s in services if kind and kind in s]
        return Field(
            "service",
            "Service name",
            "choice",
            default=matching[0] if matching else "",
            choices=tuple(Choice(s, s) for s in services),
            depends_on=("pipeline", "region", "cluster"),
            help=(
                "The service that runs this pipeline's image: the one named Core for the Core "
                "pipeline, Like for the Like pipeline."
            ),
        )

    def _file_field(self, _chosen: dict[str, str]) -> Field:
        return Field(
            "file_name",
            "Image definitions file",
            "text",
            default=IMAGE_DEFINITIONS,
            help=(
                "The file in the input artifact that names the image to deploy. The finished "
                f"buildspec of step 4 writes {IMAGE_DEFINITIONS} for the secondary region."
            ),
        )

    def _stage(self, values: Values) -> dict[str, Any]:
        return cross_region_stage(
            entered_text(values, "region"),
            entered_text(values, "cluster"),
            entered_text(values, "service"),
            stage=entered_text(values, "stage_name"),
            action=entered_text(values, "action_name"),
            input_artifact=entered_text(values, "input_artifact"),
            file_name=entered_text(values, "file_name"),
        )

    def validate(self, values: Values) -> list[Problem]:
        return list(self._problems(values))

    def _problems(self, values: Values) -> Iterator[Problem]:
        name = entered_text(values, "pipeline")
        pipeline = self._pipeline(name)
        if pipeline is None:
            names = tuple(p.name for p in self.pipelines)
            yield Problem(
                "pipeline",
                unknown_choice(name, names, "a service pipeline")
                if name
                else "Choose the pipeline to edit.",
            )
        yield from self._name_problems(values, "stage_name", "stage")
        yield from self._name_problems(values, "action_name", "action")
        if entered_text(values, "provider") != "ECS":
            yield Problem("provider", "The cross-region deploy uses Amazon ECS (ECS).")
        region = entered_text(values, "region")
        region_ok = False
        if not region:
            yield Problem("region", "Choose the region the action deploys to.")
        elif region == self.home_region:
            yield Problem(
                "region",
                f"{region} is the pipeline's own region, where Deploy already deploys; a "
                "cross-region stage deploys to another region.",
            )
        elif region not in self.regions:
            known = f"a region this account can use ({self.regions_from})"
            yield Problem("region", unknown_choice(region, self.regions, known))
        else:
            region_ok = True
        if pipeline is not None:
            artifact = entered_text(values, "input_artifact")
            if artifact not in pipeline.output_artifacts:
                made = ", ".join(pipeline.output_artifacts) or "nothing"
                yield Problem(
                    "input_artifact",
                    f"No action of {pipeline.name} produces {artifact!r}; they produce {made}."
                    if artifact
                    else f"Choose an input artifact ({made}).",
                )
        if region_ok:
            yield from self._ecs_problems(values, region)
        if not entered_text(values, "file_name"):
            yield Problem("file_name", "Give the name of the image definitions file.")
        if pipeline is not None:
            yield from self._stage_exists(values, pipeline)

    def _name_problems(self, values: Values, key: str, what: str) -> Iterator[Problem]:
        text = entered_text(values, key)
        if not text:
            yield Problem(key, f"Give the {what} a name.")
        elif not NAME_PATTERN.match(text):
            article = "An" if what[0] in "aeiou" else "A"
            yield Problem(
                key,
                f"{article} {what} name holds only letters, digits and . @ - _ "
                "(at most 100 characters).",
            )

    def _ecs_problems(self, values: Values, region: str) -> Iterator[Problem]:
        found = self.ecs.get(region)
        if found is None:
            yield Problem("cluster", f"The clusters of {region} are not read yet: refresh.")
            return
        if found.error:
            yield Problem("cluster", f"Could not list the clusters of {region}: {found.error}")
            return
        cluster, service = entered_text(values, "cluster"), entered_text(values, "service")
        clusters = tuple(sorted(found.clusters))
        if not clusters:
            where = "there" if region == self.lab_region else f"in {self.lab_region}"
            yield Problem(
                "cluster",
                f"There is no ECS cluster in {region}; step 1's stack creates one {where}.",
            )
            return
        if cluster not in found.clusters:
            yield Problem(
                "cluster",
                unknown_choice(cluster, clusters, f"a cluster in {region}")
                if cluster
                else "Choose the cluster.",
            )
            return
        services = found.clusters[cluster]
        if service not in services:
            yield Problem(
                "service",
                unknown_choice(service, services, f"a service of {cluster}")
                if service
                else "Choose the service.",
            )

    def _stage_exists(self, values: Values, pipeline: PipelineChoice) -> Iterator[Problem]:
        stage_name = entered_text(values, "stage_name")
        current = next((s for s in pipeline.stages if s.get("name") == stage_name), None)
        if current is None:
            return
        # The same stage again is no conflict: applying it changes nothing.
        if not same_stage(dict(current), self._stage(values), self.home_region):
            names = ", ".join(str(s.get("name")) for s in pipeline.stages)
            yield Problem(
                "stage_name",
                f"{pipeline.name} already has a stage named {stage_name} (its stages: "
                f"{names}); choose another name.",
            )

    def apply(self, values: Values, ctx: TaskContext) -> Applied:
        """GetPipeline, append the stage, add an artifact store (and its bucket) for the
        action's region, UpdatePipeline: what the console does on Save."""
        problems = self.validate(values)
        if problems:
            raise FormInvalid(problems)
        try:
            done = add_stage(
                ctx, entered_text(values, "pipeline"), self._stage(values), replace=False
            )
        except StageConflict as exc:  # someone added it since the form was read
            raise FormInvalid([Problem("stage_name", str(exc))]) from exc
        return Applied(tuple(done))


def _region_services(ctx: CheckContext, region: str) -> RegionServices:
    """The clusters of `region` and their services; an AWS error is kept, not raised."""
    from botocore.exceptions import BotoCoreError, ClientError

    ecs = ctx.client("ecs", region)
    try:
        arns = [
            arn
            for page in ecs.get_paginator("list_clusters").paginate()
            for arn in page.get("clusterArns", [])
        ]
        clusters = {}
        for arn in arns:
            services = [
                service.rsplit("/", 1)[-1]
                for page in ecs.get_paginator("list_services").paginate(cluster=arn)
                for service in page.get("serviceArns", [])
            ]
            clusters[arn.rsplit("/", 1)[-1]] = tuple(sorted(services))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return RegionServices(error=f"{error.get('Code')}: {error.get('Message')}")
    except BotoCoreError as exc:
        return RegionServices(error=str(exc))
    return RegionServices(clusters)
