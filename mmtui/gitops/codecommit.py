"""How git authenticates to CodeCommit over HTTPS, and to the sandbox's git server (which asks
for the same): AWS CLI's credential helper, signing with the AWS credentials in git's
environment.

Lab 0 leaves Cloud9 with `credential.helper = !aws codecommit credential-helper $@` and
`credential.UseHttpPath = true`. Two things differ here, both for robustness:

- The helper runs the awscli that mmtui ships (`<this python> -P -m awscli`), not whatever `aws`
  is first on PATH (an AWS CLI v2, a pyenv shim or none at all). `-P` keeps the working folder
  (the repository, whose content a push may come from anyone) off Python's import path.
- The helper is only asked for `get` (`store` and `erase` are no-ops in awscli), with
  `--ignore-host-check`: awscli only answers for hosts containing `amazonaws.com`, and the
  sandbox's git server is `127.0.0.1`. On AWS's hosts the option changes nothing.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

HELPER_MARK = "codecommit credential-helper"
"""In every helper line mmtui writes (to recognise its own lines in a clone's config)."""


def helper_command() -> str:
    """The `credential.helper` value: a shell helper (`!`) that git calls with `get`, `store`
    or `erase` appended."""
    python = shlex.quote(sys.executable)
    return (
        '!f() { test "$1" = get || exit 0; '
        f"exec {python} -P -m awscli {HELPER_MARK} --ignore-host-check get; }}; f"
    )


def credential_options() -> list[str]:
    """git's `-c` options for one command: no other helper (a keychain's stale password, a
    global helper signing as someone else), then awscli's, with the repository's path."""
    return [
        "-c",
        "credential.helper=",
        "-c",
        f"credential.helper={helper_command()}",
        "-c",
        "credential.UseHttpPath=true",
    ]


def signing_options() -> list[str]:
    """git's `-c` options for mmtui's own commands that talk to CodeCommit: as
    credential_options, but with git_signer.py, which makes the same password as the CLI's
    helper without starting the CLI (see there)."""
    signer = Path(__file__).with_name("git_signer.py")
    helper = f"!{shlex.quote(sys.executable)} -I -S {shlex.quote(str(signer))}"
    return [
        "-c",
        "credential.helper=",
        "-c",
        f"credential.helper={helper}",
        "-c",
        "credential.UseHttpPath=true",
    ]


def config_section() -> str:
    """The `[credential]` section a clone's `.git/config` gets (as Lab 0 leaves Cloud9)."""
    value = helper_command().replace("\\", "\\\\").replace('"', '\\"')
    return f'[credential]\n\thelper = "{value}"\n\tUseHttpPath = true\n'
