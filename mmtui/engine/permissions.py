"""IAM actions: which one each AWS call needs, and the least-privilege policy of a lab.

Every check and task declares the IAM actions it needs (each lab in one module that the
registry validates: see `registry.declare_permissions`). How an API call maps to the
action IAM evaluates lives in `mmtui.iam_actions` (the sandbox enforces a policy with the same
mapping, and must not import the engine); its names are re-exported here. This module
assembles `mmtui policy`'s JSON from the declarations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mmtui.iam_actions import (
    ACTION,
    GIT_ACTIONS,
    GLOBAL_PREFIXES,
    NEEDS_NO_PERMISSION,
    OPERATION_ACTIONS,
    SIGNING_NAME_PREFIXES,
    client_action,
    git_action,
    iam_action,
    invalid_actions,
    service_prefix,
)

__all__ = [
    "ACTION",
    "GIT_ACTIONS",
    "GLOBAL_PREFIXES",
    "NEEDS_NO_PERMISSION",
    "OPERATION_ACTIONS",
    "SIGNING_NAME_PREFIXES",
    "Grant",
    "PolicyMode",
    "client_action",
    "git_action",
    "iam_action",
    "invalid_actions",
    "lab_policy",
    "service_prefix",
]

PolicyMode = Literal["check", "solve", "reset"]
POLICY_MODES: tuple[PolicyMode, ...] = ("check", "solve", "reset")


# ---------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class Grant:
    """One statement of a policy: why (its Sid), what, and whether the lab's regions bound it."""

    sid: str
    actions: frozenset[str]
    regional: bool = True

    def statement(self, regions: list[str]) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": sorted(self.actions),
            "Resource": "*",
        }
        if self.regional:
            statement["Condition"] = {"StringEquals": {"aws:RequestedRegion": list(regions)}}
        return statement


SID = re.compile(r"^[A-Za-z0-9]+$")


def split_global(sid: str, actions: Iterable[str]) -> list[Grant]:
    """A grant of `actions`, with the global services' actions in a statement of their own."""
    wanted = set(actions) - NEEDS_NO_PERMISSION
    global_ = {a for a in wanted if a.split(":", 1)[0] in GLOBAL_PREFIXES}
    grants = []
    if wanted - global_:
        grants.append(Grant(sid, frozenset(wanted - global_)))
    if global_:
        grants.append(Grant(f"{sid}Global", frozenset(global_), regional=False))
    return grants


def policy_document(grants: Iterable[Grant], regions: list[str]) -> dict[str, Any]:
    statements = [grant.statement(regions) for grant in grants if grant.actions]
    sids = [s["Sid"] for s in statements]
    bad = [sid for sid in sids if not SID.match(sid)]
    if bad or len(set(sids)) != len(sids):
        raise ValueError(f"statement ids must be unique and alphanumeric: {sids}")
    return {"Version": "2012-10-17", "Statement": statements}


def sid_words(*words: str) -> str:
    """`sid_words("solve", "my_step")` → `SolveMyStep` (IAM allows only [A-Za-z0-9])."""
    parts = [p for w in words for p in re.split(r"[^A-Za-z0-9]+", w) if p]
    return "".join(p[:1].upper() + p[1:] for p in parts)


def union(mapping: Mapping[str, frozenset[str]], names: Iterable[str]) -> frozenset[str]:
    found: set[str] = set()
    for name in names:
        found |= mapping[name]
    return frozenset(found)


def lab_policy(mode: PolicyMode, lab: Any, declared: Any, regions: list[str]) -> dict[str, Any]:
    """The least-privilege policy to run `mode` over the whole of `lab` (a content Lab) with
    the permissions it `declared` (a registry LabPermissions), in `regions`.

    `check` grants what every check reads, and what the guide reads besides. `solve` and
    `reset` add, step by step, what each step's task calls and what AWS requires of the caller
    for the work those calls start; an action already granted by an earlier statement is not
    repeated, so each statement shows what its step adds.
    """
    checks = [check.name for check in lab.every_check()]
    grants = split_global("MmtuiCheckReadOnly", union(declared.units, checks))
    grants += split_global("MmtuiGuideReadOnly", declared.guide)
    if mode != "check":
        tasks = [(step, getattr(step.automated, mode)) for step in lab.steps]
        tasks = [(step, task) for step, task in tasks if task is not None]
        # What the steps call first, then what AWS requires for the work those calls start:
        # a step's own call is never shown as granted for something AWS does.
        for step, task in tasks:
            grants += split_global(f"Mmtui{sid_words(mode, step.id)}", declared.units[task])
        for _step, task in tasks:
            for extra in declared.on_behalf.get(task, ()):
                grants += split_global(f"Mmtui{extra.sid}", extra.actions)
    return policy_document(_without_repeats(grants), regions)


def _without_repeats(grants: list[Grant]) -> list[Grant]:
    """Each action once, in the first statement that grants it; statements of the same Sid
    merged; empty statements dropped."""
    granted: set[tuple[str, bool]] = set()
    merged: dict[str, Grant] = {}
    for grant in grants:
        new = {a for a in grant.actions if (a, grant.regional) not in granted}
        granted |= {(a, grant.regional) for a in new}
        if grant.sid in merged:
            previous = merged[grant.sid]
            merged[grant.sid] = Grant(grant.sid, previous.actions | new, grant.regional)
        elif new:
            merged[grant.sid] = Grant(grant.sid, frozenset(new), grant.regional)
    return list(merged.values())
