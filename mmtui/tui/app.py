"""The guide: the workshop as screens over the engine (mmtui.guide), in the style of harlequin.

All AWS and git work runs in thread workers owned by the app, in named groups ("connect",
"checks", "task", "look"); workers only post messages, and only handlers touch widgets. The
checks re-arm themselves after each round, so two rounds never overlap. Worker errors all land
in one handler that shows them as a readable notice, never a traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from mmtui.background import DaemonPool
from mmtui.content.loader import LabContent
from mmtui.content.model import Step
from mmtui.engine.plugin import LabPlugin
from mmtui.engine.results import Status
from mmtui.guide import Guide, Snapshot
from mmtui.target.calls import slow_summary
from mmtui.target.spec import TargetSpec
from mmtui.tui.messages import (
    ChecksDone,
    Connected,
    DiffReady,
    DrillDone,
    DrillEvent,
    FormReady,
    InventoryReady,
    LabLoaded,
    LoadStarted,
    LogLine,
    PlanReady,
    SiteVisited,
    SolveAsked,
    TaskDone,
    TrafficReady,
    TrafficStatus,
)
from mmtui.tui.rounds import Rounds
from mmtui.tui.sizing import fit_to_terminal

REFRESH_SECONDS = 10.0
DRILL_SECONDS = 180.0
"""A drill from the guide: half a minute before the break, 90 s after it, a minute after the
restore (AWS's health checks need tens of seconds each way)."""


class TargetLine(Static):
    """The target, always on screen under the header."""


class MmtuiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mmtui"
    SUB_TITLE = "Mythical Mysfits multi-region workshop"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Check now"),
        Binding("e", "sandbox_env", "Use from a terminal", show=False),
    ]

    def __init__(
        self,
        spec: TargetSpec,
        content: LabContent,
        lab: LabPlugin | None = None,
        guide: Guide | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] | None = None,
        lab_loader: Callable[[str], tuple[LabPlugin, LabContent]] | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.content = content
        self.lab_loader = lab_loader
        """Lab id → (plugin, content) of another installed lab: how home opens it (the command
        line, which alone knows the installed labs, hands it in)."""
        if guide is None:
            if lab is None:
                raise ValueError("MmtuiApp needs the lab it guides, or a Guide of it")
            guide = Guide(spec, content, lab, clock=clock or time.time)
        self.guide = guide
        guide.tell = lambda message: self.notify(  # notify posts a message: any thread may
            message, title="Progress not saved", severity="warning", timeout=20
        )
        self.refresh_seconds = refresh_seconds
        self.snapshot: Snapshot | None = None
        self.names: dict[str, str] = self._initial_names(content)
        self.logs: dict[str, list[str]] = {}
        """Step id → the lines of its last solve or reset, kept when the step screen closes."""
        self.running: dict[str, str] = {}
        self._slow_shown = ""
        """Step id → "solve"/"reset" while that task runs."""
        self.inventory: Any = None
        self.last_step: str | None = None
        """The step opened last: the overview's cursor goes back to it."""
        self._preparing: dict[Worker[None], str] = {}
        """A worker preparing a solve (its preview, its requirements) → the step's id."""
        self._rounds = Rounds(self, self._check_round, lambda: self.refresh_seconds)

    def _initial_names(self, content: LabContent) -> dict[str, str]:
        """The lab's names before its first round of checks: parameters and placeholders."""
        spec = self.spec
        return content.names(
            {
                **spec.name_overrides,
                "primary_region": spec.primary_region,
                "secondary_region": spec.secondary_region,
            }
        )

    # ------------------------------------------------------------------ screens

    def on_mount(self) -> None:
        from mmtui.tui.home import HomeScreen

        # Thread workers run on the loop's default executor, which asyncio waits for when the
        # app ends: a call stuck on an endpoint that never answers would keep the guide from
        # quitting (a blank screen for minutes). Daemon threads are left behind instead.
        asyncio.get_running_loop().set_default_executor(DaemonPool(8, name="mmtui-worker"))
        self.push_screen(HomeScreen())
        self.connect()
        self.set_interval(1.0, self._show_slow_calls)

    def _show_slow_calls(self) -> None:
        """The target line, with the slowest AWS call named while calls are slow."""
        slow = slow_summary()
        if slow == self._slow_shown:
            return
        self._slow_shown = slow
        line = self.guide.target_line() + (f" · {slow}" if slow else "")
        for screen in self.screen_stack:
            for widget in screen.query(TargetLine):
                widget.update(line)

    async def action_quit(self) -> None:
        """Quit at once, unless a solve or reset is running: then say what goes on first."""
        if not self.running:
            self.exit()
            return
        from mmtui.tui.dialogs import QuitWhileRunningScreen

        running = [f"{kind} of {step_id}" for step_id, kind in self.running.items()]

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(QuitWhileRunningScreen(running), answered)

    def on_resize(self) -> None:
        fit_to_terminal(self)

    def on_unmount(self) -> None:
        self.guide.close()

    def target_widgets(self) -> ComposeResult:
        """What every screen shows on top: the header and the target line."""
        yield Header()
        yield TargetLine(self.guide.target_line(), classes="target")

    def _broadcast(self, method: str, *args: Any) -> None:
        for screen in self.screen_stack:
            handler = getattr(screen, method, None)
            if handler is not None:
                handler(*args)

    def open_step(self, step_id: str) -> None:
        from mmtui.tui.step import StepScreen

        while isinstance(self.screen, StepScreen):
            self.pop_screen()
        self.last_step = step_id
        self.guide.open_step(step_id)
        self.push_screen(StepScreen(self.content.step(step_id)))

    def open_lab(self) -> None:
        from mmtui.tui.overview import OverviewScreen

        if not isinstance(self.screen, OverviewScreen):
            self.push_screen(OverviewScreen())

    def switch_lab(self, lab_id: str) -> None:
        """Open another guided lab of the workshop on the same target (home's enter)."""
        if lab_id == self.content.lab.id:
            self.open_lab()
            return
        if self.lab_loader is None:
            self.notify(f"Lab {lab_id} is not installed in this guide.", severity="warning")
            return
        busy = self.busy()
        if busy:
            self.notify(f"Wait for {busy} to finish before opening another lab.")
            return
        self._load_lab(lab_id)

    @work(thread=True, group="connect", exit_on_error=False, description="Opening the lab")
    def _load_lab(self, lab_id: str) -> None:
        assert self.lab_loader is not None
        lab, content = self.lab_loader(lab_id)
        self.post_message(LabLoaded(lab, content))

    @on(LabLoaded)
    def lab_loaded(self, message: LabLoaded) -> None:
        from mmtui.tui.home import HomeScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        self.guide.switch_lab(message.content, message.lab)
        self.content = message.content
        self.names = self._initial_names(message.content)
        self.snapshot, self.inventory, self.logs = None, None, {}
        self.last_step = None
        self._broadcast("lab_switched")
        self.open_lab()
        self.run_checks()

    # ------------------------------------------------------------------ connect and checks

    @work(thread=True, group="connect", exit_on_error=False, description="Connecting")
    def connect(self) -> None:
        line = self.guide.connect()
        notice = self.guide.store.notice if self.guide.store else None
        self.post_message(Connected(line, notice))

    @on(Connected)
    def connected(self, message: Connected) -> None:
        for widget in self.query(TargetLine):
            widget.update(message.target_line)
        for screen in self.screen_stack:
            for widget in screen.query(TargetLine):
                widget.update(message.target_line)
        if message.notice:
            self.notify(message.notice, title="Progress set aside", severity="warning", timeout=20)
        resume = self.guide.progress.current_step
        if resume in {step.id for step in self.content.lab.steps} and len(self.screen_stack) <= 2:
            # Back where the attendee was when they quit: the lab, on the step they had open.
            self.open_lab()
            self.open_step(resume)
        self.run_checks()

    def action_refresh(self) -> None:
        self.run_checks()

    def run_checks(self) -> None:
        """Start a round of checks, or ask for one as soon as the running round ends."""
        if self.guide.connection is None:
            return
        self._rounds.request()

    @work(thread=True, group="checks", exit_on_error=False, description="Checking")
    def _check_round(self) -> None:
        self.post_message(ChecksDone(self.guide.check_all()))

    def _round_ended(self) -> None:
        self._rounds.ended()

    @on(ChecksDone)
    def checks_done(self, message: ChecksDone) -> None:
        before = self.snapshot
        if before is not None:
            for step in self.content.lab.steps:
                was, now = before.steps.get(step.id), message.snapshot.steps.get(step.id)
                if was and now and was.status != Status.PASS and now.status == Status.PASS:
                    self.notify(f"{self._render(step.title)}: every check passes.", title="Done")
        self.snapshot = message.snapshot
        self.names = message.snapshot.names
        self._broadcast("show_snapshot", message.snapshot)
        self._round_ended()

    @work(thread=True, group="look", exclusive=True, exit_on_error=False, description="Looking")
    def load_inventory(self) -> None:
        self.post_message(InventoryReady(self.guide.inventory()))

    @on(InventoryReady)
    def inventory_ready(self, message: InventoryReady) -> None:
        self.inventory = message.inventory
        self._broadcast("show_inventory", message.inventory)

    # ------------------------------------------------------------------ tasks

    def busy(self) -> str | None:
        """The task running now, as words, or None."""
        for step_id, kind in self.running.items():
            return f"the {kind} of {step_id}"
        return None

    def start_task(self, step: Step, kind: str) -> bool:
        """Start a solve or reset of `step` unless another task runs; says why it did not."""
        running = self.busy()
        if running is not None:
            self.notify(f"Wait for {running} to finish first.", severity="warning")
            return False
        self.running[step.id] = kind
        self.logs[step.id] = []
        self._broadcast("task_started", step.id, kind)
        self.run_task(step, kind)
        return True

    @work(thread=True, group="task", exit_on_error=False, description="Task")
    def run_task(self, step: Step, kind: str) -> None:
        def log(line: str) -> None:
            self.post_message(LogLine(step.id, line))

        if kind == "solve":
            # The solve's own checks say whether it is done (not whether it changed anything).
            outcome = self.guide.solve(step, log)
            self.post_message(
                TaskDone(
                    step.id,
                    kind,
                    outcome.changed,
                    outcome.summary(),
                    outcome.details(),
                    outcome.passed,
                )
            )
            return
        self.post_message(TaskDone(step.id, kind, self.guide.reset(step, log)))

    @on(LogLine)
    def log_line(self, message: LogLine) -> None:
        self.logs.setdefault(message.step_id, []).append(message.text)
        self._broadcast("show_log_line", message.step_id, message.text)

    @on(TaskDone)
    def task_done(self, message: TaskDone) -> None:
        self.running.pop(message.step_id, None)
        if message.summary is not None:
            text = message.summary
        elif message.kind in ("solve", "apply"):
            text = "done" if message.done else "already done, nothing changed"
        else:
            text = "reset done" if message.done else "nothing to reset"
        self.log_line(LogLine(message.step_id, f"{message.kind}: {text}"))
        for line in message.details:
            self.log_line(LogLine(message.step_id, f"  {line}"))
        self._broadcast("task_finished", message.step_id, message.kind)
        self.notify(
            f"{message.step_id}: {text}",
            title=message.kind.capitalize(),
            severity="information" if message.passed else "warning",
        )
        self.run_checks()
        self.load_inventory()

    @work(thread=True, group="look", exit_on_error=False, description="Planning the reset")
    def plan_reset(self, step: Step) -> None:
        actions = self.guide.reset_plan(step)
        warning = self.guide.reset_warning(step) if actions else None
        self.post_message(PlanReady(step.id, actions, warning))

    @on(PlanReady)
    def plan_ready(self, message: PlanReady) -> None:
        from mmtui.tui.dialogs import ResetPlanScreen

        step = self.content.step(message.step_id)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.start_task(step, "reset")

        if not message.actions:
            self.notify(f"{step.id}: nothing to reset, the lab created nothing here yet.")
            return
        self.push_screen(ResetPlanScreen(step, message.actions, message.warning), confirmed)

    @work(thread=True, group="look", exit_on_error=False, description="Preparing the changes")
    def plan_preview(self, step: Step) -> None:
        warning = self.guide.requirement_warning(step)
        self.post_message(DiffReady(step.id, self.guide.preview(step), warning))

    @work(thread=True, group="look", exit_on_error=False, description="Checking what it needs")
    def ask_solve(self, step: Step) -> None:
        self.post_message(SolveAsked(step.id, self.guide.requirement_warning(step)))

    @on(SolveAsked)
    def solve_asked(self, message: SolveAsked) -> None:
        """Start the solve, or first ask, saying what it will leave undone and why."""
        from mmtui.tui.dialogs import RequirementScreen

        step = self.content.step(message.step_id)
        if message.warning is None:
            self.start_task(step, "solve")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.start_task(step, "solve")

        self.push_screen(RequirementScreen(step, message.warning), confirmed)

    @on(DiffReady)
    def diff_ready(self, message: DiffReady) -> None:
        from mmtui.tui.dialogs import DiffScreen

        step = self.content.step(message.step_id)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.start_task(step, "solve")

        self.push_screen(DiffScreen(message.preview, message.warning), confirmed)

    def solve_step(self, step: Step) -> None:
        """The automated path: a step the lab previews shows its changes first and asks; the
        others start at once."""
        self.guide.choose_path(step.id, "automated")
        if self.busy() is None:
            # A new run is being prepared: the last one's "solve: done" would read as its
            # outcome, and a refusal before it starts belongs in this log (not only a toast).
            self.logs[step.id] = []
            self._broadcast("log_cleared", step.id)
        worker = self.plan_preview(step) if self.guide.has_preview(step) else self.ask_solve(step)
        self._preparing[worker] = step.id

    @work(thread=True, group="form", exclusive=True, exit_on_error=False, description="Form")
    def load_form(self, step_id: str, form: Any, values: dict[str, str]) -> None:
        """Read the account for a form's choices (again, for `values`, when `form` is given)."""
        fresh = (
            self.guide.open_form(step_id) if form is None else self.guide.refresh_form(form, values)
        )
        if not get_current_worker().is_cancelled:  # a newer read replaced this one
            self.post_message(FormReady(step_id, fresh))

    @on(FormReady)
    def form_ready(self, message: FormReady) -> None:
        self._broadcast("show_form", message.step_id, message.form)

    def apply_form(self, step_id: str, form: Any, values: dict[str, str]) -> None:
        running = self.busy()
        if running is not None:
            self.notify(f"Wait for {running} to finish first.", severity="warning")
            return
        self.running[step_id] = "apply"
        self.logs[step_id] = []
        self._broadcast("task_started", step_id, "apply")
        self.run_form(step_id, form, values)

    @work(thread=True, group="task", exit_on_error=False, description="Applying the form")
    def run_form(self, step_id: str, form: Any, values: dict[str, str]) -> None:
        def log(line: str) -> None:
            self.post_message(LogLine(step_id, line))

        applied = self.guide.apply_form(form, values, log)
        for change in applied.changes:
            log(change)
        self.post_message(TaskDone(step_id, "apply", list(applied.changes)))

    @work(thread=True, group="look", exit_on_error=False, description="Visiting the site")
    def visit_site(self, step_id: str) -> None:
        self.post_message(SiteVisited(step_id, self.guide.visit()))

    @on(SiteVisited)
    def site_visited(self, message: SiteVisited) -> None:
        self._broadcast("show_site", message.site)

    # ------------------------------------------------------------------ live traffic

    def open_traffic(self) -> None:
        from mmtui.tui.traffic import TrafficScreen

        if not isinstance(self.screen, TrafficScreen):
            self.push_screen(TrafficScreen())

    @work(thread=True, group="traffic", exit_on_error=False, description="Opening the traffic")
    def load_traffic(self) -> None:
        self.post_message(TrafficReady(self.guide.traffic(lambda _line: None)))

    @on(TrafficReady)
    def traffic_ready(self, message: TrafficReady) -> None:
        self._broadcast("traffic_ready", message.traffic)

    @work(thread=True, group="traffic", exit_on_error=False, description="Starting the load")
    def start_load(self, traffic: Any, rate: float) -> None:
        self.post_message(LoadStarted(traffic.start(rate)))

    @on(LoadStarted)
    def load_started(self, message: LoadStarted) -> None:
        from mmtui.tui.traffic import TrafficScreen

        if any(isinstance(screen, TrafficScreen) for screen in self.screen_stack):
            self._broadcast("load_started", message.load)
        else:  # the view closed while the load was starting: nobody would ever stop it
            self.stop_load(message.load)

    @work(thread=True, group="traffic-stop", exit_on_error=False, description="Stopping the load")
    def stop_load(self, load: Any) -> None:
        load.stop()  # joins its threads: never on the UI thread

    @work(thread=True, group="traffic-status", exclusive=True, exit_on_error=False,
          description="Reading the dials")  # fmt: skip
    def traffic_status(self, traffic: Any) -> None:
        self.post_message(TrafficStatus(traffic.status()))

    @on(TrafficStatus)
    def traffic_status_read(self, message: TrafficStatus) -> None:
        self._broadcast("traffic_status", message.rows)

    @work(thread=True, group="task", exit_on_error=False, description="Failover drill")
    def run_drill(self, traffic: Any, rate: float) -> None:
        self.running["drill"] = "failover drill"
        try:
            report = traffic.drill(
                rate,
                DRILL_SECONDS,
                lambda event: self.post_message(DrillEvent(event.at, event.what)),
                lambda _second: None,
            )
        finally:
            self.running.pop("drill", None)
        self.post_message(DrillDone(report))

    @on(DrillEvent)
    def drill_event(self, message: DrillEvent) -> None:
        self._broadcast("drill_event", message.at, message.what)

    @on(DrillDone)
    def drill_done(self, message: DrillDone) -> None:
        self._broadcast("drill_done", message.report)
        self.run_checks()

    # ------------------------------------------------------------------ errors and commands

    @on(Worker.StateChanged)
    def worker_state(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: shown as a notice, never a traceback."""
        if event.state not in (WorkerState.ERROR, WorkerState.SUCCESS, WorkerState.CANCELLED):
            return
        preparing = self._preparing.pop(event.worker, None)
        if event.state != WorkerState.ERROR:
            return
        from mmtui.tui.errors import explain

        title, text = explain(event.worker.description, event.worker.error)
        if preparing is not None:  # the solve was refused before it started: say so in its log
            self.log_line(LogLine(preparing, f"solve not started: {title}: {text}"))
        if event.worker.group == "task":
            for step_id in list(self.running):
                self.running.pop(step_id)
                self.log_line(LogLine(step_id, f"{title}: {text}"))
                self._broadcast("task_finished", step_id, "failed")
        self._broadcast("show_error", title, text)
        self.notify(text, title=title, severity="error", timeout=15)
        if event.worker.group == "checks":
            self._round_ended()

    def action_sandbox_env(self) -> None:
        from mmtui.tui.dialogs import SandboxEnvScreen

        self.push_screen(SandboxEnvScreen(self.guide.sandbox_env, self.guide.spec))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Check all", "Run every check of the lab now", self.action_refresh)
        yield SystemCommand(
            self.guide.lab.overview_title, "The two regions and the steps", self.open_lab
        )
        yield SystemCommand(
            "Use the sandbox from a terminal",
            "How to point the aws CLI and git at this sandbox",
            self.action_sandbox_env,
        )
        for step in self.content.lab.steps:
            from mmtui.tui.step import step_heading

            title = step_heading(step, self._render(step.title))
            yield SystemCommand(title, "Open this step", lambda s=step.id: self.open_step(s))
        current = getattr(screen, "step", None)
        if isinstance(current, Step) and self.guide.can_show_traffic(current.id):
            yield SystemCommand(
                "Live traffic",
                "Send load, watch where it goes, run a failover drill",
                self.open_traffic,
            )
        if isinstance(current, Step):
            from mmtui.tui.step import TAB_LABELS, StepScreen

            if isinstance(screen, StepScreen):
                for number, tab in enumerate(screen.tab_ids, start=1):
                    yield SystemCommand(
                        f"Tab: {TAB_LABELS[tab]}",
                        f"Show this step's {TAB_LABELS[tab]} tab (key {number})",
                        lambda t=tab, s=screen: s.show_tab(t),
                    )
            here: Step = current
            yield SystemCommand(
                "Solve this step", "Let mmtui do this step", lambda: self.solve_step(here)
            )
            if here.automated.reset:
                yield SystemCommand(
                    "Reset this step",
                    "Show what a reset would undo, then ask",
                    lambda: self.plan_reset(here),
                )

    def _render(self, text: str) -> str:
        from mmtui.content.render import render

        return render(text, self.names).strip()
