"""botocore's data files parsed once by the builds' command server, for its forks to use.

Every `aws` command parses the same JSON files: botocore's endpoints.json alone (a 1 MB file,
parsed into ordered dicts) was two thirds of a command's CPU, and each command is a fork of the
server (command_server.py), which can parse them once before forking. `preload` parses them in
the server; `install` makes botocore's JSON loader take a preloaded result instead of reading
the file, in the fork.

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

Stamp = tuple[int, int, int]
_preloaded: dict[str, list[tuple[Stamp, Any]]] = {}
"""Full path -> the unused preloaded copies of its content, with the file's stamp then."""
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
    """Parse the files of COMMON and SERVICE_FILES (the versions botocore picks by default)."""
    root = loaders.Loader.BUILTIN_DATA_PATH
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


def install() -> None:
    """In a fork: botocore's loads take the preloaded copies first."""
    loaders.JSONFileLoader._load_file = _load_file


def preloaded_paths() -> dict[str, int]:
    """Full path -> unused copies (what the tests look at)."""
    return {path: len(copies) for path, copies in _preloaded.items()}
