"""The workshop as Lab 0 leaves it in the sandbox: its template in the workspace, its primary stack.

Lab 3 step 1 runs `aws cloudformation deploy ... --template-file cfn/core.yml` from the
workshop's folder, so the sandbox's workspace holds that folder with mmtui's own template
(assets/workshop/cfn/core.yml), and the primary region already has the stack the attendee
launched in Lab 0 from the same template.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.files import write_atomically
from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

PRIMARY_STACK = "mm-multi-region"
SECONDARY_STACK = "mm-secondary-region"
WORKSHOP_FOLDER = "aws-multi-region-bc-dr-workshop"
TEMPLATE = Path("cfn") / "core.yml"
CAPABILITIES = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
LAB0_DAY = date(2023, 6, 1)
"""When the seeded Lab 0 stack counts as created: Lambda still accepted the template's
python3.7 clean-up function then (creation was blocked on 2024-01-09), and that function
keeps existing, as it does in the accounts of attendees who ran Lab 0 back then."""


def template_body() -> str:
    """The workshop template shipped with mmtui."""
    asset = resources.files("mmtui.sandbox.workshop").joinpath(
        "assets", "workshop", "cfn", "core.yml"
    )
    return asset.read_text(encoding="utf-8")


def workshop_folder(sandbox: Sandbox) -> Path:
    """The workshop's folder in the workspace (the attendee's ~/environment/<repo>)."""
    return sandbox.workspace / WORKSHOP_FOLDER


WORKSPACE_FILES = (
    TEMPLATE,
    Path("app") / "hints" / "core-buildspec_prod.yml",
    Path("app") / "hints" / "like-buildspec_prod.yml",
    Path("bootstrap") / "outputs.py",
    Path("bootstrap") / "fetch-outputs",
    Path("bootstrap") / "secondary-region" / "setup",
    Path("bootstrap") / "secondary-region" / "fetch-outputs",
    Path("bootstrap") / "secondary-region" / "codecommit" / "push",
)
"""What the workshop folder holds in the sandbox: the template, Lab 3 step 4's finished
buildspecs (app/hints) and the bootstrap scripts that fill them in and push them (mmtui's own
versions of the workshop's, in assets/workshop/). The nested stacks' templates are not here:
the workshop's are not in its folder either (CloudFormation fetches them from S3)."""
EXECUTABLE = frozenset(
    path for path in WORKSPACE_FILES if path.parts[0] == "bootstrap" and not path.suffix
)


def install_workspace(sandbox: Sandbox) -> Path:
    """Put the workshop's files in the workspace, each unless it is there already; returns the
    template's path.

    An existing file is the attendee's (they may have edited it): it is never overwritten.
    """
    folder = workshop_folder(sandbox)
    assets = resources.files("mmtui.sandbox.workshop").joinpath("assets", "workshop")
    for relative in WORKSPACE_FILES:
        target = folder / relative
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o755 if relative in EXECUTABLE else None
        write_atomically(target, assets.joinpath(*relative.parts).read_bytes(), mode)
    return folder / TEMPLATE


def deploy_primary_stack(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> str:
    """Create the Lab 0 stack in the primary region (IsSecondary=false); returns its ID."""
    from mmtui.sandbox.moto_repairs.cloudformation.stacks import created_earlier

    region = sandbox.options.primary_region
    cloudformation = sandbox.client("cloudformation", region, account)
    created_earlier(account, region, PRIMARY_STACK, LAB0_DAY)
    stack_id = str(
        cloudformation.create_stack(
            StackName=PRIMARY_STACK,
            TemplateBody=template_body(),
            Parameters=[{"ParameterKey": "IsSecondary", "ParameterValue": "false"}],
            Capabilities=CAPABILITIES,
        )["StackId"]
    )
    # A backdated stack is created at once: it is complete, or it rolled back.
    stack = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
        reasons = [
            f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}"
            for event in events
            if event["ResourceStatus"] == "CREATE_FAILED"
        ]
        raise MmtuiError(
            f"the sandbox could not create the workshop stack {PRIMARY_STACK} in {region} "
            f"of account {account} "
            f"({stack['StackStatus']}): {'; '.join(reasons) or 'no reason given'}",
            ExitCode.AWS_ERROR,
        )
    return stack_id


def seed_workshop(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> None:
    """What Lab 0 leaves behind: the workshop folder and the primary stack.

    The workspace is the default account's attendee's disk; an attendee account has none in
    the sandbox (nothing reads it: the solves take the template from the primary stack, and
    clone a missing repository into whatever workspace their target names).
    """
    if account == DEFAULT_ACCOUNT:
        install_workspace(sandbox)
    deploy_primary_stack(sandbox, account)
