"""Command-line options shared by mmtui's commands and by the commands a lab adds (a lab's
`commands()`): the TARGET options and the resource-name options. Only click is imported here,
so that building the command line stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def target_options(fn: F) -> F:
    """The TARGET options shared by every command that talks to AWS."""
    options = [
        click.option(
            "--sandbox", is_flag=True, help="Start an embedded sandbox AWS for this command alone."
        ),
        click.option(
            "--endpoint-url",
            metavar="URL",
            help="Talk to an AWS-compatible endpoint (default: $AWS_ENDPOINT_URL).",
        ),
        click.option(
            "--aws", is_flag=True, help="Talk to real AWS through the standard credential chain."
        ),
        click.option("--profile", metavar="NAME", help="Real AWS with this named profile."),
        click.option(
            "--primary-region", metavar="REGION", help="Region of Labs 0-2 (default us-west-2)."
        ),
        click.option(
            "--secondary-region",
            metavar="REGION",
            help="Region to replicate into (default us-east-1).",
        ),
        click.option(
            "--workspace",
            metavar="DIR",
            envvar="MMTUI_WORKSPACE",
            help="Folder with the service repository clones ($MMTUI_WORKSPACE).",
        ),
        *name_options(),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def name_options() -> list[Callable[[F], F]]:
    """`--primary-stack` and friends: the names of resources a user may have named otherwise
    than the workshop (their MMTUI_* variable when not given; validated when resolved)."""
    from mmtui.target.names import SETTINGS

    return [
        click.option(
            setting.flag,
            f"name_{setting.parameter}",
            metavar="NAME",
            help=f"Your {setting.label}'s name, if not the workshop's (${setting.env}).",
        )
        for setting in SETTINGS
    ]


def chosen_names(kwargs: dict[str, Any]) -> dict[str, str | None]:
    """The name options as typed (parameter → value or None), taken out of `kwargs`."""
    from mmtui.target.names import SETTINGS

    return {s.parameter: kwargs.pop(f"name_{s.parameter}", None) for s in SETTINGS}


def target_flags(kwargs: dict[str, Any]) -> Any:
    from mmtui.target.spec import TargetFlags

    return TargetFlags(
        sandbox=kwargs.pop("sandbox"),
        endpoint_url=kwargs.pop("endpoint_url"),
        aws=kwargs.pop("aws"),
        profile=kwargs.pop("profile"),
        primary_region=kwargs.pop("primary_region"),
        secondary_region=kwargs.pop("secondary_region"),
        workspace=kwargs.pop("workspace"),
        names=chosen_names(kwargs),
    )


def require_names_declared(spec: Any, content: Any) -> None:
    """A chosen name must be one of the lab's parameters (the content says which exist)."""
    from mmtui.target.names import require_declared

    require_declared(spec.name_overrides, content.lab.parameters, content.lab.id)
