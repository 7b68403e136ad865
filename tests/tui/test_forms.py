"""The console's forms of steps 2 and 3, filled and applied inside the guide."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Button, DataTable, Input, Select, Static, TabbedContent

from mmtui.sandbox.core.server import Sandbox
from mmtui.tui.app import MmtuiApp
from mmtui.tui.form_view import FormView
from mmtui.tui.step import StepScreen
from tests.tui.conftest import settle


async def open_form(app: MmtuiApp, pilot: object, step_id: str) -> FormView:
    app.open_step(step_id)
    await settle(pilot)  # type: ignore[arg-type]
    screen = app.screen
    assert isinstance(screen, StepScreen)
    screen.query_one("#paths", TabbedContent).active = "form"
    await settle(pilot)  # type: ignore[arg-type]
    view = screen.query_one("#form-view", FormView)
    for _ in range(50):  # the form is drawn by a callback after its worker ends
        if view.query("#form-apply"):
            break
        await pilot.pause()  # type: ignore[attr-defined]
    assert view.form is not None and view.query("#form-apply"), "the form was not drawn"
    return view


async def press_apply(pilot: object, view: FormView) -> None:
    """Click the form's Apply button where it is: in sight without scrolling (the buttons are
    docked under the questions; newcomer walkthrough: they were below the fold at 120x40)."""
    button = view.query_one("#form-apply", Button)
    assert view.region.contains_region(button.region), (view.region, button.region)
    await pilot.click("#form-apply")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


async def test_step_2_form_adds_the_replica(app: MmtuiApp, sandbox: Sandbox) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = await open_form(app, pilot, "data-tier")
        region = view.query_one("#field-region", Select)
        assert region.value == "us-east-1"  # the lab's secondary region, preselected
        options = [value for _, value in region._options if isinstance(value, str)]
        assert "us-west-2" not in options and "eu-west-1" in options
        await press_apply(pilot, view)
        await pilot.press("r")
        await settle(pilot)
        checks = app.screen.query_one("#checks", DataTable)
        assert str(checks.get_cell("data_tier.stream_enabled", "status")) == "✔ pass"
        assert "fail" not in str(checks.get_cell("data_tier.replica_active", "status"))
        outcome = str(view.query_one(".form-outcome", Static).render())
        assert "us-east-1" in outcome
    table = sandbox.client("dynamodb", "us-west-2").describe_table(TableName="mm-ddbtable")
    assert [r["RegionName"] for r in table["Table"]["Replicas"]] == ["us-east-1"]


async def test_step_3_form_refuses_bad_values_before_any_call(
    app: MmtuiApp,
    sandbox: Sandbox,
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    secondary_by_hand()
    codepipeline = sandbox.client("codepipeline", "us-west-2")
    names = [p["name"] for p in codepipeline.list_pipelines()["pipelines"]]
    versions = {n: codepipeline.get_pipeline(name=n)["pipeline"]["version"] for n in names}
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = await open_form(app, pilot, "pipeline")
        view.query_one("#field-stage-name", Input).value = "no spaces allowed"
        await pilot.pause()
        await press_apply(pilot, view)
        problem = str(view.query_one("#problem-stage-name", Static).render())
        assert problem.startswith("✘ ")
    after = {n: codepipeline.get_pipeline(name=n)["pipeline"]["version"] for n in names}
    assert after == versions


async def test_step_3_form_follows_the_chosen_pipeline_and_applies(
    app: MmtuiApp,
    sandbox: Sandbox,
    secondary_by_hand: Callable[..., Sandbox],
) -> None:
    secondary_by_hand()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = await open_form(app, pilot, "pipeline")
        pipeline = view.query_one("#field-pipeline", Select)
        service = view.query_one("#field-service", Select)
        assert "Core" in str(service.value)
        like = next(v for _, v in pipeline._options if isinstance(v, str) and "Like" in v)
        pipeline.value = like
        await settle(pilot)
        service = view.query_one("#field-service", Select)
        assert "Like" in str(service.value)  # not the Core service chosen before
        await press_apply(pilot, view)
        await pilot.press("r")
        await settle(pilot)
        checks = app.screen.query_one("#checks", DataTable)
        assert str(checks.get_cell("pipeline.like_cross_region_stage", "status")) == "✔ pass"
        assert str(checks.get_cell("pipeline.core_cross_region_stage", "status")) == "✘ fail"
