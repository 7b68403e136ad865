"""The account as it stands after Labs 0-2 (workshop-facts.md), seeded over the sandbox's API.

The default account is seeded when the sandbox starts fresh; attendee accounts when they are
added (`Sandbox.add_accounts`), the same way, each with its own keys, so every one holds its
own stack, table, services, repositories and pipelines with their first runs.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT
from mmtui.sandbox.workshop.pipelines import seed_pipelines
from mmtui.sandbox.workshop.primary_app import seed_primary_application
from mmtui.sandbox.workshop.repositories import seed_repositories
from mmtui.sandbox.workshop.stacks import PRIMARY_STACK, seed_workshop

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

XRAY_GROUPS = {
    "like-service": 'service("Like Service") AND http.method = "POST"',
    "like-service-errors-faults": 'service("Like Service") { error = true OR fault = true }',
}
SEED_WORKERS_VARIABLE = "MMTUI_SANDBOX_SEED_WORKERS"


def seed_baseline(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> None:
    region = sandbox.options.primary_region
    xray = sandbox.client("xray", region, account)
    for name, expression in XRAY_GROUPS.items():
        xray.create_group(GroupName=name, FilterExpression=expression)
    seed_workshop(sandbox, account)
    seed_primary_application(sandbox, PRIMARY_STACK, account)
    repos = seed_repositories(sandbox, account)
    seed_pipelines(sandbox, repos, account)


def seed_accounts(sandbox: Sandbox, accounts: list[str]) -> None:
    """Seed several accounts, a few at a time: while one account's pipelines build (in
    subprocesses) another's API calls run, so both cores stay busy."""
    if not accounts:
        return
    workers = max(1, min(len(accounts), _seed_workers()))
    with ThreadPoolExecutor(workers, thread_name_prefix="mmtui-seed") as pool:
        # list(): the first account that fails to seed raises here.
        list(pool.map(lambda account: seed_baseline(sandbox, account), accounts))


def _seed_workers() -> int:
    raw = os.environ.get(SEED_WORKERS_VARIABLE, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return 2 * (os.cpu_count() or 1)
