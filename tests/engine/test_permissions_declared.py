"""Each check and task declares the IAM actions it needs, and the declaration cannot drift from
the code: the lab is walked on the sandbox (every check at baseline and after each step, every
step solved, solved again, then reset), every AWS call each unit makes is recorded from the
clients it was given (a botocore event hook, in tests only) and from git's requests to the
sandbox, and each unit's recorded actions must equal its declaration.

Equal, not merely covered: an action declared but never called would be a privilege the
policy grants for nothing. The few calls on paths the walk does not take (errors, a stack
being updated) are listed in UNEXERCISED with the reason.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import mmtui.labs
from mmtui.engine.checks import run_one
from mmtui.engine.context import CheckContext
from mmtui.engine.permissions import NEEDS_NO_PERMISSION, client_action, git_action
from mmtui.engine.tasks import TaskContext, run_actions, step_actions
from mmtui.labs.lab3.inventory import take_inventory
from mmtui.labs.lab3.steps import FORMS, open_form
from mmtui.sandbox.core.server import Sandbox
from mmtui.target.clients import ClientFactory
from mmtui.target.connect import Connection
from mmtui.target.spec import TargetFlags, resolve_target
from tests.conftest import _restore, _tunables_kept

LAB, CONTENT = mmtui.labs.load("3")
CHECKS, TASKS, PERMISSIONS = LAB.checks, LAB.tasks, LAB.permissions
LAB_CHECKS = [check.name for check in CONTENT.lab.every_check()]
LAB_TASKS = [
    name
    for step in CONTENT.lab.steps
    for name in (step.automated.solve, step.automated.reset)
    if name is not None
]

GUIDE = "the guide"
UNEXERCISED: dict[str, set[str]] = {
    # A stack's events are read to explain a failed or deleting stack; the walk's stacks
    # deploy and are deleted (waited for) without failing.
    "prereq.primary_stack": {"cloudformation:DescribeStackEvents"},
    "infrastructure.stack_complete": {"cloudformation:DescribeStackEvents"},
    # The walk's workspace has both clones and nobody else pushes: no clone, no fetch. A run
    # is started only for a buildspec pushed before step 3 added the cross-region stage
    # (solved out of order); the walk solves the steps in order.
    "build_artifacts.solve": {"codecommit:GitPull", "codepipeline:StartPipelineExecution"},
    "build_artifacts.reset": {"codecommit:GitPull"},
    # A failed pipeline run is explained from its state and its build's log; the walk's
    # pipeline runs succeed.
    **{
        name: {"codepipeline:GetPipelineState", "codebuild:BatchGetBuilds", "logs:GetLogEvents"}
        for name in ("prereq.pipelines_succeeded", "build_artifacts.pipelines_succeeded")
    },
    # A group left with another filter expression is updated; the walk never leaves one.
    "dashboard.solve": {"xray:UpdateGroup"},
    # DeleteObjects is recorded as s3:DeleteObject; for the versions it lists (the artifact
    # bucket is versioned on AWS) S3 authorises each as s3:DeleteObjectVersion.
    "pipeline.reset": {"s3:DeleteObjectVersion"},
}
"""Unit → declared actions of paths the walk does not take, each with its reason. The
checkpoint's solve runs with every step done (it only looks); its declaration is the union of
steps 1-4's solves, each proven on its own (test_the_checkpoint_solve_declares_the_steps)."""


class Recorder:
    """The IAM actions of the calls made while a unit runs, by unit."""

    def __init__(self) -> None:
        self.unit: str | None = None
        self.seen: dict[str, set[str]] = defaultdict(set)
        self._lock = threading.Lock()

    def note(self, action: str) -> None:
        with self._lock:
            if self.unit is not None:
                self.seen[self.unit].add(action)

    @contextmanager
    def running(self, unit: str) -> Iterator[None]:
        self.unit = unit
        self.seen.setdefault(unit, set())
        try:
            yield
        finally:
            self.unit = None


def recording_clients(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client mmtui makes reports each call it sends (once per client)."""
    original = ClientFactory.client

    def client(self: ClientFactory, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)

        def seen(model: Any, **_: Any) -> None:
            recorder.note(client_action(made, model.name))

        made.meta.events.register("before-call.*.*", seen, unique_id="tests-recorder")
        return made

    monkeypatch.setattr(ClientFactory, "client", client)


def recording_git(sandbox: Sandbox, recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    """git's clones, fetches and pushes to the sandbox's CodeCommit, as IAM actions."""
    git = next(e for e in sandbox.extensions if e.name == "git_repos")
    serve_raw = git.serve_raw  # type: ignore[attr-defined]

    def watched(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        answer = serve_raw(environ, start_response)
        if answer is not None:
            action = git_action(str(environ.get("PATH_INFO", "")), environ.get("QUERY_STRING", ""))
            if action is not None:
                recorder.note(action)
        return answer

    monkeypatch.setattr(git, "serve_raw", watched)


def walk(sandbox: Sandbox, recorder: Recorder) -> None:
    """The lab on the sandbox: checks, each step solved twice then checks, each step reset twice,
    checks."""
    spec = resolve_target(
        TargetFlags(endpoint_url=sandbox.url, workspace=str(sandbox.workspace)), env={}
    )
    factory = ClientFactory(spec, endpoint_url=sandbox.url, credentials=sandbox.credentials())
    connection = Connection(
        spec, factory, resolver=sandbox.resolve_map, workspace=sandbox.workspace
    )

    def every_check() -> None:
        for name in LAB_CHECKS:
            # A context of its own: the facts a check reads are fetched by that check.
            with recorder.running(name):
                run_one(CheckContext(connection, CONTENT, LAB), CONTENT.check(name))
        # What the guide reads besides: its inventory, and its forms as they open.
        with recorder.running(GUIDE):
            context = CheckContext(connection, CONTENT, LAB)
            take_inventory(context)
            for step in FORMS:
                open_form(step, context)

    def task(step: Any, kind: str) -> None:
        name = getattr(step.automated, kind)
        if name is None:
            return
        context = TaskContext(CheckContext(connection, CONTENT, LAB), poll_seconds=0.05)
        with recorder.running(name):
            run_actions(step_actions(context, step, kind), lambda _line: None)

    steps = list(CONTENT.lab.steps)
    every_check()
    for step in steps:
        task(step, "solve")
        task(step, "solve")  # the already-done path
        every_check()
    for step in reversed(steps):
        task(step, "reset")
        task(step, "reset")  # the nothing-left path
    # Each reset returns the lab to where the previous step's solve left it, whose checks ran
    # above: checking again after every reset found no call the walk had not made (and took a
    # third of the walk's time); after the last one the lab is at its baseline again.
    every_check()


@pytest.fixture(scope="module")
def recorded(sandbox_session: Sandbox) -> Iterator[dict[str, set[str]]]:
    recorder = Recorder()
    _restore(sandbox_session, sandbox_session.baseline)  # type: ignore[attr-defined]
    with _tunables_kept(sandbox_session), pytest.MonkeyPatch.context() as monkeypatch:
        tables = next(e for e in sandbox_session.extensions if e.name == "dynamodb_global")
        monkeypatch.setattr(tables, "replica_create_seconds", 0.3)
        monkeypatch.setattr(tables, "replica_delete_seconds", 0.3)
        recording_clients(recorder, monkeypatch)
        recording_git(sandbox_session, recorder, monkeypatch)
        walk(sandbox_session, recorder)
    yield dict(recorder.seen)
    _restore(sandbox_session, sandbox_session.baseline)  # type: ignore[attr-defined]


def test_every_check_and_task_of_the_lab_ran(recorded: dict[str, set[str]]) -> None:
    assert set(LAB_CHECKS) | set(LAB_TASKS) <= set(recorded)


@pytest.mark.parametrize("unit", sorted({*LAB_CHECKS, *LAB_TASKS}))
def test_declared_actions_are_what_the_unit_calls(recorded: dict[str, set[str]], unit: str) -> None:
    declared = set(PERMISSIONS.units[unit])
    called = recorded.get(unit, set()) - NEEDS_NO_PERMISSION
    assert called - declared == set(), f"{unit} calls what it does not declare"
    if unit == "checkpoint.solve":
        return
    never = declared - called - UNEXERCISED.get(unit, set())
    assert never == set(), f"{unit} declares what it never calls"


def test_the_checkpoint_solve_declares_the_steps() -> None:
    units = PERMISSIONS.units
    steps = ("infrastructure", "data_tier", "pipeline", "build_artifacts")
    assert units["checkpoint.solve"] == frozenset().union(*(units[f"{s}.solve"] for s in steps))


def test_the_guide_reads_what_it_declares(recorded: dict[str, set[str]]) -> None:
    assert recorded[GUIDE] - NEEDS_NO_PERMISSION == set(PERMISSIONS.guide)


def test_every_registered_unit_declares_its_actions() -> None:
    declared = PERMISSIONS.units
    assert {d.name for d in CHECKS} | {d.name for d in TASKS} == set(declared)


def test_a_check_without_declaration_is_refused_at_load() -> None:
    from mmtui.engine.registry import CheckDecl

    CHECKS.declare(CheckDecl("test.undeclared"))
    try:
        with pytest.raises(RuntimeError, match=r"no IAM actions declared for test\.undeclared"):
            LAB.validate()
    finally:
        CHECKS._items.pop("test.undeclared")
