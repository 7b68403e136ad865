"""The whole-lab `mmtui check` beside the same verification done with the `aws` CLI.

Run by hand: `python benchmarks/check_vs_cli.py [RUNS]` (default 5). It starts one sandbox
(`mmtui sandbox` in a subprocess), finishes Lab 3 there once (`mmtui solve --through
checkpoint`) so that every check does its full work, then, on that same sandbox and in each
round, times:

- `mmtui check --endpoint-url URL --format json`: every Lab 3 check and the Labs 0-2
  prerequisites, concurrently, in one process;
- the way the workshop's scripts verify: one `aws` CLI call after another, each the read-only
  command that a check prints as the way to see what it saw (`command` in the JSON; the same
  command once even when several checks share it), run with bash as a script would, and the
  site fetched with curl from the loopback URL that serves its load balancer.

The two run alternately, so a busy moment hurts both. It prints the medians and their ratio.
The CLI side is the cheaper of the two: several checks make more calls than the one command
they print (both regions, both services), and it skips parsing and comparing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, mmtui, sandbox, solve_whole_lab, summary, timed  # noqa: E402


def cli_commands(document: dict[str, object], resolve: dict[str, str]) -> list[str]:
    """The distinct `command` of every check, in the order of the checks, ready for bash."""
    commands: list[str] = []
    for step in document["steps"]:  # type: ignore[attr-defined]
        for check in step["checks"]:
            command = check["command"]
            for name, url in resolve.items():  # the site: its loopback stand-in
                command = command.replace(f"http://{name}/", url.rstrip("/") + "/")
            if command and command not in commands:
                commands.append(command)
    return commands


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(machine())
    with sandbox() as box:
        # The `aws` that mmtui depends on (beside this interpreter) before any other on PATH.
        env = dict(box.env)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        aws_version = subprocess.run(
            ["bash", "-c", "aws --version"], env=env, capture_output=True, text=True
        )
        print(f"aws CLI: {(aws_version.stdout or aws_version.stderr).strip()}")
        print(f"Lab 3 solved through the checkpoint in {solve_whole_lab(box):.1f} s")

        check = ["check", "--endpoint-url", box.url, "--format", "json"]
        document = json.loads(mmtui(env, *check).stdout)  # also a warm-up of both
        checks = sum(len(step["checks"]) for step in document["steps"])
        if document["status"] != "pass":
            raise SystemExit(f"the solved lab does not pass its checks: {document['status']}")
        commands = cli_commands(document, box.resolve())

        mmtui_times: list[float] = []
        cli_times: list[float] = []
        for round_number in range(runs):

            def time_mmtui() -> None:
                mmtui_times.append(timed([sys.executable, "-m", "mmtui", *check], env))

            def time_cli() -> None:
                cli_times.append(sum(timed([c], env, shell=True) for c in commands))

            order = (time_mmtui, time_cli) if round_number % 2 == 0 else (time_cli, time_mmtui)
            for measure in order:
                measure()

    print(f"mmtui check, {checks} checks, concurrently: {summary(mmtui_times)}")
    print(
        f"aws CLI, {len(commands)} commands one after another: {summary(cli_times)}; "
        f"{statistics.median(cli_times) / len(commands):.2f} s a command"
    )
    ratio = statistics.median(cli_times) / statistics.median(mmtui_times)
    print(f"ratio: the aws CLI takes {ratio:.1f}x as long as mmtui check")


if __name__ == "__main__":
    main()
