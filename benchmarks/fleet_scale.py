"""How `mmtui fleet check` grows with the number of attendee accounts: 1, 10 and 50.

Run by hand: `python benchmarks/fleet_scale.py [RUNS] [--sizes 1,10,50] [--concurrency N]
[--rooms shared,roles] [--solve]` (default 3 runs). It starts one sandbox and, for each kind of
room and each size N, writes a targets file of N attendees (its documented form: `defaults`,
then `attendees` with `name`, `endpoint_url`, `role_arn`, `external_id`, `account_id`) and
times `mmtui fleet check --targets FILE --format json` (median of RUNS). It prints, per size,
the median, the time per attendee, the targets' states, and the growth against the first size.

Two kinds of room:

- `shared`: every attendee reaches the sandbox's own account with its keys, where Lab 3 is
  first finished once (`mmtui solve --through checkpoint`): each attendee's checks do all
  their calls, on one account.
- `roles`: every attendee has an account of their own, reached by assuming
  `arn:aws:iam::ACCOUNT:role/WorkshopAdmin` with the sandbox's keys: N accounts, N role
  sessions. The sandbox does not seed these accounts yet (no Labs 0-2 stack there), so their
  checks fail early and do less work than on a finished lab; with `--solve`, for a sandbox
  that seeds every account, Lab 3 is first solved in each with `mmtui fleet solve --through
  checkpoint` (not timed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MMTUI, RunningSandbox, machine, mmtui, sandbox, solve_whole_lab  # noqa: E402

FIRST_ACCOUNT = 100000000001
ROLE = "WorkshopAdmin"
EXTERNAL_ID = "mm-bench"


def targets(box: RunningSandbox, count: int, shared_account: str | None) -> dict[str, Any]:
    """The targets file's content: YAML, written as JSON (YAML reads JSON as it is)."""
    defaults = {
        "endpoint_url": box.url,
        "access_key_id": box.env["AWS_ACCESS_KEY_ID"],
        "secret_access_key": box.env["AWS_SECRET_ACCESS_KEY"],
    }
    attendees = []
    for index in range(count):
        name = f"attendee-{index + 1:03d}"
        if shared_account is not None:
            attendees.append({"name": name, "account_id": shared_account})
        else:
            account = str(FIRST_ACCOUNT + index)
            attendees.append(
                {
                    "name": name,
                    "role_arn": f"arn:aws:iam::{account}:role/{ROLE}",
                    "external_id": EXTERNAL_ID,
                    "account_id": account,
                }
            )
    return {"defaults": defaults, "attendees": attendees}


def fleet(env: dict[str, str], command: str, path: Path, *extra: str) -> tuple[float, Any]:
    """`mmtui fleet COMMAND --targets PATH --format json ...`: (seconds, JSON document)."""
    started = time.perf_counter()
    done = subprocess.run(
        [*MMTUI, "fleet", command, "--targets", str(path), "--format", "json", *extra],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if "not built yet" in done.stderr:
        raise SystemExit(f"`mmtui fleet {command}` is not built in this mmtui: {done.stderr}")
    if done.returncode not in (0, 1):  # 1: a check failed or is pending, still a full table
        hint = ""
        if command == "solve":
            hint = "\n(each account must start as Labs 0-2 leave it: drop --solve until then)"
        raise SystemExit(
            f"`mmtui fleet {command}` exited {done.returncode}:\n{done.stderr[-2000:]}{hint}"
        )
    return elapsed, json.loads(done.stdout)


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
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rooms", default="shared,roles")
    parser.add_argument("--solve", action="store_true", help="solve every role account first")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    concurrency = ["--concurrency", str(args.concurrency)]
    print(machine())
    print(f"fleet check, --concurrency {args.concurrency}, median of {args.runs} runs per size")
    with sandbox() as box, tempfile.TemporaryDirectory(prefix="mmtui-bench-fleet-") as scratch:
        for room in args.rooms.split(","):
            shared = None
            if room == "shared":
                print(
                    f"shared: Lab 3 solved through the checkpoint in {solve_whole_lab(box):.1f} s"
                )
                check = mmtui(box.env, "check", "--endpoint-url", box.url, "--format", "json")
                shared = str(json.loads(check.stdout)["target"]["account"])
            medians: dict[int, float] = {}
            for size in sizes:
                path = Path(scratch) / f"{room}-{size}.yaml"
                path.write_text(json.dumps(targets(box, size, shared), indent=1), encoding="utf-8")
                if room == "roles" and args.solve:
                    took, _ = fleet(box.env, "solve", path, "--through", "checkpoint", *concurrency)
                    print(f"roles: {size} accounts solved through the checkpoint in {took:.1f} s")
                samples = [fleet(box.env, "check", path, *concurrency) for _ in range(args.runs)]
                times = [took for took, _ in samples]
                medians[size] = statistics.median(times)
                print(
                    f"{room}: {size:3} attendees: median {medians[size]:.2f} s (min "
                    f"{min(times):.2f}, max {max(times):.2f}); {medians[size] / size:.2f} s an "
                    f"attendee; targets {states(samples[-1][1])}"
                )
            for size in sizes[1:]:
                print(
                    f"{room}: {size} attendees take {medians[size] / medians[sizes[0]]:.1f}x "
                    f"the time of {sizes[0]} ({size / sizes[0]:.0f}x the attendees)"
                )


if __name__ == "__main__":
    main()
