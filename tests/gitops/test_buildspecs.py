"""Templates render valid, complete buildspecs for every allowed input, and refuse the rest."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtui.exitcodes import MmtuiError
from mmtui.gitops.build_images import GET_LOGIN, GET_LOGIN_PASSWORD, styles_used
from mmtui.gitops.buildspecs import SERVICES, BuildspecValues, render_buildspec
from mmtui.labs.lab3.buildspec import missing_pieces

REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
accounts = st.from_regex(r"\A[0-9]{12}\Z")
names = st.from_regex(r"\A[a-z0-9]{1,10}([._-][a-z0-9]{1,10}){0,3}(/[a-z0-9]{1,8}){0,2}\Z")


def uri(account: str, region: str, name: str) -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{name}"


@settings(max_examples=150, deadline=None)
@given(
    service=st.sampled_from(sorted(SERVICES)),
    account=accounts,
    regions=st.lists(st.sampled_from(REGIONS), min_size=2, max_size=2, unique=True),
    primary_name=names,
    secondary_name=names,
    login=st.sampled_from([GET_LOGIN, GET_LOGIN_PASSWORD]),
)
def test_every_allowed_input_renders_a_complete_buildspec(
    service: str,
    account: str,
    regions: list[str],
    primary_name: str,
    secondary_name: str,
    login: str,
) -> None:
    values = BuildspecValues(
        uri(account, regions[0], primary_name),
        uri(account, regions[1], secondary_name),
        regions[1],
        login,
    )
    text = render_buildspec(service, values)
    assert styles_used(text) == {login}  # one login style, the one the image's CLI has
    document = yaml.safe_load(text)
    assert document["version"] == 0.2
    assert document["artifacts"]["files"] == [
        "imagedefinitions_primary.json",
        "imagedefinitions_secondary.json",
    ]
    # The checks of step 4 judge it complete: the template and the checks agree.
    assert missing_pieces(text, SERVICES[service], values.secondary_repo_uri, regions[1]) == []


@settings(max_examples=100, deadline=None)
@given(
    bad=st.tuples(
        st.text(max_size=2), st.sampled_from(list("'\"\n $`;|&\\{}#")), st.text(max_size=2)
    ).map("".join)
)
def test_values_that_could_break_yaml_or_shell_are_refused(bad: str) -> None:
    good = uri("123456789012", "us-east-1", "repo")
    for values in (
        BuildspecValues(good + bad, good, "us-east-1"),
        BuildspecValues(good, good + bad, "us-east-1"),
        BuildspecValues(good, good, "us-east-1" + bad),
    ):
        with pytest.raises(MmtuiError):
            render_buildspec("core", values)


def test_messages_name_the_value() -> None:
    with pytest.raises(MmtuiError, match="secondary_repo_uri: 'x' is not an ECR repository"):
        render_buildspec(
            "like", BuildspecValues(uri("123456789012", "us-west-2", "a"), "x", "us-east-1")
        )
    with pytest.raises(MmtuiError, match="secondary_repo_uri is in us-west-2, not in us-east-1"):
        render_buildspec(
            "like",
            BuildspecValues(
                uri("123456789012", "us-west-2", "a"),
                uri("123456789012", "us-west-2", "b"),
                "us-east-1",
            ),
        )
    with pytest.raises(MmtuiError, match="no buildspec template for 'web'"):
        render_buildspec("web", BuildspecValues("", "", ""))
