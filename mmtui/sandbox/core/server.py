"""Starting, saving and stopping the sandbox.

One `Sandbox` per process: moto's state is process-global. The HTTP server runs on daemon
threads; `start()` returns once it answers, `stop()` saves the state and shuts it down.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hmac
import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.files import write_atomically
from mmtui.sandbox.behaviours.accounts import (
    ADMINISTRATOR_ACCESS,
    DEFAULT_ROLE_NAME,
    AccountRecord,
    Accounts,
    moto_principal,
    trust_policy,
    valid_account_id,
    valid_role_name,
)
from mmtui.sandbox.core import forked_save, heap
from mmtui.sandbox.core.app import SandboxApp
from mmtui.sandbox.core.auth import Principal
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.fair_lock import FairRLock
from mmtui.sandbox.core.journal import JOURNAL_FILE, Journal, lost_note
from mmtui.sandbox.core.persistence import SnapshotMismatch, dump_state, load_state
from mmtui.sandbox.core.protocol import (
    DEFAULT_ACCOUNT,
    TEMPLATE_ACCOUNT,
    AwsRequest,
    AwsResponse,
)
from mmtui.sandbox.core.proxy import NO_PROXY
from mmtui.sandbox.core.realism import Realism

if TYPE_CHECKING:
    from mmtui.sandbox.core.seeder import Seeder

E = TypeVar("E")
_RUNNING: list[Sandbox] = []
_RUNNING_LOCK = threading.Lock()

STATE_FILE = "state.pickle"
ENV_FILE = "sandbox.env"
LOCK_FILE = "sandbox.lock"
PORT_FILE = "port"
KEY_FILE = "credentials.json"
"""The default account's access key: made with the state folder, kept in it (0600)."""
_ISSUED_KEY = re.compile(rb"<AccessKeyId>([A-Z0-9]{16,128})</AccessKeyId>")
"""The access key of the session an STS answer hands out."""
SESSIONS_SERVICE = "sts"
"""The service whose writes only add sessions (Sandbox._changed_by)."""
AUTOSAVE_SECONDS = 2.0
AUTOSAVE_SPACING = 4.0
"""An autosave waits at least this many times as long as the previous one took."""
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"


def silence_emulator_logs() -> None:
    """No log line of moto, werkzeug or flask may reach the attendee's terminal."""
    for name in ("werkzeug", "moto", "flask", "flask_cors", "botocore.credentials"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        logger.setLevel(logging.CRITICAL)


@dataclass
class SandboxOptions:
    state_dir: Path | None = None
    """Where state lives; None makes a temporary folder removed at stop (`--sandbox`)."""
    port: int = 0
    fresh: bool = False
    primary_region: str = "us-west-2"
    secondary_region: str = "us-east-1"
    seed: bool = True
    """Seed the default account (with the sandbox's seeder, the workshop's Labs 0-2 baseline)
    when starting without saved state."""
    time_scale: float | None = None
    """AWS's durations are multiplied by this (0 instant, 1 real time; see sandbox/timing.py);
    None takes MMTUI_SANDBOX_TIME_SCALE, else 0."""
    realism: Realism | None = None
    """A slow, busy, faulty AWS on purpose (core/realism.py); None: answers at once, never
    throttled, never failing."""
    autosave: bool = True
    """Write the state every AUTOSAVE_SECONDS while it changes (or AUTOSAVE_SPACING times as
    long as the last save took, when that is longer). The test suite's shared sandbox
    turns it off: it resets to in-memory snapshots between tests and never restarts from its
    folder, so the writes (a pickle of every backend) would only slow it."""
    keep_alive: bool = True
    """Keep HTTP connections open between calls (core/keepalive.py): no new connection and
    server thread per call. False answers each call on its own connection, as werkzeug's
    development server does (`Connection: close`)."""
    fork_saves: bool = True
    """Pickle the state for a save in a forked copy of the process (on Linux), so that calls
    go on meanwhile; False pickles it under the sandbox lock, stalling every call for as long
    (a second or more for a room of fifty accounts)."""


@dataclass(eq=False)  # compared by identity: one per process
class Sandbox:
    options: SandboxOptions = field(default_factory=SandboxOptions)
    extensions: list[Extension] = field(default_factory=list)
    lock: FairRLock = field(default_factory=FairRLock)
    notes: list[str] = field(default_factory=list)
    """Things worth telling the user at start (a snapshot set aside, ...)."""
    tell: Callable[[str], None] | None = None
    """Told at once, from the autosave thread, when saving the state starts failing (once per
    kind of failure) and when it works again; `mmtui sandbox` prints it on stderr. Without it
    the sandbox cannot warn that its changes are no longer kept (red-team S9)."""
    push_listeners: list[Callable[[str, str, str, str], None]] = field(default_factory=list)
    """Called with (repository, branch, old sha, new sha) after a `git push` changed a branch
    of a CodeCommit repository of the default account (behaviours/git_repos.py), outside the
    lock."""
    account_push_listeners: list[Callable[[str, str, str, str, str], None]] = field(
        default_factory=list
    )
    """The same for a push in any account, called with (account, repository, branch, old sha,
    new sha)."""
    seeder: Seeder | None = None
    """What an account holds when it begins (core/seeder.py), given by whoever builds the
    sandbox (the workshop's: workshop/baseline.py `WorkshopSeeder`); None starts empty."""

    _server: Any = None
    _connections: Any = None
    """The server's idle kept-alive connections (core/keepalive.py), closed at stop."""
    _app: Any = None
    _journal: Journal | None = None
    """The changes answered since the last save (core/journal.py); kept while autosaving."""
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _dirty: threading.Event = field(default_factory=threading.Event)
    _lock_handle: Any = None
    _temporary: bool = False
    _env_ready: bool = False
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock)
    _session: Any = None
    _principals: dict[str, Principal] = field(default_factory=dict)
    """Keys moto holds, found since the last change of state (find_key)."""
    state_generation: int = 0
    """Counts the changes of state (mark_dirty, a restore, a reset): what an extension worked
    out from moto's state stays true while it is unchanged (read with the sandbox lock held)."""
    _saving: threading.Lock = field(default_factory=threading.Lock)
    """One save at a time (taken before the sandbox lock, never under it)."""
    _adding: threading.Lock = field(default_factory=threading.Lock)
    """One add_accounts at a time (they share the template)."""
    _keys: tuple[str, str] = ("", "")
    _saved_at: float | None = None
    """When the state was last written whole (time.time()); None before the first save."""
    """The default account's access key id and secret (KEY_FILE)."""
    state_dir: Path = field(default=Path("."))

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Sandbox:
        # moto's state is process-global: a second sandbox would share (and reset) the first's.
        with _RUNNING_LOCK:
            if _RUNNING:
                raise MmtuiError(
                    "a sandbox is already running in this process; use its endpoint instead",
                    ExitCode.USAGE,
                )
            _RUNNING.append(self)
        try:
            return self._start()
        except BaseException:
            with _RUNNING_LOCK:
                _RUNNING.remove(self)
            raise

    def _start(self) -> Sandbox:
        silence_emulator_logs()
        self._prepare_dir()
        seeder = self.seeder if self.options.seed else None
        if seeder is not None and (
            self.options.fresh or not (self.state_dir / STATE_FILE).exists()
        ):
            seeder.prepare(self)
        from mmtui.sandbox import moto_repairs

        moto_repairs.install()
        if not self.extensions:
            from mmtui.sandbox.behaviours import default_extensions

            self.extensions = default_extensions(self)
        previous = Journal(self.state_dir / JOURNAL_FILE)
        # Read before anything answers: these are the previous run's, never this one's.
        lost = previous.lost() if not self._temporary else []
        if lost:
            self.notes.append(lost_note(lost, previous.set_aside()))
        self._serve()
        restored = False
        if not self.options.fresh:
            restored = self._restore()
        if not restored:
            self._reset_moto()
            if self.options.seed and self.seeder is not None:
                self.seeder.seed(self, DEFAULT_ACCOUNT)
            self.save()
        if self.extension(Accounts).get(TEMPLATE_ACCOUNT) is not None:
            # Saved while a template was being made (a crash, or a stop mid-way): not an
            # attendee account, and no use without its image.
            from mmtui.sandbox.core.account_share import drop

            drop(self, TEMPLATE_ACCOUNT)
        for extension in self.extensions:
            extension.on_start()
        if self.options.realism is not None:
            # From now on, not while the baseline is seeded: a rehearsal simulates AWS for its
            # attendee, and a baseline that failed to seed would rehearse nothing.
            self._app.realism = self.options.realism
        self._env_ready = True
        self._write_env()
        heap.settle()  # the baseline or the restored state: long-lived from now on
        if self.options.autosave:
            self._start_thread("mmtui-sandbox-autosave", self._autosave_loop)
            if not self._temporary:
                self._journal = Journal(self.state_dir / JOURNAL_FILE)
                self._app.journal = self._journal.record
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        unsaved: OSError | None = None
        if not self._temporary:
            try:
                self.save()
            except OSError as exc:  # told below, once everything else is shut down
                unsaved = exc
        for extension in self.extensions:
            extension.close()
        if self._server is not None:
            self._server.shutdown()
            if self._connections is not None:
                # Idle clients (a boto3 pool) would keep their threads waiting otherwise.
                self._connections.close_idle()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._journal is not None:
            if self._journal.position() > 0 and unsaved is None:
                # Answered while stopping (a build writing its logs): saved too, now that
                # nothing can answer any more, or the next start would call it lost.
                try:
                    self.save()
                except OSError as exc:
                    unsaved = exc
            self._journal.close()
        if self._lock_handle is not None:
            self._lock_handle.close()
        if self._temporary:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        with _RUNNING_LOCK:
            if self in _RUNNING:
                _RUNNING.remove(self)
        if unsaved is not None:
            raise MmtuiError(self._final_save_failed(unsaved), ExitCode.USAGE)

    def _final_save_failed(self, exc: OSError) -> str:
        """The one line said when the state could not be written at stop. The state is still
        in memory: write it to the temporary folder instead, so that nothing is lost if that
        works, and say where it went and how to put it back."""
        since = (
            f"since {_clock(self._saved_at)}" if self._saved_at is not None else "since the start"
        )
        what = f"the changes made {since}"
        try:
            data = self.snapshot()
            rescue = Path(tempfile.mkdtemp(prefix="mmtui-sandbox-rescue-")) / STATE_FILE
            write_atomically(rescue, data, PRIVATE_FILE)
        except OSError:
            return (
                f"{self.state_dir}: cannot save the sandbox state ({_reason(exc)}); {what} are lost"
            )
        return (
            f"{self.state_dir}: cannot save the sandbox state ({_reason(exc)}); {what} were "
            f"written to {rescue} instead: move that file to {self.state_dir / STATE_FILE} "
            "once the folder can be written, before the next start"
        )

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- facts

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def account_id(self) -> str:
        """The default account: the attendee's own, with the keys of `sandbox.env`."""
        return DEFAULT_ACCOUNT

    # ----------------------------------------------------------------- attendee accounts

    def add_accounts(
        self,
        ids: Iterable[str],
        *,
        role_name: str = DEFAULT_ROLE_NAME,
        external_id: str | None = None,
        trusted_account: str = DEFAULT_ACCOUNT,
        seed: bool = True,
        copy: bool = True,
    ) -> list[AccountRecord]:
        """Add attendee accounts, each as the sandbox's seeder fills one (the workshop's: as
        Labs 0-2 leave it; an empty account if not `seed` or the sandbox has no seeder).

        Each gets a role `role_name` whose trust policy allows `trusted_account` (the
        instructor's; by default the sandbox's own, whose keys are in sandbox.env) and, if
        `external_id` is given, requires it as `sts:ExternalId`. The instructor then reaches the
        account as at a real event: `sts assume-role --role-arn <record.role_arn>
        --external-id <external_id>` on this sandbox's endpoint, with the keys of sandbox.env.

        With `copy` (the default) the seeder adds them as fast as it can (the workshop's copies
        a template account seeded for real once per process, workshop/account_image.py: a third
        of a second an account, after two or three seconds for the template); without it each
        is seeded for real through the API, the workshop's pipelines running their first builds
        (about four seconds an account). Raises MmtuiError
        (usage) for an id that is not 12 digits, is the default account or is already here;
        nothing is added then. Accounts added are kept by snapshots and restarts.
        """
        wanted = list(dict.fromkeys(ids))
        problems = [a for a in wanted if not valid_account_id(a)]
        if problems:
            raise MmtuiError(
                f"not an attendee account id: {', '.join(problems)} (12 digits, other than the "
                f"default account {DEFAULT_ACCOUNT} and the sandbox's template "
                f"{TEMPLATE_ACCOUNT})",
                ExitCode.USAGE,
            )
        if not valid_role_name(role_name):
            raise MmtuiError(f"not an IAM role name: {role_name!r}", ExitCode.USAGE)
        with self._adding:
            return self._add_accounts(wanted, role_name, external_id, trusted_account, seed, copy)

    def _add_accounts(
        self,
        wanted: list[str],
        role_name: str,
        external_id: str | None,
        trusted_account: str,
        seed: bool,
        copy: bool,
    ) -> list[AccountRecord]:
        accounts = self.extension(Accounts)
        with self.lock:
            present = [a for a in wanted if accounts.get(a) is not None]
        if present:
            raise MmtuiError(
                f"the sandbox already has the account(s) {', '.join(present)}", ExitCode.USAGE
            )

        def register(account: str) -> AccountRecord:
            with self.lock:
                return accounts.register(account, role_name, external_id, trusted_account)

        seeder = self.seeder if seed else None
        if seeder is not None and copy:
            records = seeder.copy_accounts(self, wanted, register)
        else:
            records = [register(account) for account in wanted]
            if seeder is not None:
                seeder.seed_accounts(self, wanted)
        for record in records:
            self._make_instructor_role(record)
        self.mark_dirty()
        heap.settle()  # a room's accounts: most of the sandbox's objects, kept
        return records

    def _make_instructor_role(self, record: AccountRecord) -> None:
        # Over the API, as an account's administrator would: the role shows in IAM.
        iam = self.client("iam", self.options.primary_region, record.account_id)
        iam.create_role(
            RoleName=record.role_name,
            AssumeRolePolicyDocument=json.dumps(
                trust_policy(record.trusted_account, record.external_id)
            ),
            Description="The workshop instructor's access to this attendee account",
        )
        # AWS attaches its managed AdministratorAccess; moto does not load AWS's managed
        # policies (that costs seconds per account), so the same grant is inline.
        iam.put_role_policy(
            RoleName=record.role_name,
            PolicyName="AdministratorAccess",
            PolicyDocument=json.dumps(ADMINISTRATOR_ACCESS),
        )

    @property
    def attendee_accounts(self) -> list[AccountRecord]:
        """The attendee accounts, by id (the default account is not one of them)."""
        accounts = self.extension(Accounts)
        with self.lock:
            return [
                record
                for a in accounts.ids()
                if a != TEMPLATE_ACCOUNT and (record := accounts.get(a)) is not None
            ]

    def credentials(self, account: str = DEFAULT_ACCOUNT) -> tuple[str, str]:
        """The sandbox's own keys in `account` (sandbox.env's for the default account)."""
        if account == DEFAULT_ACCOUNT:
            return self._keys
        # No lock: a dictionary lookup is atomic, and the site's threads ask while a request
        # may hold the lock.
        record = self.extension(Accounts).get(account)
        if record is None:
            raise MmtuiError(f"the sandbox has no account {account}", ExitCode.USAGE)
        return record.access_key, record.secret_key

    def find_key(self, access_key: str) -> Principal | None:
        """Who an access key is, with its secret (and session token for temporary
        credentials), if the sandbox knows it: the default account's key, or a key in moto's
        IAM of any account (attendee accounts' own keys, AssumeRole's temporary ones)."""
        if access_key and hmac.compare_digest(access_key, self._keys[0]):
            return Principal(self._keys[0], self._keys[1], DEFAULT_ACCOUNT)
        # Every attendee's call is signed with a role session's key: looked up in moto under
        # the lock, each call would queue for it twice. A key found is remembered until the
        # next change of state (any call that may write, a restore, an account dropped), so
        # that a key deleted or made inactive is refused from the next call on.
        known = self._principals.get(access_key)
        if known is not None:
            return known
        with self.lock:  # moto's dictionaries are not thread-safe
            found = moto_principal(access_key)
            if found is not None:
                self._principals[access_key] = found
            return found

    def extension(self, kind: type[E]) -> E:
        """The sandbox's extension of that class."""
        for extension in self.extensions:
            if isinstance(extension, kind):
                return extension
        raise LookupError(f"the sandbox runs without its {kind.__name__} extension")

    @property
    def workspace(self) -> Path:
        return self.state_dir / "workspace"

    @contextmanager
    def simulating(self, realism: Realism) -> Iterator[Realism]:
        """Serve with `realism` until the block ends, then as before (tests of how mmtui
        meets a slow, throttled or faulty AWS share the session's running sandbox)."""
        previous = self._app.realism
        self._app.realism = realism
        try:
            yield realism
        finally:
            self._app.realism = previous

    @property
    def realism(self) -> Realism:
        return self._app.realism if self._app is not None else Realism()

    def env(self) -> dict[str, str]:
        """What `sandbox.env` exports: enough for `aws`, `git` and mmtui to use the sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self._keys[0],
            "AWS_SECRET_ACCESS_KEY": self._keys[1],
            "AWS_DEFAULT_REGION": self.options.primary_region,
            "MMTUI_WORKSPACE": str(self.workspace),
            "MMTUI_RESOLVE": ",".join(f"{dns}={url}" for dns, url in self.resolve_map().items()),
            # Load balancers made later (step 1) are added to this file; mmtui reads it fresh,
            # so a shell that sourced it before still finds them.
            "MMTUI_RESOLVE_FILE": str(self.state_dir / ENV_FILE),
            # The lab's own `curl http://<load balancer name>/` works unchanged: the sandbox
            # is this shell's plain-HTTP proxy for the names it serves (core/proxy.py); the
            # endpoint and git's clone URLs, on loopback, are reached directly. curl reads
            # only the lower-case http_proxy; other tools the upper case.
            "http_proxy": self.url,
            "HTTP_PROXY": self.url,
            "no_proxy": NO_PROXY,
            "NO_PROXY": NO_PROXY,
            # A rehearsal on a slow, busy or faulty AWS says so where its shell looks.
            **({"MMTUI_SANDBOX_REALISM": self.realism.describe()} if self.realism.active else {}),
        }

    def resolve_map(self) -> dict[str, str]:
        """Load balancer DNS name → the loopback URL that serves it."""
        mapping: dict[str, str] = {}
        for extension in self.extensions:
            mapping.update(extension.resolve_map())
        return mapping

    def client(
        self, service: str, region: str | None = None, account: str = DEFAULT_ACCOUNT
    ) -> Any:
        """A boto3 client on this sandbox over HTTP (seeding, the site, tests), acting in
        `account` with the sandbox's own keys there.

        Clients are cached and shared by all threads (boto3 clients are thread-safe once made);
        they are made from one session, under a lock since sessions are not thread-safe, because
        a session loads each service model once: a client from a warm session costs a few
        milliseconds, one from a new session fifty (seeding many accounts makes hundreds).
        """
        from mmtui.sandbox.moto_repairs.import_speed import shared_session
        from mmtui.target.clients import client_config

        access_key, secret_key = self.credentials(account)
        # Keyed by the key too: an account added again after a snapshot restore has a new one,
        # and a client with the old key would act in the default account.
        key = (service, region or self.options.primary_region, access_key)
        with self._clients_lock:
            if key not in self._clients:
                if self._session is None:
                    # moto's own: botocore reads its endpoint data once per session.
                    self._session = shared_session()
                self._clients[key] = self._session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self.url,
                    aws_access_key_id=access_key,
                    aws_secret_access_key=secret_key,
                    config=client_config(),
                )
            return self._clients[key]

    # ----------------------------------------------------------------- state

    def mark_dirty(self, *, sessions_only: bool = False) -> None:
        """The state may have changed (called with the sandbox lock held, or before any call
        could see the change): saved by the next autosave. Unless all that changed is new STS
        sessions, the keys found are looked up again and `state_generation` counts one."""
        if not sessions_only:
            self._principals = {}
            self.state_generation += 1
        self._dirty.set()

    def _changed_by(self, request: AwsRequest, response: AwsResponse) -> None:
        """A call that may write was answered (sandbox lock held).

        STS only hands out sessions: a new one revokes no key and changes nothing an extension
        works out from the state, so the keys found and the generation stay. A room's fifty
        AssumeRoles otherwise made every call after each one look its key up again and list
        every account's waiting stacks again, under the lock (issue 15). The new session's key
        is found now, while the lock is held anyway: its first call would otherwise queue for
        the lock twice, once to find its key and once to be served."""
        sessions_only = request.service == SESSIONS_SERVICE
        self.mark_dirty(sessions_only=sessions_only)
        if sessions_only and response.status == 200:
            issued = _ISSUED_KEY.search(response.body)
            if issued is not None:
                key = issued.group(1).decode("ascii")
                found = moto_principal(key)
                if found is not None:
                    self._principals[key] = found

    def env_changed(self) -> None:
        """Rewrite sandbox.env (a load balancer came or went); before start, nothing to do."""
        if self._env_ready:
            self._write_env()

    def save(self) -> None:
        """Write the state now (atomic); a no-op for a temporary sandbox.

        The state is pickled by a forked copy of the process (core/forked_save.py), so the
        sandbox lock is held only while the extensions hand in their state and the process
        forks, not for the pickling: calls go on meanwhile. At stop, or where forking is not
        safe, it is pickled here under the lock."""
        if self._temporary:
            self._dirty.clear()
            return
        path = self.state_dir / STATE_FILE
        # One save at a time, whole: a slower earlier one must never replace a later state.
        with self._saving:
            writer: forked_save.Writer | None = None
            with self.lock:
                extension_state = self._extension_state()
                self._dirty.clear()
                covered = self._journal.position() if self._journal is not None else 0
                if not self._stopping.is_set() and self._fork_saves():
                    with contextlib.suppress(OSError):  # no fork (memory, processes): here
                        writer = forked_save.start(
                            path, lambda: dump_state(extension_state), PRIVATE_FILE
                        )
                if writer is None:
                    data = dump_state(extension_state)
            try:
                if writer is None:
                    write_atomically(path, data, PRIVATE_FILE)
                else:
                    writer.wait()
            except BaseException:
                self._dirty.set()  # not written: the next autosave tries again
                raise
            self._saved_at = time.time()
            if self._journal is not None:
                self._journal.saved(covered)  # what that state holds is no longer at risk

    def _fork_saves(self) -> bool:
        """Whether this save may pickle in a forked child (sandbox lock held)."""
        return (
            self.options.fork_saves and forked_save.available() and not forked_save.shared_files()
        )

    def snapshot(self) -> bytes:
        """The whole state in memory (tests reset to it between cases)."""
        with self.lock:
            return dump_state(self._extension_state())

    def restore_snapshot(self, data: bytes) -> None:
        with self.lock:
            self._install(data)

    def _extension_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for extension in self.extensions:
            state[extension.name] = extension.get_state()
        return state

    def _install(self, data: bytes) -> None:
        heap.unsettle()  # what is replaced must be collectable
        self._principals = {}
        self.state_generation += 1
        extension_state = load_state(data)
        for extension in self.extensions:
            extension.set_state(extension_state.get(extension.name))

    def _restore(self) -> bool:
        path = self.state_dir / STATE_FILE
        if not path.exists():
            return False
        try:
            with self.lock:
                self._install(path.read_bytes())
            return True
        except (SnapshotMismatch, Exception) as exc:  # noqa: BLE001  (never lose it: set aside)
            aside = path.with_name(f"{STATE_FILE}.unreadable-{int(time.time())}")
            os.replace(path, aside)
            self.notes.append(
                f"the saved sandbox state could not be loaded ({exc}); it was kept as {aside} "
                "and the sandbox starts again from the baseline"
            )
            return False

    def _reset_moto(self) -> None:
        from moto.moto_api._internal.models import moto_api_backend

        with self.lock:
            moto_api_backend.reset()
            self._principals = {}
            self.state_generation += 1
            for extension in self.extensions:
                extension.set_state(None)

    def _autosave_loop(self) -> None:
        # The kind of the failure being told (errno, class): told once, not every 2 s.
        failing: tuple[int | None, str] | None = None
        # A longer period may be set (MMTUI_SANDBOX_AUTOSAVE_SECONDS): fewer writes of a large
        # state, and a window in which a kill is sure to lose the last changes (its test).
        period = float(os.environ.get("MMTUI_SANDBOX_AUTOSAVE_SECONDS") or AUTOSAVE_SECONDS)
        pause = period
        while not self._stopping.wait(pause):
            pause = period
            if not self._dirty.is_set() or self._temporary:
                continue
            started = time.monotonic()
            try:
                self.save()
            except OSError as exc:
                kind = (exc.errno, type(exc).__name__)
                if kind != failing:
                    since = _clock(self._saved_at) if self._saved_at is not None else "the start"
                    self._tell(
                        f"cannot save the sandbox state in {self.state_dir} ({_reason(exc)}): "
                        f"the changes since {since} are kept in memory only, and are lost if "
                        "the sandbox stops before saving works again"
                    )
                    failing = kind
            else:
                if failing is not None:
                    self._tell(f"the sandbox state is saved again in {self.state_dir}")
                failing = None
            finally:
                # A large state (a room of fifty accounts: a second or more of pickling, a
                # core's worth) is saved less often while it keeps changing, so that saving
                # takes at most a fraction of the machine that also answers the calls.
                pause = max(period, AUTOSAVE_SPACING * (time.monotonic() - started))

    def _tell(self, message: str) -> None:
        if self.tell is not None:
            self.tell(message)
        else:
            self.notes.append(message)

    # ----------------------------------------------------------------- plumbing

    def _prepare_dir(self) -> None:
        if self.options.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="mmtui-sandbox-"))
            self._temporary = True
        else:
            self.state_dir = self.options.state_dir.expanduser().resolve()
        try:
            self.state_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            probe = self.state_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
            handle = open(self.state_dir / LOCK_FILE, "a+")  # noqa: SIM115  (held until stop)
        except OSError as exc:
            raise MmtuiError(
                f"--dir: cannot write to {self.state_dir}: {exc.strerror or exc}", ExitCode.USAGE
            ) from None
        if not _take_lock(handle):
            handle.close()
            raise MmtuiError(
                f"--dir: another sandbox is already running on {self.state_dir}; stop it or "
                "choose another --dir",
                ExitCode.USAGE,
            )
        self._lock_handle = handle
        try:
            # Who holds the folder: `mmtui sandbox stop` signals that process.
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            # The previous run's sandbox.env names a port that may not be this run's: gone until
            # this one is ready (a lock held and no env file reads as "starting", see
            # target/detached.py), so nobody connects to a stale endpoint meanwhile.
            if not self._temporary:
                (self.state_dir / ENV_FILE).unlink(missing_ok=True)
            self._make_private()
            self._keys = _load_or_make_keys(self.state_dir / KEY_FILE)
        except OSError as exc:
            handle.close()
            raise MmtuiError(
                f"--dir: cannot secure {self.state_dir}: {exc.strerror or exc}", ExitCode.USAGE
            ) from None

    def _make_private(self) -> None:
        """The state folder is its owner's alone: 0700, and the files that hold keys or state
        0600, whatever the umask was when they were made (folders of earlier versions too)."""
        os.chmod(self.state_dir, PRIVATE_DIR)
        for name in (STATE_FILE, ENV_FILE, KEY_FILE, PORT_FILE, LOCK_FILE):
            path = self.state_dir / name
            if path.is_file() and not path.is_symlink():
                os.chmod(path, PRIVATE_FILE)

    def _serve(self) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        from mmtui.sandbox.core.keepalive import Connections, KeepAliveHandler, handler_for

        class QuietHandler(WSGIRequestHandler):
            def log(self, *_: Any, **__: Any) -> None:
                """Nothing reaches the terminal."""

        class QuietKeepAliveHandler(KeepAliveHandler):
            def log(self, *_: Any, **__: Any) -> None:
                """Nothing reaches the terminal."""

        handler: type[WSGIRequestHandler] = QuietHandler
        if self.options.keep_alive:
            self._connections = Connections()
            handler = handler_for(QuietKeepAliveHandler, self._connections)

        app = SandboxApp(
            self.extensions,
            self.lock,
            on_change=self._changed_by,
            keys=self.find_key,
            port=lambda: self.port,
            resolve=self.resolve_map,
        )
        self._app = app
        # Bind the socket ourselves: werkzeug prints and calls sys.exit when a port is taken.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            # Clone URLs in the workspace embed the port: without --port, take the previous
            # run's port again when it is free, else any free one (git_repos then fixes the
            # clones' origin).
            try:
                listener.bind(("127.0.0.1", self.options.port or _saved_port(self.state_dir)))
            except OSError:
                if self.options.port:
                    raise
                listener.bind(("127.0.0.1", 0))
            listener.listen(128)
        except OSError as exc:
            listener.close()
            if self._lock_handle is not None:
                self._lock_handle.close()
            if exc.errno == errno.EADDRINUSE:
                raise MmtuiError(
                    f"--port: port {self.options.port} on 127.0.0.1 is already in use; choose "
                    "another or omit --port for a free one",
                    ExitCode.USAGE,
                ) from None
            raise MmtuiError(f"--port: cannot listen on {self.options.port}: {exc}") from None
        try:
            self._server = make_server(
                "127.0.0.1",
                listener.getsockname()[1],
                app,
                threaded=True,
                request_handler=handler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug keeps its own duplicate of the descriptor
        self._server.daemon_threads = True
        write_atomically(self.state_dir / PORT_FILE, f"{self.port}\n".encode(), PRIVATE_FILE)
        self._start_thread("mmtui-sandbox-http", self._server.serve_forever)

    def _start_thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _write_env(self) -> None:
        from mmtui.sandbox.core.timing import describe, scale_of

        lines = ["# Written by `mmtui sandbox`: source it to use the sandbox from this shell."]
        lines.append(f"# time scale: {describe(scale_of(self.options))}")
        lines += [f"export {key}={_shell_quote(value)}" for key, value in self.env().items()]
        write_atomically(
            self.state_dir / ENV_FILE, ("\n".join(lines) + "\n").encode(), PRIVATE_FILE
        )


def _take_lock(handle: Any) -> bool:
    """Take the folder's lock; False when another sandbox holds it. Tried a few times over a
    fifth of a second: whoever looks whether a sandbox runs here (target/detached.py) takes
    the lock for an instant, and that look must not turn a starting sandbox away."""
    for attempt in range(10):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            if attempt < 9:
                time.sleep(0.02)
    return False


def _load_or_make_keys(path: Path) -> tuple[str, str]:
    """The default account's key from KEY_FILE, made (random, as AWS makes them: a 20
    character `AKIA` id and a 40 character secret) when the file is not there yet."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        access_key, secret = str(saved["aws_access_key_id"]), str(saved["aws_secret_access_key"])
        if access_key and secret:
            return access_key, secret
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet, or unreadable: a new key (sandbox.env is rewritten with it)
    access_key = "AKIA" + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    payload = {"aws_access_key_id": access_key, "aws_secret_access_key": secret}
    write_atomically(path, (json.dumps(payload, indent=2) + "\n").encode(), PRIVATE_FILE)
    return access_key, secret


def _reason(exc: OSError) -> str:
    """What went wrong, without the path the message already names."""
    return exc.strerror or str(exc) or type(exc).__name__


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment))


def _saved_port(state_dir: Path) -> int:
    try:
        port = int((state_dir / PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        return 0
    return port if 0 < port < 65536 else 0


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)
