"""The exit codes of the command-line contract (DESIGN.md): scripts and CI depend on them."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Every check passed, or the command did what was asked."""
    CHECK_FAILED = 1
    """A check failed or is still pending (AWS is converging)."""
    USAGE = 2
    """Bad usage, bad lab content or bad configuration; also a command that is not built yet."""
    CREDENTIALS = 3
    """No credentials, an unknown profile, or access denied."""
    AWS_ERROR = 4
    """AWS answered with an error, or the network failed."""


class MmtuiError(Exception):
    """An error a user can act on: printed as one message, never as a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
