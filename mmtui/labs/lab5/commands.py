"""Lab 5's commands: `mmtui load` (its traffic without ab, through the accelerator of Lab 4)
and `mmtui drill failover` (the outage rehearsed and measured)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mmtui.cli_options import require_names_declared, target_flags, target_options

F = TypeVar("F", bound=Callable[..., Any])


def rate_option(minimum: float, what: str) -> Callable[[F], F]:
    option: Callable[[F], F] = click.option(
        "--rate",
        type=click.FloatRange(minimum, 500),
        default=10.0,
        show_default=True,
        metavar="N",
        help=what,
    )
    return option


def duration_option(minimum: float, default: float, what: str) -> Callable[[F], F]:
    option: Callable[[F], F] = click.option(
        "--duration",
        type=click.FloatRange(minimum, 3600),
        default=default,
        show_default=True,
        metavar="S",
        help=what,
    )
    return option


def format_option(what: str) -> Callable[[F], F]:
    option: Callable[[F], F] = click.option(
        "--format",
        "output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=what,
    )
    return option


@click.command()
@target_options
@rate_option(0.5, "Likes per second.")
@duration_option(1, 60.0, "Seconds to send for (Ctrl-C stops sooner).")
@click.option("--mysfit", default=None, metavar="ID", help="The mysfit to like (Gretta).")
@format_option("text: a line per second; json: the summary and each second, at the end.")
def load(rate: float, duration: float, mysfit: str | None, output: str, **kwargs: Any) -> None:
    """Send likes through the accelerator at a steady rate (Lab 5's load, no ab needed).

    Each second prints how many likes succeeded, which region served them, and the median
    latency; the end prints the totals. The region is read from the site's home page, asked on
    the same connection as the likes.
    """
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.labs.lab4.accelerator import GA_REGION, accelerators_named
    from mmtui.labs.lab5.plugin import LAB
    from mmtui.load.answers import per_second, summarise
    from mmtui.load.generator import LoadGenerator
    from mmtui.target.connect import connect
    from mmtui.target.errors import translated
    from mmtui.target.identity import fetch_identity
    from mmtui.target.spec import resolve_target

    spec = resolve_target(target_flags(kwargs))
    content = LAB.load_content()
    require_names_declared(spec, content)
    names = content.defaults(spec.name_overrides)
    with connect(spec) as connection, translated("load", spec):
        fetch_identity(connection.factory)
        found = accelerators_named(
            connection.factory.client("globalaccelerator", GA_REGION), names["accelerator"]
        )
        if len(found) != 1:
            raise MmtuiError(
                f"there is {'no' if not found else 'more than one'} accelerator named "
                f"{names['accelerator']}: Lab 4 makes one",
                ExitCode.CHECK_FAILED,
            )
        host = str(found[0]["DnsName"])
        generator = LoadGenerator(host, dict(connection.resolve), rate, mysfit or names["mysfit"])
        if output == "text":
            click.echo(f"sending {rate:g} likes/s to http://{host}/ for {duration:g} s", err=True)
        generator.start()
        shown = 0
        try:
            while generator.elapsed() < duration:
                time.sleep(min(1.0, max(0.05, duration - generator.elapsed())))
                # A second is shown once its likes have had their time to answer.
                done = int(generator.elapsed() - 1)
                seconds = per_second(generator.snapshot(), until=max(done, 0))
                while output == "text" and shown < min(done, len(seconds)):
                    click.echo(second_line(seconds[shown]))
                    shown += 1
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
        finally:
            generator.stop()
    answers = generator.snapshot()
    elapsed = min(duration, generator.elapsed())
    summary = summarise(answers, elapsed)
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "host": host,
                    "rate": rate,
                    "summary": summary.as_dict(),
                    "seconds": [
                        {
                            "t": s.start,
                            "sent": s.sent,
                            "ok": s.ok,
                            "failed": s.failed,
                            "by_region": dict(s.by_region),
                            "median_ms": round(s.median_ms, 1),
                        }
                        for s in per_second(answers, until=elapsed)
                    ],
                },
                indent=2,
            )
        )
        return
    for second in per_second(answers, until=elapsed)[shown:]:
        click.echo(second_line(second))
    regions = ", ".join(f"{r} {n}" for r, n in sorted(summary.by_region.items())) or "none"
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(summary.statuses.items()))
    click.echo(
        f"{summary.sent} likes in {elapsed:.0f} s: {summary.ok} OK ({regions}), "
        f"{summary.failed} failed; statuses {statuses}; median {summary.median_ms:.0f} ms, "
        f"p99 {summary.p99_ms:.0f} ms"
    )


def second_line(second: Any) -> str:
    regions = ", ".join(f"{r} {n}" for r, n in sorted(second.by_region.items())) or "none"
    return (
        f"{second.start:4.0f}s  {second.ok:3d}/{second.sent:<3d} OK  served by {regions:<30} "
        f"failed {second.failed:3d}  median {second.median_ms:5.0f} ms"
    )


@click.group()
def drill() -> None:
    """Rehearse a disaster and measure what it cost (writes: it breaks and restores)."""


@drill.command("failover")
@target_options
@click.option(
    "--break",
    "break_kind",
    type=click.Choice(["tasks", "network"]),
    default="tasks",
    show_default=True,
    help="tasks: the primary services to 0 tasks; network: the tasks' security group narrowed.",
)
@rate_option(1, "Likes per second during the drill.")
@duration_option(
    6,
    180.0,
    "Seconds of load: a sixth before the break, half after it, the rest after the restore.",
)
@format_option("text: the timeline and the report; json: the report.")
def drill_failover(
    break_kind: str, rate: float, duration: float, output: str, **kwargs: Any
) -> None:
    """Fail the primary region over, under load, and report RTO and RPO.

    Starts likes through the accelerator, breaks the primary (--break), watches Global
    Accelerator move the traffic, restores the primary (always, even on Ctrl-C or an error),
    watches it come back, and reports: the recovery time and the likes that failed meanwhile,
    the likes acknowledged but not yet in the secondary at the failover, and a timeline. The
    report is saved as JSON in mmtui's state folder.
    """
    from rich.console import Console

    from mmtui.engine.context import CheckContext
    from mmtui.engine.tasks import TaskContext
    from mmtui.labs.lab5.drill import Drill, DrillOptions, save
    from mmtui.labs.lab5.plugin import LAB
    from mmtui.paths import state_dir
    from mmtui.target.connect import connect
    from mmtui.target.errors import translated
    from mmtui.target.identity import fetch_identity
    from mmtui.target.spec import resolve_target

    spec = resolve_target(target_flags(kwargs))
    content = LAB.load_content()
    require_names_declared(spec, content)
    options = DrillOptions(break_kind=break_kind, rate=rate, duration=duration)  # type: ignore[arg-type]
    text = output == "text"
    with connect(spec) as connection, translated("drill failover", spec):
        fetch_identity(connection.factory)
        checks = CheckContext.for_target(connection, content, LAB)
        context = TaskContext(checks, log=lambda line: click.echo(line, err=True))
        runner = Drill(
            context,
            options,
            on_event=lambda e: click.echo(f"{e.at:6.1f}s  {e.what}", err=not text),
            on_second=(lambda s: click.echo(second_line(s))) if text else (lambda _s: None),
        )
        if text:
            click.echo(
                f"drill: {rate:g} likes/s for {duration:g} s, breaking the primary's "
                f"{'tasks' if break_kind == 'tasks' else 'network'} after {options.warmup:.0f} s",
                err=True,
            )
        try:
            report = runner.run()
        except KeyboardInterrupt:
            raise click.Abort() from None
    path = save(report, state_dir() / "drills")
    if not text:
        click.echo(report.to_json())
        return
    from mmtui.load.drill_text import report_text

    Console().print(report_text(report))
    click.echo(f"report: {path}")
