"""Questions the guide asks before it changes anything, and the sandbox's how-to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from mmtui.content.model import Step
from mmtui.engine.plugin import Preview
from mmtui.target.spec import TargetSpec
from mmtui.tui.code import GuideMarkdown
from mmtui.tui.wrapped_diff import WrappedDiff


class Confirm(ModalScreen[bool]):
    """A modal that answers True (go) or False (cancel); escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("y", "go", "Go")]
    GO_LABEL = "Go (y)"

    def buttons(self) -> ComposeResult:
        with Horizontal(classes="dialog-buttons"):
            yield Button(self.GO_LABEL, id="go", variant="warning")
            yield Button("Cancel (esc)", id="cancel")

    def action_go(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#go")
    def _go(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)


class ResetPlanScreen(Confirm):
    """What a reset of one step would undo, before it does anything."""

    GO_LABEL = "Reset (y)"

    def __init__(self, step: Step, actions: list[Any], warning: str | None = None) -> None:
        super().__init__()
        self.step = step
        self.actions = actions
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Reset {self.step.id}: this plan runs in order", classes="dialog-title")
            lines = [f"{n}. {action.describe()}" for n, action in enumerate(self.actions, 1)]
            with VerticalScroll(classes="dialog-body"):
                yield Static("\n".join(lines), id="plan")
                if self.warning:
                    yield Static(self.warning, id="dependants", classes="dialog-warning")
            yield Static(
                "Only what the lab creates is touched. Nothing happens until you confirm.",
                classes="dialog-note",
            )
            yield from self.buttons()


class RequirementScreen(Confirm):
    """Before solving a step whose required steps fail: what the solve will leave undone."""

    GO_LABEL = "Solve anyway (y)"

    def __init__(self, step: Step, warning: str) -> None:
        super().__init__()
        self.step = step
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Solve {self.step.id}? It will not pass yet", classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.warning, id="requirement", classes="dialog-warning")
            yield from self.buttons()


class DiffScreen(Confirm):
    """A lab's preview of a solve (`LabPlugin.preview`: a diff per file it will change), shown
    before anything is changed; the solve starts only when confirmed."""

    # The focus is on a button: the arrows would move nothing. At 80x24 the diff has a few rows
    # of its own, so the keys a reader tries scroll it wherever the focus is.
    BINDINGS = [
        Binding("down,j", "scroll_diff(1)", "Scroll", show=False),
        Binding("up,k", "scroll_diff(-1)", show=False),
        Binding("pagedown,space", "scroll_diff_page(1)", show=False),
        Binding("pageup", "scroll_diff_page(-1)", show=False),
    ]

    def action_scroll_diff(self, rows: int) -> None:
        self.query_one("#diffs", VerticalScroll).scroll_relative(y=rows, animate=False)

    def action_scroll_diff_page(self, pages: int) -> None:
        body = self.query_one("#diffs", VerticalScroll)
        body.scroll_relative(
            y=pages * max(1, body.scrollable_content_region.height - 1), animate=False
        )

    def __init__(self, preview: Preview, warning: str | None = None) -> None:
        super().__init__()
        self.GO_LABEL = f"{preview.confirm} (y)"
        self.preview = preview
        self.changes = preview.changes
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(f"{self.preview.title}   (↑↓ scroll)", classes="dialog-title")
            with VerticalScroll(classes="dialog-body", id="diffs"):
                # Inside the scrolled body: the buttons stay on screen on a small terminal.
                if self.warning is not None:
                    yield Static(
                        f"Warning: {self.warning}", id="requirement", classes="dialog-warning"
                    )
                for repo, change in self.changes:
                    yield Static(repo, classes="diff-title")
                    if change.needed:
                        # Wrapped with a mark, not cut at the dialog's edge (80 columns).
                        yield Static(WrappedDiff(change.diff()), classes="diff")
                    else:
                        yield Static("already finished: nothing to change", classes="diff")
            if self.preview.note:
                yield Static(self.preview.note, classes="dialog-note")
            yield from self.buttons()


class SandboxEnvScreen(ModalScreen[None]):
    """How to use the sandbox from a second terminal: aws, git and mmtui itself."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, env_file: Path | None, spec: TargetSpec) -> None:
        super().__init__()
        self.env_file = env_file
        self.spec = spec

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("Using this AWS from your own terminal", classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield GuideMarkdown(self._text(), id="env-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (esc)", id="close")

    def _text(self) -> str:
        if self.env_file is None:
            return (
                f"The guide talks to **{self.spec.label()}**. Your own terminal's `aws` and "
                "`git` already use the same account when they use the same credentials and "
                "profile; nothing else is needed."
            )
        return (
            "The guide runs on the embedded sandbox. To do a step by hand with the real `aws` "
            "CLI and `git`, open a second terminal and run:\n\n"
            f"```sh\nsource {self.env_file}\n```\n\n"
            "It sets `AWS_ENDPOINT_URL`, test credentials and the default region, and "
            "`MMTUI_WORKSPACE`, the folder that stands for your Cloud9 home: the workshop "
            "folder and your clones of the two service repositories are there.\n\n"
            "Then, for example:\n\n"
            '```sh\naws sts get-caller-identity\ncd "$MMTUI_WORKSPACE" && ls\n```\n\n'
            "The checks in the guide see what you do there within a few seconds.\n\n"
            + self._lifetime()
        )

    def _lifetime(self) -> str:
        """What happens to that terminal's AWS when the guide quits."""
        if self.spec.kind == "sandbox" and self.spec.sandbox_dir is None:
            return (
                "This sandbox is the guide's own (`--sandbox`): it stops, and its state is "
                "deleted, when you quit the guide."
            )
        return (
            "The sandbox keeps running when you quit the guide, so that terminal keeps "
            "working. To stop it: `mmtui sandbox stop` (the next `mmtui` starts it again, "
            "where you left off)."
        )

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class QuitWhileRunningScreen(Confirm):
    """Quitting while a solve or reset runs: what stops and what goes on, before it does."""

    BINDINGS = [*Confirm.BINDINGS, Binding("q", "go", "Quit")]
    GO_LABEL = "Quit now (y or q)"

    def __init__(self, running: list[str]) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Quit while work is running?", classes="dialog-title")
            yield Static(
                f"Still running: {', '.join(self.running)}.\n\n"
                "Quitting stops mmtui waiting; what AWS has already started carries on without "
                "it. Open the step again later and run it again: it continues from what AWS "
                "shows.",
                id="running",
            )
            yield from self.buttons()


class DrillScreen(Confirm):
    """Before a failover drill: it breaks the primary for a while, then restores it."""

    GO_LABEL = "Run the drill (y)"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Run a failover drill?", classes="dialog-title")
            yield Static(
                "It sends likes through the accelerator with all traffic on the primary, stops "
                "the primary's services, measures how long until the likes succeed again (RTO) "
                "and how many acknowledged likes the secondary did not hold yet (RPO), then "
                "restores the primary and the dials, even if something fails on the way. It "
                "takes about three minutes; the report is saved in mmtui's state folder.",
                id="drill-what",
            )
            yield from self.buttons()
