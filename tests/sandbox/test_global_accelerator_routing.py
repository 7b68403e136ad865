"""Global Accelerator's routing and health rules, without a sandbox: where a connection goes
for each dial, weight and health, and how many probes a change of health takes."""

from __future__ import annotations

import random
from collections import Counter

from mmtui.sandbox.behaviours.global_accelerator.health import (
    HEALTHY,
    INITIAL,
    UNHEALTHY,
    HealthBook,
)
from mmtui.sandbox.behaviours.global_accelerator.routing import (
    EndpointRoute,
    GroupRoute,
    Route,
    choose,
)

NEAREST_FIRST = ("us-west-2", "us-east-1")


def group(region: str, dial: float, *endpoints: tuple[str, int]) -> GroupRoute:
    return GroupRoute(
        f"group-{region}",
        region,
        dial,
        tuple(EndpointRoute(name, weight) for name, weight in endpoints),
        interval=10,
        threshold=3,
    )


def lab5(primary_dial: float, secondary_dial: float) -> Route:
    return Route(
        True,
        "NONE",
        (
            group("us-east-1", secondary_dial, ("east-alb", 128)),
            group("us-west-2", primary_dial, ("west-alb", 128)),
        ),
    )


def shares(
    route: Route, unhealthy: frozenset[str] = frozenset(), tries: int = 2000
) -> Counter[str]:
    rng = random.Random(7)
    counted: Counter[str] = Counter()
    for _ in range(tries):
        chosen = choose(route, lambda _, e: e not in unhealthy, rng, NEAREST_FIRST)
        counted[chosen[1].endpoint_id if chosen else "failed"] += 1
    return counted


def test_dials_share_the_traffic_of_the_nearest_region() -> None:
    assert shares(lab5(100, 0)) == {"west-alb": 2000}
    assert shares(lab5(0, 100)) == {"east-alb": 2000}
    assert shares(lab5(100, 100)) == {"west-alb": 2000}  # the nearest takes all it may
    half = shares(lab5(50, 50))
    assert 900 < half["west-alb"] < 1100 and half["west-alb"] + half["east-alb"] == 2000
    tenth = shares(lab5(10, 100))
    assert 130 < tenth["west-alb"] < 280
    assert shares(lab5(0, 0)) == {"failed": 2000}


def test_an_unhealthy_group_fails_over_ignoring_the_dial() -> None:
    assert shares(lab5(100, 0), frozenset({"west-alb"})) == {"east-alb": 2000}
    assert shares(lab5(50, 50), frozenset({"east-alb"})) == {"west-alb": 2000}


def test_nothing_healthy_fails_open_to_the_nearest_group() -> None:
    assert shares(lab5(0, 100), frozenset({"west-alb", "east-alb"})) == {"west-alb": 2000}


def test_weights_share_a_group_and_zero_takes_nothing() -> None:
    route = Route(True, "NONE", (group("us-west-2", 100, ("a", 192), ("b", 64), ("c", 0)),))
    counted = shares(route)
    assert counted["c"] == 0
    assert 1400 < counted["a"] < 1600 and counted["a"] + counted["b"] == 2000


def test_health_changes_after_threshold_consecutive_results() -> None:
    results = iter(["healthy"] * 3 + ["unhealthy", "healthy"] + ["unhealthy"] * 3)
    book = HealthBook(lambda _: next(results), scale=0.01)
    groups = [group("us-west-2", 100, ("west-alb", 128))]
    seen = []
    for tick in range(8):
        book.probe_due(groups, now=float(tick))  # one probe a second: always due
        seen.append(book.state("group-us-west-2", "west-alb"))
    assert seen == [INITIAL, INITIAL, HEALTHY, HEALTHY, HEALTHY, HEALTHY, HEALTHY, UNHEALTHY]


def test_probes_wait_for_the_scaled_interval() -> None:
    calls: list[str] = []

    def judge(arn: str) -> str:
        calls.append(arn)
        return "healthy"

    book = HealthBook(judge, scale=1.0)
    groups = [group("us-west-2", 100, ("west-alb", 128))]
    assert book.probe_due(groups, now=0.0) == 10.0  # the group's interval, scale 1
    book.probe_due(groups, now=9.0)
    assert calls == ["west-alb"]
    book.probe_due(groups, now=10.0)
    assert calls == ["west-alb", "west-alb"]


def test_at_scale_zero_endpoints_are_judged_when_asked_about() -> None:
    verdict = ["unhealthy"]
    judged: list[str] = []
    asked: list[bool] = []

    def judge(arn: str) -> str:
        judged.append(arn)
        return verdict[0]

    book = HealthBook(judge, scale=0.0, on_ask=lambda: asked.append(True))
    groups = [group("us-west-2", 100, ("west-alb", 128), ("east-alb", 128))]
    book.probe_due(groups, now=0.0)
    assert judged == []  # nothing is probed on a schedule at scale 0
    assert book.state("group-us-west-2", "west-alb") == INITIAL  # a description asks...
    assert asked == [True]
    book.probe_due(groups, now=0.0)  # ...and the worker judges it, with no threshold
    assert judged == ["west-alb"]
    assert book.state("group-us-west-2", "west-alb") == UNHEALTHY
    verdict[0] = "healthy"
    assert book.healthy("group-us-west-2", "east-alb")  # the data plane judges at once
    assert judged == ["west-alb", "east-alb"]
