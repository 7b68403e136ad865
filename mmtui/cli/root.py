"""The `mmtui` group: its help, its default command, and every command under it (mmtui's
own, then those the installed labs add)."""

from __future__ import annotations

import click

from mmtui import __version__
from mmtui.cli.check import check
from mmtui.cli.cleanup import cleanup
from mmtui.cli.fleet import fleet, watch_command
from mmtui.cli.guide import open_room, run
from mmtui.cli.lint import lint
from mmtui.cli.policy import policy
from mmtui.cli.sandbox import sandbox
from mmtui.cli.serve import serve
from mmtui.cli.target import target
from mmtui.cli.tasks import reset, solve


class DefaultToRun(click.Group):
    """`mmtui` alone, or `mmtui --aws` and friends, mean `mmtui run …`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        wants_group_option = bool(args) and args[0] in ("--help", "-h", "--version")
        if not wants_group_option and (not args or args[0].startswith("-")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultToRun, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mmtui")
def cli() -> None:
    """mmtui: a terminal guide for the Mythical Mysfits multi-region BC/DR workshop.

    Run `mmtui` to open the guide on the embedded sandbox AWS. With no target option mmtui talks
    to $AWS_ENDPOINT_URL if it is set, and otherwise to the embedded sandbox.

    Exit codes: 0 done or all checks passed; 1 a check failed or is pending; 2 usage, content or
    configuration error; 3 missing credentials or access denied; 4 AWS or network error.
    """


fleet.add_command(watch_command(open_room))  # the fleet's live room, opened by the TUI's module
for command in (run, sandbox, check, solve, reset, cleanup, lint, fleet, policy, target, serve):
    cli.add_command(command)


def add_lab_commands(group: click.Group) -> None:
    """The commands the shipped labs add (a lab's `commands()`), beside mmtui's own."""
    import mmtui.labs

    for lab_id in sorted(mmtui.labs.INSTALLED):
        for command in mmtui.labs.plugin(lab_id).commands():
            group.add_command(command)


add_lab_commands(cli)
