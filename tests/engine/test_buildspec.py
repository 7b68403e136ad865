"""Buildspecs judged by meaning: variables, either login style, quoting."""

from __future__ import annotations

import pytest

from mmtui.labs.lab3.buildspec import missing_pieces
from tests.conftest import REPO

SECONDARY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mm-secondary-region-core-service"
STARTING = (REPO / "mmtui/sandbox/workshop/assets/services/core/buildspec_prod.yml").read_text()

COMPLETE = """
version: 0.2
env:
  variables:
    TARGET_REGION: us-east-1
phases:
  pre_build:
    commands:
      - PRIMARY_CORE_REPO_URI=123456789012.dkr.ecr.us-west-2.amazonaws.com/primary-core
      - export SECOND_URI="{uri}"
  build:
    commands:
      - docker build -t core-service:$CODEBUILD_RESOLVED_SOURCE_VERSION .
      - TAG=$CODEBUILD_RESOLVED_SOURCE_VERSION
      - docker tag core-service:$TAG $SECOND_URI:$TAG
  post_build:
    commands:
      - {login}
      - docker push ${{SECOND_URI}}:$CODEBUILD_RESOLVED_SOURCE_VERSION
      - >-
        printf '[{{"name":"service","imageUri":"%s"}}]' $SECOND_URI:$TAG
        > imagedefinitions_secondary.json
artifacts:
  files:
    - imagedefinitions_primary.json
    - imagedefinitions_secondary.json
"""

LOGINS = {
    "v2": "aws ecr get-login-password --region $TARGET_REGION | docker login --username AWS "
    "--password-stdin ${SECOND_URI%%/*}",
    "v1": "$(aws ecr get-login --no-include-email --region $TARGET_REGION)",
}


def test_starting_buildspec_lacks_every_secondary_piece() -> None:
    names = [p.name for p in missing_pieces(STARTING, "service", SECONDARY, "us-east-1")]
    assert names == [
        "secondary repository URI",
        "secondary region",
        "tag for the secondary registry",
        "log in to the secondary registry",
        "push to the secondary registry",
        "imagedefinitions_secondary.json",
        "artifact",
    ]


@pytest.mark.parametrize("style", sorted(LOGINS))
def test_complete_buildspec_in_either_login_style(style: str) -> None:
    text = COMPLETE.format(uri=SECONDARY, login=LOGINS[style])
    assert missing_pieces(text, "service", SECONDARY, "us-east-1") == []


def test_wrong_container_name_and_missing_artifact_are_named() -> None:
    text = (
        COMPLETE.format(uri=SECONDARY, login=LOGINS["v2"])
        .replace('"name":"service"', '"name":"like-service"')
        .replace("    - imagedefinitions_secondary.json\n", "")
    )
    pieces = missing_pieces(text, "service", SECONDARY, "us-east-1")
    assert [p.name for p in pieces] == ["imagedefinitions_secondary.json", "artifact"]
    assert '"name":"service"' in pieces[0].hint


def finished_buildspec(*, secondary_login: bool) -> str:
    """The finished buildspec mmtui writes (its template, get-login-password style), with or
    without the secondary registry's `docker login` line."""
    template = (REPO / "buildspec_templates/_buildspec_prod.yml.j2").read_text()
    lines = [
        line
        for line in template.splitlines()
        if "{%" not in line
        and "get-login --no-include-email" not in line
        and (secondary_login or "get-login-password --region $SECONDARY_REGION" not in line)
    ]
    text = "\n".join(lines)
    for placeholder, value in {
        "prefix": "CORE",
        "secondary_repo_uri": SECONDARY,
        "primary_repo_uri": SECONDARY.replace("us-east-1", "us-west-2"),
        "secondary_region": "us-east-1",
        "container": "service",
        "image": "core-service",
        "label": "Core",
    }.items():
        text = text.replace("{{ " + placeholder + " }}", value)
    assert "{{" not in text and "SECONDARY_REGION=us-east-1" in text, text
    return text


def test_a_missing_secondary_login_fails_only_the_login() -> None:
    """The walkthrough's buildspec: the secondary region set in a variable, every other piece
    there, only the secondary `docker login` left out: one missing line, one failing piece."""
    assert (
        missing_pieces(finished_buildspec(secondary_login=True), "service", SECONDARY, "us-east-1")
        == []
    )
    pieces = missing_pieces(
        finished_buildspec(secondary_login=False), "service", SECONDARY, "us-east-1"
    )
    assert [p.name for p in pieces] == ["log in to the secondary registry"], pieces


def test_not_yaml() -> None:
    (piece,) = missing_pieces("phases: [unclosed", "service", SECONDARY, "us-east-1")
    assert piece.name == "valid YAML"
