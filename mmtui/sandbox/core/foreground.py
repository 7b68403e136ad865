"""`mmtui sandbox`: run the embedded AWS in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TextIO

from mmtui.sandbox.core.seeder import Seeder
from mmtui.sandbox.core.server import ENV_FILE, Sandbox, SandboxOptions
from mmtui.sandbox.core.timing import describe, scale_of


def run_foreground(
    options: SandboxOptions, out: TextIO, err: TextIO, seeder: Seeder | None = None
) -> int:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        sandbox = Sandbox(
            options,
            seeder=seeder,
            tell=lambda message: print(f"warning: {message}", file=err, flush=True),
        ).start()
        try:
            for note in sandbox.notes:
                print(f"note: {note}", file=err, flush=True)
            env_file = sandbox.state_dir / ENV_FILE
            print(f"state:     {sandbox.state_dir}", file=out)
            print(f"endpoint:  {sandbox.url}", file=out)
            print(f"workspace: {sandbox.workspace}", file=out)
            print(f"time:      {describe(scale_of(options))}", file=out)
            if sandbox.realism.active:
                print(f"realism:   {sandbox.realism.describe()}", file=out)
            for dns, url in sandbox.resolve_map().items():
                print(f"site:      http://{dns}/ -> {url}", file=out)
            print(
                f"ready: in another terminal, `source {_home_relative(env_file)}`; Ctrl-C stops",
                file=out,
                flush=True,
            )
            # Wake up now and then: a signal delivered to another thread (any thread may get
            # it) only runs its Python handler once the main thread runs bytecode again, and a
            # wait without a timeout may never return to do so. A rare hang of 30 s and more
            # after SIGTERM in the test suite came from here.
            while not stop.wait(0.2):
                pass
        finally:
            sandbox.stop()
        print(f"stopped; the state is saved in {sandbox.state_dir}", file=out, flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _home_relative(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
