"""AWS Global Accelerator in the sandbox: the API Labs 4 and 5 call, and accelerators that
really route connections to the regions' load balancers."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mmtui.sandbox.behaviours.global_accelerator import GlobalAccelerator
from mmtui.sandbox.behaviours.global_accelerator.health import MIN_INTERVAL
from mmtui.sandbox.behaviours.load_balancers import CHAOS_ENV, LoadBalancers
from mmtui.sandbox.core.server import Sandbox, SandboxOptions
from mmtui.sandbox.workshop.primary_app import stack_outputs
from tests.conftest import AttendeeSandbox, aws_cli, deploy_secondary_by_hand
from tests.iam_roles import allow, make_role, policy, role_session
from tests.sandbox.test_load_balancers import GRETTA, _deploy, likes

PRIMARY, SECONDARY = "us-west-2", "us-east-1"
ACCELERATOR_ARN = re.compile(r"^arn:aws:globalaccelerator::\d{12}:accelerator/[0-9a-f-]{36}$")
LISTENER_ARN = re.compile(
    r"^arn:aws:globalaccelerator::\d{12}:accelerator/[0-9a-f-]{36}/listener/[0-9a-f]{8}$"
)
GROUP_ARN = re.compile(r"/listener/[0-9a-f]{8}/endpoint-group/[0-9a-f]{12}$")
DNS_NAME = re.compile(r"^a[0-9a-f]{16}\.awsglobalaccelerator\.com$")
DEADLINE = 20.0


def ga(sandbox: Sandbox, account: str | None = None) -> Any:
    if account is None:
        return sandbox.client("globalaccelerator", PRIMARY)
    return sandbox.client("globalaccelerator", PRIMARY, account)


def extension(sandbox: Sandbox) -> GlobalAccelerator:
    return sandbox.extension(GlobalAccelerator)


def balancer_arn(sandbox: Sandbox, region: str) -> str:
    (arn,) = [
        lb["LoadBalancerArn"]
        for lb in sandbox.client("elbv2", region).describe_load_balancers()["LoadBalancers"]
    ]
    return str(arn)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def create_accelerator(sandbox: Sandbox, name: str = "mm-global-accelerator", **extra: Any) -> str:
    answer = ga(sandbox).create_accelerator(
        Name=name, IpAddressType="IPV4", Enabled=True, IdempotencyToken=name, **extra
    )
    return str(answer["Accelerator"]["AcceleratorArn"])


def create_listener(sandbox: Sandbox, accelerator: str, port: int = 80) -> str:
    return str(
        ga(sandbox).create_listener(
            AcceleratorArn=accelerator,
            PortRanges=[{"FromPort": port, "ToPort": port}],
            Protocol="TCP",
            ClientAffinity="NONE",
            IdempotencyToken=f"{accelerator}-{port}",
        )["Listener"]["ListenerArn"]
    )


def create_group(sandbox: Sandbox, listener: str, region: str, dial: float = 100.0) -> str:
    return str(
        ga(sandbox).create_endpoint_group(
            ListenerArn=listener,
            EndpointGroupRegion=region,
            EndpointConfigurations=[{"EndpointId": balancer_arn(sandbox, region)}],
            TrafficDialPercentage=dial,
            IdempotencyToken=f"{listener}-{region}",
        )["EndpointGroup"]["EndpointGroupArn"]
    )


# ---------------------------------------------------------------------- two serving regions


@pytest.fixture
def two_sites(
    sandbox: Sandbox, cached_state: Callable[[tuple[str, ...], Callable[[], None]], Sandbox]
) -> Sandbox:
    """Lab 3's secondary stack, made by hand, running its own images: both regions' load
    balancers serve the Core service's page (which names its region)."""

    def build() -> None:
        deploy_secondary_by_hand(sandbox)
        outputs = stack_outputs(sandbox, "mm-secondary-region", SECONDARY)
        _deploy(sandbox, SECONDARY, outputs, image_region=SECONDARY)

    return cached_state(("ga-two-sites",), build)


@pytest.fixture
def lab4(two_sites: Sandbox) -> dict[str, str]:
    """Lab 4 done: the accelerator, its TCP 80 listener, a group per region (dials 100)."""
    accelerator = create_accelerator(two_sites)
    listener = create_listener(two_sites, accelerator)
    return {
        "accelerator": accelerator,
        "listener": listener,
        PRIMARY: create_group(two_sites, listener, PRIMARY),
        SECONDARY: create_group(two_sites, listener, SECONDARY),
    }


def accelerator_url(sandbox: Sandbox, accelerator: str) -> str:
    dns = ga(sandbox).describe_accelerator(AcceleratorArn=accelerator)["Accelerator"]["DnsName"]
    return str(wait_for(lambda: sandbox.resolve_map().get(dns), "the accelerator to be served"))


def served_region(url: str) -> str:
    """The region whose Core service answered `/` through the accelerator (its page says)."""
    with urllib.request.urlopen(url + "/", timeout=10) as response:
        page = response.read().decode()
    found = re.search(r"Current region: ([a-z0-9-]+)", page)
    assert found, page[:200]
    return found[1]


def set_dials(sandbox: Sandbox, groups: dict[str, str], primary: float, secondary: float) -> None:
    for region, dial in ((PRIMARY, primary), (SECONDARY, secondary)):
        ga(sandbox).update_endpoint_group(
            EndpointGroupArn=groups[region], TrafficDialPercentage=dial
        )


def all_healthy(sandbox: Sandbox, groups: dict[str, str]) -> bool:
    states = [
        endpoint["HealthState"]
        for region in (PRIMARY, SECONDARY)
        for endpoint in ga(sandbox).describe_endpoint_group(EndpointGroupArn=groups[region])[
            "EndpointGroup"
        ]["EndpointDescriptions"]
    ]
    return states == ["HEALTHY", "HEALTHY"]


# ---------------------------------------------------------------------- control plane


def test_lab4_creates_an_accelerator_a_listener_and_a_group_per_region(
    lab4: dict[str, str], two_sites: Sandbox
) -> None:
    client = ga(two_sites)
    accelerator = client.describe_accelerator(AcceleratorArn=lab4["accelerator"])["Accelerator"]
    assert ACCELERATOR_ARN.match(accelerator["AcceleratorArn"])
    assert f"::{two_sites.account_id}:" in accelerator["AcceleratorArn"]
    assert DNS_NAME.match(accelerator["DnsName"])
    assert "DualStackDnsName" not in accelerator
    (ip_set,) = accelerator["IpSets"]
    assert ip_set["IpAddressFamily"] == "IPv4" and len(ip_set["IpAddresses"]) == 2
    assert accelerator["Status"] == "DEPLOYED"  # time scale 0: instant
    assert accelerator["Enabled"] is True and accelerator["Name"] == "mm-global-accelerator"

    listener = client.describe_listener(ListenerArn=lab4["listener"])["Listener"]
    assert LISTENER_ARN.match(listener["ListenerArn"])
    assert listener["ListenerArn"].startswith(lab4["accelerator"] + "/listener/")
    assert listener["PortRanges"] == [{"FromPort": 80, "ToPort": 80}]
    assert (listener["Protocol"], listener["ClientAffinity"]) == ("TCP", "NONE")

    groups = client.list_endpoint_groups(ListenerArn=lab4["listener"])["EndpointGroups"]
    assert [g["EndpointGroupRegion"] for g in groups] == [PRIMARY, SECONDARY]
    for group in groups:
        assert GROUP_ARN.search(group["EndpointGroupArn"])
        assert group["TrafficDialPercentage"] == 100.0
        assert group["HealthCheckIntervalSeconds"] == 30 and group["ThresholdCount"] == 3
        assert group["HealthCheckPort"] == 80 and group["HealthCheckProtocol"] == "TCP"
        (endpoint,) = group["EndpointDescriptions"]
        assert endpoint["EndpointId"] == balancer_arn(two_sites, group["EndpointGroupRegion"])
        assert endpoint["Weight"] == 128 and endpoint["ClientIPPreservationEnabled"] is True
    wait_for(lambda: all_healthy(two_sites, lab4), "both endpoints to be HEALTHY")

    assert [a["AcceleratorArn"] for a in client.list_accelerators()["Accelerators"]] == [
        lab4["accelerator"]
    ]
    listeners = client.list_listeners(AcceleratorArn=lab4["accelerator"])["Listeners"]
    assert [one["ListenerArn"] for one in listeners] == [lab4["listener"]]


def test_the_cli_creates_and_lists_accelerators(sandbox: Sandbox) -> None:
    created = json.loads(
        aws_cli(
            sandbox,
            "globalaccelerator",
            "create-accelerator",
            "--name",
            "mm-global-accelerator",
            "--ip-address-type",
            "DUAL_STACK",
            "--region",
            PRIMARY,
        )
    )["Accelerator"]
    assert created["Status"] == "DEPLOYED"
    assert created["DualStackDnsName"].endswith(".dualstack.awsglobalaccelerator.com")
    assert [s["IpAddressFamily"] for s in created["IpSets"]] == ["IPv4", "IPv6"]
    listed = ga(sandbox).list_accelerators()["Accelerators"]
    assert [a["AcceleratorArn"] for a in listed] == [created["AcceleratorArn"]]


def test_same_idempotency_token_gives_the_same_accelerator(sandbox: Sandbox) -> None:
    first = create_accelerator(sandbox)
    assert create_accelerator(sandbox) == first
    assert len(ga(sandbox).list_accelerators()["Accelerators"]) == 1


def test_other_regions_are_refused_as_aws_refuses_them(sandbox: Sandbox) -> None:
    client = sandbox.client("globalaccelerator", SECONDARY)
    with pytest.raises(ClientError) as caught:
        client.list_accelerators()
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidSignatureException"
    assert "us-west-2" in error["Message"] and "us-east-1" in error["Message"]


def test_an_operation_the_sandbox_lacks_says_so(sandbox: Sandbox) -> None:
    with pytest.raises(ClientError) as caught:
        ga(sandbox).list_custom_routing_accelerators()
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    assert "not available in the mmtui sandbox" in caught.value.response["Error"]["Message"]


def test_status_is_in_progress_until_deployed_and_each_change_starts_again(
    sandbox: Sandbox,
) -> None:
    plugin = extension(sandbox)
    plugin.accelerator_deploy_seconds = 0.8
    plugin.accelerator_update_seconds = 0.4
    client = ga(sandbox)
    arn = create_accelerator(sandbox)
    dns = client.describe_accelerator(AcceleratorArn=arn)["Accelerator"]["DnsName"]

    def status() -> str:
        return str(client.describe_accelerator(AcceleratorArn=arn)["Accelerator"]["Status"])

    assert status() == "IN_PROGRESS"
    wait_for(lambda: status() == "DEPLOYED", "the accelerator to deploy")
    listener = create_listener(sandbox, arn)
    assert status() == "IN_PROGRESS"
    create_group(sandbox, listener, PRIMARY)
    assert dns not in sandbox.resolve_map()  # not served before its listener is deployed
    wait_for(lambda: status() == "DEPLOYED", "the listener to deploy")
    wait_for(lambda: dns in sandbox.resolve_map(), "the accelerator to be served")
    client.update_accelerator(AcceleratorArn=arn, Name="renamed")
    assert status() == "IN_PROGRESS"
    wait_for(lambda: status() == "DEPLOYED", "the rename to deploy")


def test_disable_then_delete_as_aws_requires(sandbox: Sandbox) -> None:
    client = ga(sandbox)
    arn = create_accelerator(sandbox)
    listener = create_listener(sandbox, arn)
    group = create_group(sandbox, listener, PRIMARY)
    url = accelerator_url(sandbox, arn)

    assert error_code(lambda: client.delete_accelerator(AcceleratorArn=arn)) == (
        "AcceleratorNotDisabledException"
    )
    extension(sandbox).accelerator_update_seconds = 0.5
    client.update_accelerator(AcceleratorArn=arn, Enabled=False)
    # Until the disable is deployed it still serves, and may not be deleted.
    assert urllib.request.urlopen(url + "/", timeout=10).status == 200
    assert error_code(lambda: client.delete_listener(ListenerArn=listener)) == (
        "AssociatedEndpointGroupFoundException"
    )
    client.delete_endpoint_group(EndpointGroupArn=group)
    client.delete_listener(ListenerArn=listener)
    extension(sandbox).accelerator_update_seconds = 0.0
    wait_for(
        lambda: (
            client.describe_accelerator(AcceleratorArn=arn)["Accelerator"]["Status"] == "DEPLOYED"
        ),
        "the disable to deploy",
    )
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/", timeout=5)
    client.delete_accelerator(AcceleratorArn=arn)
    assert client.list_accelerators()["Accelerators"] == []
    assert error_code(lambda: client.describe_accelerator(AcceleratorArn=arn)) == (
        "AcceleratorNotFoundException"
    )


def test_deleting_a_disabled_accelerator_waits_for_the_disable_to_deploy(
    sandbox: Sandbox,
) -> None:
    client = ga(sandbox)
    arn = create_accelerator(sandbox)
    extension(sandbox).accelerator_update_seconds = 30.0
    client.update_accelerator(AcceleratorArn=arn, Enabled=False)
    with pytest.raises(ClientError) as caught:
        client.delete_accelerator(AcceleratorArn=arn)
    assert caught.value.response["Error"]["Code"] == "AcceleratorNotDisabledException"
    assert "IN_PROGRESS" in caught.value.response["Error"]["Message"]


def test_errors_are_the_services_own(sandbox: Sandbox) -> None:
    client = ga(sandbox)
    arn = create_accelerator(sandbox)
    listener = create_listener(sandbox, arn)
    group = create_group(sandbox, listener, PRIMARY)
    primary_lb = balancer_arn(sandbox, PRIMARY)
    missing = arn[:-12] + "000000000000"

    assert error_code(lambda: client.describe_accelerator(AcceleratorArn=missing)) == (
        "AcceleratorNotFoundException"
    )
    assert error_code(lambda: client.describe_listener(ListenerArn=listener[:-8] + "00000000")) == (
        "ListenerNotFoundException"
    )
    assert error_code(
        lambda: client.describe_endpoint_group(EndpointGroupArn=group[:-12] + "0" * 12)
    ) == ("EndpointGroupNotFoundException")
    assert error_code(
        lambda: client.create_endpoint_group(
            ListenerArn=listener, EndpointGroupRegion=PRIMARY, IdempotencyToken="another"
        )
    ) == ("EndpointGroupAlreadyExistsException")
    assert error_code(lambda: client.delete_accelerator(AcceleratorArn=arn)) == (
        "AcceleratorNotDisabledException"
    )
    client.update_accelerator(AcceleratorArn=arn, Enabled=False)
    assert error_code(lambda: client.delete_accelerator(AcceleratorArn=arn)) == (
        "AssociatedListenerFoundException"
    )
    assert error_code(lambda: client.delete_listener(ListenerArn=listener)) == (
        "AssociatedEndpointGroupFoundException"
    )

    def update(**settings: Any) -> str:
        return error_code(lambda: client.update_endpoint_group(EndpointGroupArn=group, **settings))

    assert update(TrafficDialPercentage=100.5) == "InvalidArgumentException"
    assert update(EndpointConfigurations=[{"EndpointId": primary_lb, "Weight": 256}]) == (
        "InvalidArgumentException"
    )
    assert update(HealthCheckIntervalSeconds=20) == "InvalidArgumentException"
    assert update(ThresholdCount=11) == "InvalidArgumentException"
    assert update(PortOverrides=[{"ListenerPort": 81, "EndpointPort": 8080}]) == (
        "InvalidArgumentException"
    )
    not_a_balancer = primary_lb.replace(":loadbalancer/app/", ":loadbalancer/app/x")
    assert update(EndpointConfigurations=[{"EndpointId": not_a_balancer}]) == (
        "InvalidArgumentException"
    )
    # The load balancer exists, in another region than the group's.
    other = client.create_listener(
        AcceleratorArn=arn,
        PortRanges=[{"FromPort": 8080, "ToPort": 8081}],
        Protocol="TCP",
        IdempotencyToken="other",
    )["Listener"]["ListenerArn"]
    assert error_code(
        lambda: client.create_endpoint_group(
            ListenerArn=other,
            EndpointGroupRegion=SECONDARY,
            EndpointConfigurations=[{"EndpointId": primary_lb}],
            IdempotencyToken="wrong-region",
        )
    ) == ("InvalidArgumentException")

    def listener_error(*ranges: tuple[int, int]) -> str:
        return error_code(
            lambda: client.create_listener(
                AcceleratorArn=arn,
                PortRanges=[{"FromPort": a, "ToPort": b} for a, b in ranges],
                Protocol="TCP",
                IdempotencyToken=f"ports-{ranges}",
            )
        )

    assert listener_error((70000, 70000)) == "InvalidPortRangeException"
    assert listener_error((90, 85)) == "InvalidPortRangeException"
    assert listener_error((79, 80)) == "InvalidPortRangeException"  # 80 is the first's
    assert listener_error((8081, 8090)) == "InvalidPortRangeException"
    assert error_code(
        lambda: client.remove_endpoints(
            EndpointGroupArn=group, EndpointIdentifiers=[{"EndpointId": not_a_balancer}]
        )
    ) == ("EndpointNotFoundException")
    assert error_code(lambda: client.list_accelerators(NextToken="not-a-token")) == (
        "InvalidNextTokenException"
    )
    assert error_code(lambda: client.create_accelerator(Name="-bad-", IdempotencyToken="bad")) == (
        "InvalidArgumentException"
    )
    for index in range(19):
        create_accelerator(sandbox, f"more-{index}")
    # SDKs retry LimitExceededException as throttling: ask once, without retries.
    access_key, secret = sandbox.credentials()
    once = boto3.client(
        "globalaccelerator",
        region_name=PRIMARY,
        endpoint_url=sandbox.url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert error_code(
        lambda: once.create_accelerator(Name="one-too-many", IdempotencyToken="too-many")
    ) == ("LimitExceededException")


def test_list_accelerators_pages(sandbox: Sandbox) -> None:
    created = [create_accelerator(sandbox, f"accelerator-{index}") for index in range(5)]
    paginator = ga(sandbox).get_paginator("list_accelerators")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert [len(page["Accelerators"]) for page in pages] == [2, 2, 1]
    assert [a["AcceleratorArn"] for page in pages for a in page["Accelerators"]] == created


def test_endpoints_are_added_and_removed(sandbox: Sandbox) -> None:
    client = ga(sandbox)
    listener = create_listener(sandbox, create_accelerator(sandbox))
    group = client.create_endpoint_group(
        ListenerArn=listener, EndpointGroupRegion=PRIMARY, IdempotencyToken="empty"
    )["EndpointGroup"]
    assert group["EndpointDescriptions"] == []
    primary_lb = balancer_arn(sandbox, PRIMARY)
    added = client.add_endpoints(
        EndpointGroupArn=group["EndpointGroupArn"],
        EndpointConfigurations=[{"EndpointId": primary_lb, "Weight": 200}],
    )
    assert [(e["EndpointId"], e["Weight"]) for e in added["EndpointDescriptions"]] == [
        (primary_lb, 200)
    ]
    client.remove_endpoints(
        EndpointGroupArn=group["EndpointGroupArn"], EndpointIdentifiers=[{"EndpointId": primary_lb}]
    )
    described = client.describe_endpoint_group(EndpointGroupArn=group["EndpointGroupArn"])
    assert described["EndpointGroup"]["EndpointDescriptions"] == []


def test_tags(sandbox: Sandbox) -> None:
    client = ga(sandbox)
    arn = create_accelerator(sandbox, Tags=[{"Key": "workshop", "Value": "mysfits"}])
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "lab", "Value": "4"}])
    tags = client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"workshop": "mysfits", "lab": "4"}
    client.untag_resource(ResourceArn=arn, TagKeys=["workshop"])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "lab", "Value": "4"}]
    assert error_code(
        lambda: client.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:x", "Value": "y"}])
    ) == ("InvalidArgumentException")


def test_state_survives_a_snapshot_restore(sandbox: Sandbox) -> None:
    arn = create_accelerator(sandbox)
    create_group(sandbox, create_listener(sandbox, arn), PRIMARY)
    url = accelerator_url(sandbox, arn)
    snapshot = sandbox.snapshot()
    ga(sandbox).update_accelerator(AcceleratorArn=arn, Enabled=False)
    wait_for(lambda: url not in sandbox.resolve_map().values(), "the disabled one to stop")
    sandbox.restore_snapshot(snapshot)
    restored = ga(sandbox).describe_accelerator(AcceleratorArn=arn)["Accelerator"]
    assert restored["Enabled"] is True
    assert wait_for(lambda: url in sandbox.resolve_map().values(), "the same URL again")
    assert served_region(url) == PRIMARY


def test_accelerators_belong_to_their_account(
    attendee_accounts: Callable[[int], AttendeeSandbox],
) -> None:
    room = attendee_accounts(1)
    account = room.ids[0]  # the session may hold more accounts (another test asked for them)
    client = room.session(account).client("globalaccelerator", endpoint_url=room.url)
    arn = client.create_accelerator(Name="mine", IdempotencyToken="mine")["Accelerator"][
        "AcceleratorArn"
    ]
    assert f"::{account}:accelerator/" in arn
    assert ga(room.sandbox).list_accelerators()["Accelerators"] == []
    assert error_code(lambda: ga(room.sandbox).describe_accelerator(AcceleratorArn=arn)) == (
        "AcceleratorNotFoundException"
    )
    plugin = extension(room.sandbox)
    with room.sandbox.lock:  # as the sandbox calls these hooks
        exported = plugin.export_account(account)
        plugin.drop_account(account)
    assert client.list_accelerators()["Accelerators"] == []
    with room.sandbox.lock:
        plugin.import_account(account, exported)
        # An account image installed in another account: its ARNs name the new owner.
        plugin.import_account("999999999999", exported)
        copied = plugin.export_account("999999999999")["accelerators"]
        plugin.drop_account("999999999999")
    assert [arn.split(":")[4] for arn in copied] == ["999999999999"]
    assert [a["AcceleratorArn"] for a in client.list_accelerators()["Accelerators"]] == [arn]


def test_iam_enforcement_covers_global_accelerator(
    attendee_accounts: Callable[[int], AttendeeSandbox],
) -> None:
    room = attendee_accounts(1)
    arn = make_role(room, room.ids[0], policy(allow("globalaccelerator:List*")))
    client = role_session(room, arn)("globalaccelerator", PRIMARY)
    assert client.list_accelerators()["Accelerators"] == []
    with pytest.raises(ClientError) as caught:
        client.create_accelerator(Name="denied", IdempotencyToken="denied")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "globalaccelerator:CreateAccelerator" in caught.value.response["Error"]["Message"]


def test_the_time_scale_sets_how_long_a_deploy_takes() -> None:
    stand_in: Any = SimpleNamespace(options=SandboxOptions(time_scale=0.01), notes=[])
    plugin = GlobalAccelerator(stand_in)
    assert plugin.accelerator_deploy_seconds == pytest.approx(1.8)  # 3 min on AWS
    assert plugin.accelerator_update_seconds == pytest.approx(0.6)  # 1 min on AWS
    instant: Any = SimpleNamespace(options=SandboxOptions(time_scale=0), notes=[])
    assert GlobalAccelerator(instant).accelerator_deploy_seconds == 0


# ---------------------------------------------------------------------- data plane


def regions_served(url: str, count: int) -> Counter[str]:
    return Counter(served_region(url) for _ in range(count))


def test_dials_send_connections_where_lab5_expects(
    lab4: dict[str, str], two_sites: Sandbox
) -> None:
    url = accelerator_url(two_sites, lab4["accelerator"])
    wait_for(lambda: all_healthy(two_sites, lab4), "both endpoints to be HEALTHY")
    served = extension(two_sites).served

    set_dials(two_sites, lab4, 100, 0)
    assert regions_served(url, 10) == {PRIMARY: 10}
    set_dials(two_sites, lab4, 0, 100)
    assert regions_served(url, 10) == {SECONDARY: 10}
    served.clear()
    set_dials(two_sites, lab4, 50, 50)
    both = regions_served(url, 40)
    assert both[PRIMARY] >= 8 and both[SECONDARY] >= 8, both
    assert served.by_region(lab4["accelerator"]) == dict(both)


def test_unhealthy_primary_fails_over_to_the_secondary_whatever_its_dial(
    lab4: dict[str, str], two_sites: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = accelerator_url(two_sites, lab4["accelerator"])
    set_dials(two_sites, lab4, 100, 0)
    assert served_region(url) == PRIMARY
    primary_lb = balancer_arn(two_sites, PRIMARY)
    real = LoadBalancers.target_health

    def primary_broken(self: LoadBalancers, arn: str) -> str:
        return "unhealthy" if arn == primary_lb else real(self, arn)

    monkeypatch.setattr(LoadBalancers, "target_health", primary_broken)

    def primary_endpoint() -> dict[str, Any]:
        group = ga(two_sites).describe_endpoint_group(EndpointGroupArn=lab4[PRIMARY])
        return dict(group["EndpointGroup"]["EndpointDescriptions"][0])

    wait_for(lambda: primary_endpoint()["HealthState"] == "UNHEALTHY", "the primary UNHEALTHY")
    assert primary_endpoint()["HealthReason"]
    assert regions_served(url, 10) == {SECONDARY: 10}


def test_a_failover_waits_for_threshold_failed_checks(
    lab4: dict[str, str], two_sites: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a time scale, the endpoint turns UNHEALTHY only after ThresholdCount failed checks
    an interval apart (here 3 × 10 s × 0.02, floored to half a second a check), and traffic
    stays on the primary until then."""
    client = ga(two_sites)
    for region in (PRIMARY, SECONDARY):
        client.update_endpoint_group(
            EndpointGroupArn=lab4[region], HealthCheckIntervalSeconds=10, ThresholdCount=3
        )
    set_dials(two_sites, lab4, 100, 0)
    url = accelerator_url(two_sites, lab4["accelerator"])
    wait_for(lambda: all_healthy(two_sites, lab4), "both endpoints to be HEALTHY")
    extension(two_sites).health_check_scale = 0.02
    primary_lb = balancer_arn(two_sites, PRIMARY)
    real = LoadBalancers.target_health

    def primary_broken(self: LoadBalancers, arn: str) -> str:
        return "unhealthy" if arn == primary_lb else real(self, arn)

    monkeypatch.setattr(LoadBalancers, "target_health", primary_broken)
    broken_at = time.monotonic()
    assert served_region(url) == PRIMARY  # not judged unhealthy yet

    def primary_state() -> str:
        group = client.describe_endpoint_group(EndpointGroupArn=lab4[PRIMARY])
        return str(group["EndpointGroup"]["EndpointDescriptions"][0]["HealthState"])

    wait_for(lambda: primary_state() == "UNHEALTHY", "the primary UNHEALTHY")
    assert time.monotonic() - broken_at >= 2 * MIN_INTERVAL  # three checks, two intervals
    assert regions_served(url, 5) == {SECONDARY: 5}


def test_curl_and_http_client_post_likes_through_the_accelerator(
    lab4: dict[str, str], two_sites: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lab 5's load test POSTs likes to the accelerator's DNS name: bodies and answers pass
    through whole, over one connection each."""
    monkeypatch.setenv(CHAOS_ENV, "off")  # the primary's Like service fails on purpose
    url = accelerator_url(two_sites, lab4["accelerator"])
    set_dials(two_sites, lab4, 100, 0)
    before = likes(two_sites, PRIMARY)
    curled = subprocess.run(
        ["curl", "-s", "-X", "POST", "--data-binary", "", f"{url}/mysfits/{GRETTA}/like"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert curled.stdout == '{"Update": "Success"}', curled.stderr
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    connection.request("POST", f"/mysfits/{GRETTA}/like", body=b"x" * 100_000)
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b'{"Update": "Success"}')
    connection.close()
    assert likes(two_sites, PRIMARY) == before + 2


def test_a_kept_alive_connection_stays_with_one_endpoint(
    lab4: dict[str, str], two_sites: Sandbox
) -> None:
    """Global Accelerator places a connection, not a request: every request on a kept-alive
    connection is served by the same region (mmtui's load generator labels connections so),
    even though the sites close their own connections after each answer."""
    url = accelerator_url(two_sites, lab4["accelerator"])
    wait_for(lambda: all_healthy(two_sites, lab4), "both endpoints to be HEALTHY")
    set_dials(two_sites, lab4, 50, 50)
    served = extension(two_sites).served
    served.clear()
    address = urlsplit(url)
    for _ in range(4):
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
        regions: list[str] = []
        for _ in range(5):
            connection.request("GET", "/")
            response = connection.getresponse()
            assert response.status == 200 and response.getheader("Connection") != "close"
            regions += re.findall(r"Current region: ([a-z0-9-]+)", response.read().decode())
        assert connection.sock is not None  # still the first connection: none was opened again
        connection.close()
        assert len(regions) == 5 and len(set(regions)) == 1, regions
    assert sum(served.by_region(lab4["accelerator"]).values()) == 4


def test_an_http_1_0_keep_alive_client_as_ab_k(lab4: dict[str, str], two_sites: Sandbox) -> None:
    url = urlsplit(accelerator_url(two_sites, lab4["accelerator"]))
    request = b"GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=10) as client:
        reader = client.makefile("rb")
        for _ in range(2):
            client.sendall(request)
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = reader.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200") and headers["connection"] == "keep-alive"
            assert b"Current region: us-west-2" in body
        client.sendall(b"HEAD / HTTP/1.0\r\nHost: x\r\n\r\n")  # no keep-alive: closes
        assert reader.readline().startswith(b"HTTP/1.1 200")
        while reader.readline() not in (b"\r\n", b""):
            pass
        assert reader.read() == b""  # no body for HEAD, and the connection ends


def test_every_dial_at_zero_fails_the_connection(lab4: dict[str, str], two_sites: Sandbox) -> None:
    url = accelerator_url(two_sites, lab4["accelerator"])
    set_dials(two_sites, lab4, 0, 0)
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        served_region(url)
