"""Clients shared between targets, and each target's view of them.

Making a botocore client is costly in CPU (it copies botocore's event handlers and builds a
class with a method per operation); a fleet whose 50 attendee targets each made their own
clients spent more time making them than calling AWS. A `ClientPool` makes one client per
endpoint, region, service and configuration, and every target that needs that client gets a
`TargetClient`: a thin view that runs each call, paginator page and waiter poll with the target
as the current one (target/binding.py), so that the request is signed with the target's own
credentials and retries spend the target's own quota. What a target sends and receives is
what a client of its own would have sent and received.

The per-target retry quota replaces the shared client's quota inside botocore's standard retry
handler, which botocore does not expose: `install_target_quota` finds it and checks every step
of the way. If a botocore release moves it, the pool stops sharing and makes a client per target
instead (as mmtui did before), which costs CPU but never lets one target spend another's
retries; tests/target/test_pool.py fails on such a release so that the seam is mended.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from mmtui.target.binding import Binding, TargetCredentials, TargetQuota, bound

NOT_SHARED = frozenset({"s3"})
"""Services whose clients each target keeps to itself: botocore's S3 client caches, per bucket,
the session credentials of S3 Express directory buckets it got with whoever called first."""

SHARED_POOL_CONNECTIONS = 64
"""Connections each shared client keeps open per endpoint: the fleet's targets (16 at once) and
their check threads all call through it. Beyond it, urllib3 opens more and closes them after
use, logging a warning each time."""


@dataclass(frozen=True)
class ClientKey:
    """What makes two targets' clients the same client, apart from whose credentials sign."""

    profile: str | None
    """The profile whose configuration the client reads (retry and endpoint settings, CA
    bundle...): the target's own, or none for a role's clients (as botocore does)."""
    service: str
    region: str
    endpoint_url: str | None
    max_attempts: int
    read_only: bool
    ignore_configured_endpoint_urls: bool


class ClientPool:
    """Clients shared by the targets that use it; safe to share across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str | None, Any] = {}
        self._clients: dict[Hashable, Any] = {}
        self._credentials = TargetCredentials()
        self.shares: bool | None = None
        """Whether clients are shared between targets: known once the first client is made
        (False when this botocore keeps its retry quota where mmtui cannot find it)."""

    def view(self, key: ClientKey, binding: Binding) -> TargetClient:
        return TargetClient(self.client(key, binding), binding)

    def client(self, key: ClientKey, binding: Binding) -> Any:
        """The client `binding`'s target calls through for `key` (to be used through a view)."""
        found = self._clients.get(self._slot(key, binding))
        if found is not None:
            return found
        with self._lock:
            found = self._clients.get(self._slot(key, binding))
            if found is None:
                found = self._make(key)
                if self.shares is None:
                    self.shares = install_target_quota(found, key)
                elif self.shares:
                    install_target_quota(found, key)
                self._clients[self._slot(key, binding)] = found
            return found

    def _slot(self, key: ClientKey, binding: Binding) -> Hashable:
        """Where the client is kept: by key alone when shared, else per target too."""
        if self.shares is False or key.service in NOT_SHARED:
            return (key, binding)
        return key

    def _session(self, profile: str | None) -> Any:
        """The pool's session for `profile` (called under the lock: sessions are not safe to
        share between threads while they make clients)."""
        session = self._sessions.get(profile)
        if session is None:
            import boto3
            import botocore.session

            from mmtui.target.clients import share_data_loader

            core = botocore.session.Session(profile=profile)
            # The documented seam for credentials a session did not find itself: every client
            # the pool makes signs with the credentials of the target it is calling for.
            core._credentials = self._credentials
            share_data_loader(core)
            session = boto3.Session(botocore_session=core)
            self._sessions[profile] = session
        return session

    def _make(self, key: ClientKey) -> Any:
        from mmtui.target.calls import IN_FLIGHT
        from mmtui.target.clients import CHECK_READ_TIMEOUT, client_config

        config = client_config(
            ignore_configured_endpoint_urls=key.ignore_configured_endpoint_urls,
            retries={"mode": "standard", "total_max_attempts": key.max_attempts},
            max_pool_connections=SHARED_POOL_CONNECTIONS,
            # A check reads: one that waits long is better told as an error now than after
            # minutes of retries against an endpoint that does not answer.
            **({"read_timeout": CHECK_READ_TIMEOUT} if key.read_only else {}),
        )
        client = self._session(key.profile).client(
            key.service, region_name=key.region, endpoint_url=key.endpoint_url, config=config
        )
        if key.read_only:
            from mmtui.target.readonly import guard

            guard(client)
        IN_FLIGHT.watch(client)
        return client


def install_target_quota(client: Any, key: Hashable) -> bool:
    """Give `client`'s standard retry handler a quota per target (TargetQuota). False, and
    `client` untouched, when this botocore does not hold the quota where mmtui looks."""
    try:
        from botocore.retries.quota import RetryQuota
        from botocore.retries.standard import RetryHandler, RetryQuotaChecker

        service = client.meta.service_model.service_id.hyphenize()
        entry = client.meta.events._emitter._unique_id_handlers[f"retry-config-{service}"]
        handler = entry["handler"].__self__
        checker = handler._retry_quota
        if not (
            isinstance(handler, RetryHandler)
            and isinstance(checker, RetryQuotaChecker)
            and isinstance(checker._quota, RetryQuota)
        ):
            return False
    except (AttributeError, KeyError, TypeError, ImportError):
        return False
    checker._quota = TargetQuota(key)
    return True


class TargetClient:
    """A target's view of a shared client: the client's attributes, with every method run for
    the target (its calls, and the paginators and waiters it makes, which call back through
    the view)."""

    def __init__(self, client: Any, binding: Binding) -> None:
        self._mmtui_client = client
        self._mmtui_binding = binding

    def __getattr__(self, name: str) -> Any:
        # Only for what the view does not hold yet: each attribute is looked up once, then
        # kept on the view (methods wrapped to run for the target).
        value = getattr(self._mmtui_client, name)
        if callable(value) and not isinstance(value, type):
            value = bound(self._mmtui_binding, value)
        self.__dict__[name] = value
        return value

    def get_paginator(self, operation_name: str) -> Any:
        # botocore's own method, on the view: the paginator it makes calls the view's method.
        from botocore.client import BaseClient

        return BaseClient.get_paginator(self, operation_name)

    def get_waiter(self, waiter_name: str) -> Any:
        from botocore.client import BaseClient

        return BaseClient.get_waiter(self, waiter_name)

    def close(self) -> None:
        """Nothing to close: the pool owns the client and its connections."""

    def __repr__(self) -> str:
        meta = self._mmtui_client.meta
        return (
            f"<TargetClient {meta.service_model.service_name} {meta.region_name} "
            f"for {self._mmtui_binding.label}>"
        )
