"""Reading a CloudWatch dashboard body: its metric rows, with CloudWatch's shorthands
expanded, as `Metric`s. The prerequisites, step 5 and the inventory all read dashboards this way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mmtui.engine.checks import Checker
from mmtui.labs.lab3.aws import facts


class Metric:
    def __init__(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        options: dict[str, Any],
        region: str,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions
        self.label = str(options.get("label", ""))
        self.region = str(options.get("region", region))


REPEAT_ONE = "."
"""CloudWatch's shorthand in a metric row: the value at this position of the row above."""


REPEAT_REST = "..."
"""CloudWatch's shorthand: the row above's values from here on, up to where this row's
remaining values take over (`["...", "other-alb"]` is the row above with its last value
replaced; `["...", {"region": "us-east-1"}]` is the row above again, in another region)."""


def expand_rows(rows: list[Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """Each metric row of a widget as (values, options), with the shorthands expanded as the
    CloudWatch console reads them. A row that is only options (a math expression) is skipped
    and does not become the row above."""
    previous: list[Any] = []
    for row in rows:
        if not isinstance(row, list):
            continue
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        values = list(row[:-1] if options else row)
        if not values:
            continue
        if REPEAT_REST in values:
            at = values.index(REPEAT_REST)
            before, after = values[:at], values[at + 1 :]
            values = [*before, *previous[at : max(at, len(previous) - len(after))], *after]
        values = [
            previous[i] if v == REPEAT_ONE and i < len(previous) else v
            for i, v in enumerate(values)
        ]
        previous = values
        yield values, options


def dashboard_metrics(body: dict[str, Any], default_region: str) -> Iterator[Metric]:
    """Every metric of every widget, with CloudWatch's shorthands expanded and each metric's
    own region (its option, else the widget's, else the dashboard's region)."""
    for widget in body.get("widgets", []) if isinstance(body.get("widgets"), list) else []:
        properties = widget.get("properties", {}) if isinstance(widget, dict) else {}
        if not isinstance(properties, dict) or not isinstance(properties.get("metrics"), list):
            continue
        region = properties.get("region", default_region)
        for values, options in expand_rows(properties["metrics"]):
            if len(values) < 2:
                continue
            pairs = values[2:]
            dimensions = {str(pairs[i]): str(pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)}
            yield Metric(str(values[0]), str(values[1]), dimensions, options, region)


def read_dashboard(check: Checker, name: str) -> dict[str, Any] | None:
    return facts(check).dashboard(name, check.ctx.primary_region)
