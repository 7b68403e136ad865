"""CodeCommit repositories that are real git repositories, served by the sandbox over HTTP.

moto keeps CodeCommit repositories as metadata whose clone URLs point at real AWS. Lab 3 step
4 edits the services' buildspecs in their clones and pushes them, and that push is what starts
the pipelines. Here every CodeCommit repository gets a bare repository in the state folder
(git_store.py), served by `git http-backend` (git's own CGI server) at
`<sandbox>/v1/repos/<name>`, the path CodeCommit uses; the API answers carry that URL.
Repository names are per account, as on AWS; an attendee account's repositories are served
under `<sandbox>/accounts/<account>/v1/repos/<name>` (the default account's keep the short URL).

git authenticates as with CodeCommit over HTTPS: HTTP Basic credentials made by `aws codecommit
credential-helper` (the access key id, `%` and the session token if any, as username; a SigV4
signature of the repository's path as password, auth.verify_git). No credentials: 401 with a
Basic challenge, so that git asks its credential helper; credentials that do not verify, or
that belong to another account than the repository's: 403.

git requests are not AWS calls: they are recognised by their path and served without the
sandbox lock (a push may take a while,
and the pipeline runner needs the lock meanwhile). Pushes to one repository are served one at a
time, so comparing its refs before and after tells exactly which branches a push changed;
`sandbox.account_push_listeners` (every account) and `sandbox.push_listeners` (the default
account's pushes) hear of each change once the response is sent, as the workshop's EventBridge
rule hears of CodeCommit's reference events.

Repository names are unique across the regions of an account here (one git server for the whole
sandbox); Lab 3 only has repositories in the primary region.
"""

from __future__ import annotations

import base64
import contextlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.behaviours.git_store import ZERO_SHA, GitError
from mmtui.sandbox.core.extension import Extension
from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT, AwsRequest, AwsResponse, aws_error
from mmtui.sandbox.moto_repairs.cloudformation import nested_stacks

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

_GIT_PATH = re.compile(
    r"^(?:/accounts/(?P<account>\d{12}))?/v1/repos/(?P<repo>[^/]+)(?P<rest>/.*)?$"
)
_CGI_HEADERS = ("content-type", "cache-control", "expires", "pragma", "last-modified")
_CGI_REQUEST_HEADERS = ("HTTP_GIT_PROTOCOL", "HTTP_CONTENT_ENCODING", "HTTP_USER_AGENT")
_MAX_ERRORS = 50
REALM = "mmtui sandbox CodeCommit"
REMOTE_USER = "workshop-user"
"""Who git http-backend believes pushes (it refuses anonymous pushes otherwise)."""

Change = tuple[str, str, str]
"""(branch, old sha, new sha) of one branch a push changed."""


class GitRepositories(Extension):
    name = "git_repos"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.listener_errors: list[str] = []
        """Exceptions raised by push listeners (never printed; kept for diagnosis)."""
        # The CI/CD nested stack's repositories are made by CloudFormation, not the API: it
        # asks this server for their clone URL (this run's port) and their bare repositories.
        nested_stacks.HOOKS.clone_url = self.clone_url
        nested_stacks.HOOKS.repository_created = self._made_by_stack
        nested_stacks.HOOKS.repository_deleted = self._deleted_by_stack

    # ------------------------------------------------------------------ AWS API

    def before(self, request: AwsRequest) -> AwsResponse | None:
        if request.service != "codecommit":
            return None
        operation = request.operation
        if operation == "ListRepositories":
            return self._list(request)
        if operation == "BatchGetRepositories":
            return self._batch_get(request)
        if operation == "CreateRepository":
            return self._check_create(request)
        if operation == "GetBranch":
            return self._get_branch(request)
        if operation == "GetFile":
            return self._get_file(request)
        return None

    def _known(self, request: AwsRequest, name: str) -> AwsResponse | None:
        if name not in _backend_repositories(request.account, request.region):
            return aws_error(
                request, 400, "RepositoryDoesNotExistException", f"{name} does not exist"
            )
        return None

    def _get_branch(self, request: AwsRequest) -> AwsResponse:
        params = _params(request)
        name, branch = str(params.get("repositoryName", "")), str(params.get("branchName", ""))
        unknown = self._known(request, name)
        if unknown is not None:
            return unknown
        commit = git_store.head(self.sandbox, name, branch, request.account)
        if commit is None:
            return aws_error(
                request,
                400,
                "BranchDoesNotExistException",
                f"Branch '{branch}' does not exist in repository '{name}'",
            )
        return AwsResponse.json({"branch": {"branchName": branch, "commitId": commit}})

    def _get_file(self, request: AwsRequest) -> AwsResponse:
        import base64

        params = _params(request)
        name, path = str(params.get("repositoryName", "")), str(params.get("filePath", ""))
        unknown = self._known(request, name)
        if unknown is not None:
            return unknown
        specifier = str(params.get("commitSpecifier") or "master")
        account = request.account
        commit = git_store.head(self.sandbox, name, specifier, account) or specifier
        try:
            blob, content, mode = git_store.read_file(self.sandbox, name, commit, path, account)
        except GitError:
            return aws_error(
                request,
                400,
                "FileDoesNotExistException",
                f"The file {path} does not exist at {specifier}",
            )
        modes = {"100644": "NORMAL", "100755": "EXECUTABLE", "120000": "SYMLINK"}
        return AwsResponse.json(
            {
                "commitId": commit,
                "blobId": blob,
                "filePath": path.lstrip("/"),
                "fileMode": modes.get(mode, "NORMAL"),
                "fileSize": len(content),
                "fileContent": base64.b64encode(content).decode(),
            }
        )

    def after(self, request: AwsRequest, response: AwsResponse) -> AwsResponse:
        if request.service != "codecommit" or response.status != 200:
            return response
        operation = request.operation
        account = request.account
        name = str(_params(request).get("repositoryName", ""))
        if operation == "CreateRepository" and git_store.valid_name(name):
            with self._repo_lock(account, name):
                try:
                    # A new repository is empty, whatever an earlier one of that name held.
                    git_store.remove_bare(self.sandbox, name, account)
                    git_store.create_bare(self.sandbox, name, account)
                except (GitError, OSError):
                    pass  # served once git works: see _ensure
        elif (
            operation == "DeleteRepository"
            and git_store.valid_name(name)
            and name not in _codecommit_names(account)
        ):
            with self._repo_lock(account, name):
                git_store.remove_bare(self.sandbox, name, account)
        if operation in ("CreateRepository", "GetRepository"):
            payload = response.parsed_json()
            if isinstance(payload.get("repositoryMetadata"), dict):
                payload["repositoryMetadata"] = self._metadata(
                    payload["repositoryMetadata"], account
                )
                return AwsResponse(200, _dumps(payload), response.headers)
        return response

    def _made_by_stack(self, name: str, account: str) -> None:
        """A repository CloudFormation created starts empty, as one CreateRepository makes."""
        with self._repo_lock(account, name), contextlib.suppress(GitError, OSError):
            git_store.remove_bare(self.sandbox, name, account)
            git_store.create_bare(self.sandbox, name, account)  # else _ensure makes it later

    def _deleted_by_stack(self, name: str, account: str) -> None:
        with self._repo_lock(account, name), contextlib.suppress(GitError, OSError):
            git_store.remove_bare(self.sandbox, name, account)

    def _check_create(self, request: AwsRequest) -> AwsResponse | None:
        name = str(_params(request).get("repositoryName", ""))
        if name.endswith(".git") or name in (".", ".."):
            return aws_error(
                request,
                400,
                "InvalidRepositoryNameException",
                "A repository name cannot be '.' or '..' and cannot end in .git",
            )
        elsewhere = [
            region
            for region, names in _codecommit_names_by_region(request.account).items()
            if name in names and region != request.region
        ]
        if elsewhere:
            return aws_error(
                request,
                400,
                "RepositoryNameExistsException",
                f"Repository named {name} already exists in {elsewhere[0]} (the mmtui sandbox "
                "keeps an account's repository names unique across regions)",
            )
        return None

    def _list(self, request: AwsRequest) -> AwsResponse:
        params = _params(request)
        sort_by = params.get("sortBy", "repositoryName")
        order = params.get("order", "ascending")
        if sort_by not in ("repositoryName", "lastModifiedDate"):
            return aws_error(request, 400, "InvalidSortByException", "The sortBy is not valid")
        if order not in ("ascending", "descending"):
            return aws_error(request, 400, "InvalidOrderException", "The order is not valid")
        found = [
            repository.repository_metadata
            for repository in _backend_repositories(request.account, request.region).values()
        ]
        found.sort(key=lambda metadata: str(metadata.get(sort_by, "")))
        if order == "descending":
            found.reverse()
        # AWS pages by 1,000; the sandbox never holds that many, so there is one page.
        pairs = [
            {"repositoryName": m["repositoryName"], "repositoryId": m["repositoryId"]}
            for m in found
        ]
        return _json({"repositories": pairs})

    def _batch_get(self, request: AwsRequest) -> AwsResponse:
        names = _params(request).get("repositoryNames")
        if not isinstance(names, list):
            return aws_error(
                request,
                400,
                "RepositoryNamesRequiredException",
                "At least one repository name is required",
            )
        if len(names) > 25:
            return aws_error(
                request,
                400,
                "MaximumRepositoryNamesExceededException",
                "The maximum number of allowed repository names was exceeded (25)",
            )
        repositories = _backend_repositories(request.account, request.region)
        found = [
            self._metadata(repositories[str(n)].repository_metadata, request.account)
            for n in names
            if str(n) in repositories
        ]
        missing = [str(n) for n in names if str(n) not in repositories]
        return _json(
            {
                "repositories": found,
                "repositoriesNotFound": missing,
                "errors": [
                    {
                        "repositoryName": n,
                        "errorCode": "REPOSITORY_DOES_NOT_EXIST",
                        "errorMessage": f"{n} does not exist",
                    }
                    for n in missing
                ],
            }
        )

    def clone_url(self, repo: str, account: str = DEFAULT_ACCOUNT) -> str:
        if account == DEFAULT_ACCOUNT:
            return f"{self.sandbox.url}/v1/repos/{repo}"
        return f"{self.sandbox.url}/accounts/{account}/v1/repos/{repo}"

    def _metadata(self, metadata: dict[str, Any], account: str) -> dict[str, Any]:
        """moto's metadata with the sandbox's clone URL and, once pushed, the default branch."""
        rewritten = dict(metadata)
        name = str(metadata.get("repositoryName", ""))
        if git_store.valid_name(name):
            rewritten["cloneUrlHttp"] = self.clone_url(name, account)
            if git_store.head(self.sandbox, name, git_store.DEFAULT_BRANCH, account) is not None:
                rewritten.setdefault("defaultBranch", git_store.DEFAULT_BRANCH)
        return rewritten

    # ------------------------------------------------------------------ git over HTTP

    def serve_raw(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes] | None:
        match = _GIT_PATH.match(str(environ.get("PATH_INFO", "")))
        if match is None:
            return None
        repo, rest = match["repo"], match["rest"] or "/"
        account = match["account"] or DEFAULT_ACCOUNT
        body = _read_body(environ)
        if not git_store.valid_name(repo) or ".." in rest:
            # No repository can have that name: nothing to protect.
            return _plain(start_response, 404, f"repository {repo} not found in the sandbox\n")
        path = str(environ.get("PATH_INFO", ""))
        repo_path = path[: len(path) - len(match["rest"] or "")].rstrip("/")
        denied = self._authenticate(environ, account, repo_path, start_response)
        if denied is not None:
            return denied
        if not self._ensure(account, repo):
            return _plain(start_response, 404, f"repository {repo} not found in the sandbox\n")
        if rest == "/" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            # Someone opened the clone URL in a browser.
            return _plain(start_response, 200, f"git clone {self.clone_url(repo, account)}\n")
        if rest != "/git-receive-pack":
            status, headers, payload = self._cgi(environ, account, repo, rest, body)
            return _respond(start_response, status, headers, payload)
        with self._repo_lock(account, repo):
            before = _refs_or_empty(self.sandbox, repo, account)
            status, headers, payload = self._cgi(environ, account, repo, rest, body)
            after = _refs_or_empty(self.sandbox, repo, account)
        changes = [
            (ref[len("refs/heads/") :], before.get(ref, ZERO_SHA), after.get(ref, ZERO_SHA))
            for ref in sorted(set(before) | set(after))
            if ref.startswith("refs/heads/") and before.get(ref) != after.get(ref)
        ]
        if changes:
            self.sandbox.mark_dirty()  # the refs are part of the saved state
        response = _respond(start_response, status, headers, payload)
        return _AfterResponse(response, lambda: self._notify(account, repo, changes))

    def _authenticate(
        self,
        environ: dict[str, Any],
        account: str,
        repo_path: str,
        start_response: Callable[..., Any],
    ) -> Iterable[bytes] | None:
        """None when the request's Basic credentials are the repository account's, else the
        refusal (401 asks git to fetch credentials from its helper; 403 refuses them)."""
        from mmtui.sandbox.core.auth import verify_git

        header = str(environ.get("HTTP_AUTHORIZATION", ""))
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            text = b"authentication required: use `aws codecommit credential-helper`\n"
            start_response(
                "401 Unauthorized",
                [
                    ("WWW-Authenticate", f'Basic realm="{REALM}"'),
                    ("Content-Type", "text/plain"),
                    ("Content-Length", str(len(text))),
                ],
            )
            return [text]
        try:
            username, _, password = (
                base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (ValueError, UnicodeDecodeError):
            username, password = "", ""
        principal = verify_git(
            username,
            password,
            str(environ.get("HTTP_HOST", "")),
            repo_path,
            self.sandbox.find_key,
        )
        if principal is None:
            return _plain(start_response, 403, "the credentials given do not verify\n")
        if principal.account != account:
            return _plain(
                start_response,
                403,
                f"the credentials are of account {principal.account}, not of the repository's\n",
            )
        return None

    def _ensure(self, account: str, repo: str) -> bool:
        """Whether CodeCommit has the repository, creating its bare repository if the disk does
        not (created while git failed, or by other means than the API)."""
        with self.sandbox.lock:  # briefly: moto's dictionaries are not thread-safe
            known = repo in _codecommit_names(account)
        if not known:
            return False
        if git_store.bare_path(self.sandbox, repo, account).is_dir():
            return True
        with self._repo_lock(account, repo):
            try:
                git_store.create_bare(self.sandbox, repo, account)
            except (GitError, OSError):
                return False
        return True

    def _cgi(
        self, environ: dict[str, Any], account: str, repo: str, rest: str, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        # Only the headers git's backend reads: any other would become an environment
        # variable of the CGI (a `Proxy:` header as HTTP_PROXY, say).
        headers = {key: str(environ[key]) for key in _CGI_REQUEST_HEADERS if key in environ}
        env = git_store.git_env(
            **headers,
            GIT_PROJECT_ROOT=str(git_store.git_root(self.sandbox, account)),
            GIT_HTTP_EXPORT_ALL="1",
            REMOTE_USER=REMOTE_USER,
            REMOTE_ADDR=str(environ.get("REMOTE_ADDR", "127.0.0.1")),
            GATEWAY_INTERFACE="CGI/1.1",
            SERVER_PROTOCOL=str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
            REQUEST_METHOD=str(environ.get("REQUEST_METHOD", "GET")),
            QUERY_STRING=str(environ.get("QUERY_STRING", "")),
            PATH_INFO=f"/{repo}.git{rest}",
            CONTENT_TYPE=str(environ.get("CONTENT_TYPE", "")),
            # The body is already read (dechunked): tell the backend its exact length.
            CONTENT_LENGTH=str(len(body)),
        )
        try:
            completed = git_store.run_git("http-backend", input=body, env=env, check=False)
        except GitError as exc:
            return 503, [("Content-Type", "text/plain")], f"{exc}\n".encode()
        return _parse_cgi(completed.stdout)

    def _notify(self, account: str, repo: str, changes: list[Change]) -> None:
        for branch, old, new in changes:
            calls: list[tuple[Callable[..., None], tuple[str, ...]]] = [
                (listener, (account, repo, branch, old, new))
                for listener in list(self.sandbox.account_push_listeners)
            ]
            if account == DEFAULT_ACCOUNT:
                calls += [
                    (listener, (repo, branch, old, new))
                    for listener in list(self.sandbox.push_listeners)
                ]
            for listener, arguments in calls:
                try:
                    listener(*arguments)
                except Exception as exc:  # noqa: BLE001  (one listener must not stop the others)
                    self.listener_errors.append(f"{listener!r}: {type(exc).__name__}: {exc}")
                    del self.listener_errors[:-_MAX_ERRORS]

    def _repo_lock(self, account: str, repo: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault((account, repo), threading.Lock())

    # ------------------------------------------------------------------ state

    def get_state(self) -> Any:
        """Each repository's refs, per account; the objects stay on disk (content-addressed,
        never lost)."""
        accounts = [DEFAULT_ACCOUNT, *git_store.accounts_on_disk(self.sandbox)]
        return RepositoryRefs(
            {
                account: {
                    repo: _refs_or_empty(self.sandbox, repo, account)
                    for repo in git_store.repositories(self.sandbox, account)
                }
                for account in accounts
            }
        )

    def set_state(self, state: Any) -> None:
        """Make the repositories on disk those of the state, with its refs (None: none)."""
        if state is None:
            git_store.remove_all(self.sandbox)
            return
        saved = (
            state.accounts
            if isinstance(state, RepositoryRefs)
            # Saved before there were attendee accounts: the default account's repositories.
            else {DEFAULT_ACCOUNT: dict(state)}
        )
        accounts = (
            {DEFAULT_ACCOUNT}
            | set(saved)
            | set(git_store.accounts_on_disk(self.sandbox))
            | _codecommit_accounts()
        )
        for account in sorted(accounts):
            refs = saved.get(account, {})
            if account != DEFAULT_ACCOUNT and not refs and not _codecommit_names(account):
                git_store.retire_account(self.sandbox, account)
                continue
            git_store.reinstate_account(self.sandbox, account)
            self._set_account_state(account, refs)

    def _set_account_state(self, account: str, saved: dict[str, dict[str, str]]) -> None:
        git_store.sweep(self.sandbox, account)
        wanted = set(saved) | _codecommit_names(account)
        for repo in git_store.repositories(self.sandbox, account):
            if repo not in wanted:
                with self._repo_lock(account, repo):
                    git_store.remove_bare(self.sandbox, repo, account)
        for repo in sorted(wanted):
            if not git_store.valid_name(repo):
                continue
            with self._repo_lock(account, repo):
                try:
                    git_store.create_bare(self.sandbox, repo, account)
                    git_store.set_refs(self.sandbox, repo, saved.get(repo, {}), account)
                except (GitError, OSError):
                    pass  # git missing or broken: the repository is served empty or not at all

    def drop_account(self, account: str) -> None:
        """Forget an attendee account's repositories (their objects go to the shared pool)."""
        for repo in git_store.repositories(self.sandbox, account):
            with self._repo_lock(account, repo):
                git_store.remove_bare(self.sandbox, repo, account)
        git_store.remove_account_folder(self.sandbox, account)

    def on_start(self) -> None:
        """Point the workspace clones at this run's URL if an earlier run had another port (the
        workspace is the default account's), and give them the credential helper if a version
        of mmtui before authentication made them (or its Python moved)."""
        for repo in git_store.repositories(self.sandbox):
            clone = self.sandbox.workspace / repo
            _fix_origin(clone, repo, self.clone_url(repo))
            _fix_helper(clone)


@dataclass
class RepositoryRefs:
    """The saved state: account → repository → its refs."""

    accounts: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


# ---------------------------------------------------------------------- moto's CodeCommit


def _backend_repositories(account: str, region: str) -> dict[str, Any]:
    from moto.codecommit.models import codecommit_backends

    try:
        repositories: dict[str, Any] = codecommit_backends[account][region].repositories
    except KeyError:
        return {}  # a region moto does not know has no repositories
    return repositories


def _codecommit_names_by_region(account: str) -> dict[str, set[str]]:
    import sys

    # Not imported yet means no CodeCommit call was ever made: no repositories.
    if "moto.codecommit.models" not in sys.modules:
        return {}
    from moto.codecommit.models import codecommit_backends

    if account not in codecommit_backends:
        return {}  # looking it up would make an empty backend for it
    return {
        region: set(backend.repositories)
        for region, backend in list(codecommit_backends[account].items())
    }


def _codecommit_names(account: str) -> set[str]:
    return set[str]().union(*_codecommit_names_by_region(account).values())


def _codecommit_accounts() -> set[str]:
    import sys

    if "moto.codecommit.models" not in sys.modules:
        return set()
    from moto.codecommit.models import codecommit_backends

    return {account for account, _ in list(codecommit_backends.items())}


def _params(request: AwsRequest) -> dict[str, Any]:
    try:
        return request.json()
    except ValueError:
        return {}


def _json(payload: dict[str, Any]) -> AwsResponse:
    return AwsResponse(200, _dumps(payload), {"Content-Type": "application/x-amz-json-1.1"})


def _dumps(payload: Any) -> bytes:
    import json

    return json.dumps(payload).encode()


# ---------------------------------------------------------------------- HTTP plumbing


def _refs_or_empty(sandbox: Sandbox, repo: str, account: str = DEFAULT_ACCOUNT) -> dict[str, str]:
    try:
        return git_store.refs(sandbox, repo, account)
    except GitError:
        return {}


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = str(environ.get("CONTENT_LENGTH") or "")
    if length.isdigit():
        return bytes(stream.read(int(length)))
    if environ.get("wsgi.input_terminated"):
        # A chunked body (git sends large pushes so): read it to its end.
        chunks = []
        while chunk := stream.read(65536):
            chunks.append(chunk)
        return b"".join(chunks)
    return b""


def _parse_cgi(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Split a CGI answer into status, headers and body."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = output.partition(separator)
        if found:
            break
    else:
        return 502, [("Content-Type", "text/plain")], b"git http-backend gave no answer\n"
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        value = value.strip()
        if name.lower() == "status":
            code = value.split(" ", 1)[0]
            status = int(code) if code.isdigit() else 502
        elif name.lower() in _CGI_HEADERS:
            headers.append((name, value))
    return status, headers, body


def _respond(
    start_response: Callable[..., Any], status: int, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    start_response(f"{status} {_reason(status)}", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _plain(start_response: Callable[..., Any], status: int, text: str) -> list[bytes]:
    return _respond(start_response, status, [("Content-Type", "text/plain")], text.encode())


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


class _AfterResponse:
    """A WSGI body that runs `then` once the server has sent it (the WSGI `close()` call)."""

    def __init__(self, body: list[bytes], then: Callable[[], None]) -> None:
        self.body = body
        self.then = then

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        self.then()


def _fix_origin(clone: Path, repo: str, url: str) -> None:
    config = clone / ".git" / "config"
    if not config.is_file():
        return
    try:
        current = git_store.run_git("config", "--file", str(config), "--get", "remote.origin.url")
    except GitError:
        return  # no origin, or several URLs: not a clone the sandbox made
    origin = current.stdout.decode().strip()
    # Only a sandbox URL of this very repository, which is all a port change can break.
    if origin != url and re.fullmatch(
        rf"http://127\.0\.0\.1:\d{{1,5}}/v1/repos/{re.escape(repo)}/?", origin
    ):
        with contextlib.suppress(GitError):
            git_store.run_git("config", "--file", str(config), "remote.origin.url", url)


def _fix_helper(clone: Path) -> None:
    """Make the clone's credential helper mmtui's current one, unless the attendee chose their
    own (a helper line mmtui did not write is theirs)."""
    from mmtui.gitops.codecommit import HELPER_MARK, helper_command

    config = clone / ".git" / "config"
    if not config.is_file():
        return
    found = git_store.run_git(
        "config", "--file", str(config), "--get-all", "credential.helper", check=False
    )
    helpers = found.stdout.decode().splitlines()
    wanted = helper_command()
    if helpers == [wanted] or any(HELPER_MARK not in line for line in helpers):
        return
    with contextlib.suppress(GitError):
        git_store.run_git(
            "config", "--file", str(config), "--replace-all", "credential.helper", wanted
        )
        git_store.run_git("config", "--file", str(config), "credential.UseHttpPath", "true")
