"""How a fleet run shows itself on stderr: a progress bar on a terminal, a line per target
otherwise."""

from __future__ import annotations

from typing import Any

import click


def fleet_progress(console: Any, what: str, total: int) -> Any:
    """Hooks that show the run: a progress bar on a terminal, a line per target otherwise."""
    import contextlib
    import threading

    from mmtui.fleet.run import Hooks

    @contextlib.contextmanager
    def lines() -> Any:
        lock = threading.Lock()
        done = [0]

        def finished(outcome: Any) -> None:
            with lock:
                done[0] += 1
                note = f": {outcome.error}" if outcome.error else ""
                click.echo(
                    f"[{done[0]}/{total}] {outcome.attendee.name}: {outcome.state} "
                    f"({outcome.seconds:.1f} s){note}",
                    err=True,
                )

        yield Hooks(finished=finished)

    @contextlib.contextmanager
    def bar() -> Any:
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[last]}", markup=True),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(what, total=total, last="")

            def logged(attendee: Any, line: str) -> None:
                progress.update(task, last=escape(f"{attendee.name}: {line}"[:60]))

            def finished(outcome: Any) -> None:
                progress.update(
                    task, advance=1, last=escape(f"{outcome.attendee.name}: {outcome.state}")
                )

            yield Hooks(logged=logged, finished=finished)

    return bar() if console.is_terminal else lines()
