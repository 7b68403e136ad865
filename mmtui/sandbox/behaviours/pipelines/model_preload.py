"""botocore's data files parsed, and its data folder listed, once by the builds' command server,
for its forks to use.

Every `aws` command parses the same JSON files (botocore's endpoints.json alone is 1 MB, parsed
into ordered dicts, some 40 ms of CPU in a new process) and lists botocore's data folder (455
service folders and their version folders) several times to know which services exist; each
command is a fork of the server (command_server.py), which can do both once before forking.
`preload` does them in the server; `install` makes botocore's JSON loader take a preloaded
result instead of reading the file, and its loaders take the folder's listing, in the fork.

Each preloaded result is used by at most one load in one fork: botocore may change what it
loaded, and two loads of the same file in one command expect two separate objects (the CLI's
`ecr` commands load the ECR model twice). Forks get their own copy of the server's memory, so
nothing is shared between commands either. A file that changed since it was preloaded (size,
modification time or inode differ) is read again, and a command whose loader looks elsewhere
(its own AWS_DATA_PATH or ~/.aws/models) asks for other paths, which are read as always.

It imports botocore and nothing of mmtui: the server, a script, imports it beside itself.
"""

from __future__ import annotations

import os
from typing import Any

from botocore import loaders

COMMON = ("endpoints", "partitions", "sdk-default-configuration")
"""Files of botocore's data folder every command loads."""
SERVICE_FILES: dict[str, dict[str, int]] = {
    # service -> {file type: how many loads one command makes}
    "ecr": {"service-2": 2, "waiters-2": 1, "paginators-1": 1, "endpoint-rule-set-1": 1},
    # The CLI loads SimpleDB's model at every start, to mark it as a preview service.
    "sdb": {"service-2": 1},
}
"""The service models the builds' commands load: the workshop's buildspecs log in to ECR."""

LISTED_TYPES = ("service-2", "waiters-2", "paginators-1")
"""The kinds of file the CLI lists the services of (`list_available_services`)."""

Stamp = tuple[int, int, int]
_preloaded: dict[str, list[tuple[Stamp, Any]]] = {}
"""Full path -> the unused preloaded copies of its content, with the file's stamp then."""
_listings: dict[tuple[str, str], tuple[Stamp, frozenset[str]]] = {}
"""(data folder, file type) -> the folder's stamp then, and its services with such a file."""
_original_load_file = loaders.JSONFileLoader._load_file


def _stamp(path: str) -> Stamp | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns, status.st_ino


def _parse(path_without_extension: str, copies: int) -> None:
    """Parse the file (`.json` or `.json.gz`, as botocore looks for it) `copies` times."""
    loader = loaders.JSONFileLoader()
    for extension, open_method in loaders._JSON_OPEN_METHODS.items():
        path = path_without_extension + extension
        stamp = _stamp(path)
        if stamp is None:
            continue
        for _ in range(copies):
            data = _original_load_file(loader, path, open_method)
            if data is None:
                return
            _preloaded.setdefault(path, []).append((stamp, data))
        return


def preload() -> None:
    """Parse the files of COMMON and SERVICE_FILES (the versions botocore picks by default),
    and list the services of botocore's data folder for LISTED_TYPES."""
    root = loaders.Loader.BUILTIN_DATA_PATH
    stamp = _stamp(root)
    if stamp is not None:
        for kind in LISTED_TYPES:
            _listings[(root, kind)] = (stamp, _services_in(root, kind))
    for name in COMMON:
        _parse(os.path.join(root, name), 1)
    finder = loaders.Loader(extra_search_paths=[], include_default_search_paths=False)
    finder.search_paths.append(root)
    for service, kinds in SERVICE_FILES.items():
        for kind, copies in kinds.items():
            try:
                version = finder.determine_latest_version(service, kind)
            except Exception:  # noqa: BLE001  (botocore without it: commands load it themselves)
                continue
            _parse(os.path.join(root, service, version, kind), copies)


def _load_file(self: loaders.JSONFileLoader, full_path: str, open_method: Any) -> Any:
    copies = _preloaded.get(full_path)
    if copies:
        stamp, data = copies.pop()
        if stamp == _stamp(full_path):
            return data
    return _original_load_file(self, full_path, open_method)


def _services_in(folder: str, type_name: str) -> frozenset[str]:
    """The services of one data folder that have a `type_name` file in some version folder:
    what botocore's Loader.list_available_services finds there."""
    exists = loaders.JSONFileLoader().exists
    found = set()
    for service in os.listdir(folder):
        path = os.path.join(folder, service)
        if os.path.isdir(path) and any(
            exists(os.path.join(path, version, type_name)) for version in os.listdir(path)
        ):
            found.add(service)
    return frozenset(found)


def list_available_services(self: loaders.Loader, type_name: str) -> list[str]:
    """Loader.list_available_services, with the listings made by `preload` (a folder changed
    since, by its stamp, is listed again)."""
    services: set[str] = set()
    for folder in self._potential_locations():
        listed = _listings.get((folder, type_name))
        if listed is not None and listed[0] == _stamp(folder):
            services |= listed[1]
        else:
            services |= _services_in(folder, type_name)
    return sorted(services)


def install() -> None:
    """In a fork: botocore's loads take the preloaded copies first, and its loaders the
    preloaded listings."""
    loaders.JSONFileLoader._load_file = _load_file
    # Cached per loader, as botocore caches its own.
    loaders.Loader.list_available_services = loaders.instance_cache(list_available_services)


def preloaded_paths() -> dict[str, int]:
    """Full path -> unused copies (what the tests look at)."""
    return {path: len(copies) for path, copies in _preloaded.items()}
