"""Fetching the Mysfits site behind a region's load balancer: what the checkpoint looks at.

A plain GET, read-only by nature. On the sandbox the load balancer's DNS name is served on a
loopback URL (the connection's resolve map); on AWS the name resolves by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REGION = re.compile(r"Current region:\s*([a-z0-9-]+)")
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SiteView:
    address: str
    """The address an attendee would open: http://<load balancer DNS name>/."""
    status: int | None
    """The HTTP status, or None when nothing answered."""
    body: str
    reason: str = ""
    """Why nothing answered (status None)."""

    @property
    def region(self) -> str | None:
        found = _REGION.search(self.body)
        return found.group(1) if found else None

    @property
    def title(self) -> str | None:
        found = _TITLE.search(self.body)
        return " ".join(found.group(1).split()) if found else None


def fetch(url: str) -> tuple[int | None, str]:
    """(status, body) of a GET; (None, reason) when nothing answers."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (http only)
            return int(response.status), response.read(200_000).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), ""
    except (urllib.error.URLError, OSError) as error:
        return None, str(getattr(error, "reason", error))


def visit(dns: str, resolve: dict[str, str]) -> SiteView:
    """Open the site of the load balancer named `dns`."""
    url = resolve.get(dns, f"http://{dns}")
    status, body = fetch(url + "/")
    if status is None:
        return SiteView(f"http://{dns}/", None, "", reason=body)
    return SiteView(f"http://{dns}/", status, body)
