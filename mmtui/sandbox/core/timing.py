"""How long the sandbox's slow operations take: AWS's typical durations times a time scale.

Real AWS takes minutes where the sandbox could answer at once: a stack is created in 10-15
minutes, a global table replica in 10-30, a pipeline builds and deploys in 5-10 (its builds take
as long as they really take here; its ECS deploys, a few minutes each on AWS, are scaled), a
DynamoDB stream is enabled in a few seconds. A rehearsal that should show what an attendee will
live through runs the sandbox with `--time-scale 1` (the real minutes) or `0.01` (a hundredth
of them); the default `0` makes everything instant, which is what the test suite runs on.

Every extension that simulates a duration asks `seconds(kind, scale)`; a per-kind environment
variable (`MMTUI_SANDBOX_REPLICA_CREATE_SECONDS`, `MMTUI_SANDBOX_STACK_CREATE_SECONDS`, ...)
overrides the scaled figure, for a demo or a test that needs one operation slow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

SCALE_VARIABLE = "MMTUI_SANDBOX_TIME_SCALE"
"""The time scale when `mmtui sandbox --time-scale` is not given (and for `--sandbox`)."""

TYPICAL_SECONDS: dict[str, float] = {
    # AWS's typical figures (the middle of the ranges the audit measured and AWS documents).
    "stack_create": 12 * 60.0,
    "stack_delete": 8 * 60.0,
    "replica_create": 20 * 60.0,
    "replica_delete": 10 * 60.0,
    "stream_enable": 5.0,
    "ecs_deploy": 3 * 60.0,
    # A new accelerator is IN_PROGRESS for a few minutes; a change to it, its listeners or
    # its endpoint groups (a traffic dial in Lab 5) takes it back there for about a minute.
    "accelerator_deploy": 3 * 60.0,
    "accelerator_update": 60.0,
    # A load balancer's health check interval (the workshop's target groups: 10 s). The
    # sandbox scales every load balancer duration by the same factor (its deregistration
    # delay, its 10 s connection timeout), so this one figure sets them all.
    "alb_health_interval": 10.0,
}

VARIABLES: dict[str, str] = {
    "stack_create": "MMTUI_SANDBOX_STACK_CREATE_SECONDS",
    "stack_delete": "MMTUI_SANDBOX_STACK_DELETE_SECONDS",
    "replica_create": "MMTUI_SANDBOX_REPLICA_CREATE_SECONDS",
    "replica_delete": "MMTUI_SANDBOX_REPLICA_DELETE_SECONDS",
    "stream_enable": "MMTUI_SANDBOX_STREAM_ENABLE_SECONDS",
    "ecs_deploy": "MMTUI_SANDBOX_ECS_DEPLOY_SECONDS",
    "accelerator_deploy": "MMTUI_SANDBOX_ACCELERATOR_DEPLOY_SECONDS",
    "accelerator_update": "MMTUI_SANDBOX_ACCELERATOR_UPDATE_SECONDS",
    "alb_health_interval": "MMTUI_SANDBOX_ALB_HEALTH_INTERVAL_SECONDS",
}

Note = Callable[[str], None]


def _number(raw: str, what: str, note: Note | None, default: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        if note is not None:
            note(f"{what}={raw!r} is not a number of seconds (0 or more); using {default:g}")
        return default
    return value


def scale_from_environment(note: Note | None = None) -> float:
    """The time scale `MMTUI_SANDBOX_TIME_SCALE` asks for (0 when unset or not a number)."""
    raw = os.environ.get(SCALE_VARIABLE, "").strip()
    if not raw:
        return 0.0
    value = _number(raw, SCALE_VARIABLE, None, 0.0)
    if value == 0.0 and raw not in ("0", "0.0") and note is not None:
        note(f"{SCALE_VARIABLE}={raw!r} is not a factor (0 or more); using 0 (instant)")
    return value


def scale_of(options: object, note: Note | None = None) -> float:
    """The time scale of a sandbox's options: `time_scale` when set, else the environment's."""
    given = getattr(options, "time_scale", None)
    return float(given) if given is not None else scale_from_environment(note)


def seconds(kind: str, scale: float, note: Note | None = None) -> float:
    """How long an operation of `kind` takes in the sandbox: its variable if set, else AWS's
    typical duration times `scale` (0: instant; 1: as long as on AWS).

    `note` receives a line to show the user when the variable is not a number.
    """
    typical = TYPICAL_SECONDS[kind] * max(0.0, scale)
    raw = os.environ.get(VARIABLES[kind], "").strip()
    if not raw:
        return typical
    return _number(raw, VARIABLES[kind], note, typical)


def describe(scale: float) -> str:
    """One line for the start banner and sandbox.env: what the rehearsal simulates."""
    if scale == 0:
        return "0 (instant: AWS's minutes are skipped)"
    parts = ", ".join(
        f"{kind.replace('_', ' ')} {_duration(seconds(kind, scale))}"
        for kind in ("stack_create", "replica_create", "ecs_deploy", "stream_enable")
    )
    return f"{scale:g} × AWS's durations ({parts})"


def _duration(value: float) -> str:
    if value >= 90:
        return f"{value / 60:.0f} min"
    return f"{value:.3g} s"
