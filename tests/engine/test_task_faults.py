"""A solve that meets a failing AWS part-way (issue 15): it stops in one line saying what it
had done and what it had not started, exit 4; the next run continues from what AWS shows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmtui.sandbox.core.realism import Fault, Realism, Scope
from mmtui.sandbox.core.server import Sandbox
from tests.conftest import cli_target, invoke


def test_step5_stopped_by_a_failing_dashboard_then_finished(
    sandbox: Sandbox,
    lab_solved: Callable[..., Sandbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab_solved("1")
    target = cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE")
    failing = Realism(faults=[Fault("503", 1.0, Scope("monitoring", "PutDashboard"))])
    with sandbox.simulating(failing):
        stopped = invoke("solve", *target, "--step", "5")
    assert stopped.code == 4, stopped.stdout + stopped.stderr
    message = stopped.stderr.strip().splitlines()[-1]
    assert "ServiceUnavailable" in message
    assert "Done before it: " in message and "like-service-errors-faults" in message
    assert message.endswith("Run it again: it continues from what AWS shows.")
    assert "Traceback" not in stopped.stderr

    again = invoke("solve", *target, "--step", "5")
    assert again.code == 0, again.stdout + again.stderr
    checked = invoke("check", *target, "--step", "5")
    assert checked.code == 0, checked.stdout


def test_a_stop_that_needs_the_user_first_says_so() -> None:
    """A refusal (exit 2) or a denied call (exit 3) is fixed before a rerun; an AWS error is
    not: each stop says which, with what was done and what was not started."""
    from mmtui.engine.tasks import Action, run_actions
    from mmtui.exitcodes import ExitCode, MmtuiError

    def refused() -> str:
        raise MmtuiError("the clone has changes you have not committed", ExitCode.USAGE)

    actions = [
        Action("us-west-2", "group g", "create", lambda: "created the group g"),
        Action("us-west-2", "clone c", "commit", refused),
        Action("us-west-2", "pipeline p", "wait for"),
    ]
    with pytest.raises(MmtuiError) as raised:
        run_actions(actions, lambda _line: None)
    assert raised.value.exit_code == ExitCode.USAGE
    assert str(raised.value) == (
        "the clone has changes you have not committed. Done before it: created the group g. "
        "Not started: wait for pipeline p (us-west-2). Once that is fixed, run it again: it "
        "continues from what AWS shows."
    )
