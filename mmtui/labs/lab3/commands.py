"""Lab 3's own commands, added to `mmtui` by its plugin: `mmtui probe replication`.

Only click and the shared option helpers are imported here; the work is imported when a
command runs.
"""

from __future__ import annotations

from typing import Any

import click

from mmtui.cli_options import require_names_declared, target_flags, target_options


@click.group()
def probe() -> None:
    """Measure the target (the one command that writes in order to measure)."""


@probe.command("replication")
@target_options
@click.option(
    "--samples",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    metavar="N",
    help="How many canary items to time.",
)
def probe_replication(samples: int, **kwargs: Any) -> None:
    """Time how long writes take to appear in the secondary region (RPO evidence).

    Writes N canary items in the primary table, times each until the secondary replica can read
    it, then deletes them from both regions (and first any an earlier, killed probe left).
    Refuses when the table is not a global table.
    """
    from mmtui.labs.lab3.plugin import LAB
    from mmtui.labs.lab3.probe import probe_replication as probe
    from mmtui.labs.lab3.probe import remove_stale_canaries, require_global_table
    from mmtui.target.connect import connect
    from mmtui.target.errors import translated
    from mmtui.target.identity import fetch_identity
    from mmtui.target.spec import resolve_target

    spec = resolve_target(target_flags(kwargs))
    content = LAB.load_content()
    require_names_declared(spec, content)
    table = content.defaults(spec.name_overrides)["table"]
    with connect(spec) as connection, translated("probe replication", spec):
        fetch_identity(connection.factory)
        primary = connection.factory.client("dynamodb", spec.primary_region)
        secondary = connection.factory.client("dynamodb", spec.secondary_region)
        require_global_table(primary, table, spec.secondary_region)
        stale = remove_stale_canaries(primary, secondary, table)
        if stale:
            click.echo(
                f"removed {stale} canary item{'s' if stale > 1 else ''} that an earlier probe, "
                f"stopped before it could clean up, left in {table}",
                err=True,
            )
        click.echo(
            f"probing {table}: {spec.primary_region} → {spec.secondary_region}, {samples} samples",
            err=True,
        )
        result = probe(
            primary,
            secondary,
            table,
            samples,
            on_sample=lambda n, lag: click.echo(f"sample {n}: {lag * 1000:.0f} ms"),
        )
    click.echo(
        f"replication lag: min {result.minimum * 1000:.0f} ms, median "
        f"{result.median * 1000:.0f} ms, max {result.maximum * 1000:.0f} ms "
        f"({len(result.lags)} samples)"
    )
