"""The repairs the sandbox makes to moto, each in a module named for what it repairs.

moto is the sandbox's control plane; where it answers differently from AWS in a way the
workshop meets, a repair patches moto's own modules and classes (moto is pinned in
pyproject.toml for this reason). `install()` is the only place repairs are installed; every
replacement goes through patching.patch, and tests/sandbox/test_moto_repairs.py checks that
every target is still where the repair expects it in the pinned moto. The list, with what AWS
does and which would be worth proposing to moto, is in mmtui/sandbox/README.md.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Install every repair into moto (once per process; later calls do nothing)."""
    global _installed
    with _lock:
        if _installed:
            return
        from mmtui.sandbox.moto_repairs import (
            access_key_accounts,
            action_method_names,
            cloudformation,
            codebuild_source_location,
            ecs_deleted_services_listed,
            ecs_services_never_start,
            elbv2_account_dns_names,
            lambda_blocked_runtimes,
            serializer_key_memo,
            shared_models,
            xml_body,
        )

        cloudformation.install()
        lambda_blocked_runtimes.install()
        ecs_services_never_start.install()
        ecs_deleted_services_listed.install()
        codebuild_source_location.install()
        elbv2_account_dns_names.install()
        serializer_key_memo.install()
        shared_models.install()
        action_method_names.install()
        access_key_accounts.install()
        xml_body.install()
        _installed = True
