"""Worker errors as something an attendee can read and act on: what failed, why, what to try."""

from __future__ import annotations

from mmtui.exitcodes import MmtuiError

_TRY = {
    "AccessDenied": "your credentials lack a permission this step needs; check the role or user",
    "AccessDeniedException": "your credentials lack a permission this step needs",
    "ExpiredToken": "your session expired: refresh your credentials and press r",
    "ExpiredTokenException": "your session expired: refresh your credentials and press r",
    "ThrottlingException": "AWS is throttling calls: wait a little and try again",
    "Throttling": "AWS is throttling calls: wait a little and try again",
    "ResourceInUseException": "the resource is busy (an update is running): wait and try again",
    "ValidationError": "read the message: a name or value is not what AWS expects",
}


def explain(what: str, error: BaseException | None) -> tuple[str, str]:
    """(title, text) for a notice about a worker that failed while doing `what`."""
    title = f"{what} failed"
    if error is None:
        return title, "it stopped without saying why"
    if isinstance(error, MmtuiError):
        # An AWS error translated by the engine keeps its code for the notice's "what to try".
        cause = getattr(error.__cause__, "response", None)
        if isinstance(cause, dict) and "Error" in cause:
            code = cause["Error"].get("Code", "Unknown")
            hint = _TRY.get(code)
            return f"{title}: {code}", f"{error} — {hint}" if hint else str(error)
        return title, str(error)
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = response["Error"].get("Code", "Unknown")
        message = response["Error"].get("Message", "")
        hint = _TRY.get(code, "press r to check again, or look at the step's hints")
        return f"{title}: {code}", f"{message} — {hint}"
    stderr = getattr(error, "stderr", None)
    if stderr:
        return f"{title}: git", " ".join(str(stderr).split())[-400:]
    return title, f"{type(error).__name__}: {error}"
