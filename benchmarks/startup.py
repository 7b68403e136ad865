"""How fast mmtui starts: `mmtui --help`, and the guide's first screen with its memory.

Run by hand: `python benchmarks/startup.py [RUNS]` (default 5). It times:

- `python -m mmtui --help` from spawn to exit, beside `python -c pass` (the interpreter's own
  start-up), and lists any heavy library that `--help` imports (there should be none: the
  command line imports only click until a command runs);
- the guide, `python -m mmtui --endpoint-url URL`, against a sandbox it starts (`mmtui sandbox`,
  as Labs 0-2 leave the account), in a pseudo-terminal of 120x40: the time from spawn until the
  home screen's text is on the terminal ("Workshop initialization", the first lab), and until
  its first round of checks shows Labs 0-2 as "verified"; then its resident memory (VmRSS, and
  the peak VmHWM) from /proc, and "q" to quit (it must exit 0).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MMTUI, machine, sandbox, summary, timed  # noqa: E402

HEAVY = ("textual", "rich", "boto3", "botocore", "moto", "pydantic", "jinja2", "yaml", "git")
HOME_TEXT = b"Workshop initialization"
VERIFIED = b"verified"
PREREQUISITE_LABS = 3
ROWS, COLUMNS = 40, 120


def heavy_imports(env: dict[str, str]) -> list[str]:
    """Top-level packages among HEAVY that `mmtui --help` imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mmtui", "--help"],
        env=env,
        capture_output=True,
        text=True,
    )
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    return sorted(imported & set(HEAVY))


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    values = {"VmRSS:": 0, "VmHWM:": 0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(maxsplit=1)[0] if line else ""
        if key in values:
            values[key] = int(line.split()[1])
    return values["VmRSS:"], values["VmHWM:"]


def guide_once(env: dict[str, str], url: str | None) -> tuple[float, float, int, int]:
    """(seconds to the home screen, seconds to Labs 0-2 verified, RSS KiB, peak RSS KiB).

    `url` None: `mmtui` alone, as a newcomer's first run (its embedded sandbox starts in a new
    state folder)."""
    with tempfile.TemporaryDirectory(prefix="mmtui-bench-tui-") as scratch:
        child_env = {
            **env,
            "HOME": str(Path(scratch) / "home"),
            "MMTUI_STATE_DIR": str(Path(scratch) / "state"),
            "TERM": "xterm-256color",
            "COLUMNS": str(COLUMNS),
            "LINES": str(ROWS),
        }
        started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the guide in a terminal
            target = ["--endpoint-url", url] if url else []
            os.execve(sys.executable, [*MMTUI, *target], child_env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        seen = bytearray()
        home_at = verified_at = None
        try:
            deadline = time.monotonic() + 120
            while verified_at is None and time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
                if home_at is None and HOME_TEXT in seen:
                    home_at = time.perf_counter() - started
                if seen.count(VERIFIED) >= PREREQUISITE_LABS:
                    verified_at = time.perf_counter() - started
            if home_at is None or verified_at is None:
                raise SystemExit(
                    f"the guide did not show home and Labs 0-2: {bytes(seen[-1500:])!r}"
                )
            rss, peak = memory_kib(pid)
            os.write(fd, b"q")
            quit_by = time.monotonic() + 30
            while time.monotonic() < quit_by:  # drain the terminal until the guide is gone
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    try:
                        if not os.read(fd, 65536):
                            break
                    except OSError:
                        break
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"the guide exited {os.waitstatus_to_exitcode(status)} on q")
        finally:
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                if os.waitpid(pid, os.WNOHANG) == (0, 0):
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
            os.close(fd)
            if url is None:
                # The guide's sandbox outlives the guide (for the attendee's other terminals):
                # stop it, as an attendee would with `mmtui sandbox stop`.
                folder = Path(child_env["MMTUI_STATE_DIR"]) / "sandbox"
                subprocess.run([*MMTUI, "sandbox", "stop", "--dir", str(folder)], env=child_env)
    return home_at, verified_at, rss, peak


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(machine())
    env = dict(os.environ)
    timed([*MMTUI, "--help"], env)  # warm-up: bytecode caches
    bare = [timed([sys.executable, "-c", "pass"], env) for _ in range(runs)]
    help_times = [timed([*MMTUI, "--help"], env) for _ in range(runs)]
    print(f"mmtui --help: {summary(help_times)}")
    print(f"  python -c pass, for comparison: {summary(bare)}")
    print(f"  heavy libraries imported by --help: {', '.join(heavy_imports(env)) or 'none'}")

    with sandbox() as box:
        guide_once(box.env, box.url)  # warm-up: bytecode caches, the sandbox's first answers
        samples = [guide_once(box.env, box.url) for _ in range(runs)]
    print(f"guide on a sandbox at Labs 0-2, {COLUMNS}x{ROWS} pseudo-terminal:")
    print(f"  home screen shown after: {summary([s[0] for s in samples])}")
    print(f"  Labs 0-2 verified after: {summary([s[1] for s in samples])}")
    print(f"  resident memory then (VmRSS): {summary([s[2] / 1024 for s in samples], 'MiB')}")
    print(f"  peak resident memory (VmHWM): {summary([s[3] / 1024 for s in samples], 'MiB')}")

    # A newcomer's first `mmtui`: no target, nothing saved yet, so the embedded sandbox starts
    # fresh (issue 15's goal: Labs 0-2 verified within 2.5 s).
    alone = {k: v for k, v in env.items() if not k.startswith(("AWS_", "MMTUI_"))}
    first = [guide_once(alone, None) for _ in range(runs)]
    print("mmtui alone, a newcomer's first run (embedded sandbox, new state folder):")
    print(f"  home screen shown after: {summary([s[0] for s in first])}")
    print(f"  Labs 0-2 verified after: {summary([s[1] for s in first])}  (goal: 2.5 s)")


if __name__ == "__main__":
    main()
