"""The By hand tab's Markdown (mmtui/content/manual.py): what an attendee reads for each kind of
manual action, rendered with the lab's names."""

from __future__ import annotations

from mmtui.content.manual import manual_markdown
from mmtui.content.model import ManualPath
from mmtui.content.render import render

NAMES = {"table": "my-table", "region": "eu-west-1"}


def markdown(actions: list[dict[str, object]]) -> list[str]:
    path = ManualPath.model_validate({"summary": "Do it.", "actions": actions})
    return manual_markdown(path, lambda text: render(text, NAMES).strip())


def test_terminal_commands_are_code_blocks_filled_with_the_names() -> None:
    assert markdown(
        [
            {
                "title": "Scan {{ table }}",
                "where": "terminal",
                "text": "Count the items.",
                "commands": ["aws dynamodb scan --table-name {{ table }} --region {{ region }}"],
            }
        ]
    ) == [
        "### 1. Scan my-table (terminal)",
        "Count the items.",
        "```sh\naws dynamodb scan --table-name my-table --region eu-west-1\n```",
    ]


def test_a_situational_action_says_when_it_is_for() -> None:
    assert markdown(
        [
            {
                "title": "Delete the old one",
                "where": "terminal",
                "only_if": "an earlier attempt left {{ table }} behind",
                "commands": ["true"],
            }
        ]
    )[:2] == [
        "### 1. Delete the old one (terminal)",
        "*Only if an earlier attempt left my-table behind; otherwise skip it.*",
    ]


def test_an_editor_action_shows_its_stand_in_as_the_terminal_way() -> None:
    assert markdown(
        [
            {
                "title": "Edit the file",
                "where": "editor",
                "text": "Set the region to {{ region }}.",
                "stand_in": ["sed -i 's/REGION/{{ region }}/' config"],
            }
        ]
    ) == [
        "### 1. Edit the file (editor)",
        "Set the region to eu-west-1.",
        "Or from a terminal:",
        "```sh\nsed -i 's/REGION/eu-west-1/' config\n```",
    ]


def test_a_console_action_names_the_actions_that_do_the_same() -> None:
    lines = markdown(
        [
            {
                "title": "In the console",
                "where": "console",
                "text": "Click.",
                "same_as": ["Fetch {{ table }}", "Save it"],
            },
            {"title": "Fetch {{ table }}", "where": "terminal", "commands": ["true"]},
            {"title": "Save it", "where": "terminal", "commands": ["true"]},
        ]
    )
    assert lines[:3] == [
        "### 1. In the console (console)",
        "Click.",
        "Or from a terminal: 2. Fetch my-table and 3. Save it.",
    ]
