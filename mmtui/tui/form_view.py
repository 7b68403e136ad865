"""A lab's console-like form (`LabPlugin.open_form`) rendered generically: a Select for a choice, an
Input for text, a line for information; each field's problem shown under it. The form reads
and writes AWS only through the app's workers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

if TYPE_CHECKING:
    from mmtui.tui.app import MmtuiApp


def _id(name: str) -> str:
    return name.replace(".", "-").replace("_", "-")


class FormView(VerticalScroll):
    """The form of one step; `show_form` (re)draws it, keeping the values typed so far."""

    def __init__(self, step_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step_id = step_id
        self.form: Any = None
        self.values: dict[str, str] = {}
        self.outcome = ""
        """The last apply's lines: kept when the form is drawn again (re-read after it)."""

    @property
    def guide_app(self) -> MmtuiApp:
        from mmtui.tui.app import MmtuiApp

        assert isinstance(self.app, MmtuiApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static("Reading your account for the form's choices…", id="form-loading")

    def on_mount(self) -> None:
        self.guide_app.load_form(self.step_id, None, {})

    def show_outcome(self, text: str) -> None:
        self.outcome = text
        for widget in self.query(".form-outcome"):
            assert isinstance(widget, Static)
            widget.update(text)
        # The outcome follows the questions: bring it into sight above the buttons.
        self.call_after_refresh(self.scroll_end, animate=False)

    def reload(self) -> None:
        """Read the account again (what it holds may have changed since the form was drawn);
        the values chosen so far are kept where they are still valid choices."""
        self.guide_app.load_form(self.step_id, None, {})

    async def show_form(self, form: Any) -> None:
        """Draw `form` with the values chosen so far (its defaults fill the rest)."""
        self.form = form
        self.values = dict(form.defaults(self.values))
        await self.remove_children()
        widgets: list[Any] = [Static(form.title, classes="form-title")]
        for field in form.fields(self.values):
            widgets.append(Label(field.label, classes="form-label"))
            if field.kind == "info":
                widgets.append(Static(field.default, classes="form-info"))
            elif field.kind == "choice":
                options = [(choice.label, choice.value) for choice in field.choices]
                value = self.values.get(field.name, field.default)
                known = {choice.value for choice in field.choices}
                widgets.append(
                    Select(
                        options,
                        value=value if value in known else Select.NULL,
                        allow_blank=value not in known,
                        id=f"field-{_id(field.name)}",
                        name=field.name,
                    )
                )
            else:
                widgets.append(
                    Input(
                        self.values.get(field.name, field.default),
                        id=f"field-{_id(field.name)}",
                        name=field.name,
                    )
                )
            if field.help:
                widgets.append(Static(field.help, classes="form-help"))
            widgets.append(Static("", id=f"problem-{_id(field.name)}", classes="form-problem"))
        widgets.append(Static("", id="form-problems", classes="form-problem"))
        buttons = Horizontal(
            Button("Check values", id="form-validate"),
            Button("Apply", id="form-apply", variant="primary"),
            classes="form-buttons",
        )
        widgets.append(buttons)
        widgets.append(Static(self.outcome, classes="form-outcome"))
        await self.mount_all(widgets)

    @on(Select.Changed)
    def _choice(self, event: Select.Changed) -> None:
        if event.select.name is None:
            return
        name = event.select.name
        value = "" if event.value is Select.NULL else str(event.value)
        # A Select announces its first value once mounted: only a real change counts.
        if self.values.get(name, "") == value:
            return
        self.values[name] = value
        self._changed(name)

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input.name is None:
            return
        self.values[event.input.name] = event.value

    def _changed(self, name: str) -> None:
        if self.form is None:
            return
        # Values chosen for the old choice are wrong for the new one (the Core service stays
        # picked when the Like pipeline is chosen): drop what depends on it, take defaults.
        fields = self.form.fields(self.values)
        dependants: set[str] = set()
        changed = {name}
        while changed:  # and what depends on those, in turn
            found = {f.name for f in fields if changed & set(f.depends_on)} - dependants
            dependants |= found
            changed = found
        if dependants:
            for dependant in dependants:
                self.values.pop(dependant, None)
            self.values = dict(self.form.defaults(self.values))
        # A choice whose dependants need a new look at the account (step 3's region → its
        # clusters) reloads the form; otherwise redraw it with the new defaults.
        if self.form.stale(self.values):
            self.guide_app.load_form(self.step_id, self.form, dict(self.values))
        elif dependants:
            self.call_later(self.show_form, self.form)

    def problems(self) -> list[Any]:
        """Validate now; show each problem under its field. No AWS call."""
        if self.form is None:
            return []
        found: list[Any] = list(self.form.validate(self.values))
        for widget in self.query(".form-problem"):
            assert isinstance(widget, Static)
            widget.update("")
        general = []
        for problem in found:
            if problem.field is None:
                general.append(problem.message)
                continue
            matches = self.query(f"#problem-{_id(problem.field)}")
            if matches:
                target = matches.first()
                assert isinstance(target, Static)
                target.update(f"✘ {problem.message}")
            else:
                general.append(f"{problem.field}: {problem.message}")
        self.query_one("#form-problems", Static).update("\n".join(f"✘ {g}" for g in general))
        return found

    @on(Button.Pressed, "#form-validate")
    def _validate(self) -> None:
        if not self.problems():
            self.query_one("#form-problems", Static).update("✔ These values are valid.")

    @on(Button.Pressed, "#form-apply")
    def _apply(self) -> None:
        if self.form is None or self.problems():
            return
        self.guide_app.apply_form(self.step_id, self.form, dict(self.values))
