"""Folding code to a width (mmtui.content.fold): what is shown still means what was written.

A shell fold is judged by bash itself: `declare -f` prints a function's body as bash parsed
it, so the original and the folded command must print the same body. YAML and JSON must load
to the same value. Every command of every lab is folded at the widths a terminal gives.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import mmtui.labs
from mmtui.content.fold import MARK, fold, soft_wrap, unwrap
from mmtui.content.prose import reflow

BASH = shutil.which("bash") or "/bin/bash"
WIDTHS = [24, 40, 56, 68, 100]

LONG = [
    "aws cloudformation deploy --stack-name mm-secondary-region --template-file "
    "cfn/core-secondary.yml --capabilities CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND "
    "--parameter-overrides IsSecondary=true --region us-east-1",
    'until [ "$(aws dynamodb describe-table --table-name mm-ddbtable --region us-west-2 '
    "--query \"Table.Replicas[?RegionName=='us-east-1'].ReplicaStatus\" --output text | "
    'tee /dev/stderr)" = ACTIVE ]; do sleep 5; done',
    'cd "${MMTUI_WORKSPACE:-$HOME/environment}/core-service-mm-multi-region-MythicalCiCdStack'
    '-0GXF1SGIV5X41" && git add buildspec_prod.yml && git commit -m "Push to both regions" '
    "&& git push origin master",
    "aws cloudformation describe-stack-events --stack-name mm-secondary-region --max-items 15 "
    "--query 'StackEvents[].[Timestamp,LogicalResourceId,ResourceStatusReasonThatIsLonger]' "
    "--output table  # a trailing comment, long enough to be folded as well",
    "aws a\\ b 'it''s' \"$(printf '%s' \"x y\")\" `echo z` ${HOME:-/root}/x | grep -v zzz",
]


STUBS = (
    # Every command prints its arguments instead of running: PATH leads nowhere, so each is
    # "not found" and lands in the handler; the builtins that would act (cd) or decide a
    # loop (test, [) are turned off so they land there too.
    'command_not_found_handle() { printf "<%s>" "$@"; echo; }\nenable -n cd test [\n'
)


def parsed(command: str) -> str:
    """What the command does when every command it runs only prints its arguments: the words
    bash made of it (continuations joined, quotes and expansions applied), as printed and as
    written to the files it redirects to."""
    with tempfile.TemporaryDirectory(prefix="fold-") as workdir:
        (Path(workdir) / "cfn").mkdir()  # the labs' commands write there
        result = subprocess.run(
            [BASH, "-c", STUBS + command],
            capture_output=True,
            text=True,
            timeout=10,
            env={"PATH": "/nonexistent", "HOME": "/home/attendee"},
            cwd=workdir,
        )
        written = [
            f"{path.relative_to(workdir)}: {path.read_text()}"
            for path in sorted(Path(workdir).rglob("*"))
            if path.is_file()
        ]
    assert result.stdout or written, (command, result.stderr)
    return result.stdout + "".join(written)


def lab_commands() -> Iterator[str]:
    for lab_id in ("3", "4", "5"):
        _, content = mmtui.labs.load(lab_id)
        for step in content.lab.steps:
            for action in step.manual.actions:
                yield from action.commands
                yield from action.stand_in


@pytest.mark.parametrize("command", LONG)
def test_a_folded_command_is_the_same_command_to_bash(command: str) -> None:
    before = parsed(command)
    for width in WIDTHS:
        folded = fold(command, "sh", width)
        assert all(len(line) <= width for line in folded.split("\n")), folded
        assert MARK not in folded  # a real fold, not a marked soft wrap
        assert parsed(folded) == before, folded


def test_every_lab_command_folds_whole_and_unchanged() -> None:
    commands = sorted(set(lab_commands()))
    assert len(commands) > 20  # the labs' by-hand commands, templates and all
    for command in commands:
        for width in (40, 68):
            folded = fold(command, "sh", width)
            assert all(len(line) <= width for line in folded.split("\n")), folded
            if "<<" in command:  # a here-document: shown whole, its wrapped lines marked
                assert unwrap(folded) == command
                continue
            assert MARK not in folded, folded
            assert parsed(folded) == parsed(command), folded


def test_options_stay_with_their_values() -> None:
    folded = fold(LONG[0], "sh", 56)
    assert folded.split("\n") == [
        "aws cloudformation deploy \\",
        "    --stack-name mm-secondary-region \\",
        "    --template-file cfn/core-secondary.yml \\",
        "    --capabilities CAPABILITY_NAMED_IAM \\",
        "    CAPABILITY_AUTO_EXPAND \\",
        "    --parameter-overrides IsSecondary=true \\",
        "    --region us-east-1",
    ]


def test_a_word_longer_than_the_line_breaks_where_bash_joins_it() -> None:
    folded = fold(
        "aws s3 ls 's3://a-very-long-bucket-name-that-does-not-fit/in/one/line'", "sh", 30
    )
    assert "'\\\n'" in folded  # the single quote closed before the break, reopened after
    assert parsed(folded) == parsed(
        "aws s3 ls 's3://a-very-long-bucket-name-that-does-not-fit/in/one/line'"
    )


def test_short_code_and_here_documents_are_left_as_they_are() -> None:
    assert fold("aws sts get-caller-identity", "sh", 40) == "aws sts get-caller-identity"
    heredoc = "cat <<EOF > x\n" + "a " * 40 + "\nEOF"
    folded = fold(heredoc, "sh", 30)
    assert MARK in folded  # marked as a soft wrap: a here-document's body is not shell


BUILDSPEC = "\n".join(
    [
        "# post_build: after the primary push and its image definitions file",
        "- SECONDARY_CORE_REPO_URI=123456789012.dkr.ecr.us-east-1.amazonaws.com/"
        "mm-secondary-region-core-service",
        "- docker tag core-service:$CODEBUILD_RESOLVED_SOURCE_VERSION "
        "$SECONDARY_CORE_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION",
        """- printf '[{"name":"service","imageUri":"%s"}]' """
        "$SECONDARY_CORE_REPO_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION > "
        "imagedefinitions_secondary.json",
    ]
)


def test_yaml_folds_to_the_same_document_and_marks_what_cannot_fold() -> None:
    folded = fold(BUILDSPEC, "yaml", 60)
    lines = folded.split("\n")
    assert all(len(line) <= 60 for line in lines), folded
    # The URI has no space to fold at: shown whole, its continuation marked (the walkthrough
    # saw it cut where it looked complete); without the marks, the same document.
    assert "\n" + MARK + "zonaws.com/mm-secondary-region-core-service\n" in folded
    assert yaml.safe_load(unwrap(folded)) == yaml.safe_load(BUILDSPEC)
    assert "imagedefinitions_secondary.json" in folded


def test_a_soft_wrap_is_marked_and_joins_back_exactly() -> None:
    text = "x" * 50 + " two words " + "y" * 30
    wrapped = soft_wrap(text, 24)
    assert all(len(line) <= 24 for line in wrapped.split("\n"))
    assert all(line.startswith(MARK) for line in wrapped.split("\n")[1:])
    assert unwrap(wrapped) == text


def test_json_folds_between_values() -> None:
    text = json.dumps({"stage": {"name": "CrossRegionDeploy", "actions": ["a" * 20, "b" * 20]}})
    folded = fold(text, "json", 40)
    assert all(len(line) <= 40 for line in folded.split("\n"))
    assert json.loads(folded) == json.loads(text)


def test_prose_is_reflowed_into_paragraphs_and_items() -> None:
    text = "mmtui deploys the\ntemplate, then waits.\n\nIt says:\n- one\n  thing\n- two\n"
    assert reflow(text) == "mmtui deploys the template, then waits.\n\nIt says:\n- one thing\n- two"
