"""Attendee accounts seeded fast: one account seeded for real, copied into the others.

Seeding an account for real (baseline.py) takes about 2.5 CPU-seconds, most of it in its
pipelines' first builds (bash, the `aws` CLI and `docker` as processes): twenty accounts would
take most of a minute on two cores. Yet every attendee account starts the same, Labs 0-2 done,
except for what depends on its id. So the sandbox seeds one hidden template account for real,
once per process, takes an image of it (its share of every moto backend and of every extension's
state, pickled together) and removes it; each new account then gets a copy of the image in which
the template's account-dependent values are replaced by the new account's:

- the account id (in every ARN, registry host, owner field...);
- the nested stacks' suffixes (moto_repairs/cloudformation/nested_stacks.py names them from
  the account: the CI/CD stack's repositories, projects, pipelines, roles, rules and artifact
  bucket are named after it), upper and lower case;
- the load balancers' DNS names (moto_repairs/elbv2_account_dns_names.dns_name);
- the initial commits: each account's buildspec names its own registry, so its commits differ.
  They are made for real in the new account's repositories (the same reproducible commits a
  real seed pushes there, written with `git fast-import`: checked on the template) and their
  ids replace the template's (image tags, task definitions, execution and build records, logs);
- the S3 objects (the pipelines' artifacts are zips, whose compressed bytes cannot be edited):
  re-made from the template's with their files' content replaced, and put over the API.

moto internals relied on (moto is pinned to 5.2.1): each service's `BackendDict` is a dict of
account id → `AccountSpecificBackend` (moto/core/base_backend.py), itself a dict of region →
backend, so an account's share of a service is one value to pickle and to put back; an
`AccountSpecificBackend` is compared and hashed by its `_id`; IAM keeps access keys in
`IAMBackend.access_keys` (moto/iam/models.py); S3 keeps a process-wide registry of bucket names
beside its backends (moto_repairs/s3_bucket_registry.py rebuilds it).

The replacement is done on the pickle's bytes. That is sound because each value has the same
length as its replacement (pickle's frame and string lengths stay valid) and none occurs by
chance inside another value: the template's id was chosen for that (no run of one digit, no
common prefix), and the rest are hashes. Ids drawn at random when the template was seeded (VPCs,
subnets, stack ids, execution ids...) are the same in every copy, as if each account had drawn
the same numbers; each account's resources are still its own, in its own backends.

What a copy holds is real state behind the real API: the executions and builds are the
template's, which really ran the buildspecs; the images are in the account's own registry, its
services run them, its load balancer answers; a push in the account runs its pipeline for real.
tests/sandbox/test_accounts.py compares a copied account with one seeded for real.
"""

from __future__ import annotations

import importlib
import io
import pickle
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.core.account_share import drop
from mmtui.sandbox.core.persistence import StatePickler, loaded_backends
from mmtui.sandbox.core.protocol import TEMPLATE_ACCOUNT
from mmtui.sandbox.moto_repairs.elbv2_account_dns_names import dns_name
from mmtui.sandbox.moto_repairs.s3_bucket_registry import rebuild_bucket_registry
from mmtui.sandbox.workshop.primary_app import stack_outputs
from mmtui.sandbox.workshop.repositories import (
    SERVICES,
    nested_stack_name,
    repository_names,
    service_files,
    write_initial_commit,
)
from mmtui.sandbox.workshop.stacks import PRIMARY_STACK

if TYPE_CHECKING:
    from mmtui.sandbox.core.server import Sandbox

_IAM_BACKENDS = "moto.iam.models:iam_backends"


class ImageUnusable(RuntimeError):
    """The template holds something a copy could not make its own (a global name)."""


@dataclass(frozen=True)
class AccountImage:
    data: bytes
    """Pickle of {"backends": {module:attribute: the template's AccountSpecificBackend},
    "extensions": {extension name: its export_account()}}."""
    access_key: str
    """The sandbox's own key in the template (never copied: each account gets its own)."""
    repositories: dict[str, str]
    """Service key → the template's repository name."""
    commits: dict[str, str]
    """Service key → the template's initial commit."""
    registries: dict[str, str]
    """Service key → the template's image repository URI (written into the buildspec)."""
    balancers: list[tuple[str, str]]
    """(region, name) of the template's load balancers."""
    objects: dict[tuple[str, str, str], bytes]
    """(region, bucket, key) → content of the template's S3 objects."""


def capture(sandbox: Sandbox) -> AccountImage:
    """Seed the template account for real, take its image and remove it."""
    from mmtui.sandbox.behaviours.accounts import Accounts
    from mmtui.sandbox.workshop.baseline import seed_baseline

    accounts = sandbox.extension(Accounts)
    drop(sandbox, TEMPLATE_ACCOUNT)  # whatever an interrupted capture left behind
    with sandbox.lock:
        # Its record only gives the sandbox a key there; it has no instructor role.
        record = accounts.register(TEMPLATE_ACCOUNT, "-", None, TEMPLATE_ACCOUNT)
    try:
        seed_baseline(sandbox, TEMPLATE_ACCOUNT)
        region = sandbox.options.primary_region
        outputs = stack_outputs(sandbox, PRIMARY_STACK, region, TEMPLATE_ACCOUNT)
        repositories = repository_names(sandbox, TEMPLATE_ACCOUNT)
        with sandbox.lock:
            image = _take(sandbox, record.access_key, outputs, repositories)
        _check_commits(image)
        return image
    finally:
        drop(sandbox, TEMPLATE_ACCOUNT)


def _take(
    sandbox: Sandbox, access_key: str, outputs: dict[str, str], repositories: dict[str, str]
) -> AccountImage:
    """The image of the template (lock held)."""
    account = TEMPLATE_ACCOUNT
    backends = {
        key: backends[account]
        for key, backends in loaded_backends().items()
        if dict.__contains__(backends, account)  # a lookup would create the account there
    }
    extensions = {
        extension.name: extension.export_account(account) for extension in sandbox.extensions
    }
    buffer = io.BytesIO()
    StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(
        {"backends": backends, "extensions": extensions}
    )
    commits: dict[str, str] = {}
    for key, repository in repositories.items():
        commit = git_store.head(sandbox, repository, git_store.DEFAULT_BRANCH, account)
        if commit is None:
            raise ImageUnusable(f"the template's repository {repository} has no initial commit")
        commits[key] = commit
    return AccountImage(
        data=buffer.getvalue(),
        access_key=access_key,
        repositories=repositories,
        commits=commits,
        registries={key: outputs[output] for key, (_, output, _) in SERVICES.items()},
        balancers=_balancers(account),
        objects=_objects(sandbox, account),
    )


def _balancers(account: str) -> list[tuple[str, str]]:
    from moto.elbv2.models import elbv2_backends

    if not dict.__contains__(elbv2_backends, account):
        return []
    return [
        (region, balancer.name)
        for region, backend in elbv2_backends[account].items()
        for balancer in backend.load_balancers.values()
    ]


def _objects(sandbox: Sandbox, account: str) -> dict[tuple[str, str, str], bytes]:
    """The template's S3 objects; refuses a bucket whose name would be the same in a copy (S3
    bucket names are global)."""
    from moto.s3.models import s3_backends

    suffix = _suffix(sandbox, account).lower()
    found: dict[tuple[str, str, str], bytes] = {}
    if not dict.__contains__(s3_backends, account):
        return found
    for backend in s3_backends[account].values():
        for bucket in backend.buckets.values():
            if suffix not in bucket.name and account not in bucket.name:
                raise ImageUnusable(f"the template's bucket {bucket.name} has a global name")
            for key in bucket.keys.values():
                found[(bucket.region_name, bucket.name, key.name)] = key.value
    return found


def _suffix(sandbox: Sandbox, account: str) -> str:
    return nested_stack_name(sandbox, account).rsplit("-", 1)[-1]


def _dashboard_suffix(sandbox: Sandbox, account: str) -> str:
    """The dashboard nested stack's suffix (its name is all that carries it)."""
    from mmtui.sandbox.moto_repairs.cloudformation.nested_stacks import stack_suffix

    region = sandbox.options.primary_region
    return stack_suffix(account, region, PRIMARY_STACK, "MultiRegionCwDashboard")


def install(sandbox: Sandbox, image: AccountImage, account: str) -> None:
    """Make `account` a copy of the image: its repositories and initial commits for real, then
    its share of moto's backends and of the extensions' state. The caller then registers the
    account (its own key) and calls `finish`."""
    replacements = _replacements(sandbox, image, account)
    data = image.data
    for old, new in replacements:
        data = data.replace(old.encode(), new.encode())
    loaded = pickle.loads(data)  # noqa: S301  (made by this process, just above)
    with sandbox.lock:
        for key, backend in loaded["backends"].items():
            module, attribute = key.split(":")
            live = getattr(importlib.import_module(module), attribute)
            # moto compares and hashes these by their _id: each copy is its own.
            backend._id = str(uuid.uuid4())
            dict.__setitem__(live, account, backend)  # moto's own __setitem__ adds nothing
        iam = loaded["backends"].get(_IAM_BACKENDS)
        if iam is not None:
            iam["aws"].access_keys.pop(image.access_key, None)
        rebuild_bucket_registry()
        for extension in sandbox.extensions:
            extension.import_account(account, loaded["extensions"].get(extension.name))
        sandbox.mark_dirty()


def finish(sandbox: Sandbox, image: AccountImage, account: str) -> None:
    """Put the account's own S3 objects (needs its key: after registering it)."""
    replacements = _replacements_without_git(sandbox, image, account)
    for (region, bucket, key), content in image.objects.items():
        sandbox.client("s3", region, account).put_object(
            Bucket=_replace_text(bucket, replacements),
            Key=_replace_text(key, replacements),
            Body=_replace_content(content, replacements),
        )


def _replacements(sandbox: Sandbox, image: AccountImage, account: str) -> list[tuple[str, str]]:
    """(template value, account's value), longest first; makes the account's commits."""
    commits = _initial_commits(sandbox, image, account)
    found = [(image.commits[key], commits[key]) for key in image.commits]
    return found + _replacements_without_git(sandbox, image, account)


def _replacements_without_git(
    sandbox: Sandbox, image: AccountImage, account: str
) -> list[tuple[str, str]]:
    template = TEMPLATE_ACCOUNT
    found = [
        (dns_name(template, region, name), dns_name(account, region, name))
        for region, name in image.balancers
    ]
    for old_suffix, new_suffix in (
        (_suffix(sandbox, template), _suffix(sandbox, account)),
        (_dashboard_suffix(sandbox, template), _dashboard_suffix(sandbox, account)),
    ):
        found += [(old_suffix, new_suffix), (old_suffix.lower(), new_suffix.lower())]
    found.append((template, account))
    for old, new in found:
        # Same length, or the pickle's string and frame lengths would be wrong.
        if len(old) != len(new):
            raise ImageUnusable(f"{old!r} and {new!r} differ in length")
    return found


def _initial_commits(sandbox: Sandbox, image: AccountImage, account: str) -> dict[str, str]:
    """Make the account's repositories with their initial commits (real git objects, written
    straight into the bare repositories: nothing listens yet); returns service key → commit."""
    names = repository_names(sandbox, account)
    commits: dict[str, str] = {}
    for key, (_, _, message) in SERVICES.items():
        name = names[key]
        git_store.remove_bare(sandbox, name, account)
        bare = git_store.create_bare(sandbox, name, account)
        registry = image.registries[key].replace(TEMPLATE_ACCOUNT, account)
        commits[key] = write_initial_commit(bare, service_files(key, registry), message)
    return commits


def _check_commits(image: AccountImage) -> None:
    """`write_initial_commit` must make the commits a real seed pushes: try it on the
    template's."""
    with tempfile.TemporaryDirectory(prefix="mmtui-image-") as scratch:
        for key, (_, _, message) in SERVICES.items():
            bare = Path(scratch) / f"{key}.git"
            git_store.run_git("init", "--quiet", "--bare", "--template=", str(bare))
            made = write_initial_commit(bare, service_files(key, image.registries[key]), message)
            if made != image.commits[key]:
                raise ImageUnusable(
                    f"the {key} service's initial commit came out as {made}, not as the seed "
                    f"made it ({image.commits[key]})"
                )


def _replace_text(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def _replace_bytes(data: bytes, replacements: list[tuple[str, str]]) -> bytes:
    for old, new in replacements:
        data = data.replace(old.encode(), new.encode())
    return data


def _replace_content(content: bytes, replacements: list[tuple[str, str]]) -> bytes:
    """An object's content with the values replaced; a zip is re-made member by member, with
    the same names, dates, modes and compression."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        return _replace_bytes(content, replacements)
    buffer = io.BytesIO()
    with archive, zipfile.ZipFile(buffer, "w") as copy:
        for info in archive.infolist():
            member = zipfile.ZipInfo(_replace_text(info.filename, replacements), info.date_time)
            member.external_attr = info.external_attr
            member.compress_type = info.compress_type
            copy.writestr(member, _replace_bytes(archive.read(info), replacements))
    return buffer.getvalue()
