"""`mmtui lint`: shipped content is clean; each kind of broken content fails with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.broken_content import LAB, line_of, lint, replace_once
from tests.conftest import REPO, run_mmtui


def _known_checks() -> list[str]:
    import mmtui.labs

    # workshop.yaml's prerequisite labs may name a check of any installed lab.
    return sorted(
        {n for lab_id in mmtui.labs.lab_ids() for n in mmtui.labs.get(lab_id).checks.names()}
    )


def test_shipped_content_is_clean_from_any_folder(tmp_path: Path) -> None:
    result = run_mmtui("lint", cwd=tmp_path)
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "clean" in result.stderr


def test_explicit_paths_are_clean() -> None:
    for path in (
        REPO / "labs",
        REPO / "labs" / LAB,
        REPO / "labs" / LAB / "lab.yaml",
        REPO / "labs" / "workshop.yaml",
    ):
        code, lines = lint(path)
        assert (code, lines) == (0, []), path


def test_missing_markdown_file(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    (lab_copy / LAB / "steps" / "3-pipeline.md").unlink()
    code, lines = lint(lab_copy)
    line = line_of(lab_yaml, "instructions: steps/3-pipeline.md")
    assert code == 2
    assert lines == [f"{lab_yaml}:{line}: Markdown file 'steps/3-pipeline.md' is missing"]


def test_duplicate_step_id(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "- id: data-tier", "- id: infrastructure")
    first, second = (
        number
        for number, line in enumerate(lab_yaml.read_text().splitlines(), 1)
        if line.strip() == "- id: infrastructure"
    )
    code, lines = lint(lab_copy / LAB)
    assert code == 2
    assert lines == [
        f"{lab_yaml}:{second}: duplicate step id 'infrastructure' (first used on line {first})"
    ]


def test_unknown_check_name(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "- name: data_tier.replica_active", "- name: data_tier.replica_actve")
    code, lines = lint(lab_yaml)
    line = line_of(lab_yaml, "data_tier.replica_actve")
    assert code == 2
    assert len(lines) == 2
    assert lines[1].startswith(
        f"{lab_yaml}:{line}: no check is registered as 'data_tier.replica_actve' (known checks "
        "here: data_tier.replica_active,"
    )
    # And the check the lab implements is now described by no entry: it would never run.
    assert lines[0] == (
        f"{lab_yaml}:{line_of(lab_yaml, 'steps:')}: lab 3 implements the check "
        "'data_tier.replica_active', which no entry of this file declares"
    )


def test_unknown_check_of_a_prerequisite_lab(lab_copy: Path) -> None:
    workshop = lab_copy / "workshop.yaml"
    replace_once(workshop, "- prereq.xray_groups", "- prereq.xray_group")
    code, lines = lint(workshop)
    assert code == 2
    assert lines == [
        f"{workshop}:{line_of(workshop, 'prereq.xray_group')}: no check is registered as "
        "'prereq.xray_group' (known checks here: "
        + ", ".join(sorted(n for n in _known_checks() if n.startswith("prereq.")))
        + ")"
    ]


def test_unknown_task_and_wrong_task_kind(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "solve: pipeline.solve", "solve: pipeline.reset")
    replace_once(lab_yaml, "reset: dashboard.reset", "reset: dashboard.undo")
    code, lines = lint(lab_yaml)
    assert code == 2
    assert (
        f"{lab_yaml}:{line_of(lab_yaml, 'solve: pipeline.reset')}: task 'pipeline.reset' "
        "is a reset task, not a solve task" in lines
    )
    assert any(
        line.startswith(
            f"{lab_yaml}:{line_of(lab_yaml, 'dashboard.undo')}: no task is "
            "registered as 'dashboard.undo'"
        )
        for line in lines
    )


def test_unknown_key(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "    hints:\n", "    hintz: []\n    hints:\n")
    code, lines = lint(lab_yaml)
    assert code == 2
    line = line_of(lab_yaml, "hintz:")
    assert lines == [f"{lab_yaml}:{line}: unknown key 'hintz' in steps[0]"]


def test_empty_hint_and_empty_learn_more(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "    hints:\n", "    hints:\n      - '   '\n")
    replace_once(
        lab_yaml, "    learn_more:\n", "    learn_more:\n      - title: Empty\n        body: ''\n"
    )
    code, lines = lint(lab_yaml)
    assert code == 2
    assert (
        f"{lab_yaml}:{line_of(lab_yaml, chr(39) * 2)}: steps[0].learn_more[0].body is "
        "empty" in lines
    )
    assert (
        f"{lab_yaml}:{line_of(lab_yaml, '- ' + chr(39) + '   ')}: steps[0].hints[0] is "
        "empty" in lines
    )


def test_missing_required_key(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    text = lab_yaml.read_text()
    start = text.index("  - id: dashboard")
    title_at = text.index("    title:", start)
    end = text.index("\n", title_at)
    lab_yaml.write_text(text[:title_at] + text[end + 1 :])
    code, lines = lint(lab_yaml)
    assert code == 2
    assert lines == [
        f"{lab_yaml}:{line_of(lab_yaml, '- id: dashboard')}: missing required key 'title' in "
        "steps[4]"
    ]


def test_undeclared_template_name_in_markdown(lab_copy: Path) -> None:
    md = lab_copy / LAB / "steps" / "2-data-tier.md"
    md.write_text(md.read_text() + "\nThe replica lives in {{ tertiary_region }}.\n")
    code, lines = lint(lab_copy)
    assert code == 2
    assert lines == [
        f"{md}:{line_of(md, 'tertiary_region')}: text uses {{{{ tertiary_region }}}}, which is "
        "neither a parameter nor a fact"
    ]


def test_hard_coded_default_in_prose(lab_copy: Path) -> None:
    md = lab_copy / LAB / "steps" / "1-infrastructure.md"
    md.write_text(md.read_text() + "\nDeploy it to us-east-1 now.\n")
    code, lines = lint(md.parent.parent)
    assert code == 2
    assert lines == [
        f"{md}:{line_of(md, 'to us-east-1 now')}: 'us-east-1' is typed out; write "
        "{{ secondary_region }} so it follows the attendee's choice"
    ]


def test_template_syntax_error_in_yaml_text(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "title: Preparing", "title: Preparing {{ oops")
    code, lines = lint(lab_yaml)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"{lab_yaml}:{line_of(lab_yaml, '{{ oops')}: template error:")


def test_yaml_syntax_error_has_its_line(lab_copy: Path) -> None:
    workshop = lab_copy / "workshop.yaml"
    replace_once(workshop, "labs:\n", "labs:\n  - id: [unclosed\n")
    code, lines = lint(workshop)
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(f"{workshop}:")
    assert "invalid YAML" in lines[0]


def test_duplicate_yaml_key(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "intro: intro.md\n", "intro: intro.md\nintro: other.md\n")
    code, lines = lint(lab_yaml)
    assert (code, lines) == (
        2,
        [f"{lab_yaml}:{line_of(lab_yaml, 'intro: other')}: duplicate key 'intro'"],
    )


def test_step_numbers_must_run_in_order(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "number: 3", "number: 7")
    code, lines = lint(lab_yaml)
    assert code == 2
    assert lines == [
        f"{lab_yaml}:{line_of(lab_yaml, 'steps:')}: steps must be numbered 1, 2, "
        "3… in order; found [1, 2, 7, 4, 5]"
    ]


def test_workshop_guided_lab_without_folder(lab_copy: Path) -> None:
    workshop = lab_copy / "workshop.yaml"
    replace_once(workshop, f"path: {LAB}", "path: lab-3-gone")
    code, lines = lint(workshop)
    assert code == 2
    assert lines == [
        f"{workshop}:{line_of(workshop, 'lab-3-gone')}: lab folder 'lab-3-gone' has no lab.yaml"
    ]


def test_path_that_is_not_content(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    code, lines = lint(tmp_path / "notes.txt", tmp_path / "missing")
    assert code == 2
    assert f"{tmp_path / 'missing'}:1: no such file or folder" in lines
    assert any("notes.txt:1: not lab content" in line for line in lines)


@pytest.mark.parametrize("broken", ["checks: []", "hints: []"])
def test_lists_that_must_not_be_empty(lab_copy: Path, broken: str) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    key = broken.split(":")[0]
    text = lab_yaml.read_text()
    start = text.index(f"    {key}:\n")
    end = start + len(f"    {key}:\n")
    while text[end:].startswith("      "):
        end = text.index("\n", end) + 1
    lab_yaml.write_text(text[:start] + f"    {broken}\n" + text[end:])
    code, lines = lint(lab_yaml)
    assert code == 2
    assert lines == [
        f"{lab_yaml}:{line_of(lab_yaml, broken)}: steps[0].{key} needs at least one entry"
    ]


def test_requires_names_earlier_steps_only(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "requires: [infrastructure, pipeline]", "requires: [pipline, dashboard]")
    replace_once(lab_yaml, "requires: [infrastructure]", "requires: [pipeline]")
    code, lines = lint(lab_copy)
    assert code == 2
    steps = "infrastructure, data-tier, pipeline, build-artifacts, dashboard, checkpoint"
    later = "is this step or a later one; a step requires only earlier steps"
    build = line_of(lab_yaml, "requires: [pipline, dashboard]")
    assert lines == [
        f"{lab_yaml}:{line_of(lab_yaml, 'requires: [pipeline]')}: requires 'pipeline', which "
        f"{later}",
        f"{lab_yaml}:{build}: requires 'dashboard', which {later}",
        f"{lab_yaml}:{build}: requires 'pipline', which is not a step of this lab (steps: {steps})",
    ]


# --------------------------------------------------------------- what the by-hand path runs


def test_stand_in_and_only_if_are_templates_like_commands(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(
        lab_yaml,
        "              python3 - core-pipeline.json {{ secondary_core_service }}",
        "              python3 - core-pipeline.json {{ tertiary_service }}",
    )
    replace_once(
        lab_yaml,
        "only_if: an earlier attempt left {{ secondary_stack }}",
        "only_if: an earlier attempt left mm-secondary-region",
    )
    code, lines = lint(lab_yaml)
    assert code == 2
    assert lines == [
        f"{lab_yaml}:{line_of(lab_yaml, 'only_if: an earlier attempt')}: 'mm-secondary-region' "
        "is typed out; write {{ secondary_stack }} so it follows the attendee's choice",
        f"{lab_yaml}:{line_of(lab_yaml, ' - core-pipeline.json {{ tertiary_service }}') - 1}: "
        "text uses {{ tertiary_service }}, which is neither a parameter nor a fact",
    ]


def test_commands_and_stand_ins_must_parse_as_bash(lab_copy: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    # A quote left open in a command, and a stand-in's heredoc that lost its end marker.
    # (The first such text is the table check's own read-only command; the second, a command
    # of step 2's by-hand path.)
    text = lab_yaml.read_text()
    at = text.index("--select COUNT --region", text.index("--select COUNT --region") + 1)
    lab_yaml.write_text(text[:at] + "--select 'COUNT --region" + text[at + 23 :])
    replace_once(lab_yaml, "--select COUNT --region", "--select 'COUNT --region")
    replace_once(
        lab_yaml,
        "                      json.dump(document, f, indent=2)\n              EOF\n",
        "                      json.dump(document, f, indent=2)\n",
    )
    code, lines = lint(lab_yaml)
    assert code == 2
    edit = line_of(lab_yaml, "python3 - core-pipeline.json") - 1
    check = line_of(lab_yaml, "--select 'COUNT") - 1
    scan = line_of(lab_yaml, "'COUNT --region {{ secondary_region }}") - 1
    # bash's own words after "rendered: " vary a little between versions.
    said = [line.split(" once rendered: ") for line in lines]
    assert [where for where, _ in said] == [
        f"{lab_yaml}:{check}: the command of check 'prereq.table_seeded' is not valid bash",
        f"{lab_yaml}:{scan}: commands[0] of 'Confirm the data arrived' is not valid bash",
        f"{lab_yaml}:{edit}: stand_in[0] of 'Edit core-pipeline.json and like-pipeline.json' is "
        "not valid bash",
    ]
    assert "unexpected EOF while looking for matching `''" in said[0][1]
    assert "unexpected EOF while looking for matching `''" in said[1][1]
    assert "here-document at line 1 delimited by end-of-file (wanted `EOF')" in said[2][1]


@pytest.mark.parametrize(
    ("old", "new", "at", "message"),
    [
        (
            "          where: browser\n          same_as:\n"
            "            - Or check it from a terminal\n",
            "          where: browser\n",
            "- title: Open the secondary site in a browser",
            "steps[5].manual.actions[0]: a browser action needs exactly one of stand_in "
            "(commands that do what it describes) or same_as (titles of this step's actions "
            "that do it from a terminal)",
        ),
        (
            "            - Or check it from a terminal\n",
            "            - Or check it in a terminal\n",
            "Load the secondary site in a browser or with curl",
            "steps[5].manual: 'Open the secondary site in a browser': same_as names 'Or check it "
            "in a terminal', which is not an action of this step with commands or a stand_in "
            "(those are: Or check it from a terminal)",
        ),
        (
            "        - title: Or check it from a terminal\n          where: terminal\n",
            "        - title: Or check it from a terminal\n          where: terminal\n"
            "          stand_in: [curl]\n",
            "- title: Or check it from a terminal",
            "steps[5].manual.actions[1]: a terminal action's commands are what runs: stand_in "
            "and same_as are for console, editor and browser actions",
        ),
    ],
    ids=["browser-says-nothing", "same-as-unknown-title", "terminal-with-stand-in"],
)
def test_each_action_says_what_a_shell_runs(
    lab_copy: Path, old: str, new: str, at: str, message: str
) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, old, new)
    code, lines = lint(lab_yaml)
    assert code == 2
    # A list's problem is reported on the line that opens it (`manual:` is two lines above its
    # summary's first line).
    line = line_of(lab_yaml, at) - (2 if at.startswith("Load") else 0)
    assert lines == [f"{lab_yaml}:{line}: {message}"]
