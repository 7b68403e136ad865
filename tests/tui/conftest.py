"""The guide under Pilot, on the session sandbox reached as an endpoint."""

from __future__ import annotations

import contextlib

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

import mmtui.labs
from mmtui.guide import Guide
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.spec import TargetFlags, TargetSpec, resolve_target
from mmtui.tui.app import MmtuiApp
from tests.conftest import cli_target

FROZEN = 1_800_000_000.0


async def settle(pilot: Pilot[int]) -> None:
    """Wait until no worker runs (a finished worker may start the next one via a message)."""
    quiet = 0
    for _ in range(100):
        # The app shows worker errors itself; an exclusive worker replaced by a newer one (the
        # form read again while a read runs) is cancelled by design.
        with contextlib.suppress(WorkerFailed, WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        # Twice in a row: a worker started by a message during the pause may already have
        # finished, its result still a message in the queue, which the next pause handles.
        quiet = quiet + 1 if not any(w.is_running for w in pilot.app.workers) else 0
        if quiet == 2:
            return
    raise AssertionError("workers kept running")


class MaskedGuide(Guide):
    """The sandbox's port changes from run to run; snapshots show a fixed stand-in."""

    def target_line(self) -> str:
        return super().target_line().replace(str(self.spec.endpoint_url), "http://sandbox")


@pytest.fixture
def spec(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> TargetSpec:
    cli_target(sandbox, monkeypatch, "MMTUI_RESOLVE_FILE")
    flags = TargetFlags(endpoint_url=sandbox.url, workspace=sandbox.env()["MMTUI_WORKSPACE"])
    return resolve_target(flags, env={})


@pytest.fixture
def app(spec: TargetSpec) -> MmtuiApp:
    """The guide with a frozen clock and no timed re-checks (tests press r or wait on work)."""
    lab, content = mmtui.labs.load("3")
    guide = MaskedGuide(spec, content, lab, clock=lambda: FROZEN)
    return MmtuiApp(spec, content, guide=guide, refresh_seconds=0, lab_loader=mmtui.labs.load)
