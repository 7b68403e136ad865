"""moto runs a custom resource's Lambda in docker (and hangs the stack without it); AWS's
workshop custom resource answers SUCCESS, so the sandbox does at once, once its function exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch


def install() -> None:
    from moto.cloudformation import custom_model

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region: str,
        **kw: Any,
    ) -> Any:
        """A Lambda-backed custom resource, answered SUCCESS without running the function.

        moto invokes the function in a container and waits for its answer, which never comes
        in the sandbox. The workshop's only custom resource (CleanDelete) answers SUCCESS on
        Create and Update; on Delete, deletion.py does its function's work. Its function must
        exist, as on AWS (the service token is looked up).
        """
        from moto.awslambda.models import lambda_backends

        token = str((cloudformation_json.get("Properties") or {}).get("ServiceToken", ""))
        lambda_backends[account_id][region].get_function(token)
        model: Any = custom_model.CustomModel  # abstract to the type checker only
        resource = model(
            region, str(uuid.uuid4()), str(kw.get("LogicalId", resource_name)), resource_name
        )
        resource.set_data({})
        return resource

    patch(
        "cloudformation.custom_resources",
        custom_model.CustomModel,
        "create_from_cloudformation_json",
        classmethod(create),
    )
