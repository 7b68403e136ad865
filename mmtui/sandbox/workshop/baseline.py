"""The account as it stands after Labs 0-2 (workshop-facts.md), seeded over the sandbox's API.

The default account is seeded when the sandbox starts fresh; attendee accounts when they are
added (`Sandbox.add_accounts`), the same way, each with its own keys, so every one holds its
own stack, table, services, repositories and pipelines with their first runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from mmtui.sandbox.behaviours.pipelines import command_launcher
from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT
from mmtui.sandbox.core.seeder import Seeder
from mmtui.sandbox.workshop.pipelines import seed_pipelines
from mmtui.sandbox.workshop.primary_app import seed_application_data, seed_services
from mmtui.sandbox.workshop.repositories import seed_repositories
from mmtui.sandbox.workshop.stacks import PRIMARY_STACK, seed_workshop

if TYPE_CHECKING:
    from mmtui.sandbox.behaviours.accounts import AccountRecord
    from mmtui.sandbox.core.server import Sandbox
    from mmtui.sandbox.workshop.account_image import AccountImage

XRAY_GROUPS = {
    "like-service": 'service("Like Service") AND http.method = "POST"',
    "like-service-errors-faults": 'service("Like Service") { error = true OR fault = true }',
}
SEED_WORKERS_VARIABLE = "MMTUI_SANDBOX_SEED_WORKERS"


def seed_baseline(sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> None:
    # The pipelines' first runs come at the end, and their `aws` and `docker` commands go
    # through the builds' fork server: started now, its imports are done (on the other core)
    # by then.
    command_launcher.prestart()
    seed_workshop(sandbox, account)
    # The services first: the pipelines the pushes start deploy to them. Then what no pipeline
    # uses (mysfits, dashboard, X-Ray groups) is seeded while the builds run in their
    # subprocesses, before waiting for the runs to end.
    outputs = seed_services(sandbox, PRIMARY_STACK, account)
    repos = seed_repositories(sandbox, account, outputs)
    seed_application_data(sandbox, PRIMARY_STACK, outputs, account)
    xray = sandbox.client("xray", sandbox.options.primary_region, account)
    for name, expression in XRAY_GROUPS.items():
        xray.create_group(GroupName=name, FilterExpression=expression)
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


class WorkshopSeeder(Seeder):
    """The workshop's accounts as Labs 0-2 leave them: what `Sandbox(seeder=...)` is given by
    whoever builds a sandbox for the workshop (the command line, `--sandbox`, the tests)."""

    def __init__(self) -> None:
        self._image: AccountImage | None = None
        """The template attendee accounts are copied from (made on first use, in memory
        only: one sandbox per process, so one template)."""

    def prepare(self, sandbox: Sandbox) -> None:
        # The baseline ends with the pipelines' first runs, whose `aws` and `docker` go through
        # the builds' fork server: its own imports (a third of a second of CPU) then run on the
        # other core while the sandbox imports the emulator, not while it seeds.
        command_launcher.prestart()

    def seed(self, sandbox: Sandbox, account: str = DEFAULT_ACCOUNT) -> None:
        seed_baseline(sandbox, account)

    def seed_accounts(self, sandbox: Sandbox, accounts: list[str]) -> None:
        seed_accounts(sandbox, accounts)

    def copy_accounts(
        self, sandbox: Sandbox, accounts: list[str], register: Callable[[str], AccountRecord]
    ) -> list[AccountRecord]:
        """Each account a copy of a template account seeded for real once per process
        (account_image.py)."""
        from mmtui.sandbox.workshop import account_image

        if self._image is None:
            self._image = account_image.capture(sandbox)
        image = self._image
        records = []
        for account in accounts:
            # The copy replaces the account's IAM: its own key is made after.
            account_image.install(sandbox, image, account)
            records.append(register(account))
            account_image.finish(sandbox, image, account)
        return records
