"""The entry point: run the command line and turn every failure into one line on stderr and
an exit code of the contract (DESIGN.md); nothing reaches the terminal as a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from mmtui.cli.root import cli
from mmtui.exitcodes import ExitCode, MmtuiError


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run the CLI and turn every failure into a message and an exit code."""
    try:
        cli.main(args=argv, prog_name="mmtui", standalone_mode=False)
    except MmtuiError as exc:
        click.echo(f"mmtui: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort:
        click.echo("mmtui: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("mmtui: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001  (the last line of defence: never a traceback)
        from mmtui.target.errors import aws_error

        # An AWS or network error that no command translated is still not a bug report.
        error = aws_error(exc)
        if error is not None:
            click.echo(f"mmtui: {error}", err=True)
            sys.exit(error.exit_code)
        sys.exit(report_crash(exc))
    sys.exit(ExitCode.OK)


def report_crash(exc: BaseException) -> int:
    """Save the traceback for a bug report and tell the user where it is, in one line."""
    import traceback
    from datetime import UTC, datetime

    from mmtui.paths import state_dir

    text = "".join(traceback.format_exception(exc))
    try:
        folder = state_dir() / "crash"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report = folder / f"crash-{stamp}.txt"
        report.write_text(text, encoding="utf-8")
        where = f"details in {report}"
    except OSError:
        where = "and the report could not be saved"
    click.echo(
        f"mmtui: internal error ({type(exc).__name__}: {exc}); this is a bug in mmtui, {where}",
        err=True,
    )
    return int(ExitCode.USAGE)
