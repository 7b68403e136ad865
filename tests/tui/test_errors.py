"""Worker errors as notices: code, message and what to try; never a traceback."""

from __future__ import annotations

import git
import pytest
from botocore.exceptions import ClientError

from mmtui.exitcodes import MmtuiError
from mmtui.tui.errors import explain


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "UpdateTable")


def test_an_aws_error_names_its_code_and_what_to_try() -> None:
    title, text = explain("Task", client_error("AccessDeniedException", "not allowed"))
    assert title == "Task failed: AccessDeniedException"
    assert text.startswith("not allowed — ") and "permission" in text


def test_an_unknown_aws_error_still_says_what_to_try() -> None:
    title, text = explain("Task", client_error("LimitExceededException", "too many"))
    assert title.endswith("LimitExceededException") and "press r" in text


def test_mmtui_errors_are_shown_as_written() -> None:
    assert explain("Task", MmtuiError("do step 1 first")) == ("Task failed", "do step 1 first")


def test_git_errors_show_git_s_own_words() -> None:
    error = git.GitCommandError(["git", "push"], 128, stderr="fatal: could not read from remote")
    title, text = explain("Task", error)
    assert title == "Task failed: git" and "could not read from remote" in text


def test_anything_else_is_one_line_with_its_type() -> None:
    assert explain("Checking", ValueError("boom")) == ("Checking failed", "ValueError: boom")
    assert explain("Checking", None)[1] == "it stopped without saying why"


def test_an_aws_error_stopping_a_solve_keeps_its_code_and_what_to_try() -> None:
    from mmtui.engine.tasks import Action, run_actions

    def busy() -> str:
        raise client_error("ResourceInUseException", "the table is being updated")

    with pytest.raises(MmtuiError) as raised:
        run_actions([Action("us-west-2", "table t", "enable stream", busy)], print)
    title, text = explain("Task", raised.value)
    assert title == "Task failed: ResourceInUseException"
    assert text.startswith("enable stream table t (us-west-2) failed: ResourceInUseException")
    assert text.endswith("wait and try again")
