"""A load run as a small text chart: one row per serving region and one for failures, a column
per time slice, and a row of markers for what happened (break, failover, restore...).

Rich text, so the command line prints it in colour and the guide shows the same chart in a
widget; plain text when written to a file.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from mmtui.load.answers import Second

BARS = " ▁▂▃▄▅▆▇█"
REGION_STYLES = ("green", "cyan", "magenta", "yellow")


def sparkline(values: Sequence[float], top: float) -> str:
    if top <= 0:
        return " " * len(values)
    return "".join(BARS[min(len(BARS) - 1, round(v / top * (len(BARS) - 1)))] for v in values)


def slices(seconds: Sequence[Second], width: int) -> tuple[int, list[list[Second]]]:
    """The run cut into at most `width` slices of whole seconds: (seconds per slice, slices)."""
    per = max(1, -(-len(seconds) // max(1, width)))
    return per, [list(seconds[i : i + per]) for i in range(0, len(seconds), per)]


def chart(
    seconds: Sequence[Second],
    regions: Sequence[str],
    events: Sequence[tuple[float, str]] = (),
    width: int = 72,
) -> Text:
    """Likes served per region and failed, per slice, with event markers (`(at, letter)`)."""
    per, cut = slices(seconds, width)
    series = {
        region: [sum(s.by_region.get(region, 0) for s in part) / per for part in cut]
        for region in regions
    }
    failed = [sum(s.failed for s in part) / per for part in cut]
    top = max([*(max(v, default=0) for v in series.values()), max(failed, default=0), 1])
    label = max(len(r) for r in [*regions, "failed"])
    text = Text()
    for index, (region, values) in enumerate(series.items()):
        text.append(f"{region:>{label}} ", style="bold")
        text.append(sparkline(values, top), style=REGION_STYLES[index % len(REGION_STYLES)])
        text.append("\n")
    text.append(f"{'failed':>{label}} ", style="bold")
    text.append(sparkline(failed, top), style="red")
    text.append("\n")
    marks = [" "] * len(cut)
    for at, letter in events:
        column = min(len(cut) - 1, int(at) // per) if cut else 0
        if cut:
            marks[column] = letter
    text.append(f"{'':>{label}} ", style="bold")
    text.append("".join(marks), style="bold yellow")
    text.append("\n")
    text.append(
        f"{'':>{label}} one column = {per} s · peak {top:.0f} likes/s",
        style="dim",
    )
    return text
