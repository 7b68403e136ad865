"""The live traffic view: likes sent through the lab's front door, charted per serving region
and failures, beside each region's traffic dial and endpoint health; and the failover drill.

The load runs on its own threads (mmtui.load); this screen only reads its answers once a
second (memory, no AWS) and asks the app for the dials and health every few seconds (a
worker)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, RichLog, Static

from mmtui.tui.sizing import GuideFooter, fit_to_terminal

if TYPE_CHECKING:
    from mmtui.tui.app import MmtuiApp

WINDOW = 60
"""Seconds of traffic the chart shows."""
RATES = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
STATUS_SECONDS = 5.0


class TrafficScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("space", "toggle_load", "Start/stop load"),
        Binding("plus,equals_sign", "faster", "Faster"),
        Binding("minus", "slower", "Slower"),
        Binding("d", "drill", "Failover drill"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.traffic: Any = None
        self.load: Any = None
        self.rate = 10.0
        self.drilling = False

    @property
    def guide_app(self) -> MmtuiApp:
        from mmtui.tui.app import MmtuiApp

        assert isinstance(self.app, MmtuiApp)
        return self.app

    def on_resize(self) -> None:
        fit_to_terminal(self.app)

    def compose(self) -> ComposeResult:
        yield from self.guide_app.target_widgets()
        yield Static("Live traffic: likes through the accelerator", id="traffic-title")
        with Horizontal(id="traffic-top"):
            yield Static("", id="traffic-chart")
            yield DataTable(id="traffic-regions", cursor_type="none", show_cursor=False)
        yield Static("", id="traffic-totals", classes="hint-line")
        with VerticalScroll(id="traffic-below"):
            yield RichLog(id="traffic-log", wrap=True, markup=False, max_lines=500)
        yield GuideFooter()

    def on_mount(self) -> None:
        table = self.query_one("#traffic-regions", DataTable)
        table.add_column("region", key="region")
        table.add_column("dial", key="dial")
        table.add_column("endpoint", key="health")
        self._totals()
        self.guide_app.load_traffic()
        self.set_interval(1.0, self._tick)
        self.set_interval(STATUS_SECONDS, self._ask_status)

    def on_unmount(self) -> None:
        if self.load is not None:
            self.guide_app.stop_load(self.load)
            self.load = None

    # ------------------------------------------------------------------ messages from the app

    def traffic_ready(self, traffic: Any) -> None:
        self.traffic = traffic
        self.log_line(
            "space starts the load; + and - change its rate; d runs a failover drill "
            "(it breaks the primary for a while, then restores it)."
        )
        self._ask_status()

    def load_started(self, load: Any) -> None:
        self.load = load
        self.log_line(f"sending {self.rate:g} likes/s")

    def traffic_status(self, rows: list[tuple[str, str, str]]) -> None:
        table = self.query_one("#traffic-regions", DataTable)
        table.clear()
        for region, dial, health in rows:
            style = "green" if health == "HEALTHY" else "red" if "UNHEALTHY" in health else "yellow"
            table.add_row(region, dial, Text(health, style=style), key=region)

    def drill_event(self, at: float, what: str) -> None:
        self.log_line(f"{at:6.1f}s  {what}")

    def drill_done(self, report: Any) -> None:
        from mmtui.load.drill_text import report_text

        self.drilling = False
        self.query_one("#traffic-log", RichLog).write(report_text(report))
        self._totals()

    def show_error(self, title: str, text: str) -> None:
        """A worker failed (the app's one handler says so): a drill that stopped is over."""
        if self.drilling:
            self.drilling = False
            self._totals()
        self.log_line(f"{title}: {text}")

    def log_line(self, line: str) -> None:
        self.query_one("#traffic-log", RichLog).write(line)

    # ------------------------------------------------------------------ keys

    def action_back(self) -> None:
        if self.drilling:
            self.app.notify("The drill is running; it restores the primary when it ends.")
            return
        self.app.pop_screen()

    def action_toggle_load(self) -> None:
        if self.traffic is None or self.drilling:
            return
        if self.load is None:
            self.guide_app.start_load(self.traffic, self.rate)
        else:
            self.guide_app.stop_load(self.load)
            self.load = None
            self.log_line("stopped")
        self._totals()

    def _change_rate(self, step: int) -> None:
        index = min(range(len(RATES)), key=lambda i: abs(RATES[i] - self.rate))
        self.rate = RATES[max(0, min(len(RATES) - 1, index + step))]
        if self.load is not None:  # a new rate: a new load at that rate
            self.guide_app.stop_load(self.load)
            self.load = None
            self.guide_app.start_load(self.traffic, self.rate)
        self._totals()

    def action_faster(self) -> None:
        self._change_rate(1)

    def action_slower(self) -> None:
        self._change_rate(-1)

    def action_drill(self) -> None:
        if self.traffic is None or self.traffic.drill is None or self.drilling:
            return
        from mmtui.tui.dialogs import DrillScreen

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if self.load is not None:  # the drill sends its own load
                self.guide_app.stop_load(self.load)
                self.load = None
            self.drilling = True
            self.log_line("drill: starting (about three minutes)")
            self.guide_app.run_drill(self.traffic, self.rate)
            self._totals()

        self.app.push_screen(DrillScreen(), answered)

    # ------------------------------------------------------------------ drawing

    def _ask_status(self) -> None:
        if self.traffic is not None:
            self.guide_app.traffic_status(self.traffic)

    def _tick(self) -> None:
        if self.load is None or self.traffic is None:
            return
        from mmtui.load.answers import per_second, summarise
        from mmtui.load.chart import chart

        answers = self.load.snapshot()
        now = self.load.elapsed()
        seconds = per_second(answers, until=max(0, int(now) - 1))[-WINDOW:]
        width = max(20, self.query_one("#traffic-chart", Static).size.width - 12)
        self.query_one("#traffic-chart", Static).update(
            chart(seconds, list(self.traffic.regions), width=width)
        )
        summary = summarise(answers, now)
        regions = ", ".join(f"{r} {n}" for r, n in sorted(summary.by_region.items())) or "none"
        self._totals(
            f"{summary.sent} likes in {now:.0f} s · OK by region: {regions} · failed "
            f"{summary.failed} · median {summary.median_ms:.0f} ms"
        )

    def _totals(self, figures: str = "") -> None:
        state = "drill running" if self.drilling else "sending" if self.load else "stopped"
        self.query_one("#traffic-totals", Static).update(
            f"{state} · {self.rate:g} likes/s" + (f" · {figures}" if figures else "")
        )
