"""Global Accelerator's error codes and texts.

The codes are botocore's (the service model's exception shapes). One text is the service's own
as clients have quoted it ("Cannot delete accelerator <ARN> because an associated listener was
found."); the listener's counterpart follows its pattern; where no quoted text was found, the
text is the API reference's description of the exception.
"""

from __future__ import annotations

from mmtui.sandbox.core.protocol import AwsRequest, AwsResponse, aws_error

HOME_REGION = "us-west-2"
"""Global Accelerator's API is served from one regional endpoint, in US West (Oregon)."""


class GaError(Exception):
    """A refusal, raised anywhere in a call's handling and answered as AWS words it."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        """400 for the service's own errors; 501 for what the sandbox does not implement
        (not retried by clients)."""

    def answer(self, request: AwsRequest) -> AwsResponse:
        return aws_error(request, self.status, self.code, self.message, protocol="json")


def invalid(message: str) -> GaError:
    return GaError("InvalidArgumentException", message)


def accelerator_not_found() -> GaError:
    return GaError(
        "AcceleratorNotFoundException", "The accelerator that you specified doesn't exist."
    )


def listener_not_found() -> GaError:
    return GaError("ListenerNotFoundException", "The listener that you specified doesn't exist.")


def group_not_found() -> GaError:
    return GaError(
        "EndpointGroupNotFoundException", "The endpoint group that you specified doesn't exist."
    )


def group_exists(region: str) -> GaError:
    return GaError(
        "EndpointGroupAlreadyExistsException",
        f"The endpoint group that you specified already exists: this listener already has an "
        f"endpoint group in {region}.",
    )


def endpoint_not_found(endpoint_id: str) -> GaError:
    return GaError(
        "EndpointNotFoundException",
        f"The endpoint that you specified doesn't exist: {endpoint_id}.",
    )


def not_disabled(arn: str) -> GaError:
    return GaError(
        "AcceleratorNotDisabledException",
        f"Cannot delete accelerator {arn} because it is not disabled.",
    )


def disable_in_progress(arn: str) -> GaError:
    return GaError(
        "AcceleratorNotDisabledException",
        f"Cannot delete accelerator {arn} because it is not disabled yet: its status is "
        "IN_PROGRESS until the change that disables it is deployed.",
    )


def listener_found(arn: str) -> GaError:
    return GaError(
        "AssociatedListenerFoundException",
        f"Cannot delete accelerator {arn} because an associated listener was found.",
    )


def group_found(arn: str) -> GaError:
    return GaError(
        "AssociatedEndpointGroupFoundException",
        f"Cannot delete listener {arn} because an associated endpoint group was found.",
    )


def bad_ports() -> GaError:
    return GaError(
        "InvalidPortRangeException",
        "The port numbers that you specified are not valid numbers or are not unique for this "
        "accelerator.",
    )


def limit(what: str) -> GaError:
    return GaError(
        "LimitExceededException",
        f"Processing your request would cause you to exceed an AWS Global Accelerator limit "
        f"({what}).",
    )


def bad_token() -> GaError:
    return GaError("InvalidNextTokenException", "There isn't another item to return.")


def wrong_region(request: AwsRequest) -> AwsResponse:
    """A call signed for another region than us-west-2.

    On AWS such a call never gets an answer: `globalaccelerator.<region>.amazonaws.com` exists
    for us-west-2 only, so the client fails to connect ("Could not connect to the endpoint
    URL"). In the sandbox every region shares one endpoint URL, so the call does arrive; it
    gets what AWS's us-west-2 endpoint answers a request whose credential is scoped to
    another region (InvalidSignatureException, HTTP 400, not retried), with the reason."""
    return aws_error(
        request,
        400,
        "InvalidSignatureException",
        f"Credential should be scoped to a valid region, not '{request.region}'. "
        f"(Global Accelerator's API is only served in {HOME_REGION}: "
        f"globalaccelerator.{request.region}.amazonaws.com does not exist; call it with "
        f"--region {HOME_REGION}.)",
        protocol="json",
    )
