"""git's credential helper for mmtui's own clones, fetches and pushes to CodeCommit.

CodeCommit over HTTPS takes as password a SigV4 signature of the repository's path, made with
the caller's AWS credentials; `aws codecommit credential-helper` makes it, and the attendee's
clones keep using that helper (as Lab 0 sets up Cloud9). Each run of it starts the whole AWS CLI
(about a second of CPU), and step 4 talks to the remote several times per repository, which an
attendee on a slow laptop and an instructor acting on fifty accounts both feel. This helper
computes the same password with the standard library only, and starts in milliseconds.

Run by git as `python -I -S git_signer.py get` (set up by codecommit.signing_options): -I and -S
keep the working folder, user site-packages and PYTHON* variables out, so nothing the
repository or the environment holds is imported. git writes `protocol`, `host` and `path` (with
`credential.UseHttpPath`) on stdin; the credentials come from the environment git was given
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, set by mmtui to the target's),
never from the command line, where other users could read them. The region is the one in
CodeCommit's host name (git-codecommit.<region>.amazonaws.com); any other host (the sandbox's
git server) is signed for AWS_REGION / AWS_DEFAULT_REGION, as the CLI's helper does with
`--ignore-host-check`. `store` and `erase` are ignored: nothing is kept.

Imports nothing from mmtui, on purpose: it runs without the package on its path.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import sys
from datetime import UTC, datetime

SERVICE = "codecommit"
_CODECOMMIT_HOST = re.compile(
    # git-codecommit.<region>.amazonaws.com, its FIPS name and its VPC endpoints' names.
    r"^(?:vpce-[^.]+\.)?git-codecommit(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com"
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def password(secret: str, host: str, path: str, region: str, moment: datetime) -> str:
    """`<timestamp>Z<signature>`: SigV4 over the canonical request of method GIT for `path`
    on `host` (its port left out), scoped to `region` and the codecommit service."""
    stamp = moment.strftime("%Y%m%dT%H%M%S")
    canonical = f"GIT\n{path}\n\nhost:{host.split(':')[0]}\n\nhost\n"
    scope = f"{stamp[:8]}/{region}/{SERVICE}/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    key = f"AWS4{secret}".encode()
    for part in (stamp[:8], region, SERVICE, "aws4_request"):
        key = _hmac(key, part)
    return f"{stamp}Z{hmac.new(key, to_sign.encode('utf-8'), hashlib.sha256).hexdigest()}"


def region_for(host: str, environ: dict[str, str]) -> str | None:
    found = _CODECOMMIT_HOST.match(host.split(":")[0])
    if found:
        return found.group(1)
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None


def _loopback(host: str) -> bool:
    """Whether `host` (with its port, maybe) names this machine: a prefix test would also pass
    `127.0.0.1.example.com` or `localhost.example.com`."""
    import ipaddress
    from urllib.parse import urlsplit

    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def answer(request: dict[str, str], environ: dict[str, str], moment: datetime) -> str:
    """What the helper writes for git's `get` request (empty: no answer, git goes on)."""
    access_key = environ.get("AWS_ACCESS_KEY_ID", "")
    secret = environ.get("AWS_SECRET_ACCESS_KEY", "")
    host = request.get("host", "")
    region = region_for(host, environ)
    if request.get("protocol") != "https" and not _loopback(host):
        return ""  # never sign for plain HTTP beyond loopback (the sandbox's server)
    if not (access_key and secret and host and region):
        return ""
    token = environ.get("AWS_SESSION_TOKEN")
    username = f"{access_key}%{token}" if token else access_key
    path = "/" + request.get("path", "").lstrip("/")
    return f"username={username}\npassword={password(secret, host, path, region, moment)}\n"


def main(argv: list[str]) -> int:
    if argv[1:2] != ["get"]:
        return 0
    request: dict[str, str] = {}
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            break
        name, _, value = line.partition("=")
        request[name] = value
    sys.stdout.write(answer(request, dict(os.environ), datetime.now(UTC)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
