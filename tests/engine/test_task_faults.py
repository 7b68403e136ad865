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
