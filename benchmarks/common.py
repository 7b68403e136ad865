"""What the benchmarks share: a `mmtui sandbox` in a subprocess, and figures over N runs.

Every benchmark runs mmtui as a user would, `python -m mmtui ...` in a new process, with the
interpreter and PYTHONPATH of the benchmark itself: run the scripts from the checkout whose
code you want to measure (`PYTHONPATH=. python benchmarks/...`).
"""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MMTUI = [sys.executable, "-m", "mmtui"]


def machine() -> str:
    """One line naming what the figures were taken on."""
    try:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return (
        f"python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load}"
    )


def read_env(path: Path) -> dict[str, str]:
    """The `export NAME=value` lines of a sandbox.env."""
    import shlex

    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, raw = line[len("export ") :].partition("=")
            values[name.strip()] = (shlex.split(raw) or [""])[0]
    return values


@dataclass
class RunningSandbox:
    process: subprocess.Popen[str]
    state_dir: Path
    env: dict[str, str]
    """os.environ plus the sandbox.env: what `source sandbox.env` gives a shell."""

    @property
    def url(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    def resolve(self) -> dict[str, str]:
        """Load balancer DNS name → loopback URL, read now (step 1 adds the secondary's)."""
        text = read_env(self.state_dir / "sandbox.env").get("MMTUI_RESOLVE", "")
        resolve: dict[str, str] = {}
        for item in text.split(","):
            name, equals, url = item.partition("=")
            if equals:
                resolve[name.strip()] = url.strip()
        return resolve


@contextmanager
def sandbox(
    state_dir: Path | None = None, fresh: bool = True, extra: Sequence[str] = ()
) -> Iterator[RunningSandbox]:
    """`mmtui sandbox --dir DIR [EXTRA]` in the foreground of a subprocess, until the block
    ends (EXTRA: more options, such as `--latency 80ms`)."""
    with tempfile.TemporaryDirectory(prefix="mmtui-bench-") as scratch:
        folder = state_dir or Path(scratch) / "state"
        command = [*MMTUI, "sandbox", "--dir", str(folder), *(["--fresh"] if fresh else [])]
        command += list(extra)
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if "ready" in line:
                    break
            else:
                raise SystemExit(f"the sandbox stopped before it was ready ({process.wait()})")
            env = {**os.environ, **read_env(folder / "sandbox.env")}
            yield RunningSandbox(process, folder, env)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def mmtui(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m mmtui ARGS` in a new process; exits the benchmark if it fails."""
    done = subprocess.run([*MMTUI, *args], env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(
            f"`mmtui {' '.join(args)}` exited {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return done


def solve_whole_lab(box: RunningSandbox) -> float:
    """Bring the sandbox to a finished Lab 3, so that every check does its full work."""
    started = time.perf_counter()
    mmtui(box.env, "solve", "--through", "checkpoint", "--endpoint-url", box.url)
    return time.perf_counter() - started


def timed(command: Sequence[str], env: dict[str, str], shell: bool = False) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        list(command) if not shell else ["bash", "-c", command[0]],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-1000:]}")
    return elapsed


def summary(values: Sequence[float], unit: str = "s") -> str:
    """`median X (min A, max B, n=N)`."""
    return (
        f"median {statistics.median(values):.2f} {unit} "
        f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"
    )
