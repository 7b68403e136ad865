"""Nested stacks, and the CI/CD resource types moto's CloudFormation lacks.

The workshop's primary stack holds two nested stacks (`AWS::CloudFormation::Stack`):
MythicalCiCdStack (cicd.yml: the CodeCommit repositories, CodeBuild projects, pipelines, their
roles, artifact bucket and EventBridge rules) and MultiRegionCwDashboard (cwdashboard.yml: the
`<stack>_Dashboard` Lab 2 starts from). moto 5.2.1 creates a nested stack named after its
logical ID, with no parent, a Ref that answers that name, no `Outputs.X` attribute, and only
from a template in moto's own S3. On AWS a nested stack is `<parent>-<logical id>-<suffix>`, its
DescribeStacks entry carries ParentId and RootId, its Ref (and physical ID) is its stack ARN,
and the parent reads its outputs with `!GetAtt <logical id>.Outputs.<key>`. This module patches
moto's Stack model to behave so (the suffix is a hash of account, region, parent and logical
ID: the same names every run, different in every account, as repositories.py has always named
the CI/CD stack).

The workshop's TemplateURLs point at a public bucket the sandbox cannot reach; those two
addresses are answered with the sandbox's own templates (assets/workshop/cfn/). Any other URL
is read from the sandbox's S3, as moto does.

moto has no CloudFormation model for AWS::CodeCommit::Repository, AWS::CodeBuild::Project and
AWS::CodePipeline::Pipeline. The models below create them in moto's own backends (the very
objects their APIs create; the sandbox's git server serves a repository moto knows, and its
pipeline engine runs pipelines moto stores), so the CI/CD nested stack creates them, lists
them as its resources and deletes them with itself.

Names CloudFormation generates (a role, a bucket, a rule without a name) are random in moto; in
a nested stack they are made from the stack's name and a hash of the logical ID instead, so they
are stable and the account image (account_image.py) can make them each account's own.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from contextvars import ContextVar
from importlib import resources
from typing import Any

from moto.core.common_models import CloudFormationModel

from mmtui.sandbox.moto_repairs.patching import patch

WORKSHOP_TEMPLATES = {
    "https://mythical-mysfits-website.s3.amazonaws.com/multi-region-bcdr/cicd.yml": "cicd.yml",
    "https://mythical-mysfits-website.s3.amazonaws.com/multi-region-bcdr/cwdashboard.yml": (
        "cwdashboard.yml"
    ),
}
"""The workshop's nested TemplateURLs → the sandbox's own template of the same role."""

_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits
_NAME_LIMITS = {"AWS::IAM::Role": 64, "AWS::S3::Bucket": 63, "AWS::Events::Rule": 64}

# Stack names whose resources are being created as a nested stack's (deterministic names).
_NESTED: ContextVar[frozenset[str]] = ContextVar("mmtui_cfn_nested", default=frozenset())


class _Hooks:
    """What the sandbox lends this module (one sandbox per process)."""

    clone_url: Callable[[str, str], str] | None = None
    """(repository, account) → the sandbox's clone URL (its port may change between runs)."""
    repository_created: Callable[[str, str], None] | None = None
    """(repository, account): a new repository starts empty on the git server."""
    repository_deleted: Callable[[str, str], None] | None = None


HOOKS = _Hooks()


def stack_suffix(account: str, region: str, parent: str, logical_id: str) -> str:
    """The 13 characters CloudFormation appends to a nested stack's name, as a hash."""
    seed = f"{account}:{region}:{parent}:{logical_id}"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_SUFFIX_ALPHABET[byte % len(_SUFFIX_ALPHABET)] for byte in digest[:13])


def nested_stack_name(account: str, region: str, parent: str, logical_id: str) -> str:
    return f"{parent}-{logical_id}-{stack_suffix(account, region, parent, logical_id)}"


def template_for(url: str, account: str, region: str) -> str:
    """The body of a nested stack's TemplateURL."""
    asset = WORKSHOP_TEMPLATES.get(url)
    if asset is not None:
        path = resources.files("mmtui.sandbox.workshop").joinpath(
            "assets", "workshop", "cfn", asset
        )
        return path.read_text(encoding="utf-8")
    from moto.cloudformation.utils import get_stack_from_s3_url
    from moto.utilities.utils import get_partition

    return get_stack_from_s3_url(url, account_id=account, partition=get_partition(region))


def install() -> None:
    """Patch moto (called once, by moto_repairs.install)."""
    _patch_stack_model()
    _patch_generated_names()
    _register_models()


# --------------------------------------------------------------------------- nested stacks


def _patch_stack_model() -> None:
    from moto.cloudformation import models

    def physical_resource_id(self: Any) -> str:
        return str(self.stack_id)

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name.startswith("Outputs."):
            key = attribute_name.split(".", 1)[1]
            for output in self.outputs or []:
                if output["OutputKey"] == key:
                    return output["OutputValue"]
        raise UnformattedGetAttTemplateException()

    patch(
        "cloudformation.nested_stacks.stack_model",
        models.Stack,
        "physical_resource_id",
        property(physical_resource_id),
    )
    patch(
        "cloudformation.nested_stacks.stack_model",
        models.Stack,
        "get_cfn_attribute",
        get_cfn_attribute,
        new=True,  # moto's Stack has no attributes for !GetAtt
    )
    patch(
        "cloudformation.nested_stacks.stack_model",
        models.Stack,
        "create_from_cloudformation_json",
        classmethod(_create_nested),
    )
    patch(
        "cloudformation.nested_stacks.stack_model",
        models.Stack,
        "delete_from_cloudformation_json",
        classmethod(_delete_nested),
    )
    # moto's attribute picker finds ParentId/RootId as parent_id/root_id; a top stack has none.
    patch("cloudformation.nested_stacks.stack_model", models.Stack, "parent_id", None, new=True)
    patch("cloudformation.nested_stacks.stack_model", models.Stack, "root_id", None, new=True)


def _create_nested(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """Create a nested stack as part of its parent's creation, at once (whatever the time
    scale: the parent's own creation carries the wait), with the parent's creation day."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.utils import generate_stack_id

    from mmtui.sandbox.moto_repairs.cloudformation.creation import (
        check_export_names,
        finish_create,
        new_stack,
    )
    from mmtui.sandbox.moto_repairs.cloudformation.stacks import resolved_text, stack_event

    backend = cloudformation_backends[account_id][region_name]
    parent: Any = backend.stacks[kwargs["StackId"]]
    logical_id = str(kwargs.get("LogicalId", resource_name))
    properties = cloudformation_json.get("Properties") or {}
    url = str(properties.get("TemplateURL") or "")
    if not url:
        raise ValidationError(parent.stack_id, message="TemplateURL is required for a stack")
    name = nested_stack_name(account_id, region_name, parent.name, logical_id)
    parameters = resolved_text(properties.get("Parameters") or {})
    stack = new_stack(
        stack_id=generate_stack_id(name, region_name, account_id),
        name=name,
        template=template_for(url, account_id, region_name),
        parameters=parameters,
        account_id=account_id,
        region_name=region_name,
        notification_arns=parent.notification_arns,
        tags=parent.tags,
        role_arn=parent.role_arn,
        cross_stack_resources=backend.exports,
    )
    stack.parent_id = parent.stack_id
    stack.root_id = parent.root_id or parent.stack_id
    check_export_names(backend, stack)
    backend.stacks[stack.stack_id] = stack
    stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    stack.status = "CREATE_IN_PROGRESS"
    stack._mmtui_created_on = getattr(parent, "_mmtui_created_on", None)
    token = _NESTED.set(_NESTED.get() | {name})
    try:
        finish_create(backend, stack)
    finally:
        _NESTED.reset(token)
    if stack.status != "CREATE_COMPLETE":
        # AWS's wording, with the nested stack's first failure (what an attendee looks for).
        failed = [e for e in stack.events if e.resource_status == "CREATE_FAILED"]
        reason = (
            f"The following resource(s) failed to create: [{failed[0].logical_resource_id}]. "
            f"{failed[0].resource_status_reason}"
            if failed
            else str(stack.status_reason or stack.status)
        )
        backend.delete_stack(stack.stack_id)
        raise ValidationError(
            parent.stack_id,
            message=f"Embedded stack {stack.stack_id} was not successfully created: {reason}",
        )
    return stack


def _delete_nested(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
) -> None:
    from moto.cloudformation.models import cloudformation_backends

    from mmtui.sandbox.moto_repairs.cloudformation.deletion import HandlerError, finish_delete

    backend = cloudformation_backends[account_id][region_name]
    backend.delete_stack(resource_name)
    stack: Any = backend.stacks.get(resource_name)  # with the attributes the repairs add
    if stack is None:
        return
    if getattr(stack, "_mmtui_pending", None) == "delete":
        # The parent's deletion is what waited: the nested stack goes with it, now.
        stack._mmtui_due = stack._mmtui_pending = None
        finish_delete(backend, stack)
    if stack.status == "DELETE_FAILED":
        # AWS fails the parent's resource, quoting the nested stack's own reason.
        raise HandlerError(
            f"Embedded stack {stack.stack_id} was not successfully deleted: "
            f"{stack.status_reason or 'DELETE_FAILED'}"
        )


def _patch_generated_names() -> None:
    from moto.cloudformation import parsing

    original = parsing.generate_resource_name

    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        if stack_name not in _NESTED.get():
            return str(original(resource_type, stack_name, logical_id))
        digest = hashlib.sha256(f"{resource_type}:{logical_id}".encode()).digest()
        suffix = "".join(_SUFFIX_ALPHABET[byte % len(_SUFFIX_ALPHABET)] for byte in digest[:12])
        limit = _NAME_LIMITS.get(resource_type, 128)
        name = f"{stack_name}-{logical_id}"[: limit - len(suffix) - 1].rstrip("-")
        name = f"{name}-{suffix}"
        return name.lower() if resource_type == "AWS::S3::Bucket" else name

    patch(
        "cloudformation.nested_stacks.generated_names",
        parsing,
        "generate_resource_name",
        generate_resource_name,
    )


# --------------------------------------------------------------------------- CI/CD models


def _camel(value: Any, keep: frozenset[str] = frozenset({"Configuration"})) -> Any:
    """CloudFormation's PascalCase properties in the API's camelCase (nested), except the
    contents of `keep` keys (an action's Configuration is passed as written)."""
    if isinstance(value, list):
        return [_camel(item, keep) for item in value]
    if not isinstance(value, dict):
        return value
    converted: dict[str, Any] = {}
    for key, item in value.items():
        name = key[:1].lower() + key[1:]
        converted[name] = item if key in keep else _camel(item, keep)
    return converted


class _CiCdModel(CloudFormationModel):
    """A resource moto's CloudFormation lacks, kept in moto's own backend of its service. Module
    level (not made in a function): the stack's resource map holds it and is pickled."""

    name_property = "Name"

    def __init__(self, account_id: str, region_name: str, name: str) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.name = name

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.name_property

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.attribute(attribute_name)


class Repository(_CiCdModel):
    """AWS::CodeCommit::Repository: moto's CodeCommit repository (the git server serves it)."""

    name_property = "RepositoryName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeCommit::Repository"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "Name", "CloneUrlHttp", "CloneUrlSsh")

    def attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Name":
            return self.name
        if attribute_name == "Arn":
            return f"arn:aws:codecommit:{self.region_name}:{self.account_id}:{self.name}"
        if attribute_name == "CloneUrlHttp" and HOOKS.clone_url is not None:
            return HOOKS.clone_url(self.name, self.account_id)
        if attribute_name in ("CloneUrlHttp", "CloneUrlSsh"):
            scheme = "https" if attribute_name == "CloneUrlHttp" else "ssh"
            host = f"git-codecommit.{self.region_name}.amazonaws.com"
            return f"{scheme}://{host}/v1/repos/{self.name}"
        return super().attribute(attribute_name)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Repository:
        from moto.codecommit.models import codecommit_backends

        properties = cloudformation_json.get("Properties") or {}
        description = str(properties.get("RepositoryDescription") or "")
        codecommit_backends[account_id][region_name].create_repository(resource_name, description)
        if HOOKS.repository_created is not None:
            HOOKS.repository_created(resource_name, account_id)
        return cls(account_id, region_name, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.codecommit.models import codecommit_backends

        codecommit_backends[account_id][region_name].delete_repository(self.name)
        if HOOKS.repository_deleted is not None:
            HOOKS.repository_deleted(self.name, account_id)


class Project(_CiCdModel):
    """AWS::CodeBuild::Project: moto's CodeBuild project (the sandbox's builds read it)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeBuild::Project"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return f"arn:aws:codebuild:{self.region_name}:{self.account_id}:project/{self.name}"
        return super().attribute(attribute_name)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Project:
        from moto.codebuild.models import codebuild_backends

        properties = cloudformation_json.get("Properties") or {}
        source = _camel(properties.get("Source") or {})
        if "buildSpec" in source:  # the API spells it in lower case
            source["buildspec"] = source.pop("buildSpec")
        environment = _camel(properties.get("Environment") or {})
        privileged = str(environment.get("privilegedMode", False)).lower()
        environment["privilegedMode"] = privileged in ("true", "1")
        codebuild_backends[account_id][region_name].create_project(
            resource_name,
            properties.get("Description"),
            source,
            _camel(properties.get("Artifacts") or {}),
            environment,
            str(properties.get("ServiceRole") or ""),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        return cls(account_id, region_name, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.codebuild.models import codebuild_backends

        codebuild_backends[account_id][region_name].delete_project(self.name)


class Pipeline(_CiCdModel):
    """AWS::CodePipeline::Pipeline: moto's pipeline, which the sandbox's engine runs."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodePipeline::Pipeline"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Version"

    def attribute(self, attribute_name: str) -> Any:
        from moto.codepipeline.models import codepipeline_backends

        if attribute_name == "Version":
            backend = codepipeline_backends[self.account_id][self.region_name]
            return str(backend.pipelines[self.name].pipeline.get("version", 1))
        return super().attribute(attribute_name)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Pipeline:
        from moto.codepipeline.models import codepipeline_backends

        properties = dict(cloudformation_json.get("Properties") or {})
        properties.pop("Name", None)
        tags = properties.pop("Tags", None) or []
        declaration = {"name": resource_name, **_camel(properties)}
        for stage in declaration.get("stages", []):
            for action in stage.get("actions", []):
                if "runOrder" in action:
                    action["runOrder"] = int(action["runOrder"])
        codepipeline_backends[account_id][region_name].create_pipeline(
            declaration, [{"key": t["Key"], "value": t["Value"]} for t in tags]
        )
        return cls(account_id, region_name, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.codepipeline.models import codepipeline_backends

        codepipeline_backends[account_id][region_name].delete_pipeline(self.name)


def _register_models() -> None:
    from moto.cloudformation import parsing

    models = {model.cloudformation_type(): model for model in (Repository, Project, Pipeline)}
    # moto caches its model map; a map made before this module was imported lacks them.
    parsing.get_model_map().update(models)
    parsing.get_name_type_map().update(
        {kind: model.cloudformation_name_type() for kind, model in models.items()}
    )
