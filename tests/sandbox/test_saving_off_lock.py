"""A save does not stall the sandbox's calls while it pickles (issue 15): the state is pickled
by a forked copy of the process, the sandbox lock held only to gather it; the state written is
the one of that instant; where the copy would share a file with the sandbox (an S3 object too
large for moto's memory buffer), the pickling stays under the lock. The refs of the
repositories, read from their files for each save, are those git lists."""

from __future__ import annotations

import os
import pickle
import select
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.core import forked_save
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.server import STATE_FILE, Sandbox

needs_fork = pytest.mark.skipif(not forked_save.available(), reason="saves fork on Linux only")


class _Opened:
    """What a _Gate becomes once pickled."""


def _opened() -> _Opened:
    return _Opened()


class _Gate:
    """Part of a state whose pickling waits until the test lets it go (a byte on a pipe), and
    records whether the sandbox lock was held by the thread pickling it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.reached, self.tell_reached = os.pipe()
        self.gate, self.release = os.pipe()
        self.locked_in_process: list[bool] = []

    def wait_reached(self) -> None:
        ready, _, _ = select.select([self.reached], [], [], 60)
        assert ready, "the state was never pickled"
        os.read(self.reached, 1)

    def open(self) -> None:
        os.write(self.release, b"x")

    def __reduce__(self) -> tuple[Any, ...]:
        # In a forked child this list is the child's copy: the parent sees it stay empty.
        self.locked_in_process.append(self.sandbox.lock._is_owned())  # type: ignore[attr-defined]
        os.write(self.tell_reached, b"x")
        os.read(self.gate, 1)
        return (_opened, ())


class _GatedExtension(Extension):
    name = "test-gate"

    def __init__(self, gate: _Gate) -> None:
        self.gate = gate

    def get_state(self) -> Any:
        return self.gate


def _gated(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> _Gate:
    gate = _Gate(sandbox)
    monkeypatch.setattr(sandbox, "extensions", [*sandbox.extensions, _GatedExtension(gate)])
    return gate


def _saving(sandbox: Sandbox) -> tuple[threading.Thread, list[BaseException]]:
    failures: list[BaseException] = []

    def save() -> None:
        try:
            sandbox.save()
        except BaseException as exc:  # noqa: BLE001  (the test reads it)
            failures.append(exc)

    thread = threading.Thread(target=save, daemon=True)
    thread.start()
    return thread, failures


def _saved_state(sandbox: Sandbox) -> dict[str, Any]:
    saved: dict[str, Any] = pickle.loads((sandbox.state_dir / STATE_FILE).read_bytes())  # noqa: S301
    return saved


@needs_fork
def test_calls_are_answered_while_a_save_pickles_the_state(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _gated(sandbox, monkeypatch)
    before = (sandbox.state_dir / STATE_FILE).stat().st_mtime_ns
    thread, failures = _saving(sandbox)
    try:
        gate.wait_reached()
        # The pickling is held at the gate; the lock is free, and a call is answered.
        took = sandbox.lock.acquire(timeout=30)
        assert took, "the sandbox lock stayed held while the state was pickled"
        sandbox.lock.release()
        buckets = sandbox.client("s3").list_buckets()["Buckets"]
        assert buckets
        assert thread.is_alive(), "the save did not wait for its pickling"
    finally:
        gate.open()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert failures == []
    assert gate.locked_in_process == []  # pickled in the child, never in this process
    assert (sandbox.state_dir / STATE_FILE).stat().st_mtime_ns != before
    assert isinstance(_saved_state(sandbox)["extensions"]["test-gate"], _Opened)


@needs_fork
def test_a_save_writes_the_state_of_the_instant_it_began(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changes answered while the child pickles are not in its file (and are saved next)."""
    sqs = sandbox.client("sqs")
    sqs.create_queue(QueueName="before-the-save")
    gate = _gated(sandbox, monkeypatch)
    thread, failures = _saving(sandbox)
    try:
        gate.wait_reached()  # the child pickles: its copy of the state is made
        sqs.create_queue(QueueName="during-the-save")
    finally:
        gate.open()
        thread.join(timeout=60)
    assert failures == []
    names = {
        queue.name
        for regions in _saved_state(sandbox)["backends"]["moto.sqs.models:sqs_backends"].values()
        for backend in regions.values()
        for queue in backend.queues.values()
    }
    assert "before-the-save" in names
    assert "during-the-save" not in names


def test_the_state_is_pickled_under_the_lock_while_moto_keeps_an_object_on_disk(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child would share the temporary file's offset with the sandbox's own reads."""
    s3 = sandbox.client("s3")
    s3.create_bucket(
        Bucket="mmtui-large-object",
        CreateBucketConfiguration={"LocationConstraint": sandbox.options.primary_region},
    )
    large = os.urandom(6 * 1024 * 1024)  # over moto's 5 MiB buffer
    s3.put_object(Bucket="mmtui-large-object", Key="large", Body=large)
    with sandbox.lock:
        assert forked_save.shared_files()
    gate = _gated(sandbox, monkeypatch)
    gate.open()  # nothing to wait for: pickled here
    sandbox.save()
    assert gate.locked_in_process == [True]
    assert s3.get_object(Bucket="mmtui-large-object", Key="large")["Body"].read() == large


def test_a_failed_write_is_raised_with_its_reason(sandbox: Sandbox) -> None:
    path = sandbox.state_dir / STATE_FILE
    path.unlink()
    path.mkdir()  # cannot be replaced by a file, even as root
    try:
        with pytest.raises(OSError) as raised:
            sandbox.save()
        assert raised.value.strerror == "Is a directory"
        assert sandbox._dirty.is_set()  # noqa: SLF001  (the next autosave tries again)
    finally:
        path.rmdir()
    sandbox.save()
    assert path.is_file()


@needs_fork
def test_a_state_that_cannot_be_pickled_is_raised_and_the_saved_file_kept(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Unpicklable(Extension):
        name = "test-unpicklable"

        def get_state(self) -> Any:
            return lambda: None  # a lambda does not pickle

    path = sandbox.state_dir / STATE_FILE
    sandbox.save()
    before = path.read_bytes()
    monkeypatch.setattr(sandbox, "extensions", [*sandbox.extensions, Unpicklable()])
    with pytest.raises(RuntimeError, match="the sandbox state could not be saved: .*lambda"):
        sandbox.save()
    assert path.read_bytes() == before
    assert sandbox._dirty.is_set()  # noqa: SLF001  (the next autosave tries again)
    assert _leftovers(sandbox) == []


def _leftovers(sandbox: Sandbox) -> list[str]:
    return sorted(p.name for p in sandbox.state_dir.glob(f".{STATE_FILE}.*.tmp"))


def _git(folder: Path, *args: str) -> str:
    env = {
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.environ["PATH"],
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, env=env, check=True, timeout=60
    )
    return done.stdout.decode()


def test_refs_read_from_the_files_are_those_git_lists(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "master")
    _git(work, "commit", "-q", "--allow-empty", "-m", "one")
    _git(work, "tag", "-a", "v1", "-m", "annotated")
    _git(work, "branch", "packed")
    _git(work, "pack-refs", "--all")  # these three now live in packed-refs only
    _git(work, "commit", "-q", "--allow-empty", "-m", "two")  # master: loose, over packed
    _git(work, "branch", "loose")
    _git(work, "symbolic-ref", "refs/heads/alias", "refs/heads/loose")
    listed = _git(work, "for-each-ref", "--format=%(refname) %(objectname)")
    expected = dict(line.split(" ", 1) for line in listed.splitlines())
    assert len(expected) == 5
    assert git_store._read_refs(work / ".git") == expected  # noqa: SLF001
