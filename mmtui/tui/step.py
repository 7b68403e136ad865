"""A step: read it, do it by hand with live checks, or let mmtui do it with a live log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Collapsible,
    DataTable,
    RichLog,
    Static,
    TabbedContent,
    TabPane,
)

from mmtui.content.manual import manual_markdown
from mmtui.content.model import Step
from mmtui.content.prose import reflow
from mmtui.content.render import render
from mmtui.engine.plugin import SiteVisit
from mmtui.engine.results import CheckResult, Status
from mmtui.guide import Snapshot
from mmtui.tui.cells import set_cell
from mmtui.tui.code import CommandFence, FoldedCode, GuideMarkdown, copy_text
from mmtui.tui.form_view import FormView
from mmtui.tui.marks import elapsed, mark
from mmtui.tui.sizing import GuideFooter, fit_to_terminal

if TYPE_CHECKING:
    from mmtui.tui.app import MmtuiApp


def step_heading(step: Step, title: str) -> str:
    """ "Step 2: <title>", or the checkpoint's own title (which says it is one: the newcomer
    walkthrough saw "Checkpoint: Checkpoint: ...")."""
    if step.number:
        return f"Step {step.number}: {title}"
    return title if title.lower().startswith("checkpoint") else f"Checkpoint: {title}"


TAB_LABELS = {
    "read": "Read",
    "hand": "Do it by hand",  # the words the lab's text uses for it
    "form": "Form",
    "visit": "Visit",
    "auto": "Do it for me",
}
_TABS = Binding.Group("Tabs", compact=True)  # "1234 Tabs": all keys fit in 80 columns


class StepScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        *(
            Binding(str(n), f"tab({n})", f"Tab {n}", group=_TABS, show=True)
            for n in range(1, len(TAB_LABELS) + 1)
        ),
        Binding("h", "hint", "Hint"),
        Binding("c", "copy", "Copy"),
        Binding("s", "solve", "Solve"),
        Binding("x", "reset", "Reset"),
        Binding("v", "visit", "Visit site", show=False),
        Binding("t", "traffic", "Live traffic"),
    ]

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.step = step
        self.results: list[CheckResult] = []
        self.chosen: str | None = None
        """The check the attendee picked in the table (its detail is shown), or None: the
        first that does not pass."""
        self._title_width = 0
        self._status: Status | None = None

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
            with self._tab("read"), VerticalScroll():
                yield GuideMarkdown(self._instructions(), id="instructions")
                for index, more in enumerate(step.learn_more):
                    with Collapsible(
                        title=f"Learn more: {self._r(more.title)}", id=f"more-{index}"
                    ):
                        yield GuideMarkdown(self._r(more.body))
            with self._tab("hand"), VerticalScroll():
                yield GuideMarkdown(self._manual(), id="manual")
            if app.guide.has_form(step.id):
                with self._tab("form"):
                    yield FormView(step.id, id="form-view")
            if app.guide.can_visit(step.id):
                with self._tab("visit"), VerticalScroll():
                    yield Button("Fetch the site (v)", id="visit-button")
                    yield Static("", id="site")
            with self._tab("auto"), Vertical():
                with VerticalScroll(id="auto-summary"):
                    yield Static(reflow(self._r(step.automated.summary)))
                with Horizontal(id="auto-buttons"):
                    yield Button("Solve (s)", id="solve", variant="primary", compact=True)
                    if step.automated.reset:
                        yield Button("Reset (x)", id="reset", variant="error", compact=True)
                yield RichLog(id="log", wrap=True, markup=False, max_lines=2000)
        yield DataTable(id="checks", cursor_type="row")
        # Fixed heights, scrolled inside: the screen does not jump when a message shrinks, and
        # a long message, hint or command is read whole by scrolling.
        with VerticalScroll(id="check-detail"):
            yield Static("", id="detail-text")
            yield FoldedCode("", "sh", id="detail-command")
        with VerticalScroll(id="hints"):
            yield Static("", id="hints-text")
        yield GuideFooter()

    @property
    def tab_ids(self) -> list[str]:
        """The tabs this step has, in order: the digit keys pick them."""
        app = self.guide_app
        step_id = self.step.id
        optional = {"form": app.guide.has_form(step_id), "visit": app.guide.can_visit(step_id)}
        return [tab for tab in TAB_LABELS if optional.get(tab, True)]

    def _tab(self, tab_id: str) -> TabPane:
        number = self.tab_ids.index(tab_id) + 1
        return TabPane(f"{number} {TAB_LABELS[tab_id]}", id=tab_id)

    def show_tab(self, tab_id: str) -> None:
        self.query_one("#paths", TabbedContent).active = tab_id

    def action_tab(self, number: int) -> None:
        tabs = self.tab_ids
        if 1 <= number <= len(tabs):
            self.show_tab(tabs[number - 1])

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
        self.query_one("#detail-command").display = False
        saved = app.guide.progress.step(self.step.id)
        self._show_hints(saved.hints)
        if saved.path == "automated":
            self.show_tab("auto")
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
        changed = self._status is not None and result.status != self._status
        self._status = result.status
        if changed and self.query("#form-view"):
            # What the form says the account holds (step 2: "Stream off") is stale now.
            self.query_one("#form-view", FormView).reload()

    def on_resize(self, event: events.Resize) -> None:
        fit_to_terminal(self.app)
        self.call_after_refresh(self._fit_titles)

    def _fit_titles(self) -> None:
        """Check titles cut (with …) to the room the region and status columns leave, so that
        those two stay on screen at 80 columns; the detail below shows the whole title."""
        table = self.query_one("#checks", DataTable)
        columns = table.columns
        others = sum(
            column.get_render_width(table) for key, column in columns.items() if key != "check"
        )
        room = table.scrollable_content_region.width - others - 2 * table.cell_padding
        width = max(12, room)
        if width == self._title_width or table.scrollable_content_region.width == 0:
            return
        self._title_width = width
        for check in self.step.checks:
            title = Text(check.title, no_wrap=True, overflow="ellipsis")
            title.truncate(width, overflow="ellipsis")
            set_cell(table, check.name, "check", title)

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
            set_cell(table, check.id, "status", mark(check.status, extra))
        if everything:  # the status column's width may have changed: room for the titles
            self._title_width = 0
            self.call_after_refresh(self._fit_titles)

    @on(DataTable.RowHighlighted, "#checks")
    def _check_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Only the attendee's own moves pick a check: the cursor sits on row 0 from the start.
        if event.data_table.has_focus:
            self.chosen = str(event.row_key.value)
            self._detail()

    @on(DataTable.RowSelected, "#checks")
    def _check_selected(self, event: DataTable.RowSelected) -> None:
        self.chosen = str(event.row_key.value)
        self._detail()

    def shown_check(self) -> CheckResult | None:
        """The check the detail explains: the one picked, else the first not passing."""
        by_id = {check.id: check for check in self.results}
        if self.chosen in by_id:
            return by_id[self.chosen]
        return next((c for c in self.results if c.status != Status.PASS), None)

    def _detail(self) -> None:
        """The check picked in the table (else the first that does not pass): its message,
        its hint and the command that shows it."""
        text = self.query_one("#detail-text", Static)
        command = self.query_one("#detail-command", FoldedCode)
        panel = self.query_one("#check-detail", VerticalScroll)
        check = self.shown_check()
        done = bool(self.results) and check is None
        panel.set_class(done, "-done")
        command.display = False
        if check is None:
            text.update("All checks pass: this step is done." if done else "")
            return
        lines = [f"{check.title}: {check.message}"]
        if check.status == Status.PASS:
            lines[0] = f"✔ {lines[0]}"
        hint = next((c.hint for c in self.step.checks if c.name == check.id), None)
        if hint and check.status != Status.PASS:
            lines.append(f"Try: {reflow(self._r(hint))}")
        if check.command:
            lines.append("See for yourself (c copies it):")
            command.show(check.command, "sh")
            command.display = True
        text.update("\n".join(lines))

    def action_copy(self) -> None:
        """Copy the command in focus; else the "See for yourself" command of the check shown."""
        focused = self.focused
        if isinstance(focused, CommandFence):
            focused.action_copy()
            return
        check = self.shown_check()
        if check is not None and check.command:
            copy_text(self, check.command)
        else:
            self.guide_app.notify(
                "Press tab until a command is highlighted, then c copies it.", timeout=6
            )

    # ------------------------------------------------------------------ hints

    def action_hint(self) -> None:
        shown = self.guide_app.guide.reveal_hint(self.step.id, len(self.step.hints))
        self._show_hints(shown)

    def _show_hints(self, shown: int) -> None:
        hints = self.query_one("#hints-text", Static)
        if shown == 0:
            hints.update(f"{len(self.step.hints)} hints · press h for the first")
            return
        text = [
            f"Hint {n}: {reflow(self._r(hint))}"
            for n, hint in enumerate(self.step.hints[:shown], start=1)
        ]
        total = len(self.step.hints)
        if shown < total:
            text.append(f"({shown} of {total} · h: next hint)")
        else:
            text.append(f"(all {total} hints shown)")
        hints.update("\n".join(text))
        # The newest hint and the line saying what h does next are what the attendee looks for.
        panel = self.query_one("#hints", VerticalScroll)
        panel.call_after_refresh(panel.scroll_end, animate=False)

    # ------------------------------------------------------------------ automated path

    def action_solve(self) -> None:
        self.show_tab("auto")
        self.guide_app.solve_step(self.step)

    def action_reset(self) -> None:
        if self.step.automated.reset is None:
            self.guide_app.notify("The checkpoint creates nothing, so there is nothing to reset.")
            return
        self.show_tab("auto")
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

    def log_cleared(self, step_id: str) -> None:
        """A new task is being prepared: the last run's lines would read as its outcome."""
        if step_id == self.step.id:
            self.query_one("#log", RichLog).clear()

    def task_finished(self, step_id: str, kind: str) -> None:
        self._buttons()
        if step_id == self.step.id and self.query("#form-view"):
            view = self.query_one("#form-view", FormView)
            if kind == "apply":
                lines = self.guide_app.logs.get(step_id, [])
                view.show_outcome("\n".join(lines[-6:]))
            view.reload()  # what the task changed

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
        self.query_one("#detail-text", Static).update(f"{title}\n{text}")
        self.query_one("#detail-command").display = False
        self.query_one("#check-detail").set_class(False, "-done")

    @on(TabbedContent.TabActivated, "#paths")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "form" and self.query("#form-view"):
            self.query_one("#form-view", FormView).reload()  # the account may have moved on

    # ------------------------------------------------------------------ the lab's site

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The live traffic view only where the lab has one (Lab 5's traffic steps).
        if action == "traffic":
            return self.guide_app.guide.can_show_traffic(self.step.id)
        if action == "tab":  # a key for each tab this step has, no more
            number = parameters[0] if parameters else 0
            return isinstance(number, int) and number <= len(self.tab_ids)
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
