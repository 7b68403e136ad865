"""Turning a target spec into something to talk to: clients, and a sandbox if one is needed.

A sandbox target connects through its `sandbox.env` to the `mmtui sandbox` that runs on its
state folder; with none running, the guide starts one detached (target/detached.py) and any
other command starts the embedded sandbox for itself. Either way
the engine just receives a ClientFactory on an endpoint: it never learns which it was.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmtui.target.clients import ClientFactory
from mmtui.target.connection import Connection as Connection  # where it was always imported
from mmtui.target.pool import ClientPool
from mmtui.target.spec import TargetSpec


def read_env_file(path: Path) -> dict[str, str]:
    """The `export NAME=value` lines of a sandbox.env."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("export ") and "=" in line:
            name, _, raw = line[len("export ") :].partition("=")
            parts = shlex.split(raw) or [""]
            values[name.strip()] = parts[0]
    return values


def parse_resolve(text: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {name.strip(): url.strip() for name, url in pairs}


def running_sandbox_env(state_dir: Path) -> dict[str, str] | None:
    """The env of a `mmtui sandbox` that holds the lock on `state_dir`, if one runs (waiting
    for one that is starting)."""
    from mmtui.target.detached import running_env

    return running_env(state_dir)


def resolve_from_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Load balancer name → URL from `MMTUI_RESOLVE`, updated by `MMTUI_RESOLVE_FILE` (an env
    file whose MMTUI_RESOLVE line is read now, so it may list names made after it was sourced).
    """
    import os

    env = dict(os.environ) if env is None else env
    resolve = parse_resolve(env.get("MMTUI_RESOLVE", ""))
    path = env.get("MMTUI_RESOLVE_FILE")
    if path:
        with contextlib.suppress(OSError):  # a stale pointer: keep what the environment says
            resolve.update(parse_resolve(read_env_file(Path(path)).get("MMTUI_RESOLVE", "")))
    return resolve


@contextmanager
def connect(
    spec: TargetSpec, *, detach: bool = False, pool: ClientPool | None = None
) -> Iterator[Connection]:
    """Clients on the target. On a sandbox folder with no sandbox running, `detach` starts
    one as a process of its own that outlives this one (the guide's, target/detached.py);
    otherwise the sandbox runs inside this command and stops with it. The clients come from
    `pool` (a fleet's, shared by its targets), or from a pool of the target's own."""
    pool = pool or ClientPool()
    if spec.kind != "sandbox":
        yield Connection(
            spec,
            ClientFactory(
                spec, endpoint_url=spec.endpoint_url, credentials=spec.credentials, pool=pool
            ),
            resolver=resolve_from_environment,
            workspace=spec.workspace,
        )
        return
    if spec.sandbox_dir is not None:
        from mmtui.target.detached import start_detached

        if detach:
            # The guide's sandbox was begun as it started (detached.begin) and is still
            # importing or seeding: its clients' library is imported meanwhile, not after.
            import boto3  # noqa: F401

        env = (
            start_detached(spec.sandbox_dir, spec.primary_region, spec.secondary_region)
            if detach
            else running_sandbox_env(spec.sandbox_dir)
        )
        if env is not None:
            yield Connection(
                spec,
                ClientFactory(
                    spec,
                    endpoint_url=env["AWS_ENDPOINT_URL"],
                    credentials=(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]),
                    pool=pool,
                ),
                resolver=lambda: resolve_from_environment(env),
                workspace=spec.workspace or Path(env["MMTUI_WORKSPACE"]),
            )
            return
    from mmtui.sandbox.core.server import Sandbox, SandboxOptions
    from mmtui.sandbox.workshop.baseline import WorkshopSeeder

    options = SandboxOptions(
        state_dir=spec.sandbox_dir,
        primary_region=spec.primary_region,
        secondary_region=spec.secondary_region,
    )
    with Sandbox(options, seeder=WorkshopSeeder()) as sandbox:
        yield Connection(
            spec,
            ClientFactory(
                spec, endpoint_url=sandbox.url, credentials=sandbox.credentials(), pool=pool
            ),
            resolver=sandbox.resolve_map,
            workspace=spec.workspace or sandbox.workspace,
            sandbox=sandbox,
        )
