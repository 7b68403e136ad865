"""Whose call it is: the target a shared client is calling for, while it calls.

A fleet talks to many attendee accounts through one client per endpoint, service and region
(target/pool.py): making a botocore client costs more CPU than the calls a target makes with
it. What differs between the targets is who signs and whose retries are spent, so a shared
client is given two stand-ins that look up the current target at the moment they are used:

- `TargetCredentials`, the client's credentials: each request is signed with the frozen
  credentials of the target the call is made for (its keys, or its role's, refreshed as they
  near their expiry), and a DynamoDB endpoint that names the account gets that target's;
- `TargetQuota`, the retry quota of botocore's standard retry mode: each target has its own per
  shared client, as it had with a client of its own, so that a faulty target spending its
  retries never leaves another without.

The current target is a context variable, set by the target's view of the client
(target/pool.py) for exactly the span of each call; a call that reaches a shared client by any
other way is refused rather than signed with whatever identity happens to be around.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class UnboundCall(RuntimeError):
    """A shared client was called outside any target's view: a bug in mmtui."""


class Binding:
    """One target, as its calls through shared clients know it."""

    def __init__(self, credentials: Any, label: str = "") -> None:
        self.credentials = credentials
        """botocore credentials (possibly refreshable), or None: the call then fails as
        botocore fails without credentials (NoCredentialsError)."""
        self.label = label
        self._lock = threading.Lock()
        self._quotas: dict[Hashable, Any] = {}

    def quota(self, client_key: Hashable) -> Any:
        """This target's retry quota on the shared client `client_key`, made on first need."""
        found = self._quotas.get(client_key)
        if found is None:
            from botocore.retries.quota import RetryQuota

            with self._lock:
                found = self._quotas.setdefault(client_key, RetryQuota())
        return found

    def __repr__(self) -> str:
        return f"Binding({self.label})"


CURRENT: ContextVar[Binding | None] = ContextVar("mmtui_target_binding", default=None)


def current() -> Binding:
    binding = CURRENT.get()
    if binding is None:
        raise UnboundCall(
            "a shared AWS client was called outside a target's view; this is a bug in mmtui"
        )
    return binding


def bound(binding: Binding, call: Callable[P, R]) -> Callable[P, R]:
    """`call`, run with `binding` as the current target (and the previous one after)."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = CURRENT.set(binding)
        try:
            return call(*args, **kwargs)
        finally:
            CURRENT.reset(token)

    return run


class TargetCredentials:
    """Credentials that are, at each use, those of the current target.

    botocore asks a client's credentials for a frozen copy once per request it signs
    (`get_frozen_credentials`) and, for endpoints that name the account, for `account_id`:
    both are answered from the current target's own credentials."""

    def get_frozen_credentials(self) -> Any:
        credentials = current().credentials
        return None if credentials is None else credentials.get_frozen_credentials()

    def _field(self, name: str) -> Any:
        credentials = current().credentials
        return None if credentials is None else getattr(credentials, name, None)

    @property
    def access_key(self) -> Any:
        return self._field("access_key")

    @property
    def secret_key(self) -> Any:
        return self._field("secret_key")

    @property
    def token(self) -> Any:
        return self._field("token")

    @property
    def account_id(self) -> Any:
        return self._field("account_id")

    @property
    def method(self) -> str:
        binding = CURRENT.get()
        credentials = None if binding is None else binding.credentials
        return str(getattr(credentials, "method", None) or "mmtui-target")

    def get_deferred_property(self, name: str) -> Callable[[], Any]:
        return lambda: getattr(self, name, None)


class TargetQuota:
    """botocore's RetryQuota for one shared client, kept per target (see the module's doc)."""

    def __init__(self, client_key: Hashable) -> None:
        self._key = client_key

    def acquire(self, capacity_amount: int) -> bool:
        binding = CURRENT.get()
        return binding is not None and bool(binding.quota(self._key).acquire(capacity_amount))

    def release(self, capacity_amount: int) -> None:
        binding = CURRENT.get()
        if binding is not None:
            binding.quota(self._key).release(capacity_amount)

    @property
    def available_capacity(self) -> int:
        binding = CURRENT.get()
        return 0 if binding is None else int(binding.quota(self._key).available_capacity)
