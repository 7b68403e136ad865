"""Lab 3's live facts: stack outputs and generated names, fetched once per check run.

Many checks need the same outputs; fetching them once (per key, even when several threads ask
at the same moment) keeps a whole-lab check to a handful of describe calls.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from mmtui.labs.common.once import FetchedOnce

if TYPE_CHECKING:
    from mmtui.engine.context import CheckContext

DASHBOARD_MISSING = ("ResourceNotFound", "ResourceNotFoundException")
"""CloudWatch's codes for a dashboard that does not exist."""


def stack_missing(exc: Exception) -> bool:
    """CloudFormation's answer for a stack that does not exist (a ValidationError)."""
    error = getattr(exc, "response", {}).get("Error", {})
    return error.get("Code") == "ValidationError" and "does not exist" in error.get("Message", "")


def pipeline_pattern(kind: str, stack: str) -> re.Pattern[str]:
    """The name the workshop's CI/CD nested stack gives a service pipeline of `stack`:
    `CorePipeline-<stack>-MythicalCiCdStack-<suffix>` (cicd.yml names it after its own stack,
    which CloudFormation names `<parent>-<logical id>-<suffix>`)."""
    return re.compile(rf"^{kind}Pipeline-{re.escape(stack)}-MythicalCiCdStack-[A-Za-z0-9]+$")


def service_pipelines(client: Any, stack: str) -> dict[str, str]:
    """{"core": name, "like": name} of the service pipelines of the workshop stack `stack`.

    Only that deployment's: an account may hold another workshop deployment (Lab 0 invites a
    stack name of one's own in a shared account), whose pipelines must never be read, changed
    or reset for this one, whatever their names sort as."""
    names = [
        p["name"]
        for page in client.get_paginator("list_pipelines").paginate()
        for p in page.get("pipelines", [])
    ]
    found: dict[str, str] = {}
    for key, kind in (("core", "Core"), ("like", "Like")):
        pattern = pipeline_pattern(kind, stack)
        matches = sorted(n for n in names if pattern.match(n))
        if matches:
            found[key] = matches[0]
    return found


def xray_groups(client: Any) -> dict[str, str]:
    """Every X-Ray group of the client's region (all pages of GetGroups) → its filter."""
    return {
        g["GroupName"]: g.get("FilterExpression", "")
        for page in client.get_paginator("get_groups").paginate()
        for g in page.get("Groups", [])
    }


class Lab3Facts(FetchedOnce):
    def __init__(self, ctx: CheckContext) -> None:
        super().__init__()
        self.ctx = ctx

    def stack(self, which: str) -> dict[str, Any] | None:
        """The primary or secondary stack's description, None if it does not exist."""
        from botocore.exceptions import ClientError

        name = self.ctx.param(f"{which}_stack")
        region = self.ctx.primary_region if which == "primary" else self.ctx.secondary_region

        def fetch() -> dict[str, Any] | None:
            try:
                stacks = self.ctx.client("cloudformation", region).describe_stacks(StackName=name)[
                    "Stacks"
                ]
            except ClientError as exc:
                if stack_missing(exc):
                    return None
                raise
            return dict(stacks[0]) if stacks else None

        return self.once(f"stack:{which}", fetch)

    def outputs(self, which: str) -> dict[str, str]:
        stack = self.stack(which)
        if stack is None:
            return {}
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def pipelines(self) -> dict[str, str]:
        """{"core": name, "like": name} of the service pipelines in the primary region."""

        client = self.ctx.client("codepipeline", self.ctx.primary_region)
        stack = self.ctx.param("primary_stack")
        return self.once("pipelines", lambda: service_pipelines(client, stack))

    def source_repository(self, which: str) -> str | None:
        """The CodeCommit repository the pipeline of `which` service builds from."""
        name = self.pipelines().get(which)
        if name is None:
            return None

        def fetch() -> str | None:
            pipeline = self.pipeline(name, self.ctx.primary_region)
            for stage in pipeline.get("stages", []):
                for action in stage.get("actions", []):
                    if action.get("actionTypeId", {}).get("provider") == "CodeCommit":
                        return str(action.get("configuration", {}).get("RepositoryName"))
            return None

        return self.once(f"source:{which}", fetch)

    # What several checks read in one round is fetched once for all of them (read, never
    # changed, by the checks that share it).

    def pipeline(self, name: str, region: str) -> dict[str, Any]:
        """The pipeline's structure (GetPipeline)."""
        client = self.ctx.client("codepipeline", region)
        return self.once(
            f"pipeline:{region}:{name}", lambda: dict(client.get_pipeline(name=name)["pipeline"])
        )

    def last_run(self, name: str, region: str) -> str:
        """The status of the pipeline's last execution, or "never ran"."""
        run = self.last_execution(name, region)
        return str(run["status"]) if run else "never ran"

    def last_revision(self, name: str, region: str) -> str:
        """The commit the pipeline's last execution built (its first source revision), or
        "" (never ran, or no source revision)."""
        run = self.last_execution(name, region) or {}
        revisions = run.get("sourceRevisions") or [{}]
        return str(revisions[0].get("revisionId") or "")

    def last_execution(self, name: str, region: str) -> dict[str, Any] | None:
        """The summary of the pipeline's last execution, None if it never ran."""
        client = self.ctx.client("codepipeline", region)

        def fetch() -> dict[str, Any] | None:
            runs = client.list_pipeline_executions(pipelineName=name, maxResults=1).get(
                "pipelineExecutionSummaries", []
            )
            return dict(runs[0]) if runs else None

        found: dict[str, Any] | None = self.once(f"last-run:{region}:{name}", fetch)
        return found

    def dashboard(self, name: str, region: str) -> dict[str, Any] | None:
        """The dashboard's body, None if there is no such dashboard."""
        from botocore.exceptions import ClientError

        client = self.ctx.client("cloudwatch", region)

        def fetch() -> dict[str, Any] | None:
            try:
                body = client.get_dashboard(DashboardName=name)["DashboardBody"]
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in DASHBOARD_MISSING:
                    return None
                raise
            try:
                found = json.loads(body)
            except ValueError:
                return {}  # not JSON: CloudWatch would refuse it; nothing graphed
            return found if isinstance(found, dict) else {}

        return self.once(f"dashboard:{region}:{name}", fetch)

    def groups(self, region: str) -> dict[str, str]:
        """The region's X-Ray groups → their filters (every page), read once per round."""
        client = self.ctx.client("xray", region)
        return self.once(f"xray-groups:{region}", lambda: xray_groups(client))

    def dashboards(self, region: str) -> dict[str, dict[str, Any]]:
        """Every dashboard the account shows in `region`, by name, with its body (ListDashboards,
        every page, then GetDashboard for each; all reads). A dashboard deleted between the two
        calls is left out."""
        client = self.ctx.client("cloudwatch", region)

        def fetch() -> dict[str, dict[str, Any]]:
            names = [
                entry["DashboardName"]
                for page in client.get_paginator("list_dashboards").paginate()
                for entry in page.get("DashboardEntries", [])
            ]
            found: dict[str, dict[str, Any]] = {}
            for name in names:
                body = self.dashboard(name, region)  # shared with checks that read one by name
                if body is not None:
                    found[name] = body
            return found

        return self.once(f"dashboards:{region}", fetch)

    def known(self) -> dict[str, str]:
        """Facts for rendering lab text, from what has been fetched so far (no new calls)."""
        values: dict[str, str] = {}
        for side, facts_of_outputs in _STACK_FACTS.items():
            if self.fetched(f"stack:{side}"):
                out = self.outputs(side)
                for fact, output in facts_of_outputs.items():
                    if out.get(output):
                        values[fact] = out[output]
        if self.fetched("pipelines"):
            pipelines = self.pipelines()
            values.update({f"{k}_pipeline": v for k, v in pipelines.items()})
        for which in ("core", "like"):
            repository = self.value(f"source:{which}")
            if repository:
                values[f"{which}_repo"] = repository
        return values


_STACK_FACTS: dict[str, dict[str, str]] = {
    "primary": {
        "primary_cluster": "EcsClusterName",
        "primary_core_service": "CoreEcsServiceName",
        "primary_like_service": "LikeEcsServiceName",
        "primary_core_ecr_repo": "CoreServiceEcrRepo",
        "primary_like_ecr_repo": "LikeServiceEcrRepo",
        "primary_alb_dns": "LoadBalancerDNS",
        "primary_alb_full_name": "LoadBalancerFullName",
        "account_id": "CurrentAccount",
    },
    "secondary": {
        "secondary_cluster": "EcsClusterName",
        "secondary_core_service": "CoreEcsServiceName",
        "secondary_like_service": "LikeEcsServiceName",
        "secondary_core_ecr_repo": "SecondaryCoreServiceEcrRepo",
        "secondary_like_ecr_repo": "SecondaryLikeServiceEcrRepo",
        "secondary_alb_dns": "SecondaryLoadBalancerDNS",
        "secondary_alb_full_name": "LoadBalancerFullName",
    },
}
"""The facts each stack's outputs give lab text: fact name, then the output it comes from
(a fact is left out while its output is missing or empty)."""
