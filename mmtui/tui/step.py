"""A step: read it, do it by hand with live checks, or let mmtui do it with a live log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Collapsible,
    DataTable,
    Footer,
    Markdown,
    RichLog,
    Static,
    TabbedContent,
    TabPane,
)

from mmtui.content.manual import manual_markdown
from mmtui.content.model import Step
from mmtui.content.render import render
from mmtui.engine.plugin import SiteVisit
from mmtui.engine.results import CheckResult, Status
from mmtui.guide import Snapshot
from mmtui.tui.form_view import FormView
from mmtui.tui.marks import elapsed, mark

if TYPE_CHECKING:
    from mmtui.tui.app import MmtuiApp


def step_heading(step: Step, title: str) -> str:
    """ "Step 2: <title>", or the checkpoint's own title (which says it is one: the newcomer
    walkthrough saw "Checkpoint: Checkpoint: ...")."""
    if step.number:
        return f"Step {step.number}: {title}"
    return title if title.lower().startswith("checkpoint") else f"Checkpoint: {title}"


class StepScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("h", "hint", "Hint"),
        Binding("s", "solve", "Solve"),
        Binding("x", "reset", "Reset"),
        Binding("v", "visit", "Visit site", show=False),
        Binding("t", "traffic", "Live traffic"),
    ]

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.step = step
        self.results: list[CheckResult] = []

    @property
    def guide_app(self) -> MmtuiApp:
        from mmtui.tui.app import MmtuiApp

        assert isinstance(self.app, MmtuiApp)
        return self.app

    def _r(self, text: str) -> str:
        return render(text, self.guide_app.names).strip()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        app = self.guide_app
        step = self.step
        yield from app.target_widgets()
        yield Static(step_heading(step, self._r(step.title)), id="step-title")
        with TabbedContent(id="paths"):
            with TabPane("Read", id="read"), VerticalScroll():
                yield Markdown(self._instructions(), id="instructions")
                for index, more in enumerate(step.learn_more):
                    with Collapsible(
                        title=f"Learn more: {self._r(more.title)}", id=f"more-{index}"
                    ):
                        yield Markdown(self._r(more.body))
            with TabPane("By hand", id="hand"), VerticalScroll():
                yield Markdown(self._manual(), id="manual")
            if app.guide.has_form(step.id):
                with TabPane("Form", id="form"):
                    yield FormView(step.id, id="form-view")
            if app.guide.can_visit(step.id):
                with TabPane("Visit", id="visit"), VerticalScroll():
                    yield Button("Fetch the site (v)", id="visit-button")
                    yield Static("", id="site")
            with TabPane("Do it for me", id="auto"), Vertical():
                yield Static(self._r(step.automated.summary), id="auto-summary")
                with Horizontal(id="auto-buttons"):
                    yield Button("Solve (s)", id="solve", variant="primary")
                    if step.automated.reset:
                        yield Button("Reset (x)", id="reset", variant="error")
                yield RichLog(id="log", wrap=True, markup=False, max_lines=2000)
        yield DataTable(id="checks", cursor_type="row")
        yield Static("", id="check-detail")
        yield Static("", id="hints")
        yield Footer()

    def _instructions(self) -> str:
        """The page without its top heading: the step's title is already on screen."""
        text = self._r(self.guide_app.content.instructions[self.step.id])
        first, _, rest = text.partition("\n")
        return rest.lstrip("\n") if first.startswith("# ") else text

    def _manual(self) -> str:
        app = self.guide_app
        parts = [self._r(self.step.manual.summary)]
        env = app.guide.sandbox_env
        if env is not None:
            parts.append(
                "> On the sandbox: in your second terminal, first run "
                f"`source {env}` so that `aws` and `git` talk to it."
            )
        parts += manual_markdown(self.step.manual, self._r)
        parts.append("The checks below refresh on their own and turn green as AWS converges.")
        return "\n\n".join(parts)

    def on_mount(self) -> None:
        app = self.guide_app
        table = self.query_one("#checks", DataTable)
        table.add_column("check", key="check")
        table.add_column("region", key="region")
        table.add_column("status", key="status")
        for check in self.step.checks:
            region = (
                app.spec.secondary_region
                if check.region == "secondary"
                else (app.spec.primary_region)
            )
            table.add_row(check.title, region, mark(None, "checking…"), key=check.name)
        saved = app.guide.progress.step(self.step.id)
        self._show_hints(saved.hints)
        if saved.path == "automated":
            self.query_one("#paths", TabbedContent).active = "auto"
        log = self.query_one("#log", RichLog)
        for line in app.logs.get(self.step.id, []):
            log.write(line)
        self._buttons()
        if app.snapshot is not None:
            self.show_snapshot(app.snapshot)
        self.set_interval(1.0, self._tick)

    # ------------------------------------------------------------------ checks

    def show_snapshot(self, snapshot: Snapshot) -> None:
        result = snapshot.steps.get(self.step.id)
        if result is None:
            return
        self.results = result.checks
        self._tick(everything=True)
        self._detail()

    def _tick(self, everything: bool = False) -> None:
        """Redraw statuses; pending ones show how long they have been pending. The timer
        redraws only those: the others change with a round of checks, not with the clock."""
        table = self.query_one("#checks", DataTable)
        guide = self.guide_app.guide
        for check in self.results:
            extra = ""
            if check.status == Status.PENDING:
                seconds = guide.pending_for(self.step.id, check.id)
                extra = f"for {elapsed(seconds)}" if seconds is not None else ""
            elif not everything:
                continue
            table.update_cell(check.id, "status", mark(check.status, extra), update_width=True)

    def _detail(self) -> None:
        """The first check that is not passing, with its message, its hint and its command."""
        detail = self.query_one("#check-detail", Static)
        failing = [c for c in self.results if c.status != Status.PASS]
        if not self.results:
            detail.update("")
            return
        if not failing:
            detail.update("All checks pass: this step is done.")
            return
        check = failing[0]
        lines = [f"{check.title}: {check.message}"]
        hint = next((c.hint for c in self.step.checks if c.name == check.id), None)
        if hint:
            lines.append(f"Try: {self._r(hint)}")
        if check.command:
            lines.append(f"See for yourself: {check.command}")
        detail.update("\n".join(lines))

    # ------------------------------------------------------------------ hints

    def action_hint(self) -> None:
        shown = self.guide_app.guide.reveal_hint(self.step.id, len(self.step.hints))
        self._show_hints(shown)

    def _show_hints(self, shown: int) -> None:
        hints = self.query_one("#hints", Static)
        if shown == 0:
            hints.update(f"{len(self.step.hints)} hints · press h for the first")
            return
        text = [
            f"Hint {n}: {self._r(hint)}" for n, hint in enumerate(self.step.hints[:shown], start=1)
        ]
        if shown < len(self.step.hints):
            text.append("(h: next hint)")
        hints.update("\n".join(text))

    # ------------------------------------------------------------------ automated path

    def action_solve(self) -> None:
        self.query_one("#paths", TabbedContent).active = "auto"
        self.guide_app.solve_step(self.step)

    def action_reset(self) -> None:
        if self.step.automated.reset is None:
            self.guide_app.notify("The checkpoint creates nothing, so there is nothing to reset.")
            return
        self.query_one("#paths", TabbedContent).active = "auto"
        self.guide_app.plan_reset(self.step)

    def action_back(self) -> None:
        self.guide_app.guide.open_step(None)
        self.app.pop_screen()

    @on(Button.Pressed, "#solve")
    def _solve_pressed(self) -> None:
        self.action_solve()

    @on(Button.Pressed, "#reset")
    def _reset_pressed(self) -> None:
        self.action_reset()

    def task_started(self, step_id: str, kind: str) -> None:
        if step_id == self.step.id:
            self.query_one("#log", RichLog).clear()
            self.show_log_line(step_id, f"{kind} started")
        self._buttons()

    def task_finished(self, step_id: str, kind: str) -> None:
        self._buttons()
        if kind == "apply" and step_id == self.step.id and self.query(".form-outcome"):
            lines = self.guide_app.logs.get(step_id, [])
            self.query_one(".form-outcome", Static).update("\n".join(lines[-6:]))

    def _buttons(self) -> None:
        busy = self.guide_app.busy() is not None
        for button in self.query(Button):
            if button.id in ("solve", "reset"):
                button.disabled = busy

    def show_form(self, step_id: str, form: Any) -> None:
        if step_id == self.step.id and self.query("#form-view"):
            view = self.query_one("#form-view", FormView)
            view.call_later(view.show_form, form)

    def show_log_line(self, step_id: str, text: str) -> None:
        if step_id == self.step.id:
            self.query_one("#log", RichLog).write(text)

    def show_error(self, title: str, text: str) -> None:
        self.query_one("#check-detail", Static).update(f"{title}\n{text}")

    # ------------------------------------------------------------------ the lab's site

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The live traffic view only where the lab has one (Lab 5's traffic steps).
        if action == "traffic":
            return self.guide_app.guide.can_show_traffic(self.step.id)
        return True

    def action_traffic(self) -> None:
        if self.guide_app.guide.can_show_traffic(self.step.id):
            self.guide_app.open_traffic()

    def action_visit(self) -> None:
        if not self.guide_app.guide.can_visit(self.step.id):
            return
        self.query_one("#site", Static).update("fetching…")
        self.guide_app.visit_site(self.step.id)

    @on(Button.Pressed, "#visit-button")
    def _visit_pressed(self) -> None:
        self.action_visit()

    def show_site(self, site: SiteVisit) -> None:
        if not self.query("#site"):
            return
        self.query_one("#site", Static).update(site.text)
