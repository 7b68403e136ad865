"""`mmtui target`: which AWS mmtui talks to, and the resource names in use."""

from __future__ import annotations

from typing import Any

import click

from mmtui.cli.choice import resolve_lab
from mmtui.cli_options import require_names_declared, target_flags, target_options


@click.command()
@target_options
def target(**kwargs: Any) -> None:
    """Show which AWS mmtui talks to: endpoint, account, identity and regions."""
    from mmtui.target.connect import connect
    from mmtui.target.identity import fetch_identity
    from mmtui.target.spec import resolve_target

    spec = resolve_target(target_flags(kwargs))
    names = names_in_use(spec)
    with connect(spec) as connection:
        identity = fetch_identity(connection.factory)
        click.echo(f"target:            {spec.label()}")
        if connection.endpoint_url:
            click.echo(f"endpoint:          {connection.endpoint_url}")
        click.echo(f"account:           {identity.account_id}")
        click.echo(f"identity:          {identity.arn}")
        click.echo(f"primary region:    {spec.primary_region}")
        click.echo(f"secondary region:  {spec.secondary_region}")
        if connection.workspace is not None:
            click.echo(f"workspace:         {connection.workspace}")
    for line in names:
        click.echo(line)


def names_in_use(spec: Any) -> list[str]:
    """Lines of the resource names in use (the default lab's), marking those the user chose."""
    from mmtui.target.names import SETTINGS

    _, content = resolve_lab(None)
    require_names_declared(spec, content)
    values = content.defaults(spec.name_overrides)
    chosen = spec.name_overrides
    lines = []
    for setting in SETTINGS:
        label = f"{setting.parameter.replace('_', ' ')}:"
        mark = "  (chosen)" if setting.parameter in chosen else ""
        lines.append(f"{label:<19}{values[setting.parameter]}{mark}")
    return lines
