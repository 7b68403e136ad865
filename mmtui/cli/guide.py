"""`mmtui run`: open the guide (the default command)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from mmtui.cli.choice import lab_option, resolve_common
from mmtui.cli_options import target_options
from mmtui.exitcodes import ExitCode


@click.command()
@target_options
@lab_option
def run(**kwargs: Any) -> None:
    """Open the guide (the default command).

    Home lists the workshop's labs; a guided lab's steps each explain what to do, give the
    exact commands to do it by hand, can be done for you, and check the result live.
    """
    spec, lab, content = resolve_common(kwargs)
    if spec.kind == "sandbox" and spec.sandbox_dir is not None:
        # Before the guide's own imports: the sandbox starts (and on a new folder seeds Labs
        # 0-2) on the other core meanwhile; the guide's connection then waits for this one.
        from mmtui.target.detached import begin

        begin(spec.sandbox_dir, spec.primary_region, spec.secondary_region)
    from mmtui.guide import Guide
    from mmtui.labs import load
    from mmtui.tui.app import MmtuiApp

    guide = Guide(spec, content, lab, detach_sandbox=True)
    code = MmtuiApp(spec, content, guide=guide, lab_loader=load).run()
    if guide.closing_error is not None:  # e.g. the embedded sandbox could not save its state
        raise guide.closing_error
    sys.exit(code or ExitCode.OK)


def open_room(watch: Any, history: Path, interval: float) -> NoReturn:
    """`mmtui fleet watch`'s screen (mmtui.cli.fleet validates its options and hands over)."""
    from mmtui.tui.room import RoomApp

    code = RoomApp(watch, history, round_seconds=interval).run()
    sys.exit(code or ExitCode.OK)
