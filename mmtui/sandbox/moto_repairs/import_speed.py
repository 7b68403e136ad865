"""moto's import, made cheaper: work it does at import that the sandbox pays for at every start.

`mmtui sandbox` starts in about a second, and importing moto was most of it, because
moto.cloudformation imports every service's models, and some do costly work as they load:

- moto.ec2.models.availability_zones_and_regions asks a new `boto3.Session()` for the EC2
  regions of each of three partitions, and moto.core.base_backend makes a fourth session for
  every backend's regions: each new session reads botocore's endpoint data (1.2 MB of JSON)
  again, and each lookup loaded the service's whole API model (EC2's is two megabytes) for the
  one field it reads. Here they all share one session (`shared_session`), which reads that
  field from the model's first bytes.
- moto.ec2.models.instance_types reads every region's instance type offerings (hundreds of
  compressed JSON files) into INSTANCE_TYPE_OFFERINGS. Here each region's file is read the
  first time that region's offerings are looked at: the same lists, and for most starts
  none is ever read.
- moto.apigateway.models imports openapi_spec_validator (and jsonschema's validators with it)
  only to validate an OpenAPI document given to ImportRestApi or PutRestApi, which the workshop
  never calls. Here it is imported the first time such a document is validated.

Nothing moto answers changes: tests/sandbox/test_import_speed.py compares the regions, zones
and offerings EC2 answers, and the OpenAPI validation, with what this moto gives without these
changes, and fails if a moto upgrade moves what they rely on. They act only while moto is
imported, so `prepare()` must run before the first import of moto (the sandbox package runs it
as it is imported); a module of moto already imported is left as it is.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

AZ_MODULE = "moto.ec2.models.availability_zones_and_regions"
BACKEND_MODULE = "moto.core.base_backend"
INSTANCE_TYPES_MODULE = "moto.ec2.models.instance_types"
APIGATEWAY_MODULE = "moto.apigateway.models"
OFFERINGS_FOLDER = "instance_type_offerings"

_session_lock = threading.Lock()
_session: Any = None
_prepared = False


def shared_session() -> Any:
    """The one boto3 Session of this process for moto's regions (made on first use: botocore
    reads its endpoint data once per session)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = _regions_session()
        return _session


_ENDPOINT_PREFIX = re.compile(rb'"metadata"\s*:\s*\{[^{}]*?"endpointPrefix"\s*:\s*"([^"]+)"')
_MODEL_HEAD_BYTES = 8192


def _regions_session() -> Any:
    """A boto3 Session whose `get_available_regions` finds a service's endpoint prefix in the
    first bytes of its API model instead of loading all of it (botocore loads the whole model,
    EC2's two megabytes included, only to read that one field); a model whose head does not
    name it is loaded as botocore loads it."""
    import boto3
    from botocore.exceptions import DataNotFoundError, UnknownServiceError

    class RegionsSession(boto3.session.Session):  # type: ignore[misc]
        def get_available_regions(
            self,
            service_name: str,
            partition_name: str = "aws",
            allow_non_regional: bool = False,
        ) -> list[str]:
            try:
                prefix = endpoint_prefix(self._session, service_name)
            except (DataNotFoundError, UnknownServiceError, OSError):
                prefix = None
            if prefix is None:
                regions: list[str] = super().get_available_regions(
                    service_name, partition_name, allow_non_regional
                )
                return regions
            resolver = self._session._get_internal_component("endpoint_resolver")
            found: list[str] = resolver.get_available_endpoints(
                prefix, partition_name, allow_non_regional
            )
            return found

    return RegionsSession()


def endpoint_prefix(botocore_session: Any, service_name: str) -> str | None:
    """The `endpointPrefix` of the service's latest API model as the model's first bytes give
    it, or None when they do not."""
    loader = botocore_session.get_component("data_loader")
    version = loader.determine_latest_version(service_name, "service-2")
    for base in loader.search_paths:
        # In botocore's order: the first folder that holds the model, plain JSON first.
        for name, opener in (("service-2.json", open), ("service-2.json.gz", gzip.open)):
            path = os.path.join(base, service_name, version, name)
            if os.path.isfile(path):
                with opener(path, "rb") as model:
                    found = _ENDPOINT_PREFIX.search(model.read(_MODEL_HEAD_BYTES))
                return found.group(1).decode() if found else None
    return None


def prepare() -> None:
    """Make moto's import cheaper, from now on (idempotent)."""
    global _prepared
    with _session_lock:
        if _prepared:
            return
        _prepared = True
    sys.meta_path.insert(0, _MotoImportHooks(HOOKS))


class _MotoImportHooks(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for the few moto modules in `hooks`, it wraps the loader that the
    other finders give so that the hook's `before` runs just before the module's code and its
    `after` just after."""

    def __init__(
        self, hooks: Mapping[str, tuple[Callable[[], Any], Callable[[ModuleType, Any], None]]]
    ):
        self._hooks = hooks
        self._finding = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        hook = self._hooks.get(fullname)
        if hook is None or getattr(self._finding, "active", False):
            return None
        self._finding.active = True
        try:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        finally:
            self._finding.active = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _HookedLoader(spec.loader, *hook)
        return spec


class _HookedLoader(importlib.abc.Loader):
    def __init__(
        self,
        loader: Any,
        before: Callable[[], Any],
        after: Callable[[ModuleType, Any], None],
    ):
        self._loader = loader
        self._before = before
        self._after = after

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        created: ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        token = self._before()
        try:
            self._loader.exec_module(module)
        finally:
            self._after(module, token)

    def __getattr__(self, name: str) -> Any:  # get_code, get_source, ... for tracebacks
        return getattr(self._loader, name)


# --------------------------------------------------------------------- regions: one session


def _before_zones() -> Any:
    """The module binds `from boto3 import Session` and calls it three times as it loads:
    each of those calls gets the shared session instead."""
    import boto3

    real = boto3.Session
    boto3.Session = lambda: shared_session()
    return real


def _after_zones(module: ModuleType, real: Any) -> None:
    import boto3

    boto3.Session = real
    vars(module)["Session"] = real  # as moto has it, for anything later


def _nothing() -> None:
    return None


def _after_backends(module: ModuleType, _token: Any) -> None:
    """Every backend's regions come from `AccountSpecificBackend.get_session()` (one session,
    made when first needed): that one is the shared session."""

    def get_session(_cls: type) -> Any:
        return shared_session()

    module.AccountSpecificBackend.get_session = classmethod(get_session)


# --------------------------------------------------------------------- instance type offerings


def _before_instance_types() -> Any:
    """While the module loads, its offerings files read as empty lists (it only tags each
    entry with its location type); `_after_instance_types` puts lazy lists in their place."""
    from moto.utilities import utils

    real = utils.load_resource

    def load_resource(package: str, resource: str) -> Any:
        if OFFERINGS_FOLDER in resource:
            return []
        return real(package, resource)

    utils.load_resource = load_resource
    return real


def _after_instance_types(module: ModuleType, real: Any) -> None:
    from moto.utilities import utils

    utils.load_resource = real
    vars(module)["load_resource"] = real
    offerings = module.INSTANCE_TYPE_OFFERINGS
    root = module.root / module.offerings_path
    for location_type in list(offerings):
        files = {
            data_file.split(".")[0]: f"{module.offerings_path}/{location_type}/{data_file}"
            for data_file in module.listdir(root / location_type)
        }
        offerings[location_type] = LazyOfferings(module.__name__, location_type, files, real)


class LazyOfferings(Mapping[str, list[dict[str, Any]]]):
    """One location type's offerings by region, each region's file read when first looked at,
    and its entries tagged with the location type as moto tags them."""

    def __init__(
        self,
        package: str,
        location_type: str,
        files: dict[str, str],
        load: Callable[[str, str], Any],
    ):
        self._package = package
        self._location_type = location_type
        self._files = files
        self._load = load
        self._read: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def __getitem__(self, region: str) -> list[dict[str, Any]]:
        with self._lock:
            if region not in self._read:
                entries: list[dict[str, Any]] = self._load(self._package, self._files[region])
                for entry in entries:
                    entry["LocationType"] = self._location_type
                self._read[region] = entries
            return self._read[region]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, region: object) -> bool:
        return region in self._files


# --------------------------------------------------------------------- OpenAPI validation


_STAND_INS = (
    "openapi_spec_validator",
    "openapi_spec_validator.validation",
    "openapi_spec_validator.validation.exceptions",
)


class _NotYetImported(Exception):
    """Stands for OpenAPIValidationError until openapi_spec_validator is imported (nothing
    can raise the real one before then)."""


def _before_apigateway() -> Any:
    """The module's `from openapi_spec_validator import validate` and `from
    openapi_spec_validator.validation.exceptions import OpenAPIValidationError` find stand-ins
    that exist only while it loads; `validate` imports the real package when first called."""
    if any(name in sys.modules for name in _STAND_INS):
        return None  # imported already by someone else: nothing to save
    for name in _STAND_INS:
        stand_in = ModuleType(name)
        stand_in.__path__ = []  # a package, so that the submodules' imports resolve
        sys.modules[name] = stand_in
    sys.modules[_STAND_INS[0]].validate = _validate_on_first_use  # type: ignore[attr-defined]
    sys.modules[_STAND_INS[2]].OpenAPIValidationError = _NotYetImported  # type: ignore[attr-defined]
    return _STAND_INS


def _after_apigateway(_module: ModuleType, stand_ins: Any) -> None:
    for name in stand_ins or ():
        sys.modules.pop(name, None)


def _validate_on_first_use(*args: Any, **kwargs: Any) -> Any:
    """Import openapi_spec_validator, put its `validate` and `OpenAPIValidationError` where
    moto's API Gateway looks them up (its `except` clause reads the module's global when an
    error is raised), and validate."""
    validator = importlib.import_module("openapi_spec_validator")
    exceptions = importlib.import_module("openapi_spec_validator.validation.exceptions")
    models = sys.modules[APIGATEWAY_MODULE]
    models.validate = validator.validate  # type: ignore[attr-defined]
    models.OpenAPIValidationError = exceptions.OpenAPIValidationError  # type: ignore[attr-defined]
    return validator.validate(*args, **kwargs)


HOOKS: dict[str, tuple[Callable[[], Any], Callable[[ModuleType, Any], None]]] = {
    AZ_MODULE: (_before_zones, _after_zones),
    BACKEND_MODULE: (_nothing, _after_backends),
    INSTANCE_TYPES_MODULE: (_before_instance_types, _after_instance_types),
    APIGATEWAY_MODULE: (_before_apigateway, _after_apigateway),
}
