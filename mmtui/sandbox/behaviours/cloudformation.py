"""The CloudFormation extension: stack operations that take AWS's time.

moto's CloudFormation engine is repaired in mmtui/sandbox/moto_repairs/cloudformation/ (what
changes, and why). This extension sets how long stacks take to create and delete (the sandbox's
time scale, or MMTUI_SANDBOX_STACK_CREATE_SECONDS / MMTUI_SANDBOX_STACK_DELETE_SECONDS) and, on
each request, finishes the stack operations whose time is up.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse
from mmtui.sandbox.core.timing import VARIABLES, scale_of, seconds
from mmtui.sandbox.moto_repairs.cloudformation.lifecycle import advance, pending_stacks
from mmtui.sandbox.moto_repairs.cloudformation.outputs import evaluate_once_per_state
from mmtui.sandbox.moto_repairs.cloudformation.stacks import TIMINGS

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

CREATE_VARIABLE = VARIABLES["stack_create"]
DELETE_VARIABLE = VARIABLES["stack_delete"]


class CloudFormationFixes(Extension):
    """The sandbox extension: finishes stack operations that were given time
    (`stack_create_seconds`, `stack_delete_seconds`) once that time is up."""

    name = "cloudformation"

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        # AWS's durations times the sandbox's time scale (0 by default: instant), unless a
        # variable sets one of them (core/timing.py, shared with the other extensions).
        notes: list[str] = sandbox.notes if sandbox is not None else []
        scale = scale_of(getattr(sandbox, "options", None), notes.append)
        self.stack_create_seconds = seconds("stack_create", scale, notes.append)
        self.stack_delete_seconds = seconds("stack_delete", scale, notes.append)
        self.sandbox = sandbox
        from mmtui.sandbox.core.server import Sandbox as Running

        if isinstance(sandbox, Running):  # (tests hand in stand-ins)
            # A stack's outputs are evaluated once per state of the sandbox, not on every read.
            held = weakref.ref(sandbox)

            def state_mark() -> object:
                current = held()
                return None if current is None else current.state_generation

            evaluate_once_per_state(state_mark)
        self._pending: list[tuple[Any, Any]] = []
        """The stacks waiting for their time, as listed at `_listed_at` (sandbox's state
        generation): a stack only starts waiting through a change of state."""
        self._listed_at: int | None = None

    # The timings live in the module (the patched moto methods read them); the properties let
    # tests and the sandbox's options tune them on the extension like the other extensions'.
    @property
    def stack_create_seconds(self) -> float:
        return TIMINGS.create

    @stack_create_seconds.setter
    def stack_create_seconds(self, value: float) -> None:
        TIMINGS.create = float(value)

    @property
    def stack_delete_seconds(self) -> float:
        return TIMINGS.delete

    @stack_delete_seconds.setter
    def stack_delete_seconds(self, value: float) -> None:
        TIMINGS.delete = float(value)

    def before(self, request: AwsRequest) -> AwsResponse | None:
        # Any request may be the first one after a stack's time is up (a check reading ECS
        # sees what the finished stack made). Listing the waiting stacks walks every stack of
        # every account (a tenth of a room's calls' time under the lock, with fifty attendee
        # accounts): done again only when the state changed since (every change of state,
        # restore and reset counts one: Sandbox.state_generation; autosave relies on the same).
        generation = self.sandbox.state_generation if self.sandbox is not None else None
        if generation is None or generation != self._listed_at:
            self._pending = pending_stacks()
            self._listed_at = generation
        if self._pending and advance(time.time(), self._pending):
            # A finished stack may have started others (a parent's nested stacks): listed
            # again by the next request.
            self._listed_at = None
        return None
