"""moto finds the account of an access key without walking every account on every call.

Not a difference from AWS but a cost that grows with the room: moto decides the account a
request acts in with `get_account_id_from`, which looks the key up in every partition of every
account's IAM backend in turn (the sandbox asks once per request to know the account, and moto
again to act in it). With fifty attendee accounts that was some 250 dictionary lookups a call,
a twentieth of the time a room's calls held the sandbox lock. The account (and partition) a key
was found in is remembered; a remembered answer is used only while that account's IAM backend
still holds the key, so a deleted key, a dropped account or a restored state is looked up again
by moto's own walk. Keys are random and made once (AssumeRole, CreateAccessKey): the account
that holds a key is the first, and only, one moto's walk would find.
"""

from __future__ import annotations

import functools
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "access_key_accounts"

REMEMBERED = 65536
"""Keys remembered: a room makes one role session per attendee an hour; the bound guards
memory in a sandbox that runs for days."""


def install() -> None:
    """Remember the account of each access key found (called once, by moto_repairs.install)."""
    from moto.iam import models
    from moto.utilities.utils import PARTITION_NAMES

    original = models.get_account_id_from
    found: dict[str, tuple[str, str]] = {}

    def holder(account_id: str, partition: str) -> Any:
        # dict.get: moto's backend dictionaries create accounts and partitions on lookup.
        account = dict.get(models.iam_backends, account_id)
        return None if account is None else dict.get(account, partition)

    @functools.wraps(original)
    def get_account_id_from(access_key: str) -> str:
        known = found.get(access_key)
        if known is not None:
            backend = holder(*known)
            if backend is not None and access_key in backend.access_keys:
                return known[0]
        account_id = original(access_key)
        for partition in PARTITION_NAMES:
            backend = holder(account_id, partition)
            if backend is not None and access_key in backend.access_keys:
                if len(found) >= REMEMBERED:
                    found.clear()
                found[access_key] = (account_id, partition)
                break
        return account_id

    patch(REPAIR, models, "get_account_id_from", get_account_id_from)
