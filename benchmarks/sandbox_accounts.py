"""How long adding attendee accounts to a sandbox takes, and what they cost in memory.

Run by hand: `python benchmarks/sandbox_accounts.py [ACCOUNTS] [REAL]` (defaults 20 and 2). One
sandbox starts fresh in this process; then it times:

- the first account: the hidden template is seeded for real (pipelines included) and copied;
- ACCOUNTS more accounts, copied from the template (what fleet tests and instructors get);
- REAL more accounts seeded for real through the API, each running its pipelines' first builds
  (`add_accounts(..., copy=False)`, a few at a time), for comparison;
- a snapshot and a restore of the whole state, with all the accounts.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from mmtui.sandbox.core.server import Sandbox, SandboxOptions
from mmtui.sandbox.workshop.baseline import WorkshopSeeder


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu() -> float:
    """CPU seconds of this process and of the processes it waited for (git, bash, builds)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, count: int, action: object) -> None:
    started, cpu_started = time.perf_counter(), cpu()
    action()  # type: ignore[operator]
    wall, used = time.perf_counter() - started, cpu() - cpu_started
    each = f"; {wall / count:.2f} s per account" if count > 1 else ""
    print(f"{label:44} {wall:6.2f} s wall, {used:6.2f} s CPU{each}; RSS {rss_mib():.0f} MiB")


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    real = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        options = SandboxOptions(state_dir=Path(folder) / "state", fresh=True)
        sandbox = Sandbox(options, seeder=WorkshopSeeder())
        timed("start (fresh: seeds the default account)", 1, sandbox.start)
        try:
            ids = [f"{300000000001 + n:012d}" for n in range(1 + copies + real)]
            timed(
                "first account (template seeded, copied)", 1, lambda: sandbox.add_accounts(ids[:1])
            )
            timed(
                f"{copies} accounts copied",
                copies,
                lambda: sandbox.add_accounts(ids[1 : 1 + copies]),
            )
            if real:
                timed(
                    f"{real} accounts seeded for real",
                    real,
                    lambda: sandbox.add_accounts(ids[1 + copies :], copy=False),
                )
            snapshot: list[bytes] = []
            timed("snapshot (all accounts)", 1, lambda: snapshot.append(sandbox.snapshot()))
            print(f"{'':44} {len(snapshot[0]) / 2**20:.1f} MiB")
            timed("restore (all accounts)", 1, lambda: sandbox.restore_snapshot(snapshot[0]))
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
