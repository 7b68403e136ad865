"""Saved progress: per target, atomic, and a damaged file is set aside, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmtui.progress import Progress, ProgressStore, target_key


def test_progress_round_trips_per_target(tmp_path: Path) -> None:
    key = target_key("123456789012", "us-west-2", "us-east-1")
    store = ProgressStore("3", key, tmp_path)
    progress = store.load()
    assert progress == Progress("3", key)
    progress.step("data-tier").hints = 2
    progress.step("data-tier").path = "manual"
    progress.current_step = "data-tier"
    store.save(progress)
    assert store.path == tmp_path / "progress" / "lab-3" / f"{key}.json"
    assert ProgressStore("3", key, tmp_path).load() == progress
    other = ProgressStore("3", target_key("123456789012", "eu-west-1", "us-east-1"), tmp_path)
    assert other.load().steps == {}  # another pair of regions is another lab run
    assert not list(store.path.parent.glob(".*.tmp"))  # the atomic write left nothing behind


@pytest.mark.parametrize(
    "text",
    [
        "{ not json",
        json.dumps({"format": 99, "lab": "3", "target": "t", "steps": {}}),
        json.dumps({"format": 1, "lab": "3", "target": "t", "steps": {"x": {"hints": -1}}}),
        json.dumps({"format": 1, "lab": "3", "target": "t", "steps": {"x": {"colour": 1}}}),
        json.dumps({"format": 1, "lab": "4", "target": "t", "steps": {}}),
        # Nested so deep that json's decoder gives up with RecursionError (red-team P2).
        "[" * 200000 + "]" * 200000,
        json.dumps([{"format": 1, "lab": "3", "target": "t"}]),
        json.dumps("just text"),
        json.dumps({"format": 1, "lab": "3", "target": "t", "steps": ["x"]}),
        json.dumps({"format": 1, "lab": "3", "target": "t", "steps": {"x": {"status": 5}}}),
        json.dumps({"format": 1, "lab": "3", "target": "t", "steps": {"x": {"hints": True}}}),
        json.dumps({"format": 1, "lab": "3", "target": "t", "steps": {"x": {"passed_at": "x"}}}),
    ],
    ids=[
        "syntax",
        "version",
        "bad-hints",
        "unknown-key",
        "other-lab",
        "nested-200000-deep",
        "list-at-top",
        "string-at-top",
        "steps-not-an-object",
        "status-not-text",
        "hints-a-boolean",
        "passed-at-not-a-time",
    ],
)
def test_a_damaged_file_is_set_aside_with_a_message(tmp_path: Path, text: str) -> None:
    store = ProgressStore("3", "t", tmp_path)
    store.path.parent.mkdir(parents=True)
    store.path.write_text(text, encoding="utf-8")
    assert store.load() == Progress("3", "t")
    assert store.notice is not None and "could not be read" in store.notice
    aside = list(store.path.parent.glob("t.damaged-*.json"))
    assert [p.read_text(encoding="utf-8") for p in aside] == [text]
    assert not store.path.exists()
    store.save(store.load())  # and the guide goes on saving
    assert store.path.exists()


def test_a_target_key_cannot_escape_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="target key"):
        ProgressStore("3", "../../etc", tmp_path)
