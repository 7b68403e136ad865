"""Which ECR login a CodeBuild image's AWS CLI understands, and which one mmtui writes."""

from __future__ import annotations

import pytest

from mmtui.gitops.build_images import (
    GET_LOGIN,
    GET_LOGIN_PASSWORD,
    image_cli,
    login_style,
    styles_used,
    unsupported_logins,
)

OLD = "      - $(aws ecr get-login --no-include-email --region $PRIMARY_REGION)\n"
NEW = (
    "      - aws ecr get-login-password --region $PRIMARY_REGION | docker login --username AWS "
    "--password-stdin ${PRIMARY_CORE_REPO_URI%%/*}\n"
)


@pytest.mark.parametrize(
    ("image", "major", "get_login", "get_login_password"),
    [
        ("aws/codebuild/docker:17.09.0", 1, True, False),
        ("aws/codebuild/docker:18.09.0", 1, True, False),
        ("aws/codebuild/standard:5.0", 2, False, True),
        ("aws/codebuild/standard:7.0", 2, False, True),
    ],
)
def test_known_images(image: str, major: int, get_login: bool, get_login_password: bool) -> None:
    cli = image_cli(image)
    assert cli is not None
    assert (cli.major, cli.get_login, cli.get_login_password) == (
        major,
        get_login,
        get_login_password,
    )


@pytest.mark.parametrize("image", [None, "", "aws/codebuild/standard:4.0", "my/own:latest"])
def test_unknown_images_refuse_nothing(image: str | None) -> None:
    assert image_cli(image) is None
    assert unsupported_logins(image, OLD + NEW) == set()


def test_the_style_follows_the_image_then_the_repository() -> None:
    assert styles_used(OLD) == {GET_LOGIN} and styles_used(NEW) == {GET_LOGIN_PASSWORD}
    # The image decides when its CLI has only one of them, whatever the file used.
    assert login_style("aws/codebuild/docker:17.09.0", NEW) == GET_LOGIN
    assert login_style("aws/codebuild/standard:7.0", OLD) == GET_LOGIN_PASSWORD
    # Otherwise the repository's own style is kept.
    assert login_style(None, OLD) == GET_LOGIN
    assert login_style(None, NEW) == GET_LOGIN_PASSWORD
    assert login_style(None, "") == GET_LOGIN_PASSWORD


def test_a_finished_buildspec_with_a_login_the_image_lacks_is_not_done() -> None:
    assert unsupported_logins("aws/codebuild/docker:17.09.0", NEW) == {GET_LOGIN_PASSWORD}
    assert unsupported_logins("aws/codebuild/docker:17.09.0", OLD) == set()
    assert unsupported_logins("aws/codebuild/standard:7.0", OLD) == {GET_LOGIN}
