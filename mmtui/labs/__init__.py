"""The installed labs: the one place that says which labs mmtui runs.

Each lab is a package beside this file (`lab3/`) whose plugin (a `mmtui.engine.plugin.
LabPlugin`) gives the engine and the front ends everything about it. The engine, the guide,
the TUI and the fleet never name a lab: the command line asks this registry for the lab it
was told (`--lab`, by default the workshop's guided lab) and hands it on.

A lab is added by listing its plugin in INSTALLED (a dotted path, imported only when the lab
is asked for, so `mmtui --help` stays fast). Code outside mmtui (a test, a workshop of one's
own) adds one with `register(plugin)`, which is also how the test suite proves a lab can be
added without touching the core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmtui.content.loader import LabContent
    from mmtui.engine.plugin import LabPlugin

INSTALLED: dict[str, str] = {
    "3": "mmtui.labs.lab3.plugin:LAB",
    "4": "mmtui.labs.lab4.plugin:LAB",
    "5": "mmtui.labs.lab5.plugin:LAB",
}
"""Lab id → `module:attribute` of its plugin instance, for the labs that ship with mmtui."""

_registered: dict[str, LabPlugin] = {}
_validated: set[str] = set()


def register(plugin: LabPlugin) -> LabPlugin:
    """Add a lab (or replace the one of the same id) for this process."""
    _registered[plugin.id] = plugin
    _validated.discard(plugin.id)
    return plugin


def unregister(lab_id: str) -> None:
    """Remove a lab added with `register` (the shipped ones stay installed)."""
    _registered.pop(lab_id, None)
    _validated.discard(lab_id)


def lab_ids() -> list[str]:
    """Every installed lab's id."""
    return sorted({*INSTALLED, *_registered})


def plugin(lab_id: str) -> LabPlugin:
    """The installed lab `lab_id` as it is imported, before its registries are loaded (what
    building the command line needs); LookupError when there is none."""
    found = _registered.get(lab_id)
    if found is None and lab_id in INSTALLED:
        module, _, attribute = INSTALLED[lab_id].partition(":")
        found = getattr(importlib.import_module(module), attribute)
        _registered[lab_id] = found
    if found is None:
        raise LookupError(_not_installed(lab_id))
    return found


def get(lab_id: str) -> LabPlugin:
    """The installed lab `lab_id`, its registries proven sound (see LabPlugin.validate).

    LookupError, with what there is instead, when no lab of that id is installed; the message
    says so in the workshop's words when workshop.yaml lists the lab (not guided yet)."""
    plugin_ = plugin(lab_id)
    if lab_id not in _validated:
        plugin_.validate()
        _validated.add(lab_id)
    return plugin_


def load(lab_id: str) -> tuple[LabPlugin, LabContent]:
    """The installed lab `lab_id` with its content (LookupError: no such lab)."""
    found = get(lab_id)
    return found, found.load_content()


def default_lab_id() -> str:
    """The lab `--lab` means when not given: the first lab that workshop.yaml guides and that
    is installed, else the first installed lab."""
    from mmtui.content.loader import ContentError, load_workshop

    installed = lab_ids()
    try:
        workshop, _ = load_workshop()
    except ContentError:
        return installed[0]  # the command then reports the content's problems itself
    guided = [lab.id for lab in workshop.labs if lab.role == "guided" and lab.id in installed]
    return guided[0] if guided else installed[0]


def guided_lab_ids() -> list[str]:
    """The installed labs that workshop.yaml guides, in its order (every installed lab when
    the workshop cannot be read: the command then reports the content's problems itself)."""
    from mmtui.content.loader import ContentError, load_workshop

    installed = lab_ids()
    try:
        workshop, _ = load_workshop()
    except ContentError:
        return installed
    guided = [lab.id for lab in workshop.labs if lab.role == "guided" and lab.id in installed]
    return guided or installed


def _not_installed(lab_id: str) -> str:
    """Why there is no lab `lab_id`, as the workshop tells it when it lists the lab."""
    from mmtui.content.loader import ContentError, load_workshop

    try:
        workshop, _ = load_workshop()
    except ContentError:
        workshop = None
    if workshop is not None:
        for entry in workshop.labs:
            if entry.id == lab_id and entry.role != "guided":
                guided = ", ".join(e.id for e in workshop.labs if e.role == "guided")
                return f"Lab {lab_id} ({entry.title}) is not guided by mmtui yet; guided: {guided}"
        if lab_id not in {entry.id for entry in workshop.labs}:
            return (
                f"there is no Lab {lab_id!r}; the workshop has labs "
                f"{', '.join(e.id for e in workshop.labs)}"
            )
    return f"no plugin is installed for Lab {lab_id!r}; installed: {', '.join(lab_ids())}"
