"""The guide's sandbox outlives the guide (newcomer walkthrough, issue 16): it runs as a
process of its own on the state folder, shared by two guides started at once, reused by the
next guide and by `mmtui check`, and ended by `mmtui sandbox stop`."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmtui.target.connect import connect
from mmtui.target.detached import holder, ready_env, stop
from mmtui.target.spec import TargetSpec
from tests.conftest import caller_account, invoke


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A state folder whose detached sandbox, if a test started one, is stopped after it."""
    state = tmp_path / "state" / "sandbox"
    try:
        yield state
    finally:
        stop(state)


def test_two_guides_share_one_sandbox_that_outlives_them_until_stopped(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = TargetSpec("sandbox", "us-west-2", "us-east-1", sandbox_dir=folder)
    endpoints: list[str] = []
    errors: list[BaseException] = []

    def guide() -> None:  # what a guide does as it starts: connect, detaching its sandbox
        try:
            with connect(spec, detach=True) as connection:
                assert connection.sandbox is None  # not inside this process
                endpoints.append(str(connection.endpoint_url))
        except BaseException as exc:  # noqa: BLE001  (told by the assert below)
            errors.append(exc)

    guides = [threading.Thread(target=guide) for _ in range(2)]
    for thread in guides:
        thread.start()
    for thread in guides:
        thread.join(timeout=300)
    assert not errors, errors
    assert len(endpoints) == 2 and endpoints[0] == endpoints[1], endpoints

    # Both guides are gone; the sandbox still answers a terminal that sourced its sandbox.env.
    pid = holder(folder)
    assert pid and pid != os.getpid()
    env = ready_env(folder)
    assert env is not None and env["AWS_ENDPOINT_URL"] == endpoints[0]
    account = caller_account(env)

    # The next guide and `mmtui check` use it (no second sandbox on the folder).
    with connect(spec, detach=True) as connection:
        assert connection.endpoint_url == endpoints[0]
    assert holder(folder) == pid
    monkeypatch.setenv("MMTUI_STATE_DIR", str(folder.parent))
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    checked = invoke("target")
    assert checked.code == 0, checked.stderr
    assert f"endpoint:          {endpoints[0]}" in checked.stdout
    assert f"account:           {account}" in checked.stdout

    # `mmtui sandbox stop` ends it, saving its state; a second stop has nothing to do.
    stopped = invoke("sandbox", "stop", "--dir", str(folder))
    assert stopped.code == 0, stopped.stderr
    assert f"stopped the sandbox on {folder.resolve()} (process {pid})" in stopped.stdout
    assert holder(folder) is None
    assert (folder / "state.pickle").is_file()
    again = invoke("sandbox", "stop", "--dir", str(folder))
    assert again.code == 0 and "no sandbox is running" in again.stdout


def test_a_sandbox_begun_early_is_the_one_the_guide_connects_to(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mmtui` begins its sandbox before its own imports (detached.begin); the guide's
    connection then waits for that one instead of starting another."""
    from mmtui.target import detached

    spawned: list[int] = []
    real_spawn = detached._spawn

    def counted(*args: str | Path) -> tuple[object, Path, int]:
        begun = real_spawn(*args)  # type: ignore[arg-type]
        spawned.append(begun[0].pid)
        return begun

    monkeypatch.setattr(detached, "_spawn", counted)
    detached.begin(folder, "us-west-2", "us-east-1")
    detached.begin(folder, "us-west-2", "us-east-1")  # begun already: nothing more
    assert len(spawned) == 1
    spec = TargetSpec("sandbox", "us-west-2", "us-east-1", sandbox_dir=folder)
    with connect(spec, detach=True) as connection:
        assert connection.sandbox is None
        assert holder(folder) == spawned[0]
    detached.begin(folder, "us-west-2", "us-east-1")  # one runs there: nothing more
    assert spawned == [holder(folder)]
