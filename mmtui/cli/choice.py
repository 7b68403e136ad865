"""What a command line names, resolved: the lab (`--lab`), its steps (`--step`, `--through`)
and the target, with usage errors before anything runs; and the one message for a part of a
command that is not built yet."""

from __future__ import annotations

from typing import Any, NoReturn

import click

from mmtui import __version__
from mmtui.cli_options import F, require_names_declared, target_flags
from mmtui.exitcodes import MmtuiError

STEP_HELP = "a step of the lab, by number or id (a wrong one lists them all)"


def lab_option(fn: F) -> F:
    return click.option(
        "--lab",
        "lab_id",
        default=None,
        metavar="ID",
        help="Which lab of the workshop (default: the lab workshop.yaml guides).",
    )(fn)


def resolve_lab(lab_id: str | None) -> tuple[Any, Any]:
    """The installed lab `--lab` names (by default the workshop's guided lab) and its
    content: (LabPlugin, LabContent). The composition root: nothing below it names a lab."""
    import mmtui.labs

    try:
        return mmtui.labs.load(lab_id or mmtui.labs.default_lab_id())
    except LookupError as exc:
        raise MmtuiError(f"--lab: {exc.args[0]}") from None


def not_built(command: str, what: str) -> NoReturn:
    raise MmtuiError(f"`mmtui {command}` is not built yet in mmtui {__version__}: {what}")


def resolve_common(kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Validate the target and the lab before anything else, so usage errors come first:
    (TargetSpec, LabPlugin, LabContent)."""
    from mmtui.target.spec import resolve_target

    spec = resolve_target(target_flags(kwargs))
    lab, content = resolve_lab(kwargs.pop("lab_id", None))
    require_names_declared(spec, content)
    return spec, lab, content


def resolve_step(content: Any, text: str | None, flag: str = "--step") -> Any:
    if text is None:
        return None
    from mmtui.engine.steps import find_step

    try:
        return find_step(content.lab, text)
    except LookupError as exc:
        raise MmtuiError(f"{flag}: {exc.args[0]}") from None
