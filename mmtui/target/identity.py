"""Who we are in the target account, and the errors that stop us from knowing."""

from __future__ import annotations

from dataclasses import dataclass

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.target.clients import ClientFactory
from mmtui.target.errors import DENIED_CODES, aws_error, describe_client_error
from mmtui.target.spec import require_credentials_message


@dataclass(frozen=True)
class Identity:
    account_id: str
    arn: str
    user_id: str


def fetch_identity(factory: ClientFactory) -> Identity:
    """Who the target's calls act as, with user-facing errors: from the answer of the role's
    AssumeRole for a target reached through a role, else STS GetCallerIdentity in the primary
    region."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        ProfileNotFound,
    )

    spec = factory.spec
    try:
        if not factory.credentials_available():
            raise MmtuiError(require_credentials_message(spec), ExitCode.CREDENTIALS)
        if spec.role is not None:
            assume_role(factory)
            assumed = assumed_identity(factory.assumed_user())
            if assumed is not None:
                return assumed
        # The first call to a target: if nothing answers, say so now rather than after retries
        # (two tries with the checks' shorter read timeout: 20 s at worst, not a minute).
        answer = factory.client("sts", max_attempts=2, read_only=True).get_caller_identity()
    except ProfileNotFound:
        raise MmtuiError(
            f"--profile: no profile named {spec.profile!r} in your AWS config; "
            "`aws configure list-profiles` shows the ones you have",
            ExitCode.CREDENTIALS,
        ) from None
    except NoCredentialsError:
        raise MmtuiError(require_credentials_message(spec), ExitCode.CREDENTIALS) from None
    except ClientError as exc:
        raise describe_client_error(exc, "sts:GetCallerIdentity", spec) from None
    except EndpointConnectionError as exc:
        raise MmtuiError(
            f"cannot reach {exc.kwargs.get('endpoint_url', 'AWS')}: is the endpoint running?",
            ExitCode.AWS_ERROR,
        ) from None
    except BotoCoreError as exc:
        # SSO sessions, credential_process, timeouts: each to its exit code, with its fix.
        error = aws_error(exc, "sts:GetCallerIdentity", spec)
        assert error is not None
        raise error from None
    return Identity(answer["Account"], answer["Arn"], answer["UserId"])


def assumed_identity(user: dict[str, str] | None) -> Identity | None:
    """The identity of a role's session from AssumeRole's `AssumedRoleUser`, as
    GetCallerIdentity answers it for that session (`arn:aws:sts::<account>:assumed-role/...`,
    its `AssumedRoleId` as the user id); None when the answer does not say."""
    if not user:
        return None
    arn = str(user.get("Arn") or "")
    user_id = str(user.get("AssumedRoleId") or "")
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[4].isdigit() or not user_id:
        return None
    return Identity(parts[4], arn, user_id)


def assume_role(factory: ClientFactory) -> None:
    """Assume the target's role now, so that a refusal is reported as what it is."""
    from botocore.exceptions import ClientError

    role = factory.spec.role
    assert role is not None
    try:
        factory.role_credentials().get_frozen_credentials()
    except ClientError as exc:
        error = describe_client_error(exc, f"sts:AssumeRole of {role.arn}", factory.spec)
        if error.exit_code == ExitCode.CREDENTIALS and role.external_id:
            error = MmtuiError(f"{error} (is the external id right?)", error.exit_code)
        raise error from None


__all__ = [
    "DENIED_CODES",
    "Identity",
    "assume_role",
    "assumed_identity",
    "describe_client_error",
    "fetch_identity",
]
