"""The `aws` command inside a sandbox build: the awscli package, as the build image's CLI.

A build image carries one AWS CLI, and that CLI lacks some commands: `aws ecr get-login-password`
is missing from version 1 before 1.17.10 (the workshop's `aws/codebuild/docker:17.09.0`), and
`aws ecr get-login` from version 2 (`aws/codebuild/standard:5.0` and later). build.py tells this
script which commands the image lacks (MMTUI_AWS_CLI_LACKS, "service operation" pairs separated
by commas) and which major version it is (MMTUI_AWS_CLI_MAJOR); such a command fails here as that
CLI fails it: its usage text and "Invalid choice" on stderr, exit status 2 for version 1 (its
status for a command line it cannot parse) and 252 for version 2. Anything else runs the awscli.

It runs as a script (`python -I aws_cli.py`), so it imports nothing of mmtui.
"""

from __future__ import annotations

import os
import sys

GLOBAL_OPTIONS_WITH_VALUE = {
    "--region",
    "--profile",
    "--output",
    "--endpoint-url",
    "--query",
    "--cli-read-timeout",
    "--cli-connect-timeout",
    "--ca-bundle",
    "--color",
    "--cli-binary-format",
}

USAGE = (
    "usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\n"
    "To see help text, you can run:\n\n"
    "  aws help\n"
    "  aws <command> help\n"
    "  aws <command> <subcommand> help\n"
)


def command_words(argv: list[str]) -> list[str]:
    """The service and operation of an `aws` command line (global options skipped)."""
    words: list[str] = []
    skip = False
    for argument in argv:
        if skip:
            skip = False
            continue
        if argument.startswith("--"):
            skip = "=" not in argument and argument in GLOBAL_OPTIONS_WITH_VALUE
            continue
        words.append(argument)
        if len(words) == 2:
            break
    return words


def operations(service: str, lacking: set[str]) -> list[str]:
    """The operations this CLI offers for `service`, as its "valid choices" list shows them."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    names = {xform_name(name, "-") for name in model.operation_names}
    if service == "ecr":
        names |= {"get-login", "get-login-password"}
    return sorted(names - lacking) + ["wait", "help"]


def refuse(service: str, lacking: set[str], major: int) -> int:
    choices = operations(service, lacking)
    rows = [
        f"{left:<40} | {right}".rstrip()
        for left, right in zip(choices[::2], [*choices[1::2], ""], strict=False)
    ]
    gap = "\n" if major >= 2 else ""
    sys.stderr.write(
        f"\n{USAGE}{gap}aws: error: argument operation: Invalid choice, valid choices are:\n\n"
        + "\n".join(rows)
        + "\n\n"
    )
    return 252 if major >= 2 else 2


def main(argv: list[str]) -> int:
    lacking = {
        item.strip() for item in os.environ.get("MMTUI_AWS_CLI_LACKS", "").split(",") if item
    }
    words = command_words(argv)
    if len(words) == 2 and " ".join(words) in lacking:
        major = int(os.environ.get("MMTUI_AWS_CLI_MAJOR", "1"))
        return refuse(words[0], {w.split(" ", 1)[1] for w in lacking}, major)
    from awscli.clidriver import main as aws  # type: ignore[import-untyped]

    return int(aws() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
