"""mmtui's own git credential helper makes the password AWS CLI's `codecommit
credential-helper` makes, without starting the CLI; the sandbox's git server accepts it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mmtui.gitops import git_signer
from mmtui.sandbox.core.auth import Principal, verify_git

KEYS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY000001",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
MOMENT = datetime(2026, 12, 4, 17, 5, 9, tzinfo=UTC)
PATH = "/v1/repos/core-service-mm-multi-region-MythicalCiCdStack-0GXF1SGIV5X41"


def cli_password(host: str, path: str, region: str, token: str | None = None) -> str:
    """The password of the AWS CLI's helper at MOMENT (its own code, run in-process)."""
    import botocore.session
    from awscli.customizations import codecommit

    session = botocore.session.Session()
    session.set_credentials(KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"], token)
    command = codecommit.CodeCommitGetCommand(session)
    saved = codecommit.get_current_datetime
    codecommit.get_current_datetime = lambda: MOMENT.replace(tzinfo=None)  # type: ignore[assignment]
    try:
        return str(command.sign_request(region, f"https://{host}{path}"))
    finally:
        codecommit.get_current_datetime = saved  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("git-codecommit.us-west-2.amazonaws.com", "us-west-2"),
        ("git-codecommit-fips.us-east-1.amazonaws.com", "us-east-1"),
        ("vpce-0123-abcd.git-codecommit.eu-west-1.vpce.amazonaws.com", "eu-west-1"),
    ],
)
def test_the_password_is_the_cli_helpers(host: str, region: str) -> None:
    request = {"protocol": "https", "host": host, "path": PATH.lstrip("/")}
    answer = git_signer.answer(request, {**KEYS, "AWS_DEFAULT_REGION": "ap-south-1"}, MOMENT)
    assert answer == (
        f"username={KEYS['AWS_ACCESS_KEY_ID']}\npassword={cli_password(host, PATH, region)}\n"
    )


def test_session_credentials_carry_their_token_in_the_username() -> None:
    host = "git-codecommit.us-west-2.amazonaws.com"
    request = {"protocol": "https", "host": host, "path": "x"}
    answer = git_signer.answer(request, {**KEYS, "AWS_SESSION_TOKEN": "tok/en"}, MOMENT)
    assert answer.startswith(f"username={KEYS['AWS_ACCESS_KEY_ID']}%tok/en\n")
    assert answer.endswith(f"password={cli_password(host, '/x', 'us-west-2', 'tok/en')}\n")


@pytest.mark.parametrize("host", ["127.0.0.1:8123", "localhost:8123", "[::1]:8123", "127.0.0.1"])
def test_loopback_over_plain_http_is_signed(host: str) -> None:
    request = {"protocol": "http", "host": host, "path": "r"}
    assert git_signer.answer(request, {**KEYS, "AWS_REGION": "us-west-2"}, MOMENT)


def test_other_hosts_are_signed_for_the_environments_region() -> None:
    """As the CLI's helper with --ignore-host-check (the sandbox's git server on loopback)."""
    request = {"protocol": "http", "host": "127.0.0.1:8123", "path": PATH.lstrip("/")}
    answer = git_signer.answer(request, {**KEYS, "AWS_REGION": "us-west-2"}, MOMENT)
    assert answer.endswith(f"password={cli_password('127.0.0.1:8123', PATH, 'us-west-2')}\n")


@pytest.mark.parametrize(
    ("request_", "environ"),
    [
        # Cleartext beyond loopback: credentials would travel readable.
        ({"protocol": "http", "host": "git.example.com", "path": "r"}, {**KEYS, "AWS_REGION": "x"}),
        # Names that only start like loopback's are somebody else's hosts.
        (
            {"protocol": "http", "host": "127.0.0.1.example.com", "path": "r"},
            {**KEYS, "AWS_REGION": "x"},
        ),
        (
            {"protocol": "http", "host": "localhost.example.com:80", "path": "r"},
            {**KEYS, "AWS_REGION": "x"},
        ),
        # No keys, or no region to sign for: no answer, git asks no one else and fails.
        ({"protocol": "https", "host": "git-codecommit.us-west-2.amazonaws.com"}, {}),
        ({"protocol": "https", "host": "git.example.com", "path": "r"}, KEYS),
    ],
)
def test_no_answer_when_it_should_not_sign(
    request_: dict[str, str], environ: dict[str, str]
) -> None:
    assert git_signer.answer(request_, environ, MOMENT) == ""


def test_run_as_git_runs_it_the_sandbox_accepts_the_password() -> None:
    """The helper as git starts it (isolated Python, request on stdin, keys in the
    environment); its answer verifies as the sandbox's git server verifies CodeCommit's."""
    signer = Path(git_signer.__file__)
    host = "127.0.0.1:8123"
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(signer), "get"],
        input=f"protocol=http\nhost={host}\npath={PATH.lstrip('/')}\n\n",
        env={**KEYS, "AWS_DEFAULT_REGION": "us-west-2"},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    fields = dict(line.split("=", 1) for line in completed.stdout.splitlines())
    principal = Principal(KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"], "123456789012")
    known = {principal.access_key: principal}.get
    assert verify_git(fields["username"], fields["password"], host, PATH, known) == principal
    other = Principal(KEYS["AWS_ACCESS_KEY_ID"], "another-secret", "123456789012")
    assert (
        verify_git(
            fields["username"], fields["password"], host, PATH, {other.access_key: other}.get
        )
        is None
    )
    store = subprocess.run(
        [sys.executable, "-I", "-S", str(signer), "store"],
        input="protocol=http\n\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert store.returncode == 0 and store.stdout == ""
