"""How close the concurrent whole-lab check gets to its limit, its slowest single check.

Run by hand: `python benchmarks/check_concurrency.py [RUNS] [--latency 80ms]` (default 5). It
starts one sandbox, finishes Lab 3 there once (`mmtui solve --through checkpoint`), restarts it
(with `--latency` when given: every call waits that long, as on a far network, and the goal is
a wall time at most 1.5 times the slowest check), then runs the whole-lab check
RUNS times through the engine (`run_checks`, as `mmtui check` does), each time in a new Python
process so that every run pays what a real `mmtui check` pays (a session and clients per
thread, service models read once per process). For each run it takes:

- wall: the whole-lab check, from the first check started to the last one done;
- slowest: the longest single check, from each result's `seconds` (it includes waiting for
  facts that other checks share, such as the stack outputs);
- sum: every check's `seconds` added up;
- the AWS API calls the checks made.

It prints the medians, wall / slowest (1.0 would be perfect concurrency), and the same check
run with one worker (one check after another) for comparison.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, sandbox, solve_whole_lab, summary  # noqa: E402


def once(url: str, workers: int) -> dict[str, Any]:
    """One whole-lab check in this process, measured (the child side)."""
    import mmtui.labs
    from mmtui.engine.checks import run_checks
    from mmtui.engine.context import CheckContext
    from mmtui.target import clients
    from mmtui.target.connect import connect
    from mmtui.target.identity import fetch_identity
    from mmtui.target.spec import TargetFlags, resolve_target

    calls: list[str] = []
    counted: set[int] = set()
    make_client = clients.ClientFactory.client

    def counting_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = make_client(self, *args, **kwargs)
        if id(client) not in counted:
            counted.add(id(client))
            client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
        return client

    clients.ClientFactory.client = counting_client  # type: ignore[method-assign]
    spec = resolve_target(TargetFlags(endpoint_url=url))
    lab, content = mmtui.labs.load("3")
    with connect(spec) as connection:
        fetch_identity(connection.factory)
        calls.clear()
        started = time.perf_counter()
        steps = run_checks(
            CheckContext(connection, content, lab), list(content.lab.steps), workers=workers
        )
        wall = time.perf_counter() - started
    results = [check for step in steps for check in step.checks]
    slowest = max(results, key=lambda check: check.seconds)
    return {
        "wall": wall,
        "slowest": slowest.seconds,
        "slowest_id": slowest.id,
        "sum": sum(check.seconds for check in results),
        "checks": len(results),
        "calls": len(calls),
        "failed": [check.id for check in results if check.status != "pass"],
    }


def measure(env: dict[str, str], url: str, workers: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--once", url, str(workers)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"a measured run failed:\n{done.stderr[-2000:]}")
    run: dict[str, Any] = json.loads(done.stdout)
    if run["failed"]:
        raise SystemExit(f"checks did not pass on the solved lab: {run['failed']}")
    return run


GOAL_UNDER_LATENCY = 1.5
"""With latency, the whole-lab check's wall time should be at most 1.5 times its slowest check."""


def main() -> None:
    args = sys.argv[1:]
    latency = ""
    if "--latency" in args:
        at = args.index("--latency")
        latency = args[at + 1]
        del args[at : at + 2]
    runs = int(args[0]) if args else 5
    print(machine())
    with tempfile.TemporaryDirectory(prefix="mmtui-bench-") as scratch:
        state = Path(scratch) / "state"
        with sandbox(state) as box:  # solved at loopback speed, then measured as asked
            print(f"Lab 3 solved through the checkpoint in {solve_whole_lab(box):.1f} s")
        extra = ["--latency", latency] if latency else []
        with sandbox(state, fresh=False, extra=extra) as box:
            if latency:
                print(
                    f"every AWS call of the measured runs waits {latency} (mmtui sandbox --latency)"
                )
            from mmtui.engine.checks import MAX_WORKERS

            measure(box.env, box.url, MAX_WORKERS)  # warm-up: the sandbox's own caches
            concurrent = []
            serial = []
            for _ in range(runs):
                concurrent.append(measure(box.env, box.url, MAX_WORKERS))
                serial.append(measure(box.env, box.url, 1))

    def column(runs: list[dict[str, Any]], key: str) -> list[float]:
        return [float(run[key]) for run in runs]

    first = concurrent[0]
    print(f"{first['checks']} checks, {first['calls']} AWS API calls a run")
    print(f"whole-lab check, {MAX_WORKERS} workers: wall {summary(column(concurrent, 'wall'))}")
    print(f"  slowest single check: {summary(column(concurrent, 'slowest'))}")
    print(f"    (most often {statistics.mode(run['slowest_id'] for run in concurrent)})")
    print(f"  all checks' seconds added up: {summary(column(concurrent, 'sum'))}")
    ratios = [run["wall"] / run["slowest"] for run in concurrent]
    ratio = statistics.median(ratios)
    goal = ""
    if latency:
        met = "met" if ratio <= GOAL_UNDER_LATENCY else "NOT met"
        goal = f"; goal with latency: at most {GOAL_UNDER_LATENCY}: {met}"
    print(f"  wall / slowest check: median {ratio:.2f} (1.00 is the limit{goal})")
    print(f"one check after another (1 worker): wall {summary(column(serial, 'wall'))}")
    speedup = statistics.median(column(serial, "wall")) / statistics.median(
        column(concurrent, "wall")
    )
    print(f"  concurrency makes the whole-lab check {speedup:.1f}x faster")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--once":
        print(json.dumps(once(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
