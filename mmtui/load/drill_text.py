"""A failover drill's report for a terminal (the command line and the guide show the same)."""

from __future__ import annotations

from typing import Any


def report_text(report: Any) -> Any:
    """The drill's report for a terminal: the figures, then the chart."""
    from rich.text import Text

    from mmtui.load.answers import Second
    from mmtui.load.chart import chart

    def at(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f} s"

    text = Text()
    rto = "not recovered" if report.rto_seconds is None else f"{report.rto_seconds:.1f} s"
    text.append(f"RTO {rto}", style="bold")
    text.append(
        f"  ({report.failed_during_outage} likes failed from the break to the recovery; recovered "
        f"means {report.threshold:.0%} of likes succeeding for 3 s, {report.baseline:.0%} before)\n"
    )
    text.append(f"RPO {report.likes_lost_at_failover} likes", style="bold")
    caught = report.replication_caught_up_after
    lag = f"after {at(caught)}" if caught is not None else "not within the drill"
    text.append(
        f"  (acknowledged {report.likes_acknowledged_at_failover} by the failover; "
        f"{report.likes_in_secondary_at_failover} in {report.secondary}'s replica then; "
        f"replication caught up {lag})\n"
    )
    text.append(
        f"break {at(report.broken_at)} · failover {at(report.failover_at)} · first like served "
        f"elsewhere {at(report.first_served_elsewhere)} · restore {at(report.restored_at)} · "
        f"healthy again {at(report.healthy_again_at)} · first like home again "
        f"{at(report.first_served_home_again)}\n",
        style="dim",
    )
    seconds = []
    for row in report.seconds:
        second = Second(float(row["t"]), row["sent"], row["ok"], row["failed"])
        second.by_region.update(row["by_region"])
        seconds.append(second)
    events = [
        (value, letter)
        for value, letter in (
            (report.broken_at, "B"),
            (report.failover_at, "F"),
            (report.restored_at, "R"),
            (report.healthy_again_at, "H"),
        )
        if value is not None
    ]
    text.append_text(chart(seconds, [report.primary, report.secondary], events))
    text.append("\nB break · F failover (primary unhealthy) · R restore · H primary healthy again")
    return text
