"""What an account holds when it begins: plugged into the sandbox from outside the core.

The core is the emulator. It starts, saves and restores, and adds attendee accounts, but does
not know what an account holds before anyone uses it: whoever builds a `Sandbox` hands it a
`Seeder` (the workshop's, as Labs 0-2 leave an account: mmtui/sandbox/workshop/baseline.py).
A sandbox without one starts empty and adds empty accounts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmtui.sandbox.behaviours.accounts import AccountRecord
    from mmtui.sandbox.core.server import Sandbox


class Seeder(ABC):
    """Fills accounts as they begin, over the sandbox's own API."""

    def prepare(self, sandbox: Sandbox) -> None:
        """Called as a sandbox that is going to seed its default account starts, before its
        emulator is imported: a seeder may start, in the background, what seeding needs later
        (the sandbox's start is mostly one core's work until then). Nothing by default."""
        return None  # a hook a seeder may leave alone, not one it must fill

    @abstractmethod
    def seed(self, sandbox: Sandbox, account: str) -> None:
        """Fill `account` (the default account of a fresh sandbox, or one just registered)."""

    def seed_accounts(self, sandbox: Sandbox, accounts: list[str]) -> None:
        """Fill several registered accounts (one after another unless a seeder knows better)."""
        for account in accounts:
            self.seed(sandbox, account)

    def copy_accounts(
        self, sandbox: Sandbox, accounts: list[str], register: Callable[[str], AccountRecord]
    ) -> list[AccountRecord]:
        """Add `accounts` as they begin, as fast as the seeder can (a seeder may copy one
        seeded account into the others); `register` gives an account its record and keys.
        By default each is registered, then seeded for real."""
        records = [register(account) for account in accounts]
        self.seed_accounts(sandbox, accounts)
        return records
