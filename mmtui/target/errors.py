"""Every way an AWS call can fail, as one line and an exit code of the contract.

3 when the credentials do not let us in (missing, expired, refused: with the command that fixes
it where there is one), 4 when AWS or the network failed. `solve`, `reset`, `probe`, the fleet
and the identity check all go through `aws_error`, so no botocore error is ever reported as a
bug in mmtui.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mmtui.exitcodes import ExitCode, MmtuiError

if TYPE_CHECKING:
    from mmtui.target.spec import TargetSpec

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "AuthFailure",
        "RequestExpired",
    }
)
"""Error codes meaning "these credentials do not let you in" (exit 3), as opposed to AWS
failing."""

EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
UNKNOWN_KEY_CODES = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId"}
)
SANDBOX_ACCESS_KEY = "testing"
"""The access key `sandbox.env` exports (sandbox/core/server.py): seeing it on a real-AWS target
means the shell still carries a sandbox's settings."""


def _profile(spec: TargetSpec | None) -> str | None:
    if spec is not None and spec.profile:
        return spec.profile
    return os.environ.get("AWS_PROFILE") or None


def _refresh_hint(spec: TargetSpec | None) -> str:
    profile = _profile(spec)
    if profile:
        return (
            f"refresh them: `aws sso login --profile {profile}` "
            f"(or `aws configure --profile {profile}`)"
        )
    return "refresh them: `aws sso login` (or `aws configure`), or pass --profile NAME"


def _sandbox_keys_hint(spec: TargetSpec | None) -> str:
    """D6: a shell that sourced sandbox.env, then asked for real AWS."""
    if spec is None or spec.kind != "aws" or spec.profile:
        return ""
    if os.environ.get("AWS_ACCESS_KEY_ID") != SANDBOX_ACCESS_KEY:
        return ""
    return (
        "; this shell has the sandbox's keys from sandbox.env (AWS_ACCESS_KEY_ID=testing): "
        "open a new shell, or `unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL`, "
        "before using --aws"
    )


def describe_client_error(
    exc: object, operation: str, spec: TargetSpec | None = None
) -> MmtuiError:
    """A ClientError as one readable line with the exit code of its kind."""
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {})
    code = error.get("Code", "Unknown")
    message = error.get("Message", str(exc))
    text = f"{operation} failed: {code}: {message}"
    if code in EXPIRED_CODES and (spec is None or spec.kind == "aws"):
        text += f"; your credentials have expired: {_refresh_hint(spec)}"
    elif code in UNKNOWN_KEY_CODES:
        text += _sandbox_keys_hint(spec)
    exit_code = ExitCode.CREDENTIALS if code in DENIED_CODES else ExitCode.AWS_ERROR
    return MmtuiError(text, exit_code)


def aws_error(
    exc: BaseException, doing: str = "AWS call", spec: TargetSpec | None = None
) -> MmtuiError | None:
    """`exc` as a user-facing error when it comes from botocore; None for anything else."""
    from botocore import exceptions as bce

    if isinstance(exc, bce.ClientError):
        return describe_client_error(exc, doing, spec)
    if not isinstance(exc, bce.BotoCoreError):
        return None
    if isinstance(exc, (bce.SSOError, bce.TokenRetrievalError)):
        profile = _profile(spec)
        login = f"aws sso login --profile {profile}" if profile else "aws sso login"
        return MmtuiError(
            f"{doing}: your AWS SSO session is missing or expired ({exc}): run `{login}`",
            ExitCode.CREDENTIALS,
        )
    if isinstance(exc, bce.ProfileNotFound):
        return MmtuiError(
            f"{doing}: {exc}; `aws configure list-profiles` shows the ones you have",
            ExitCode.CREDENTIALS,
        )
    if isinstance(exc, bce.NoCredentialsError):
        from mmtui.target.spec import require_credentials_message

        fix = require_credentials_message(spec) if spec is not None else "run `aws configure`"
        return MmtuiError(f"{doing}: {fix}", ExitCode.CREDENTIALS)
    if isinstance(
        exc,
        (
            bce.CredentialRetrievalError,
            bce.PartialCredentialsError,
            bce.RefreshWithMFAUnsupportedError,
        ),
    ):
        return MmtuiError(
            f"{doing}: credentials could not be loaded ({exc}); {_refresh_hint(spec)}",
            ExitCode.CREDENTIALS,
        )
    if isinstance(exc, (bce.ConnectionError, bce.HTTPClientError)):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or (
            spec.endpoint_url if spec is not None and spec.endpoint_url else "AWS"
        )
        return MmtuiError(
            f"{doing}: cannot reach {url} ({type(exc).__name__}): is the endpoint running and "
            "the network up? AWS may have carried on; running the command again picks it up",
            ExitCode.AWS_ERROR,
        )
    return MmtuiError(f"{doing}: AWS call failed: {exc}", ExitCode.AWS_ERROR)


@contextmanager
def translated(doing: str, spec: TargetSpec | None = None) -> Iterator[None]:
    """Run the body; a botocore error leaving it becomes the contract's MmtuiError."""
    try:
        yield
    except Exception as exc:
        error = aws_error(exc, doing, spec)
        if error is None:
            raise
        raise error from exc
