"""The sandbox's state when its folder cannot be written (red-team S9, S10): said at once while
running, said again when saving works again, and at stop a one-line message with what was not
saved and where it went instead; never a leaked temporary file.

The tests may run as root, for whom `chmod` changes nothing: the state file is replaced by a
directory instead, which nobody can replace with a file."""

from __future__ import annotations

import errno
import queue
import signal
import threading
import time
from pathlib import Path

import pytest

from mmtui.files import write_atomically
from mmtui.sandbox.core.server import STATE_FILE, Sandbox, SandboxOptions
from tests.sandbox.test_sandbox_command import _client, running_sandbox


class _Lines:
    """The sandbox's stderr, line by line, read on a thread (a pipe's buffer defeats select)."""

    def __init__(self, stream: object) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []

        def pump() -> None:
            for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
                self._queue.put(line.rstrip("\n"))
            self._queue.put(None)

        self._thread = threading.Thread(target=pump, daemon=True)
        self._thread.start()

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} on stderr; got {self.seen!r}")

    def rest(self) -> list[str]:
        self._thread.join(timeout=30)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.seen.append(line)
        return self.seen


def _leftovers(state_dir: Path) -> list[str]:
    return sorted(path.name for path in state_dir.glob(f".{STATE_FILE}.*.tmp"))


def test_a_state_folder_that_cannot_be_written_is_said_while_running_and_at_stop(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    with running_sandbox("--dir", str(state_dir)) as running:
        assert running.process.stderr is not None
        stderr = _Lines(running.process.stderr)
        dynamodb = _client("dynamodb", running.env(state_dir))
        state = state_dir / STATE_FILE
        state.unlink()
        state.mkdir()  # the state file can no longer be replaced
        dynamodb.create_table(
            TableName="rt-after-ro",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        warning = stderr.wait_for("cannot save the sandbox state")
        assert warning.startswith(f"warning: cannot save the sandbox state in {state_dir} (")
        assert "kept in memory only" in warning
        assert _leftovers(state_dir) == []

        state.rmdir()  # the folder recovers: the next autosave writes everything
        stderr.wait_for("the sandbox state is saved again")
        assert sum("warning: cannot save" in line for line in stderr.seen) == 1, stderr.seen
        assert state.is_file()

        state.unlink()
        state.mkdir()
        dynamodb.create_table(
            TableName="rt-at-stop",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(timeout=30)
        lines = stderr.rest()
    assert running.process.returncode == 2
    # The second failure may be told by an autosave before the stop, once.
    assert sum("warning: cannot save" in line for line in lines) <= 2, lines
    final = lines[-1]
    assert "Traceback" not in "\n".join(lines)
    assert "internal error" not in final
    assert final.startswith(f"mmtui: {state_dir}: cannot save the sandbox state (")
    assert "were written to " in final
    rescue = Path(final.split("were written to ", 1)[1].split(" instead", 1)[0])
    assert rescue.is_file()
    assert _leftovers(state_dir) == []

    # Nothing lost: the rescued state, put back, holds the change made after the failure.
    state.rmdir()
    rescue.replace(state)
    with running_sandbox("--dir", str(state_dir)) as again:
        tables = _client("dynamodb", again.env(state_dir)).list_tables()["TableNames"]
        again.process.send_signal(signal.SIGTERM)
        again.process.wait(timeout=30)
    assert {"rt-after-ro", "rt-at-stop"} <= set(tables)


def test_autosave_tells_each_kind_of_failure_once_and_the_recovery(tmp_path: Path) -> None:
    """The autosave loop alone, on a Sandbox that is never started (one per process)."""
    told: list[str] = []
    sandbox = Sandbox(SandboxOptions(state_dir=tmp_path), tell=told.append)
    sandbox.state_dir = tmp_path
    outcomes: list[OSError | None] = [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.ENOSPC, "No space left on device"),
        None,
        None,
        OSError(errno.EACCES, "Permission denied"),
        OSError(errno.EACCES, "Permission denied"),
    ]

    def save() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    def wait(_seconds: float) -> bool:  # True: stopping (every outcome was played)
        sandbox._dirty.set()
        return not outcomes

    sandbox.save = save  # type: ignore[method-assign]
    sandbox._stopping.wait = wait  # type: ignore[method-assign]
    sandbox._autosave_loop()
    assert len(told) == 3, told
    assert told[0].startswith(f"cannot save the sandbox state in {tmp_path} (No space left")
    assert told[1] == f"the sandbox state is saved again in {tmp_path}"
    assert told[2].startswith(f"cannot save the sandbox state in {tmp_path} (Permission denied")


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_write_atomically_removes_its_temporary_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "state.pickle"
    target.write_bytes(b"before")

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(f"mmtui.files.os.{failing}", full)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, b"after" * 1000, 0o600)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["state.pickle"]
    assert target.read_bytes() == b"before"
