"""Lab 3's overview picture: one row per layer that must exist twice, one column per region,
drawn from a live inventory (`inventory.py`), never from what the lab expects. Cells are Rich
Text; the guide's overview screen shows whatever rows a lab gives it."""

from __future__ import annotations

from typing import Any

from rich.text import Text

Cell = Text


def _ok(text: str) -> Cell:
    return Text(f"✔ {text}", style="green")


def _no(text: str) -> Cell:
    return Text(f"✘ {text}", style="red")


def _wait(text: str) -> Cell:
    return Text(f"… {text}", style="yellow")


def _err(error: Any) -> Cell:
    return Text(f"! {error.code}", style="magenta")


def _stack(side: Any) -> Cell:
    stack = side.stacks[0]
    if stack.error is not None:
        return _err(stack.error)
    if stack.status is None:
        return _no(f"no stack {stack.name}")
    if stack.status.endswith("_COMPLETE") and "ROLLBACK" not in stack.status:
        return _ok(f"{stack.name}")
    if stack.status.endswith("_IN_PROGRESS"):
        return _wait(f"{stack.name} {stack.status}")
    return _no(f"{stack.name} {stack.status}")


def _table(side: Any, primary_region: str, secondary_region: str) -> Cell:
    table = side.table
    if table.error is not None:
        return _err(table.error)
    if side.region == primary_region:
        if table.status is None:
            return _no(f"no table {table.name}")
        stream = "stream on" if table.stream_view_type else "no stream"
        return _ok(f"{table.name}, {stream}")
    if table.status is None:
        return _no("no replica")
    if table.status == "ACTIVE":
        return _ok(f"replica of {table.name}")
    return _wait(f"replica {table.status}")


def _images(side: Any) -> Cell:
    registries = side.registries
    if registries.error is not None:
        return _err(registries.error)
    if not registries.items:
        return _no("no registries")
    present = [r for r in registries.items if r.present]
    if len(present) < len(registries.items):
        return _no(f"{len(present)} of {len(registries.items)} registries")
    empty = [r for r in present if r.image_count == 0]
    if empty:
        return _no(f"{len(empty)} of {len(present)} registries empty")
    return _ok(f"{sum(r.image_count for r in present)} images in {len(present)} registries")


def _application(side: Any) -> Cell:
    cluster = side.cluster
    if cluster.error is not None:
        return _err(cluster.error)
    if cluster.name is None or cluster.status is None:
        return _no("no cluster")
    services = cluster.services
    if not services:
        return _no(f"{cluster.name}: no services")
    own = [s for s in services if s.image_region == side.region]
    running = sum(s.running for s in services)
    desired = sum(s.desired for s in services)
    text = f"{len(services)} services, {running}/{desired} tasks"
    if len(own) < len(services):
        return _wait(f"{text}, placeholder image")
    return _ok(text) if running >= desired else _wait(text)


def _load_balancer(side: Any) -> Cell:
    balancer = side.load_balancer
    if balancer.error is not None:
        return _err(balancer.error)
    if balancer.dns_name is None:
        return _no("no load balancer")
    return _ok(balancer.name or balancer.dns_name)


def _pipelines(inventory: Any, region: str) -> Cell:
    pipelines = inventory.pipelines
    if pipelines.error is not None:
        return _err(pipelines.error)
    if not pipelines.items:
        return _no("no pipelines")
    reaching = [
        p.kind
        for p in pipelines.items
        if any(region in stage.regions and stage.name != "Source" for stage in p.stages)
    ]
    if not reaching:
        return _no("no stage deploys here")
    return _ok(f"{' and '.join(reaching)} deploy here")


def _dashboard(inventory: Any, region: str) -> Cell:
    dashboard = inventory.dashboard
    if dashboard.error is not None:
        return _err(dashboard.error)
    if not dashboard.present:
        return _no(f"no dashboard {dashboard.name}")
    shown = [w for w in dashboard.widgets if region in w.regions]
    if not shown:
        return _no("no widgets here")
    return _ok(f"{len(shown)} widgets")


def rows(inventory: Any) -> list[tuple[str, Cell, Cell]]:
    """(layer, primary, secondary) rows of the picture."""
    primary, secondary = inventory.primary, inventory.secondary
    regions = (primary.region, secondary.region)
    return [
        ("infrastructure", _stack(primary), _stack(secondary)),
        ("data tier", _table(primary, *regions), _table(secondary, *regions)),
        ("images", _images(primary), _images(secondary)),
        ("application", _application(primary), _application(secondary)),
        ("load balancer", _load_balancer(primary), _load_balancer(secondary)),
        (
            "pipeline",
            _pipelines(inventory, primary.region),
            _pipelines(inventory, secondary.region),
        ),
        (
            "dashboard",
            _dashboard(inventory, primary.region),
            _dashboard(inventory, secondary.region),
        ),
    ]
