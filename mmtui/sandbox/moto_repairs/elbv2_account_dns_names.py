"""moto names every account's load balancer alike; AWS's DNS names differ between accounts.

moto's `<name>-1.<region>.elb.amazonaws.com` is the same for a load balancer of the same name
in every account, so two attendees' sites would share one host name (and one entry of the
sandbox's resolve map). Attendee accounts' load balancers get names of AWS's shape with digits
of their own; the default account keeps moto's (the baseline and its snapshots use them).
Patched on `ELBv2Backend.create_load_balancer`, which both the API and CloudFormation go
through, so the name is set before anything reads it.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from mmtui.sandbox.core.protocol import DEFAULT_ACCOUNT
from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "elbv2_account_dns_names"


def install() -> None:
    """Give attendee accounts' load balancers their own DNS names (called once, by
    moto_repairs.install)."""
    from moto.elbv2.models import ELBv2Backend

    original = ELBv2Backend.create_load_balancer

    @functools.wraps(original)
    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        balancer = original(self, *args, **kwargs)
        if self.account_id != DEFAULT_ACCOUNT:
            balancer.dns_name = dns_name(self.account_id, self.region_name, balancer.name)
        return balancer

    patch(REPAIR, ELBv2Backend, "create_load_balancer", create_load_balancer)


def dns_name(account: str, region: str, name: str) -> str:
    """An attendee account's load balancer DNS name: AWS's shape, `<name>-<digits>.<region>.
    elb.amazonaws.com`, with digits of its own."""
    digest = hashlib.sha256(f"{account}:{region}:{name}".encode()).digest()
    number = int.from_bytes(digest[:8], "big") % 9_000_000_000 + 1_000_000_000
    return f"{name}-{number}.{region}.elb.amazonaws.com"
