"""`mmtui sandbox`: run the embedded AWS in the foreground."""

from __future__ import annotations

import sys

import click


@click.command()
@click.option(
    "--dir",
    "state_dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Where the sandbox keeps its state (default: your user state folder).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    metavar="N",
    help="Port on 127.0.0.1 (default: a free one).",
)
@click.option("--fresh", is_flag=True, help="Start again from the Labs 0-2 baseline.")
@click.option(
    "--time-scale",
    type=click.FloatRange(0, 100),
    default=None,
    metavar="F",
    envvar="MMTUI_SANDBOX_TIME_SCALE",
    help="Take AWS's real durations times F: 1 real time, 0.01 a hundredth, 0 instant "
    "(the default).",
)
def sandbox(state_dir: str | None, port: int, fresh: bool, time_scale: float | None) -> None:
    """Run the embedded AWS in the foreground until Ctrl-C.

    When ready it writes DIR/sandbox.env: `source` it in another terminal and the `aws` CLI,
    `git` and mmtui all talk to the sandbox. The state stays in DIR: stop the sandbox and start
    it again with the same DIR to carry on where you were.
    """
    from pathlib import Path

    from mmtui.paths import default_sandbox_dir
    from mmtui.sandbox.core.foreground import run_foreground
    from mmtui.sandbox.core.server import SandboxOptions
    from mmtui.sandbox.workshop.baseline import WorkshopSeeder

    options = SandboxOptions(
        state_dir=Path(state_dir) if state_dir else default_sandbox_dir(),
        port=port,
        fresh=fresh,
        time_scale=time_scale,
    )
    sys.exit(run_foreground(options, sys.stdout, sys.stderr, WorkshopSeeder()))
