"""The console's forms of steps 2 and 3, so that the by-hand path can be done in the terminal.

Step 2's "Create replica" and step 3's "Add stage" ask what the AWS console asks, with choices
read from the live account, and make the same API calls the console makes. A form is declared
as data (`Field`s: name, label, kind, choices, default, help), so a UI renders any form the same
way. Its life:

1. `open_form(step, ctx)` reads the account (read-only clients; a few calls, so run it off the
   UI thread) and returns an immutable form.
2. `form.fields(values)` gives the fields for the values chosen so far (no calls): choices and
   defaults can depend on other fields (`Field.depends_on`; step 3's clusters depend on the
   region). When `form.stale(values)` is true, `form.refreshed(ctx, values)` (calls again, off
   the UI thread) returns a form that knows the newly chosen region's clusters.
3. `form.validate(values)` names every field that is wrong, before any call.
4. `form.apply(values, task_ctx)` does it and says what changed; applying the same values twice
   changes nothing the second time.
"""

from __future__ import annotations

import difflib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, Self

from mmtui.engine.context import CheckContext
from mmtui.engine.tasks import TaskContext
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.labs.lab3.facts import service_pipelines
from mmtui.labs.lab3.tasks import (
    BUILD_ARTIFACT,
    IMAGE_DEFINITIONS,
    STAGE,
    StageConflict,
    add_stage,
    cross_region_stage,
    same_stage,
)

FieldKind = Literal["choice", "text", "info"]
"""choice: one of `choices`; text: free text; info: read-only text (its `default`), no value."""


Values = Mapping[str, str]


NAME_PATTERN = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")
"""What CodePipeline accepts as a stage or action name."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: FieldKind
    help: str = ""
    default: str = ""
    choices: tuple[Choice, ...] = ()
    depends_on: tuple[str, ...] = ()
    """Fields that decide this one's choices and default: when one of them changes, drop this
    field's value so that it takes the new default."""

    def values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)


@dataclass(frozen=True)
class Problem:
    field: str | None
    """The field that is wrong; None when the problem is the form's as a whole."""
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class FormInvalid(MmtuiError):
    """`apply` was given values that do not validate (or that AWS no longer allows)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems), ExitCode.USAGE)
        self.problems = problems


@dataclass(frozen=True)
class Applied:
    changes: tuple[str, ...]
    """What was done, one line each; empty when everything was already so."""

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class Form(ABC):
    step: ClassVar[str]
    """The id of the lab step this form does by hand."""
    title: ClassVar[str]

    @abstractmethod
    def fields(self, values: Values | None = None) -> tuple[Field, ...]:
        """The fields, with choices and defaults for the values chosen so far; no AWS call."""

    def defaults(self, values: Values | None = None) -> dict[str, str]:
        """`values` completed with the default of every field not given (info fields aside)."""
        return _completed(self.fields(values), values or {})

    def stale(self, values: Values | None = None) -> bool:
        """True when `refreshed` must read the account before these values can be judged."""
        return False

    def refreshed(self, ctx: CheckContext, values: Values | None = None) -> Self:
        """This form, knowing what `values` need (AWS calls: run it off the UI thread)."""
        return self

    @abstractmethod
    def validate(self, values: Values) -> list[Problem]:
        """Every problem with `values`, named by field; no AWS call."""

    @abstractmethod
    def apply(self, values: Values, ctx: TaskContext) -> Applied:
        """Do it (AWS calls that write; off the UI thread). FormInvalid if `values` do not
        validate, before any call."""


def _completed(fields: tuple[Field, ...], values: Values) -> dict[str, str]:
    return {f.name: values.get(f.name, f.default) for f in fields if f.kind != "info"}


def _text(values: Values, name: str) -> str:
    return str(values.get(name, "")).strip()


def _unknown(value: str, known: tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(value, known, n=2, cutoff=0.6)
    if close:
        return f"{value!r} is not {what}; did you mean {' or '.join(close)}?"
    if 0 < len(known) <= 5:  # few enough to list
        return f"{value!r} is not {what}; choose one of {', '.join(known)}."
    return f"{value!r} is not {what}."


def available_regions(ctx: CheckContext, service: str) -> tuple[tuple[str, ...], str]:
    """The regions of the primary region's partition that offer `service` and that this
    account has enabled (EC2 DescribeRegions lists only those), and where that came from.

    An account that may not call DescribeRegions still gets the partition's regions.
    """
    import botocore.session
    from botocore.exceptions import BotoCoreError, ClientError

    session = botocore.session.get_session()
    partition = session.get_partition_for_region(ctx.primary_region)
    offered = set(session.get_available_regions(service, partition_name=partition))
    try:
        described = ctx.client("ec2", ctx.primary_region).describe_regions()["Regions"]
    except (ClientError, BotoCoreError):
        return tuple(sorted(offered)), f"the {partition} partition"
    enabled = {str(r["RegionName"]) for r in described}
    return tuple(sorted(offered & enabled)), "the account's enabled regions"


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
        return _text(values, "region") or self.lab_region

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
            _text(values, "region"),
            _text(values, "cluster"),
            _text(values, "service"),
            stage=_text(values, "stage_name"),
            action=_text(values, "action_name"),
            input_artifact=_text(values, "input_artifact"),
            file_name=_text(values, "file_name"),
        )

    def validate(self, values: Values) -> list[Problem]:
        return list(self._problems(values))

    def _problems(self, values: Values) -> Iterator[Problem]:
        name = _text(values, "pipeline")
        pipeline = self._pipeline(name)
        if pipeline is None:
            names = tuple(p.name for p in self.pipelines)
            yield Problem(
                "pipeline",
                _unknown(name, names, "a service pipeline")
                if name
                else "Choose the pipeline to edit.",
            )
        yield from self._name_problems(values, "stage_name", "stage")
        yield from self._name_problems(values, "action_name", "action")
        if _text(values, "provider") != "ECS":
            yield Problem("provider", "The cross-region deploy uses Amazon ECS (ECS).")
        region = _text(values, "region")
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
            yield Problem("region", _unknown(region, self.regions, known))
        else:
            region_ok = True
        if pipeline is not None:
            artifact = _text(values, "input_artifact")
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
        if not _text(values, "file_name"):
            yield Problem("file_name", "Give the name of the image definitions file.")
        if pipeline is not None:
            yield from self._stage_exists(values, pipeline)

    def _name_problems(self, values: Values, key: str, what: str) -> Iterator[Problem]:
        text = _text(values, key)
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
        cluster, service = _text(values, "cluster"), _text(values, "service")
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
                _unknown(cluster, clusters, f"a cluster in {region}")
                if cluster
                else "Choose the cluster.",
            )
            return
        services = found.clusters[cluster]
        if service not in services:
            yield Problem(
                "service",
                _unknown(service, services, f"a service of {cluster}")
                if service
                else "Choose the service.",
            )

    def _stage_exists(self, values: Values, pipeline: PipelineChoice) -> Iterator[Problem]:
        stage_name = _text(values, "stage_name")
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
            done = add_stage(ctx, _text(values, "pipeline"), self._stage(values), replace=False)
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
