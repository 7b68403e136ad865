"""boto3 clients for a target, shared by its threads.

Clients carry standard retries, bounded timeouts (a check must not hang a screen) and a user
agent naming mmtui. They come from a pool (target/pool.py): a target's own, or, in a fleet, one
that every target shares, each call signed with its own target's credentials.

A target with a role to assume (an instructor's fleet) shares one set of role credentials
between its threads: botocore's DeferredRefreshableCredentials, which call STS AssumeRole on
first use and again before they expire, so a run longer than the role's session goes on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from mmtui import __version__
from mmtui.target.binding import Binding
from mmtui.target.pool import ClientKey, ClientPool
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
            one_at_a_time(loader)
            _shared_loader = loader
        else:
            botocore_session.register_component("data_loader", _shared_loader)
    return botocore_session


SINGLE_FLIGHT = ("list_available_services", "load_service_model", "load_data")
"""The loader's cached methods that read botocore's data folders or files."""


def one_at_a_time(loader: Any) -> None:
    """Make `loader`'s cached reads happen one at a time, so that threads asking for the same
    thing together read it once: the first reads and caches it, the others find it cached.

    botocore's loader caches each answer, but threads that miss together each do the work: a
    fleet's fifty targets make their first paginator in the same instant (a client's first
    paginator lists the services that have paginators, a walk of ~400 folders), and each walked
    the folders (issue 15: 52 walks in a fleet of fifty, a third of a second of CPU with every
    other thread waiting on the interpreter lock). Reads of different files wait on each
    other too, which costs nothing: they would share one interpreter lock anyway."""
    lock = threading.RLock()  # re-entered: a model's load lists the services first

    def serialised(method: Any) -> Any:
        def read(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return read

    for name in SINGLE_FLIGHT:
        setattr(loader, name, serialised(getattr(loader, name)))


class AssumeRoleRecorder:
    """The STS client botocore's role fetcher calls (its only call is `assume_role`): keeps
    the answer's `AssumedRoleUser` on the factory. That is who the session is, as
    GetCallerIdentity would answer it, so a target reached through a role need not ask again
    (a fleet's fifty targets: fifty calls and a round trip each fewer)."""

    def __init__(self, client: Any, factory: ClientFactory) -> None:
        self._client = client
        self._factory = factory

    def assume_role(self, **kwargs: Any) -> Any:
        response = self._client.assume_role(**kwargs)
        user = response.get("AssumedRoleUser")
        if isinstance(user, dict):
            self._factory._assumed_user = dict(user)
        return response


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
    """Hands out clients for a resolved target; safe to share across threads.

    Its clients are views (target/pool.py) of clients in a pool: a pool of its own, or one
    shared with the other targets of a fleet. Every call through them is signed with this
    target's credentials, resolved once: its explicit keys, its profile or the standard chain,
    or the role that these assume."""

    spec: TargetSpec
    endpoint_url: str | None = None
    """The endpoint every client talks to (sandbox or endpoint targets); None for real AWS."""
    credentials: tuple[str, str] | None = None
    """Explicit keys (the sandbox's); None uses the standard credential chain."""
    pool: ClientPool = field(default_factory=ClientPool)
    """Where the clients come from: by default, a pool of the target's own."""
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _session: Any = field(default=None, repr=False)
    _binding: Binding | None = field(default=None, repr=False)
    _clients: dict[tuple[str, str, int, bool], Any] = field(default_factory=dict, repr=False)
    _role_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _role_credentials: Any = field(default=None, repr=False)
    _assumed_user: dict[str, str] | None = field(default=None, repr=False)

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

    def _base_credentials(self) -> Any:
        """The target's own credentials (None: none found). Explicit keys need no session,
        whose making costs a fleet more CPU than the keys."""
        if self.credentials is not None and self.spec.profile is None:
            from botocore.credentials import Credentials

            return Credentials(*self.credentials)
        return self._base_session().get_credentials()

    def session(self) -> Any:
        """A boto3 session with the target's credentials, for what wants a session rather than
        a client. Sessions are not safe to use from several threads at once, so it is only
        touched under the lock."""
        with self._lock:
            if self._session is None:
                self._session = self._make_session()
                share_data_loader(self._session._session)
            return self._session

    def _make_session(self) -> Any:
        if self.spec.role is None:
            return self._base_session()
        else:
            import boto3
            import botocore.session

            core = botocore.session.Session()
            # The documented seam for credentials a session did not find itself: the one
            # refreshable set of the role.
            core._credentials = self._role_or_refuse()
            return boto3.Session(botocore_session=core, region_name=self.spec.primary_region)

    def _role_or_refuse(self) -> Any:
        credentials = self.role_credentials()
        if credentials is None:
            # Never fall back to whatever the environment holds: that is another identity,
            # perhaps another account.
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        return credentials

    def role_credentials(self) -> Any:
        """The role's credentials, shared by every thread; assumed on first use and again
        before they expire. None when there are no base credentials to assume it with."""
        role = self.spec.role
        assert role is not None
        with self._role_lock:
            if self._role_credentials is None:
                from botocore.credentials import (
                    AssumeRoleCredentialFetcher,
                    Credentials,
                    DeferredRefreshableCredentials,
                )

                source = self._base_credentials()
                if source is None:
                    return None
                # STS is called through the pool too (a fleet assumes a role per attendee),
                # with the base credentials the fetcher hands over; the source profile's
                # configuration applies, as it did to the base session's own STS client.
                key = self._key("sts", self.spec.primary_region, CHECK_ATTEMPTS, False)
                key = replace(key, profile=self.spec.profile)
                label = f"{self.spec.label()} (base credentials)"

                def sts_client(service: str, **keys: Any) -> Any:
                    assert service == "sts"
                    signer = Credentials(
                        keys["aws_access_key_id"],
                        keys["aws_secret_access_key"],
                        keys.get("aws_session_token"),
                    )
                    return AssumeRoleRecorder(self.pool.view(key, Binding(signer, label)), self)

                extra: dict[str, str] = {"RoleSessionName": role.session_name}
                if role.external_id:
                    extra["ExternalId"] = role.external_id
                fetcher = AssumeRoleCredentialFetcher(sts_client, source, role.arn, extra)
                self._role_credentials = DeferredRefreshableCredentials(
                    fetcher.fetch_credentials, "assume-role"
                )
            return self._role_credentials

    def assumed_user(self) -> dict[str, str] | None:
        """Who the role's session is (AssumeRole's `AssumedRoleUser`: its `Arn` and
        `AssumedRoleId`), once the role has been assumed; None before, or without a role."""
        return self._assumed_user

    def binding(self) -> Binding:
        """The target as its calls know it: the credentials that sign them, resolved on first
        need (the role's, refreshed as they expire)."""
        with self._lock:
            if self._binding is None:
                if self.spec.role is not None:
                    credentials = self._role_or_refuse()
                else:
                    credentials = self._base_credentials()
                self._binding = Binding(credentials, self.spec.label())
            return self._binding

    def _key(self, service: str, region: str, max_attempts: int, read_only: bool) -> ClientKey:
        return ClientKey(
            # A role's clients read no profile's configuration (the role's session has none).
            profile=None if self.spec.role is not None else self.spec.profile,
            service=service,
            region=region,
            endpoint_url=self.endpoint_url,
            max_attempts=max_attempts,
            read_only=read_only,
            # A real-AWS target must not be silently redirected by AWS_ENDPOINT_URL in the
            # environment; an endpoint target names its endpoint explicitly instead.
            ignore_configured_endpoint_urls=self.spec.kind == "aws",
        )

    def client(
        self,
        service: str,
        region: str | None = None,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        read_only: bool = False,
    ) -> Any:
        """A client for `service` in `region` (the primary by default), the same one for every
        thread (botocore's clients are safe to share).

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
            if key not in self._clients:
                binding = self.binding()
                pooled = self._key(service, region, max_attempts, read_only)
                self._clients[key] = self.pool.view(pooled, binding)
            return self._clients[key]

    def session_credentials(self) -> Any:
        """The credentials the target's calls are signed with (None: none)."""
        return self.binding().credentials

    def credentials_available(self) -> bool:
        return self.session_credentials() is not None
