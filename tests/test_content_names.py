"""The names a lab's text renders with: parameters, then facts (known, or their placeholders).

LabContent.names keeps, per set of overrides, the placeholders that read parameters only; these
tests hold it to what rendering every placeholder in turn gives.
"""

from __future__ import annotations

import pytest

from mmtui import labs
from mmtui.content.loader import LabContent
from mmtui.content.render import render


def rendered_in_turn(
    content: LabContent, overrides: dict[str, str] | None, known: dict[str, str]
) -> dict[str, str]:
    """names() as it was: every placeholder rendered with the names before it."""
    values = content.defaults(overrides)
    for name, fact in content.lab.facts.items():
        values[name] = known.get(name) or render(fact.placeholder, values)
    return values


@pytest.mark.parametrize(
    "overrides",
    [
        None,
        {"primary_stack": "room-mm"},
        {"primary_region": "eu-west-1", "secondary_region": "eu-central-1"},
    ],
)
def test_names_are_the_placeholders_rendered_in_turn(overrides: dict[str, str] | None) -> None:
    _, content = labs.load("3")
    for known in ({}, {"core_pipeline": "CorePipeline-real", "account_id": "123456789012"}):
        for _ in range(2):  # the second time from what was kept
            assert content.names(overrides, known) == rendered_in_turn(content, overrides, known)
    if overrides == {"primary_stack": "room-mm"}:
        assert content.names(overrides)["primary_cluster"] == "Cluster-room-mm"


def test_a_placeholder_that_reads_a_fact_follows_what_is_known() -> None:
    _, lab3 = labs.load("3")
    facts = dict(lab3.lab.facts)
    facts["pipeline_page"] = facts["core_pipeline"].model_copy(
        update={"placeholder": "page of {{ core_pipeline }}"}
    )
    content = LabContent(
        lab3.folder, lab3.source, lab3.lab.model_copy(update={"facts": facts}), lab3.intro
    )
    unknown = content.names(None, {})
    assert unknown["pipeline_page"] == f"page of {unknown['core_pipeline']}"
    assert content.names(None, {"core_pipeline": "Real"})["pipeline_page"] == "page of Real"
    assert content.names(None, {}) == rendered_in_turn(content, None, {})
