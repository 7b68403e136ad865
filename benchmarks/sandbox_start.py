"""How fast `mmtui sandbox` is ready, and how much memory it holds.

Run by hand: `python benchmarks/sandbox_start.py [RUNS]`. Each run starts a new process, times
it from spawn to the line containing `ready`, reads its resident memory from /proc, and stops it
with SIGTERM. "fresh" seeds the Labs 0-2 baseline; "restart" loads the state a previous run
saved in the same folder.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start_once(state_dir: Path, *extra: str) -> tuple[float, int]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "mmtui", "sandbox", "--dir", str(state_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "ready" in line:
            break
    elapsed = time.perf_counter() - started
    rss_kib = 0
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = int(line.split()[1])
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    return elapsed, rss_kib


def report(label: str, samples: list[tuple[float, int]]) -> None:
    times = [t for t, _ in samples]
    memory = [m / 1024 for _, m in samples]
    print(
        f"{label:8} ready: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, n={len(times)}); "
        f"RSS median {statistics.median(memory):.0f} MiB"
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        state_dir = Path(folder) / "state"
        fresh = [start_once(state_dir, "--fresh") for _ in range(runs)]
        restart = [start_once(state_dir) for _ in range(runs)]
    report("fresh", fresh)
    report("restart", restart)


if __name__ == "__main__":
    main()
