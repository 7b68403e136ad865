"""A lab that lives only in the tests, added through `mmtui.labs.register` like any lab from
outside mmtui: its own content folder, one step, one check and two tasks (solve, reset) that
act on one S3 bucket of the primary region."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui.engine.plugin import LabPlugin
from mmtui.engine.registry import CheckDecl, LabPermissions, Registry, TaskDecl
from mmtui.engine.tasks import Action

if TYPE_CHECKING:
    from mmtui.content.loader import LabContent
    from mmtui.engine.checks import Checker
    from mmtui.engine.results import CheckResult
    from mmtui.engine.tasks import TaskContext

CONTENT = Path(__file__).resolve().parent / "content"
LAB_ID = "90"

# Lab 3 uses these very names for its step 2: a lab's registries are its own.
CHECK = "data_tier.replica_active"
SOLVE = "data_tier.solve"
RESET = "data_tier.reset"

CHECKS: Registry[CheckDecl] = Registry("check", make=CheckDecl)
TASKS: Registry[TaskDecl] = Registry("task")
TASKS.declare(TaskDecl(SOLVE, "Put the marker", "solve"))
TASKS.declare(TaskDecl(RESET, "Remove the marker", "reset"))


def _region_of(client: Any, bucket: str) -> str | None:
    """The region the bucket is in, None when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
            return None
        raise
    location = client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    return str(location or "us-east-1")


@CHECKS.implement(CHECK)
def marker_placed(check: Checker) -> CheckResult:
    bucket = check.ctx.param("marker")
    found = _region_of(check.ctx.client("s3", check.region), bucket)
    if found is None:
        return check.failed(check.region, "no bucket", f"{bucket} does not exist.")
    if found != check.region:
        return check.failed(check.region, found, f"{bucket} is in {found}.")
    return check.passed(check.region, found, f"{bucket} is in {found}.")


@TASKS.implement(SOLVE)
def create_marker(ctx: TaskContext) -> list[Action]:
    bucket, region = ctx.param("marker"), ctx.primary_region
    client = ctx.client("s3", region)

    def create() -> str:
        if _region_of(client, bucket) is not None:
            return ""  # already done: a second solve changes nothing
        where = {} if region == "us-east-1" else {"LocationConstraint": region}
        client.create_bucket(
            Bucket=bucket, **({"CreateBucketConfiguration": where} if where else {})
        )
        return f"created {bucket}"

    return [Action(region, bucket, "create bucket", create)]


@TASKS.implement(RESET)
def remove_marker(ctx: TaskContext) -> list[Action]:
    bucket, region = ctx.param("marker"), ctx.primary_region
    client = ctx.client("s3", region)
    if _region_of(client, bucket) is None:
        return []  # planned from what exists now: nothing the lab created is here

    def delete() -> str:
        if _region_of(client, bucket) is None:
            return ""
        client.delete_bucket(Bucket=bucket)
        return f"deleted {bucket}"

    return [Action(region, bucket, "delete bucket", delete)]


class MarkerLab(LabPlugin):
    id = LAB_ID
    prerequisites_title = "Before the marker"

    def load_content(self) -> LabContent:
        from mmtui.content.loader import load_lab

        return load_lab(CONTENT)

    @property
    def checks(self) -> Registry[CheckDecl]:
        return CHECKS

    @property
    def tasks(self) -> Registry[TaskDecl]:
        return TASKS

    @property
    def permissions(self) -> LabPermissions:
        return LabPermissions(
            {
                CHECK: frozenset({"s3:ListBucket", "s3:GetBucketLocation"}),
                SOLVE: frozenset({"s3:ListBucket", "s3:GetBucketLocation", "s3:CreateBucket"}),
                RESET: frozenset({"s3:ListBucket", "s3:GetBucketLocation", "s3:DeleteBucket"}),
            }
        )
