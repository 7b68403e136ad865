"""Rendering the finished buildspec of a service from `buildspec_templates/`.

Values come from the stacks' outputs. Each is checked against what it may be before it goes
into a file that bash will run: a quote, a space, a `$` or a newline could break the YAML or
inject a command, so anything but a plain registry URI or region name is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jinja2
import yaml

from mmtui.content.loader import templates_root
from mmtui.content.render import ContentEnvironment
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.gitops.build_images import GET_LOGIN, GET_LOGIN_PASSWORD
from mmtui.target.regions import known_regions

SERVICES = {"core": "service", "like": "like-service"}
"""Service → the container name its image definitions must use."""

_URI = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9]+(?:[._/-][a-z0-9]+)*$"
)


@dataclass(frozen=True)
class BuildspecValues:
    primary_repo_uri: str
    secondary_repo_uri: str
    secondary_region: str
    login: str = GET_LOGIN_PASSWORD
    """How the build logs docker in to ECR (build_images.py): the style the image's CLI has."""

    def validate(self) -> None:
        if self.login not in (GET_LOGIN, GET_LOGIN_PASSWORD):
            raise MmtuiError(f"login: {self.login!r} is not an ECR login style", ExitCode.USAGE)
        for name in ("primary_repo_uri", "secondary_repo_uri"):
            value = getattr(self, name)
            if not _URI.fullmatch(value):
                raise MmtuiError(
                    f"{name}: {value!r} is not an ECR repository URI "
                    "(ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME)",
                    ExitCode.USAGE,
                )
        if self.secondary_region not in known_regions():
            raise MmtuiError(
                f"secondary_region: {self.secondary_region!r} is not an AWS region", ExitCode.USAGE
            )
        region_of_uri = self.secondary_repo_uri.split(".")[3]
        if region_of_uri != self.secondary_region:
            raise MmtuiError(
                f"secondary_repo_uri is in {region_of_uri}, not in {self.secondary_region}",
                ExitCode.USAGE,
            )


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # The lab content's sandbox, allowing the two statements these templates use: constant
    # `{% set %}` and `{% include %}`; anything else refuses to compile (SecurityError).
    return ContentEnvironment(
        statements=True, loader=jinja2.FileSystemLoader(str(templates_root()))
    )


def render_buildspec(service: str, values: BuildspecValues) -> str:
    """The finished buildspec_prod.yml of `service` ("core" or "like"); valid YAML, always."""
    if service not in SERVICES:
        raise MmtuiError(f"no buildspec template for {service!r}; known: core, like")
    values.validate()
    text = (
        _environment()
        .get_template(f"{service}/buildspec_prod.yml.j2")
        .render(
            primary_repo_uri=values.primary_repo_uri,
            secondary_repo_uri=values.secondary_repo_uri,
            secondary_region=values.secondary_region,
            login=values.login,
        )
    )
    yaml.safe_load(text)  # a template bug must never reach a repository
    return text
