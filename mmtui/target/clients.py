"""boto3 clients per region and per thread.

boto3 sessions are not thread-safe, and creating clients from one session on many threads
fails intermittently (boto/boto3#1592). Each thread therefore gets its own session, and its
clients are cached per (service, region) for that thread. Clients carry standard retries,
bounded timeouts (a check must not hang a screen) and a user agent naming mmtui.

A target with a role to assume (an instructor's fleet) shares one set of role credentials
between its threads: botocore's DeferredRefreshableCredentials, which call STS AssumeRole on
first use and again before they expire, so a run longer than the role's session goes on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from mmtui import __version__
from mmtui.target.spec import TargetSpec

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
CHECK_READ_TIMEOUT = 10
"""Checks' reads: a describe or a list answers in well under a second on AWS."""
MAX_ATTEMPTS = 5
CHECK_ATTEMPTS = 3
"""Checks retry within the SDK's standard limit (3 attempts), then say `error`."""

_loader_lock = threading.Lock()
_shared_loader: Any = None


def share_data_loader(botocore_session: Any) -> Any:
    """Make `botocore_session` read botocore's data through the process's one data loader
    (the first session that comes here lends its own). Call it before the session makes any
    client. Returns the session.

    The loader reads botocore's data files (service models, endpoints, partitions) and caches
    what it parsed; it changes nothing else, so sessions on many threads can share it. A
    whole-lab check then parses each service's model once per process instead of once per
    thread, which was most of the time it took to make a client."""
    global _shared_loader
    with _loader_lock:
        if _shared_loader is None:
            loader = botocore_session.get_component("data_loader")
            # Every client needs these two lists of services, which take a walk of botocore's
            # data folders to make: made here once, before threads that start together (a
            # fleet's targets) each miss the cache and walk the folders themselves.
            for kind in ("service-2", "endpoint-rule-set-1"):
                loader.list_available_services(kind)
            _shared_loader = loader
        else:
            botocore_session.register_component("data_loader", _shared_loader)
    return botocore_session


def client_config(**overrides: Any) -> Any:
    from botocore.config import Config

    settings: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        "connect_timeout": CONNECT_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        "user_agent_extra": f"mmtui/{__version__}",
        "max_pool_connections": 20,
    }
    settings.update(overrides)
    return Config(**settings)


@dataclass
class ClientFactory:
    """Hands out clients for a resolved target; safe to share across threads."""

    spec: TargetSpec
    endpoint_url: str | None = None
    """The endpoint every client talks to (sandbox or endpoint targets); None for real AWS."""
    credentials: tuple[str, str] | None = None
    """Explicit keys (the sandbox's); None uses the standard credential chain."""
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _session: Any = field(default=None, repr=False)
    _clients: dict[tuple[str, str, int, bool], Any] = field(default_factory=dict, repr=False)
    _role_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _role_credentials: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.credentials is None:
            self.credentials = self.spec.credentials

    def _base_session(self) -> Any:
        """A session with the target's own credentials: its profile, keys or the chain."""
        import boto3

        keys = self.credentials or (None, None)
        return boto3.Session(
            profile_name=self.spec.profile,
            region_name=self.spec.primary_region,
            aws_access_key_id=keys[0],
            aws_secret_access_key=keys[1],
        )

    def session(self) -> Any:
        """The target's one session. Sessions are not safe to use from several threads at
        once, so it is only touched under the lock; the clients it makes are, and every thread
        shares them (a whole-lab check runs its checks on a pool of threads, and a client per
        thread cost more than the calls)."""
        with self._lock:
            if self._session is None:
                self._session = self._make_session()
            return self._session

    def _make_session(self) -> Any:
        if self.spec.role is None:
            return self._base_session()
        else:
            import boto3
            import botocore.session

            credentials = self.role_credentials()
            if credentials is None:
                # Never fall back to whatever the environment holds: that is another
                # identity, perhaps another account.
                from botocore.exceptions import NoCredentialsError

                raise NoCredentialsError()
            core = botocore.session.Session()
            # The documented seam for credentials a session did not find itself: the one
            # refreshable set of the role.
            core._credentials = credentials
            return boto3.Session(botocore_session=core, region_name=self.spec.primary_region)

    def role_credentials(self) -> Any:
        """The role's credentials, shared by every thread; assumed on first use and again
        before they expire. None when there are no base credentials to assume it with."""
        role = self.spec.role
        assert role is not None
        with self._role_lock:
            if self._role_credentials is None:
                from botocore.credentials import (
                    AssumeRoleCredentialFetcher,
                    DeferredRefreshableCredentials,
                )

                base = self._base_session()
                source = base.get_credentials()
                if source is None:
                    return None
                # The botocore session under boto3's; its STS client reads the shared data too
                # (a fleet assumes a role per attendee).
                core = share_data_loader(base._session)
                endpoint_url = self.endpoint_url

                def sts_client(service: str, **keys: Any) -> Any:
                    return core.create_client(
                        service,
                        region_name=self.spec.primary_region,
                        endpoint_url=endpoint_url,
                        config=client_config(
                            ignore_configured_endpoint_urls=self.spec.kind == "aws",
                            retries={"mode": "standard", "total_max_attempts": 3},
                        ),
                        **keys,
                    )

                extra: dict[str, str] = {"RoleSessionName": role.session_name}
                if role.external_id:
                    extra["ExternalId"] = role.external_id
                fetcher = AssumeRoleCredentialFetcher(sts_client, source, role.arn, extra)
                self._role_credentials = DeferredRefreshableCredentials(
                    fetcher.fetch_credentials, "assume-role"
                )
            return self._role_credentials

    def client(
        self,
        service: str,
        region: str | None = None,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        read_only: bool = False,
    ) -> Any:
        """A client for `service` in `region` (the primary by default), made once and shared
        by every thread (botocore's clients are safe to share).

        `max_attempts` lowers the retries for a call that should fail fast, such as the first
        call to an endpoint that may not be running. `read_only` clients (what checks get)
        refuse any operation that writes.
        """
        region = region or self.spec.primary_region
        if read_only:
            max_attempts = min(max_attempts, CHECK_ATTEMPTS)
        key = (service, region, max_attempts, read_only)
        found = self._clients.get(key)
        if found is not None:
            return found
        with self._lock:
            if key in self._clients:
                return self._clients[key]
            session = self.session()
            if not self._clients:  # the session's first client: it reads the shared data
                share_data_loader(session._session)
            # A real-AWS target must not be silently redirected by AWS_ENDPOINT_URL in the
            # environment; an endpoint target names its endpoint explicitly instead.
            config = client_config(
                ignore_configured_endpoint_urls=self.spec.kind == "aws",
                retries={"mode": "standard", "total_max_attempts": max_attempts},
                # A check reads: one that waits long is better told as an error now than
                # after minutes of retries against an endpoint that does not answer.
                **({"read_timeout": CHECK_READ_TIMEOUT} if read_only else {}),
            )
            client = session.client(
                service, region_name=region, endpoint_url=self.endpoint_url, config=config
            )
            if read_only:
                from mmtui.target.readonly import guard

                guard(client)
            from mmtui.target.calls import IN_FLIGHT

            IN_FLIGHT.watch(client)
            self._clients[key] = client
            return client

    def session_credentials(self) -> Any:
        """The credentials the target's session found (None: none), resolved once, under the
        lock (a session is not safe to share while it resolves them)."""
        with self._lock:
            return self.session().get_credentials()

    def credentials_available(self) -> bool:
        return self.session_credentials() is not None
