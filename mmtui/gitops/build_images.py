"""Which ECR login the AWS CLI inside a CodeBuild image understands.

Two commands log docker in to ECR. `aws ecr get-login` prints a `docker login` command; it
exists only in version 1 of the AWS CLI and was removed in version 2. `aws ecr get-login-password`
prints only the password, for `docker login --password-stdin`; AWS documents it "using AWS CLI
version 2 or in v1.17.10 or later of AWS CLI version 1" (January 2020).

The workshop's CodeBuild projects run on `aws/codebuild/docker:17.09.0`, a 2017 image (every
`aws/codebuild/docker:*` image predates 1.17.10), so its CLI knows only `get-login`. CodeBuild's
`aws/codebuild/standard:5.0` and later carry version 2, which knows only `get-login-password`.
Images not listed here are not known: both commands are assumed to work.

Both the sandbox's CodeBuild (which refuses the command the image's CLI lacks, as the image
would) and mmtui's step 4 solve (which writes the login the image supports) read this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GET_LOGIN = "get-login"
"""`$(aws ecr get-login --no-include-email --region R)`: the workshop's style."""
GET_LOGIN_PASSWORD = "get-login-password"
"""`aws ecr get-login-password --region R | docker login --username AWS --password-stdin HOST`."""


@dataclass(frozen=True)
class ImageCli:
    """The AWS CLI an image carries, as far as ECR login goes."""

    major: int
    description: str
    get_login: bool
    get_login_password: bool

    def lacks(self, style: str) -> bool:
        return not (self.get_login if style == GET_LOGIN else self.get_login_password)


OLD_V1 = ImageCli(1, "AWS CLI version 1 older than 1.17.10", True, False)
V2 = ImageCli(2, "AWS CLI version 2", False, True)

_STANDARD = re.compile(r"^aws/codebuild/standard:(\d+)\.\d+$")


def image_cli(image: str | None) -> ImageCli | None:
    """The CLI of a CodeBuild image (`environment.image` of the project); None: not known."""
    name = (image or "").strip()
    if name.startswith("aws/codebuild/docker:"):
        return OLD_V1
    standard = _STANDARD.match(name)
    if standard and int(standard.group(1)) >= 5:
        return V2
    return None


_USES_GET_LOGIN = re.compile(r"\becr\s+get-login(?!-)\b")
_USES_GET_LOGIN_PASSWORD = re.compile(r"\becr\s+get-login-password\b")


def styles_used(text: str) -> set[str]:
    """The login styles a buildspec's text uses."""
    used = set()
    if _USES_GET_LOGIN.search(text):
        used.add(GET_LOGIN)
    if _USES_GET_LOGIN_PASSWORD.search(text):
        used.add(GET_LOGIN_PASSWORD)
    return used


def login_style(image: str | None, current_text: str) -> str:
    """The login a rewritten buildspec should use: the one the image's CLI has when it has only
    one; otherwise the style the repository's buildspec already uses (get-login-password when
    it uses none, or both)."""
    cli = image_cli(image)
    if cli is not None and cli.lacks(GET_LOGIN):
        return GET_LOGIN_PASSWORD
    if cli is not None and cli.lacks(GET_LOGIN_PASSWORD):
        return GET_LOGIN
    used = styles_used(current_text)
    return GET_LOGIN if used == {GET_LOGIN} else GET_LOGIN_PASSWORD


def unsupported_logins(image: str | None, text: str) -> set[str]:
    """The login styles `text` uses that the image's CLI lacks (empty: none, or unknown image)."""
    cli = image_cli(image)
    if cli is None:
        return set()
    return {style for style in styles_used(text) if cli.lacks(style)}
