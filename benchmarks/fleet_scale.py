"""How `mmtui fleet check` grows with the number of attendee accounts: 1, 10 and 50.

Run by hand: `python benchmarks/fleet_scale.py [RUNS] [--sizes 1,10,50] [--concurrency N]
[--rooms roles,shared] [--solve] [--latency 80ms]` (default 3 runs). With `--latency`, every AWS
call of the measured runs waits that long (the sandbox's realism), and the script prints the
goals beside the figures: 50 attendees in at most 3 times the time of one, and the sandbox's
99th percentile answer within twice its median. It starts one sandbox in this process,
adds as many attendee accounts as the largest size (`Sandbox.add_accounts`: each as Labs 0-2
leave it, with a role `WorkshopAdmin` that requires an external id), and, for each kind of room
and each size N, writes a targets file of N attendees in its documented form (`defaults`, then
`attendees` with `name`, `endpoint_url`, `role_arn`, `external_id`, `account_id`) and times
`mmtui fleet check --targets FILE --format json` in a new process (median of RUNS), with the
fleet's default concurrency unless `--concurrency` is given. It prints, per size, the median,
the time per attendee, the CPU seconds of the fleet's process, of the sandbox (this process) and
of its forked saves per run, the targets' states, and the growth against the first size.

Two kinds of room:

- `roles`: every attendee in an account of their own, reached by assuming its role with the
  sandbox's keys: N accounts, N role sessions. The accounts stand as Labs 0-2 leave them, so
  the prerequisites pass and Lab 3's checks fail; with `--solve`, Lab 3 is first finished in
  every account with `mmtui fleet solve --through checkpoint` (not timed, and long: every
  account runs its pipelines).
- `shared`: every attendee reaches the sandbox's own account with its keys, where Lab 3 is
  first finished once (`mmtui solve --through checkpoint`): each attendee's checks do all their
  calls, on one account.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MMTUI, machine, mmtui  # noqa: E402

FIRST_ACCOUNT = 100000000001
ROLE = "WorkshopAdmin"
EXTERNAL_ID = "mm-bench"


def targets(room: Room, count: int, shared_account: str | None) -> dict[str, Any]:
    """The targets file's content: YAML, written as JSON (YAML reads JSON as it is)."""
    defaults = {
        "endpoint_url": room.url,
        "access_key_id": room.env["AWS_ACCESS_KEY_ID"],
        "secret_access_key": room.env["AWS_SECRET_ACCESS_KEY"],
    }
    attendees: list[dict[str, str]] = []
    for index in range(count):
        name = f"attendee-{index + 1:03d}"
        if shared_account is not None:
            attendees.append({"name": name, "account_id": shared_account})
        else:
            account = room.accounts[index]
            attendees.append(
                {
                    "name": name,
                    "role_arn": f"arn:aws:iam::{account}:role/{ROLE}",
                    "external_id": EXTERNAL_ID,
                    "account_id": account,
                }
            )
    return {"defaults": defaults, "attendees": attendees}


@dataclass
class Room:
    url: str
    env: dict[str, str]
    """os.environ and the sandbox's sandbox.env."""
    accounts: list[str]
    """The attendee accounts, each as Labs 0-2 leave it."""
    sandbox: Any = None
    """The sandbox itself (in this process): its realism and its answer times."""
    answers: list[float] = field(default_factory=list)
    """Seconds the sandbox took to answer each AWS call while `timing` (with any latency)."""
    timing: bool = False


@contextmanager
def room_sandbox(accounts: int) -> Iterator[Room]:
    """A sandbox in this process with `accounts` attendee accounts, until the block ends."""
    from mmtui.sandbox.core.server import Sandbox, SandboxOptions
    from mmtui.sandbox.workshop.baseline import WorkshopSeeder

    with tempfile.TemporaryDirectory(prefix="mmtui-bench-room-") as scratch:
        options = SandboxOptions(state_dir=Path(scratch) / "state", fresh=True)
        with Sandbox(options, seeder=WorkshopSeeder()) as sandbox:
            started = time.perf_counter()
            ids = [str(FIRST_ACCOUNT + index) for index in range(accounts)]
            records = sandbox.add_accounts(ids, role_name=ROLE, external_id=EXTERNAL_ID)
            took = time.perf_counter() - started
            print(f"{accounts} attendee accounts added to the sandbox in {took:.1f} s")
            room = Room(
                sandbox.url,
                {**os.environ, **sandbox.env()},
                [record.account_id for record in records],
                sandbox,
            )
            serve = sandbox._server.app  # noqa: SLF001  (the benchmark times each answer)

            def timed(environ: dict[str, Any], start_response: Any) -> Any:
                started = time.perf_counter()
                answer = serve(environ, start_response)
                if room.timing:
                    room.answers.append(time.perf_counter() - started)
                return answer

            sandbox._server.app = timed  # noqa: SLF001
            yield room


def fleet(env: dict[str, str], command: str, path: Path, *extra: str) -> tuple[float, Any]:
    """`mmtui fleet COMMAND --targets PATH --format json ...`: (seconds, JSON document). The
    CPU seconds the fleet's process used go to CPU_SECONDS (wall time is noisy on a shared
    machine; CPU time says what the fleet itself costs), read from that process alone
    (`os.wait4`): this process's other children meanwhile, the sandbox's forked saves, go to
    OTHER_CHILD_SECONDS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [*MMTUI, "fleet", command, "--targets", str(path), "--format", "json", *extra],
            env=env,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(
            process.args,
            process.returncode,
            out.read().decode("utf-8"),
            err.read().decode("utf-8", "replace"),
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = usage.ru_utime + usage.ru_stime
    CPU_SECONDS.append(own)
    OTHER_CHILD_SECONDS.append(
        after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime - own
    )
    if "not built yet" in done.stderr:
        raise SystemExit(f"`mmtui fleet {command}` is not built in this mmtui: {done.stderr}")
    if done.returncode not in (0, 1):  # 1: a check failed or is pending, still a full table
        hint = ""
        if command == "solve":
            hint = "\n(a solve failed in an account: see its row in the JSON)"
        raise SystemExit(
            f"`mmtui fleet {command}` exited {done.returncode}:\n{done.stderr[-2000:]}{hint}"
        )
    return elapsed, json.loads(done.stdout)


CPU_SECONDS: list[float] = []
"""The CPU seconds of each `mmtui fleet` process run so far, in order."""
OTHER_CHILD_SECONDS: list[float] = []
"""The CPU seconds of this process's other children that ended during each run (the sandbox
saves its state in a forked copy: core/forked_save.py)."""

GOAL_GROWTH = 3.0
"""With latency: 50 attendees in at most 3 times the time of one."""
GOAL_P99 = 2.0
"""With latency: the sandbox's 99th percentile answer within twice its median."""


@contextmanager
def measured(room: Room, latency: str) -> Iterator[None]:
    """Time the sandbox's answers, with every call made to wait `latency` (none: as fast as
    loopback), for the measured runs only (the set-up runs at full speed)."""
    from mmtui.sandbox.core.realism import Realism, parse_latency

    realism = Realism(latencies=[parse_latency(latency)]) if latency else Realism()
    room.timing = True
    try:
        with room.sandbox.simulating(realism):
            yield
    finally:
        room.timing = False


def states(document: dict[str, Any]) -> str:
    """`12 pass, 3 fail`: the targets per status."""
    counts: dict[str, int] = {}
    for target in document.get("targets", []):
        status = str(target.get("status"))
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("runs", nargs="?", type=int, default=3)
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="(default: the fleet's own default)"
    )
    parser.add_argument("--rooms", default="roles,shared")
    parser.add_argument("--solve", action="store_true", help="finish Lab 3 in every account first")
    parser.add_argument(
        "--latency", default="", help="every AWS call of the measured runs waits this long (80ms)"
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    from mmtui.fleet import DEFAULT_CONCURRENCY

    concurrency = ["--concurrency", str(args.concurrency or DEFAULT_CONCURRENCY)]
    print(machine())
    print(f"fleet check, {' '.join(concurrency)}, median of {args.runs} runs per size")
    with room_sandbox(max(sizes)) as room, tempfile.TemporaryDirectory() as scratch:
        for kind in args.rooms.split(","):
            shared = None
            if kind == "shared":
                started = time.perf_counter()
                mmtui(room.env, "solve", "--through", "checkpoint", "--endpoint-url", room.url)
                took = time.perf_counter() - started
                print(f"shared: Lab 3 solved through the checkpoint in {took:.1f} s")
                check = mmtui(room.env, "check", "--endpoint-url", room.url, "--format", "json")
                shared = str(json.loads(check.stdout)["target"]["account"])
            medians: dict[int, float] = {}
            for size in sizes:
                path = Path(scratch) / f"{kind}-{size}.yaml"
                path.write_text(json.dumps(targets(room, size, shared), indent=1), encoding="utf-8")
                if kind == "roles" and args.solve:
                    took, _ = fleet(
                        room.env, "solve", path, "--through", "checkpoint", *concurrency
                    )
                    print(f"roles: {size} accounts solved through the checkpoint in {took:.1f} s")
                CPU_SECONDS.clear()
                OTHER_CHILD_SECONDS.clear()
                # This process is the sandbox (and the script, idle while the fleet runs).
                before = resource.getrusage(resource.RUSAGE_SELF)
                with measured(room, args.latency):
                    samples = [
                        fleet(room.env, "check", path, *concurrency) for _ in range(args.runs)
                    ]
                after = resource.getrusage(resource.RUSAGE_SELF)
                sandbox_cpu = (
                    after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                ) / args.runs
                times = [took for took, _ in samples]
                medians[size] = statistics.median(times)
                cpu = statistics.median(CPU_SECONDS)
                print(
                    f"{kind}: {size:3} attendees: median {medians[size]:.2f} s (min "
                    f"{min(times):.2f}, max {max(times):.2f}); {medians[size] / size:.2f} s an "
                    f"attendee; the fleet's CPU {cpu:.2f} s ({cpu / size:.3f} s an attendee), "
                    f"the sandbox's {sandbox_cpu:.2f} s a run and its forked saves' "
                    f"{statistics.median(OTHER_CHILD_SECONDS):.2f} s; "
                    f"targets {states(samples[-1][1])}; load average {os.getloadavg()[0]:.1f}"
                )
            for size in sizes[1:]:
                growth = medians[size] / medians[sizes[0]]
                goal = ""
                if args.latency and size == max(sizes):
                    met = "met" if growth <= GOAL_GROWTH else "NOT met"
                    goal = f"; goal with latency: at most {GOAL_GROWTH:.0f}x: {met}"
                print(
                    f"{kind}: {size} attendees take {growth:.1f}x "
                    f"the time of {sizes[0]} ({size / sizes[0]:.0f}x the attendees){goal}"
                )
            if room.answers:
                answers = sorted(room.answers)
                median = statistics.median(answers)
                p99 = answers[min(len(answers) - 1, int(len(answers) * 0.99))]
                met = "met" if p99 <= GOAL_P99 * median else "NOT met"
                print(
                    f"{kind}: the sandbox answered {len(answers)} calls: median "
                    f"{median * 1000:.0f} ms, 99th percentile {p99 * 1000:.0f} ms "
                    f"({p99 / median:.1f}x; goal at most {GOAL_P99:.0f}x: {met})"
                )
                room.answers.clear()


if __name__ == "__main__":
    main()
