"""moto reads a service's API model from the sandbox's own botocore loader, when the two agree.

Not a difference from AWS but a cost: moto parses a service's API model (moto.core.utils) with
a loader of its own, and the sandbox's boto3 clients (the seeding's, the site's) parse the same
file again with the shared session's loader (import_speed.shared_session). A fresh start parsed
the models of ECS, CloudFormation, DynamoDB, CloudWatch and ECR twice, some 70 ms of the
sandbox's start. Here moto takes the shared loader's copy, which botocore keeps per loader, when
both loaders would read the very same file and nothing else: no folder but botocore's own data
holds a file of that model for that service, and neither kind of extras applies (moto's
loader adds moto's `*.moto-extras.json` and not botocore's `*.sdk-extras.json`; the shared one
the reverse). Otherwise moto loads the model as it always did. Both only read the model.
"""

from __future__ import annotations

import functools
import glob
import os
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "shared_models"


def install() -> None:
    """Share the models (called once, by moto_repairs.install)."""
    from moto.core import utils

    original = utils._load_service_model

    @functools.wraps(original)
    def _load_service_model(service_name: str, model_name: str) -> dict[str, Any]:
        loader = shared_loader()
        if not same_file(loader, service_name, model_name):
            model: dict[str, Any] = original(service_name, model_name)
            return model
        shared: dict[str, Any] = loader.load_service_model(service_name, model_name)
        return shared

    patch(REPAIR, utils, "_load_service_model", _load_service_model)


def shared_loader() -> Any:
    from mmtui.sandbox.moto_repairs.import_speed import shared_session

    return shared_session()._session.get_component("data_loader")


@functools.cache
def same_file(shared: Any, service_name: str, model_name: str) -> bool:
    """Whether moto's loader and `shared` would both load `model_name` of `service_name` from
    botocore's own data folder, with no extras either applies."""
    from botocore.loaders import Loader
    from moto.core.loaders import create_loader

    builtin = os.path.normpath(Loader.BUILTIN_DATA_PATH)
    moto_loader = create_loader()
    folders = {os.path.normpath(p) for p in [*shared.search_paths, *moto_loader.search_paths]}
    # moto looks for its extras under the service's name without dashes.
    names = {service_name, service_name.replace("-", "")}
    for folder in folders - {builtin}:
        for name in names:
            if glob.glob(os.path.join(glob.escape(folder), name, "*", f"{model_name}*")):
                return False
    try:
        version = shared.determine_latest_version(service_name, model_name)
    except Exception:  # noqa: BLE001  (no such model: moto's own loader says so its way)
        return False
    pattern = f"{model_name}.*extras*"
    extras = glob.glob(os.path.join(glob.escape(builtin), service_name, version, pattern))
    return not extras
