"""Lambda's refusal of deprecated runtimes, as AWS applies it to new functions.

AWS stops accepting new functions on a runtime some weeks after deprecating it ("block function
create" in Lambda's runtime deprecation policy). CreateFunction then answers
InvalidParameterValueException, and CloudFormation, which creates functions through the same
API, fails the resource with that message inside its resource-handler wording. The workshop's
template still declares its clean-up function on python3.7, so a stack created today from it
rolls back on real AWS: the sandbox must do the same, or the suite would prove a step 1 that
breaks on every real account.

Functions that exist from before the block keep working on AWS: the sandbox seeds Lab 0's
primary stack as created back then, with `created_on` (an explicit allowance, scoped to the
calls made inside it), never by a lenient default.

The dates are those of AWS's deprecation schedule (the "Block function create" column of the
Lambda runtime deprecation policy), as recorded by the runtime lifecycle data of cfn-lint 1.58
(installed with the test dependencies; its rule E2531 reports the same dates). Dates still to
come take effect on their day; runtimes that were never blocked are not listed.
The wording of the refusal is the one AWS returns since 2025 (reported verbatim in public
issues about CloudFormation stacks failing on python3.7).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

CREATION_BLOCKED: dict[str, date] = {
    "nodejs": date(2016, 9, 30),
    "nodejs4.3-edge": date(2019, 3, 31),
    "nodejs4.3": date(2020, 2, 3),
    "nodejs6.10": date(2019, 7, 12),
    "nodejs8.10": date(2020, 2, 4),
    "nodejs10.x": date(2021, 7, 30),
    "nodejs12.x": date(2023, 3, 31),
    "nodejs14.x": date(2024, 1, 9),
    "nodejs16.x": date(2027, 2, 1),
    "nodejs18.x": date(2027, 2, 1),
    "nodejs20.x": date(2027, 2, 1),
    "nodejs22.x": date(2027, 6, 1),
    "python2.7": date(2021, 7, 15),
    "python3.6": date(2022, 7, 18),
    "python3.7": date(2024, 1, 9),
    "python3.8": date(2027, 2, 1),
    "python3.9": date(2027, 2, 1),
    "python3.10": date(2027, 2, 1),
    "python3.11": date(2027, 7, 31),
    "ruby2.5": date(2021, 7, 30),
    "ruby2.7": date(2024, 1, 9),
    "ruby3.2": date(2027, 2, 1),
    "ruby3.3": date(2027, 4, 30),
    "java8": date(2024, 2, 8),
    "java8.al2": date(2027, 7, 31),
    "java11": date(2027, 7, 31),
    "java17": date(2027, 7, 31),
    "go1.x": date(2024, 2, 8),
    "provided": date(2024, 2, 8),
    "provided.al2": date(2027, 2, 1),
    "dotnetcore1.0": date(2019, 6, 30),
    "dotnetcore2.0": date(2019, 4, 30),
    "dotnetcore2.1": date(2022, 1, 5),
    "dotnetcore3.1": date(2023, 4, 3),
    "dotnet6": date(2027, 2, 1),
    "dotnet8": date(2027, 2, 1),
}
"""Runtime → the first day Lambda refused to create a function on it."""

# The day the calls of this context are made on: today, unless a seeding step says otherwise.
_AS_OF: ContextVar[date | None] = ContextVar("mmtui_lambda_as_of", default=None)

REPAIR = "lambda_blocked_runtimes"


def refusal(runtime: str) -> str:
    """CreateFunction's message for a runtime whose creation is blocked."""
    return (
        f"The runtime parameter of {runtime} is no longer supported for creating or updating "
        "AWS Lambda functions. We recommend you use a supported runtime while creating or "
        "updating functions."
    )


def handler_message(message: str) -> str:
    """The same refusal as CloudFormation reports it on the function's CREATE_FAILED event."""
    return (
        f'Resource handler returned message: "{message} (Service: Lambda, Status Code: 400, '
        f'Request ID: {uuid.uuid4()})" (RequestToken: {uuid.uuid4()}, '
        "HandlerErrorCode: InvalidRequest)"
    )


def blocked(runtime: str | None, on: date | None = None) -> bool:
    """Whether Lambda refuses to create a function on `runtime` on that day (default today)."""
    if not runtime or runtime not in CREATION_BLOCKED:
        return False
    day = on or _AS_OF.get() or datetime.now(UTC).date()
    return day >= CREATION_BLOCKED[runtime]


@contextmanager
def created_on(day: date) -> Iterator[None]:
    """Calls inside happen as on `day` (seeding what Lab 0 created back then)."""
    token = _AS_OF.set(day)
    try:
        yield
    finally:
        _AS_OF.reset(token)


def install() -> None:
    """Make moto's Lambda refuse creating functions on blocked runtimes (called once, by
    moto_repairs.install)."""
    _patch_backend()
    _patch_cloudformation()


def _patch_backend() -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend

    original = LambdaBackend.create_function

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        runtime = spec.get("Runtime")
        # Container images carry their own runtime: the rule is for .zip functions.
        if spec.get("PackageType", "Zip") == "Zip" and blocked(runtime):
            raise InvalidParameterValueException(refusal(str(runtime)))
        return original(self, spec)

    patch(REPAIR, LambdaBackend, "create_function", create_function)


def _patch_cloudformation() -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.awslambda.models import LambdaFunction

    original_create = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region: str,
        **kw: Any,
    ) -> Any:
        try:
            return original_create(
                cls, resource_name, cloudformation_json, account_id, region, **kw
            )
        except InvalidParameterValueException as exc:
            raise ResourceHandlerError(handler_message(exc.message)) from exc

    patch(REPAIR, LambdaFunction, "create_from_cloudformation_json", classmethod(create))

    original_update = LambdaFunction.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def update(
        cls: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        # Changing a function to a runtime whose creation is blocked is refused as well.
        runtime = (cloudformation_json.get("Properties") or {}).get("Runtime")
        if runtime != getattr(original_resource, "run_time", None) and blocked(runtime):
            raise ResourceHandlerError(handler_message(refusal(str(runtime))))
        return original_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )

    patch(REPAIR, LambdaFunction, "update_from_cloudformation_json", classmethod(update))


class ResourceHandlerError(Exception):
    """A resource that CloudFormation's handler for it failed to create or update."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
