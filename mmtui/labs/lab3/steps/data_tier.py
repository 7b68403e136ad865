"""Step 2: the table's stream and its replica in the secondary region. Its checks, the
solve (stream first, then the replica, retried while the new stream settles), the reset, and
the console's "Create replica" form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from mmtui.engine.checks import Checker, describe
from mmtui.engine.context import CheckContext
from mmtui.engine.results import CheckResult
from mmtui.engine.tasks import DYNAMODB_CADENCE, Action, TaskContext
from mmtui.labs.common.forms import (
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
from mmtui.labs.lab3.aws import (
    describe_table,
    error_code_of,
    mysfit_ids,
)
from mmtui.labs.lab3.catalog import CHECKS, TASKS

# ---------------------------------------------------------------------- checks


@CHECKS.implement("data_tier.stream_enabled")
def stream_enabled(check: Checker) -> CheckResult:
    table_name = check.ctx.param("table")
    table = describe_table(check, check.region)
    expected = "stream enabled, NEW_AND_OLD_IMAGES"
    if table is None:
        return check.failed(expected, "no table", f"There is no table {table_name}.")
    spec = table.get("StreamSpecification") or {}
    if not spec.get("StreamEnabled"):
        return check.failed(
            expected,
            "no stream",
            f"{table_name} has no stream yet: enable it with new and old images.",
        )
    view = spec.get("StreamViewType", "")
    if view != "NEW_AND_OLD_IMAGES":
        return check.failed(
            expected,
            view,
            f"The stream records {view}; global tables need NEW_AND_OLD_IMAGES: turn the "
            "stream off, wait for the table to be ACTIVE, then turn it on with both images.",
        )
    return check.passed(expected, view, f"{table_name} streams new and old images.")


@CHECKS.implement("data_tier.replica_active")
def replica_active(check: Checker) -> CheckResult:
    table_name = check.ctx.param("table")
    primary = check.ctx.primary_region
    table = describe_table(check, primary)
    expected = f"a replica in {check.region}, ACTIVE"
    if table is None:
        return check.failed(expected, "no table", f"There is no table {table_name}.")
    replicas = {r["RegionName"]: r.get("ReplicaStatus", "") for r in table.get("Replicas", [])}
    status = replicas.get(check.region)
    if status is None:
        observed = describe(f"{k}: {v}" for k, v in replicas.items()) if replicas else "none"
        return check.failed(
            expected,
            f"replicas: {observed}",
            f"{table_name} has no replica in {check.region} yet.",
        )
    if status == "ACTIVE":
        return check.passed(expected, status, f"The replica in {check.region} is active.")
    if status in ("CREATING", "UPDATING"):
        return check.pending(
            expected,
            status,
            f"The replica in {check.region} is {status.lower()}; DynamoDB is copying the items.",
        )
    return check.failed(expected, status, f"The replica in {check.region} is {status}.")


@CHECKS.implement("data_tier.replica_items_match")
def replica_items_match(check: Checker) -> CheckResult:
    table_name = check.ctx.param("table")
    expected = "the same mysfits in both regions"
    primary_ids = mysfit_ids(check, check.ctx.primary_region, table_name)
    replica_ids = mysfit_ids(check, check.region, table_name)
    if replica_ids is None:
        # A replica being created answers reads with ResourceNotFoundException (DynamoDB: a
        # table can be read only once ACTIVE): that is AWS still working, not a missing replica.
        primary = describe_table(check, check.ctx.primary_region) or {}
        replicas = {r["RegionName"]: r.get("ReplicaStatus") for r in primary.get("Replicas", [])}
        status = replicas.get(check.region)
        if status in ("CREATING", "UPDATING"):
            return check.pending(
                expected,
                f"replica {status}",
                f"The replica in {check.region} is {status.lower()}; its items can be read "
                "once it is ACTIVE.",
            )
        return check.failed(
            expected,
            f"no table in {check.region}",
            f"There is no replica of {table_name} in {check.region} yet.",
        )
    if primary_ids is None:
        return check.failed(expected, "no primary table", f"{table_name} is missing.")
    observed = f"{len(primary_ids)} in {check.ctx.primary_region}, {len(replica_ids)} here"
    if primary_ids == replica_ids:
        return check.passed(expected, observed, "The replica holds the same mysfits.")
    return check.pending(
        expected,
        observed,
        "The replica does not hold the same mysfits yet; replication may still be catching up.",
    )


# ---------------------------------------------------------------------- solve and reset


def _table(ctx: TaskContext) -> dict[str, Any]:
    table: dict[str, Any] = ctx.client("dynamodb", ctx.primary_region).describe_table(
        TableName=ctx.param("table")
    )["Table"]
    return table


def _replica_status(ctx: TaskContext, region: str | None = None) -> str | None:
    """The status of the table's replica in `region` (the secondary by default), None if none."""
    replicas = {r["RegionName"]: r.get("ReplicaStatus") for r in _table(ctx).get("Replicas", [])}
    return replicas.get(region or ctx.secondary_region)


STREAM_VIEW = "NEW_AND_OLD_IMAGES"
"""What global tables replicate from: the item before and after each change."""


REPLICA_FAILED = frozenset(
    {
        "CREATION_FAILED",
        "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
        "REGION_DISABLED",
        "REPLICATION_NOT_AUTHORIZED",
        "ARCHIVING",
        "ARCHIVED",
    }
)
"""ReplicaStatus values a replica does not leave by waiting (botocore's model)."""


REPLICA_RETRY_SECONDS = 600.0
"""How long a replica creation is retried while DynamoDB says the table is still busy (its
stream still enabling): a few minutes on AWS, never forever."""


def _wait_table_active(ctx: TaskContext) -> None:
    ctx.wait(
        f"{ctx.param('table')} to be active",
        lambda: _table(ctx)["TableStatus"] == "ACTIVE",
        cadence=DYNAMODB_CADENCE,
    )


def _stream(ctx: TaskContext) -> dict[str, Any]:
    return dict(_table(ctx).get("StreamSpecification") or {})


def ensure_stream(ctx: TaskContext) -> str:
    """The lab table's stream on, with new and old images; returns what it did ("" if nothing).

    A stream already on with another view type cannot be switched in place (DynamoDB answers
    "Table already has an enabled stream"): it is turned off, then on again with both images.
    Another solve doing the same at the same time is no error: what counts is the stream
    DynamoDB shows afterwards.
    """
    from botocore.exceptions import ClientError

    table = ctx.param("table")
    dynamodb = ctx.client("dynamodb", ctx.primary_region)
    spec = _stream(ctx)
    if spec.get("StreamEnabled") and spec.get("StreamViewType") == STREAM_VIEW:
        return ""
    done = ""
    _wait_table_active(ctx)  # DynamoDB takes one change at a time
    if spec.get("StreamEnabled"):
        try:
            dynamodb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
        except ClientError as exc:
            if error_code_of(exc) != "ValidationException" or _stream(ctx).get("StreamEnabled"):
                raise
        _wait_table_active(ctx)
        done = f"turned off the {spec.get('StreamViewType')} stream of {table}, then "
    try:
        dynamodb.update_table(
            TableName=table,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW},
        )
    except ClientError as exc:
        # "Table already has an enabled stream": someone (another solve) was faster.
        now = _stream(ctx)
        if not (now.get("StreamEnabled") and now.get("StreamViewType") == STREAM_VIEW):
            raise
        _wait_table_active(ctx)
        return f"{done}found the stream of {table} enabled meanwhile ({error_code_of(exc)})"
    _wait_table_active(ctx)
    _mark_stream_as_ours(ctx)
    return f"{done}enabled the stream of {table} (new and old images)"


STREAM_TAG = "mmtui:stream-enabled"
"""A tag on the lab's table: the label of the stream mmtui turned on. Reset turns a stream off
only when it is that very stream (red-team R6): one the attendee had on before the lab, or
turned on again themselves, has another label and stays on."""


def _mark_stream_as_ours(ctx: TaskContext) -> None:
    table = _table(ctx)
    label = table.get("LatestStreamLabel")
    if label:
        ctx.client("dynamodb", ctx.primary_region).tag_resource(
            ResourceArn=table["TableArn"], Tags=[{"Key": STREAM_TAG, "Value": str(label)}]
        )


def stream_is_ours(ctx: TaskContext, table: dict[str, Any]) -> bool:
    """Whether the table's stream is on and is the one mmtui's solve turned on."""
    if not (table.get("StreamSpecification") or {}).get("StreamEnabled"):
        return False
    tags = ctx.client("dynamodb", ctx.primary_region).list_tags_of_resource(
        ResourceArn=table["TableArn"]
    )
    ours = {t["Key"]: t["Value"] for t in tags.get("Tags", [])}.get(STREAM_TAG)
    return ours is not None and ours == table.get("LatestStreamLabel")


def _create_replica(ctx: TaskContext, region: str) -> bool:
    """UpdateTable ReplicaUpdates Create, retried while DynamoDB says the table is busy (the
    stream still enabling, as the workshop warns). False when the replica turned up meanwhile
    (another solve made it)."""
    from botocore.exceptions import ClientError

    from mmtui.exitcodes import ExitCode, MmtuiError

    table = ctx.param("table")
    started = ctx.clock()
    pause = max(ctx.poll_seconds, 0.5)
    while True:
        try:
            ctx.client("dynamodb", ctx.primary_region).update_table(
                TableName=table, ReplicaUpdates=[{"Create": {"RegionName": region}}]
            )
            return True
        except ClientError as exc:
            if _replica_status(ctx, region) is not None:
                return False  # "already existed": it is there, which is all we wanted
            if error_code_of(exc) != "ResourceInUseException":
                raise
            if ctx.clock() - started + pause > REPLICA_RETRY_SECONDS:
                raise MmtuiError(
                    f"DynamoDB kept refusing the replica of {table} in {region} for "
                    f"{REPLICA_RETRY_SECONDS / 60:.0f} min: {exc}",
                    ExitCode.AWS_ERROR,
                ) from None
            ctx.log(f"  {table} is still busy (its stream is enabling): retrying in {pause:g} s")
            ctx.sleep(pause)
            pause = min(pause * 2, DYNAMODB_CADENCE)


def ensure_replica(ctx: TaskContext, region: str, *, wait: bool = True) -> str:
    """A replica of the lab table in `region`, created if missing; with `wait`, until ACTIVE.

    A replica already being created (an earlier solve interrupted) is waited for, not created
    again; one in a failed state is reported with its status. Returns what it did ("" when
    the replica was already there).
    """
    from mmtui.exitcodes import ExitCode, MmtuiError

    table = ctx.param("table")
    added = ""
    status = _replica_status(ctx, region)
    if status in REPLICA_FAILED:
        raise MmtuiError(
            f"the replica of {table} in {region} is {status}: delete it (`mmtui reset --step "
            "2`) and solve again",
            ExitCode.AWS_ERROR,
        )
    if status is None:
        _wait_table_active(ctx)
        if _create_replica(ctx, region):
            added = f"added a replica of {table} in {region}"
    if wait:

        def failed() -> str | None:
            now = _replica_status(ctx, region)
            return f"DynamoDB reports the replica {now}" if now in REPLICA_FAILED else None

        ctx.wait(
            f"the replica in {region} to be active",
            lambda: _replica_status(ctx, region) == "ACTIVE",
            lambda: f"replica in {region}: {_replica_status(ctx, region) or 'not listed yet'}",
            failed=failed,
            cadence=DYNAMODB_CADENCE,
        )
    return added


@TASKS.implement("data_tier.solve")
def solve_data_tier(ctx: TaskContext) -> list[Action]:
    table, primary, secondary = ctx.param("table"), ctx.primary_region, ctx.secondary_region
    return [
        Action(
            primary,
            f"table {table}",
            f"enable stream ({STREAM_VIEW})",
            partial(ensure_stream, ctx),
        ),
        Action(
            secondary,
            f"replica of {table}",
            "create and wait until ACTIVE",
            partial(ensure_replica, ctx, secondary),
        ),
    ]


def replica_removal(ctx: TaskContext) -> Action | None:
    """The action that removes the table's replica in the secondary region and waits until
    DynamoDB has let it go; None when there is no replica (or no table)."""
    table, secondary = ctx.param("table"), ctx.secondary_region
    if _replica_status(ctx) is None:
        return None
    dynamodb = ctx.client("dynamodb", ctx.primary_region)

    def remove() -> str:
        status = _replica_status(ctx)
        if status is None:
            return ""
        if status in ("CREATING", "UPDATING"):
            # DynamoDB refuses to delete a replica it is still building.
            ctx.wait(
                f"the replica in {secondary} to settle before removing it",
                lambda: _replica_status(ctx) not in ("CREATING", "UPDATING"),
                lambda: f"replica in {secondary}: {_replica_status(ctx) or 'gone'}",
                cadence=DYNAMODB_CADENCE,
            )
        if _replica_status(ctx) not in (None, "DELETING"):
            dynamodb.update_table(
                TableName=table, ReplicaUpdates=[{"Delete": {"RegionName": secondary}}]
            )
        ctx.wait(
            f"the replica in {secondary} to be removed",
            lambda: _replica_status(ctx) is None and _table(ctx)["TableStatus"] == "ACTIVE",
            cadence=DYNAMODB_CADENCE,
        )
        return f"removed the replica of {table} in {secondary}"

    return Action(secondary, f"replica of {table}", "delete and wait", remove)


@TASKS.implement("data_tier.reset")
def reset_data_tier(ctx: TaskContext) -> list[Action]:
    table, primary = ctx.param("table"), ctx.primary_region
    dynamodb = ctx.client("dynamodb", primary)
    removal = replica_removal(ctx)
    actions = [removal] if removal is not None else []
    described = _table(ctx)
    if stream_is_ours(ctx, described):

        def stream_off() -> str:
            _wait_table_active(ctx)
            dynamodb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})
            _wait_table_active(ctx)
            dynamodb.untag_resource(ResourceArn=described["TableArn"], TagKeys=[STREAM_TAG])
            return f"turned off the stream of {table} (mmtui had turned it on)"

        actions.append(Action(primary, f"stream of table {table}", "turn off mmtui's", stream_off))
    elif (described.get("StreamSpecification") or {}).get("StreamEnabled"):
        # Not mmtui's to undo: on before the lab, or turned on by hand. Said in the plan and
        # the log, with the command that does it, and nothing changed.
        how = (
            f"aws dynamodb update-table --table-name {table} --stream-specification "
            f"StreamEnabled=false --region {primary}"
        )
        note = f"the stream of {table} stays on: mmtui did not turn it on (to turn it off: {how})"
        actions.append(
            Action(
                primary,
                f"stream of table {table}",
                f"leave on (mmtui did not turn it on; to turn it off: {how}) the",
                partial(lambda text: text, note),
                changes=False,
            )
        )
    return actions


# ---------------------------------------------------------------------- the console's form


@dataclass(frozen=True)
class ReplicaForm(Form):
    """Step 2: DynamoDB console → Tables → the table → Global tables → Create replica."""

    step: ClassVar[str] = "data-tier"
    title: ClassVar[str] = "Add a replica region"

    table: str
    home_region: str
    """The table's own region (the primary)."""
    lab_region: str
    """The region the lab replicates into (the secondary): preselected."""
    table_status: str | None
    """None: there is no such table."""
    stream_view_type: str | None
    """None: no stream."""
    replicas: Mapping[str, str]
    """Region → status of the table's existing replicas."""
    regions: tuple[str, ...]
    regions_from: str

    @classmethod
    def load(cls, ctx: CheckContext) -> ReplicaForm:
        """Two read calls: the table, and the regions the account can use."""
        from botocore.exceptions import ClientError

        name, home = ctx.param("table"), ctx.primary_region
        try:
            table = ctx.client("dynamodb", home).describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            table = {}
        stream = table.get("StreamSpecification") or {}
        regions, source = available_regions(ctx, "dynamodb")
        return cls(
            table=name,
            home_region=home,
            lab_region=ctx.secondary_region,
            table_status=table.get("TableStatus"),
            stream_view_type=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
            replicas={
                str(r["RegionName"]): str(r.get("ReplicaStatus", ""))
                for r in table.get("Replicas", [])
            },
            regions=tuple(r for r in regions if r != home),
            regions_from=source,
        )

    def _stream_text(self) -> str:
        if self.stream_view_type == STREAM_VIEW:
            return "on, with new and old images, as global tables need"
        if self.stream_view_type is None:
            return "off: it will be turned on with new and old images, as global tables need"
        return (
            f"on with {self.stream_view_type}: global tables need new and old images, so it "
            "will be turned off and on again with both"
        )

    def fields(self, values: Values | None = None) -> tuple[Field, ...]:
        def label(region: str) -> str:
            status = self.replicas.get(region)
            return f"{region} (has a replica: {status})" if status else region

        return (
            Field(
                "table",
                "Table",
                "info",
                default=f"{self.table} in {self.home_region}",
                help="The replica gets the same name, items, keys and indexes.",
            ),
            Field(
                "stream",
                "Stream",
                "info",
                default=self._stream_text(),
                help=(
                    "Replication is driven by the table's stream, which must record each item "
                    "as it was before a change and after it (NEW_AND_OLD_IMAGES)."
                ),
            ),
            Field(
                "region",
                "Replica region",
                "choice",
                default=self.lab_region if self.lab_region in self.regions else "",
                choices=tuple(Choice(r, label(r)) for r in self.regions),
                help=(
                    f"The region that receives a full copy of {self.table}; the lab uses "
                    f"its secondary region, {self.lab_region}. Regions from "
                    f"{self.regions_from}."
                ),
            ),
        )

    def validate(self, values: Values) -> list[Problem]:
        problems = []
        if self.table_status is None:
            problems.append(Problem(None, f"There is no table {self.table} in {self.home_region}."))
        region = entered_text(values, "region")
        if not region:
            problems.append(Problem("region", "Choose the region of the new replica."))
        elif region == self.home_region:
            problems.append(
                Problem("region", f"{region} is the table's own region; choose another.")
            )
        elif region not in self.regions:
            known = f"a region this account can use ({self.regions_from})"
            problems.append(Problem("region", unknown_choice(region, self.regions, known)))
        if self.stream_view_type not in (None, STREAM_VIEW) and self.replicas:
            problems.append(
                Problem(
                    "stream",
                    f"The stream records {self.stream_view_type}, and a global table's stream "
                    "cannot be turned off: the replicas must be removed first.",
                )
            )
        return problems

    def apply(self, values: Values, ctx: TaskContext) -> Applied:
        """Enable the stream if needed (and wait for the table to settle), then UpdateTable
        ReplicaUpdates Create. Does not wait for the replica: it stays CREATING while DynamoDB
        copies the items, which the step's live checks show as pending."""
        problems = self.validate(values)
        if problems:
            raise FormInvalid(problems)
        region = entered_text(values, "region")
        changes = [ensure_stream(ctx), ensure_replica(ctx, region, wait=False)]
        return Applied(tuple(c for c in changes if c))
