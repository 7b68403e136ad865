"""Whether the guide's memory stays flat while it is left open with its live checks running.

Run by hand: `python benchmarks/guide_memory.py [ROUNDS]` (default 360: an hour of the guide's
10-second refreshes, run back to back). It starts a sandbox (`mmtui sandbox`, as Labs 0-2
leave the account), opens the guide headless in this process (Textual's test driver, 120x40)
on Lab 3's step 2, where its checks refresh on their own, lets ROUNDS rounds of checks go by
and prints the process's resident memory (VmRSS) after the first tenth of them (the warm-up:
clients made, first screens drawn), at half time and at the end, and the growth between the
first and the last. The goal is a growth under 5 %. The half-time figure tells a cache that
fills up and stops (Textual's DataTable keeps up to 10,000 rendered cells, and the check
table's cells change every round: a bounded growth, none in the second half) from a leak
(growing in both halves).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, sandbox  # noqa: E402

GOAL_GROWTH = 0.05


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def run(url: str, rounds: int) -> tuple[int, int, int, float]:
    import mmtui.labs
    from mmtui.target.spec import TargetFlags, resolve_target
    from mmtui.tui.app import MmtuiApp

    spec = resolve_target(TargetFlags(endpoint_url=url), env={})
    lab, content = mmtui.labs.load("3")
    app = MmtuiApp(spec, content, lab, refresh_seconds=0.05)
    seen = 0
    warm = 0
    half = 0
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        last = None
        while app.snapshot is None:
            await pilot.pause(0.05)
        app.open_lab()
        app.open_step("data-tier")
        while seen < rounds:
            await pilot.pause(0.02)
            if app.snapshot is not last:
                last = app.snapshot
                seen += 1
                if seen == max(1, rounds // 10):
                    gc.collect()
                    warm = rss_kib()
                if seen == max(1, rounds // 2):
                    gc.collect()
                    half = rss_kib()
        gc.collect()
        end = rss_kib()
        await pilot.press("q")
    return warm, half, end, time.perf_counter() - started


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 360
    print(machine())
    with sandbox() as box:
        os.environ.update(box.env)
        warm, half, end, seconds = asyncio.run(run(box.url, rounds))
    growth = (end - warm) / warm
    print(f"{rounds} rounds of checks in {seconds:.0f} s, the guide open on step 2")
    print(f"resident memory after the first tenth: {warm / 1024:.1f} MiB")
    print(f"resident memory at half time:          {half / 1024:.1f} MiB")
    print(f"resident memory at the end:            {end / 1024:.1f} MiB")
    print(f"growth in the second half: {(end - half) / half:+.1%}")
    verdict = "met" if growth < GOAL_GROWTH else "NOT met"
    print(f"growth: {growth:+.1%} (goal: under {GOAL_GROWTH:.0%}: {verdict})")


if __name__ == "__main__":
    main()
