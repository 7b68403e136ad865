"""`mmtui sandbox`: run the embedded AWS in the foreground; `mmtui sandbox stop`: stop the one
running on a folder (the guide's, which outlives the guide: target/detached.py)."""

from __future__ import annotations

import sys
from typing import Any

import click


@click.group(invoke_without_command=True)
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
@click.option(
    "--latency",
    "latencies",
    multiple=True,
    metavar="MS[~JITTER][@SERVICE[:OPERATION]]",
    help="Make every call (or a service's, or an operation's) wait about this long: 80ms, "
    "80ms~40ms for 40-120 ms, 0.3s@dynamodb. Repeatable; the most specific applies.",
)
@click.option(
    "--rate-limit",
    "rate_limits",
    multiple=True,
    metavar="aws|N@SERVICE[:OPERATION]",
    help="Throttle past N calls a second per operation, with each service's own throttling "
    "error: 5@codepipeline, 2@dynamodb:DescribeTable, or `aws` for AWS's observed rates. "
    "Repeatable.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND:FRACTION[@SERVICE[:OPERATION]]",
    help="Answer a fraction of calls with a fault: 500, 503, reset (the connection) or timeout "
    "(held past the client's timeout); 503:5%, reset:0.01@sts. Repeatable.",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    metavar="N",
    help="Draw latencies and faults from this seed, so a rehearsal can be repeated.",
)
# The guide starts its sandbox with the regions it was given (hidden: the guide's business).
@click.option("--primary-region", default="us-west-2", hidden=True)
@click.option("--secondary-region", default="us-east-1", hidden=True)
@click.pass_context
def sandbox(
    ctx: click.Context,
    state_dir: str | None,
    port: int,
    fresh: bool,
    time_scale: float | None,
    latencies: tuple[str, ...],
    rate_limits: tuple[str, ...],
    faults: tuple[str, ...],
    seed: int | None,
    primary_region: str,
    secondary_region: str,
) -> None:
    """Run the embedded AWS in the foreground until Ctrl-C.

    When ready it writes DIR/sandbox.env: `source` it in another terminal and the `aws` CLI,
    `git` and mmtui all talk to the sandbox. The state stays in DIR: stop the sandbox and start
    it again with the same DIR to carry on where you were.

    The guide (`mmtui`) starts this sandbox in the background when none runs, and leaves it
    running when it quits, so that other terminals keep working: `mmtui sandbox stop` ends it.
    """
    if ctx.invoked_subcommand is not None:
        return
    from pathlib import Path

    from mmtui.paths import default_sandbox_dir
    from mmtui.sandbox.core.foreground import run_foreground
    from mmtui.sandbox.core.server import SandboxOptions
    from mmtui.sandbox.workshop.baseline import WorkshopSeeder

    options = SandboxOptions(
        state_dir=Path(state_dir) if state_dir else default_sandbox_dir(),
        port=port,
        fresh=fresh,
        primary_region=primary_region,
        secondary_region=secondary_region,
        time_scale=time_scale,
        realism=realism_of(latencies, rate_limits, faults, seed),
    )
    sys.exit(run_foreground(options, sys.stdout, sys.stderr, WorkshopSeeder()))


@sandbox.command()
@click.option(
    "--dir",
    "state_dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="The sandbox's state folder (default: your user state folder).",
)
def stop(state_dir: str | None) -> None:
    """Stop the sandbox running on DIR (the one the guide started, or any `mmtui sandbox`).

    It saves its state first: the next `mmtui` or `mmtui sandbox` on DIR carries on from there.
    """
    from pathlib import Path

    from mmtui.paths import default_sandbox_dir
    from mmtui.target.detached import stop as stop_sandbox

    folder = Path(state_dir).expanduser().resolve() if state_dir else default_sandbox_dir()
    pid = stop_sandbox(folder)
    if pid is None:
        click.echo(f"no sandbox is running on {folder}")
    else:
        click.echo(f"stopped the sandbox on {folder} (process {pid}); its state is saved there")


def realism_of(
    latencies: tuple[str, ...],
    rate_limits: tuple[str, ...],
    faults: tuple[str, ...],
    seed: int | None,
) -> Any:
    """The Realism the flags ask for (None: none asked); a flag that cannot be read is a usage
    error naming it (exit 2)."""
    from mmtui.sandbox.core.realism import (
        Realism,
        RealismError,
        parse_fault,
        parse_latency,
        parse_rate_limit,
    )

    if not (latencies or rate_limits or faults):
        return None
    try:
        return Realism(
            latencies=[parse_latency(text) for text in latencies],
            rate_limits=[limit for text in rate_limits for limit in parse_rate_limit(text)],
            faults=[parse_fault(text) for text in faults],
            seed=seed,
        )
    except RealismError as exc:
        raise click.UsageError(str(exc)) from None
