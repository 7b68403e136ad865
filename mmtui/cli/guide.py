"""`mmtui run`: open the guide (the default command)."""

from __future__ import annotations

import sys
from typing import Any

import click

from mmtui.cli.choice import lab_option, resolve_common
from mmtui.cli_options import target_options
from mmtui.exitcodes import ExitCode


@click.command()
@target_options
@lab_option
def run(**kwargs: Any) -> None:
    """Open the guide (the default command).

    Today the guide shows the lab's steps with live checks, and each step's instructions and
    hints; the by-hand and automated paths inside the guide are still being written (use
    `mmtui solve` meanwhile).
    """
    spec, lab, content = resolve_common(kwargs)
    from mmtui.guide import Guide
    from mmtui.labs import load
    from mmtui.tui.app import MmtuiApp

    guide = Guide(spec, content, lab, detach_sandbox=True)
    code = MmtuiApp(spec, content, guide=guide, lab_loader=load).run()
    if guide.closing_error is not None:  # e.g. the embedded sandbox could not save its state
        raise guide.closing_error
    sys.exit(code or ExitCode.OK)
