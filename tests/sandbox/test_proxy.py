"""A shell that sourced sandbox.env reaches the sandbox's load balancers by their DNS names
(the sandbox is its HTTP proxy for them), while the `aws` CLI and git still go direct; a name
the sandbox does not serve fails as a lookup would, with a body that says why."""

from __future__ import annotations

import shlex

from mmtui.sandbox.core.server import ENV_FILE, Sandbox
from tests.conftest import run_by_hand


def sourced(sandbox: Sandbox, script: str) -> str:
    return f"set -euo pipefail\nsource {shlex.quote(str(sandbox.state_dir / ENV_FILE))}\n{script}"


def test_a_load_balancer_answers_by_its_dns_name_and_aws_goes_direct(sandbox: Sandbox) -> None:
    served = sandbox.resolve_map()
    primary = next(name for name in served if ".us-west-2.elb.amazonaws.com" in name)
    done = run_by_hand(
        sandbox,
        sourced(
            sandbox,
            f"curl -s http://{primary}/ | grep -i 'current region'\n"
            "aws sts get-caller-identity --query Account --output text\n"
            'echo "proxy=$http_proxy"\n',
        ),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "us-west-2" in lines[0].lower(), done.stdout
    assert lines[1] == sandbox.account_id  # the endpoint, on loopback, is not proxied
    assert lines[2] == f"proxy={sandbox.url}"


def test_an_unknown_name_through_the_proxy_is_a_502_that_says_it_did_not_resolve(
    sandbox: Sandbox,
) -> None:
    done = run_by_hand(
        sandbox,
        sourced(
            sandbox,
            "curl -s -w '\\n%{http_code}\\n' http://alb-nothing-1.us-east-1.elb.amazonaws.com/\n",
        ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("502"), done.stdout
    assert "Could not resolve host: alb-nothing-1.us-east-1.elb.amazonaws.com" in done.stdout
    assert "unset http_proxy" in done.stdout
