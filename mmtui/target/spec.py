"""What the user asked for: which AWS, which regions, which workspace.

Resolution follows DESIGN.md: an explicit flag wins; with none, `AWS_ENDPOINT_URL` means that
endpoint, and otherwise the embedded sandbox. This is the only place the kinds of target differ;
the engine receives clients and never asks which kind it is talking to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.target.regions import pair_problem, validate_region

TargetKind = Literal["sandbox", "endpoint", "aws"]

DEFAULT_PRIMARY_REGION = "us-west-2"
DEFAULT_SECONDARY_REGION = "us-east-1"


@dataclass(frozen=True)
class AssumeRole:
    """A role to assume with STS before talking to the account (instructor fleets).

    The base credentials that assume it are the target's `profile` (its source profile), its
    explicit `credentials`, or the standard chain; on an endpoint target, STS is the endpoint's.
    """

    arn: str
    external_id: str | None = None
    session_name: str = "mmtui"

    @property
    def account_id(self) -> str:
        """The account named in the ARN (`arn:PARTITION:iam::ACCOUNT:role/NAME`)."""
        return self.arn.split(":")[4]


@dataclass(frozen=True)
class TargetSpec:
    kind: TargetKind
    primary_region: str
    secondary_region: str
    endpoint_url: str | None = None
    profile: str | None = None
    workspace: Path | None = None
    sandbox_dir: Path | None = None
    """For a sandbox target, its state folder; None means a fresh one for this command alone
    (`--sandbox`). With no target option at all it is the persistent one in the user's state
    folder, so an attendee who closes the terminal today continues tomorrow."""
    role: AssumeRole | None = None
    """A role to assume first (fleet targets); `profile` is then the source profile."""
    credentials: tuple[str, str] | None = field(default=None, repr=False)
    """Explicit keys for an endpoint target (a sandbox's); None uses the profile or chain."""
    names: tuple[tuple[str, str], ...] = ()
    """Resource names the user chose (lab parameter, value): `--primary-stack` and friends,
    `MMTUI_*` variables or a targets file; the lab's defaults name everything else."""

    @property
    def name_overrides(self) -> dict[str, str]:
        return dict(self.names)

    @property
    def regions(self) -> tuple[str, str]:
        return (self.primary_region, self.secondary_region)

    def label(self) -> str:
        if self.role is not None:
            where = f"endpoint {self.endpoint_url}" if self.endpoint_url else "aws"
            return f"{where} (role {self.role.arn})"
        if self.kind == "sandbox":
            return f"sandbox ({self.sandbox_dir})" if self.sandbox_dir else "sandbox (embedded)"
        if self.kind == "endpoint":
            return f"endpoint {self.endpoint_url}"
        return f"aws (profile {self.profile})" if self.profile else "aws"


@dataclass(frozen=True)
class TargetFlags:
    """The TARGET options exactly as typed on the command line (None when not given)."""

    sandbox: bool = False
    endpoint_url: str | None = None
    aws: bool = False
    profile: str | None = None
    primary_region: str | None = None
    secondary_region: str | None = None
    workspace: str | None = None
    names: Mapping[str, str | None] = field(default_factory=dict)
    """`--primary-stack` and friends: lab parameter → the value typed, or None."""


def resolve_target(flags: TargetFlags, env: Mapping[str, str] | None = None) -> TargetSpec:
    env = os.environ if env is None else env
    chosen = [
        name
        for name, given in (
            ("--sandbox", flags.sandbox),
            ("--endpoint-url", flags.endpoint_url is not None),
            ("--aws", flags.aws),
        )
        if given
    ]
    if len(chosen) > 1:
        raise MmtuiError(f"choose one target: {' and '.join(chosen)} were both given")
    if flags.profile is not None and (flags.sandbox or flags.endpoint_url is not None):
        raise MmtuiError(
            f"--profile selects a real AWS account; it cannot be combined with {chosen[0]}"
        )

    primary = validate_region(
        flags.primary_region or env.get("MMTUI_PRIMARY_REGION") or DEFAULT_PRIMARY_REGION,
        "--primary-region",
    )
    secondary = validate_region(
        flags.secondary_region or env.get("MMTUI_SECONDARY_REGION") or DEFAULT_SECONDARY_REGION,
        "--secondary-region",
    )
    problem = pair_problem(primary, secondary, "--primary-region", "--secondary-region")
    if problem is not None:
        raise MmtuiError(problem, ExitCode.USAGE)

    workspace_text = flags.workspace or env.get("MMTUI_WORKSPACE")
    workspace = Path(workspace_text).expanduser() if workspace_text else None
    if workspace is not None and workspace.exists() and not workspace.is_dir():
        raise MmtuiError(f"--workspace: {workspace} is not a folder")

    from mmtui.target.names import names_from

    names = names_from(flags.names, env)

    sandbox_dir = None
    if flags.aws or flags.profile is not None:
        kind: TargetKind = "aws"
        endpoint = None
    elif flags.sandbox:
        kind, endpoint = "sandbox", None
    elif flags.endpoint_url or env.get("AWS_ENDPOINT_URL"):
        source = "--endpoint-url" if flags.endpoint_url else "AWS_ENDPOINT_URL"
        kind = "endpoint"
        endpoint = check_endpoint(flags.endpoint_url or env["AWS_ENDPOINT_URL"], source)
    else:
        from mmtui.paths import default_sandbox_dir

        kind, endpoint, sandbox_dir = "sandbox", None, default_sandbox_dir()
    return TargetSpec(
        kind,
        primary,
        secondary,
        endpoint_url=endpoint,
        profile=flags.profile,
        workspace=workspace,
        sandbox_dir=sandbox_dir,
        names=names,
    )


def check_endpoint(url: str, source: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise MmtuiError(f"{source}: {url!r} is not an http(s) URL such as http://127.0.0.1:5000")
    try:
        parsed.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise MmtuiError(f"{source}: {url!r} has an invalid port") from None
    return url.rstrip("/")


def require_credentials_message(spec: TargetSpec) -> str:
    """The one-line fix for missing credentials, fitted to the target."""
    if spec.role is not None:
        source = f"source profile {spec.profile!r}" if spec.profile else "the standard chain"
        return (
            f"no base credentials to assume {spec.role.arn} with ({source}): run "
            "`aws configure` (or `aws sso login`), or set source_profile in the targets file"
        )
    if spec.kind == "aws" and spec.profile:
        return (
            f"profile {spec.profile!r} gives no credentials: run "
            f"`aws configure --profile {spec.profile}` (or `aws sso login --profile "
            f"{spec.profile}`)"
        )
    if spec.kind == "endpoint":
        return (
            "no AWS credentials for the endpoint: `source <sandbox dir>/sandbox.env`, or set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    return "no AWS credentials found: run `aws configure`, pass --profile NAME, or use --sandbox"


__all__ = [
    "AssumeRole",
    "DEFAULT_PRIMARY_REGION",
    "DEFAULT_SECONDARY_REGION",
    "ExitCode",
    "TargetFlags",
    "TargetKind",
    "TargetSpec",
    "require_credentials_message",
    "resolve_target",
]
