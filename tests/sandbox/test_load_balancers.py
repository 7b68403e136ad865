"""Load balancers that answer on loopback, playing the workshop's application per region."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from mmtui.sandbox.behaviours.load_balancers import LoadBalancers
from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop.primary_app import stack_outputs
from mmtui.sandbox.workshop.stacks import CAPABILITIES
from mmtui.target.connect import parse_resolve, read_env_file
from tests.conftest import AttendeeSandbox, aws_cli, secondary_template

GRETTA = "da5303ae-5aba-495c-b5d6-eb5c4a66b941"
CONTAINERS = {"Core": "service", "Like": "like-service"}
TAG = "0123456789abcdef0123456789abcdef01234567"
"""A commit id, as the pipeline tags its images."""


def image_manifest(name: str) -> str:
    digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1470,
                "digest": digest,
            },
            "layers": [],
        }
    )


def register_with_image(ecs: Any, definition_arn: str, container: str, image: str) -> str:
    """A new revision of the task definition running `image` (what an ECS deploy does)."""
    current = ecs.describe_task_definition(taskDefinition=definition_arn)["taskDefinition"]
    containers = [
        dict(spec, image=image) if spec["name"] == container else spec
        for spec in current["containerDefinitions"]
    ]
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "cpu", "memory")
    registered = ecs.register_task_definition(
        containerDefinitions=containers, **{k: current[k] for k in keep if k in current}
    )
    return str(registered["taskDefinition"]["taskDefinitionArn"])


def fetch(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def site(sandbox: Sandbox, region: str) -> str:
    (url,) = [u for dns, u in sandbox.resolve_map().items() if f".{region}." in dns]
    return url


def likes(sandbox: Sandbox, region: str, mysfit: str = GRETTA) -> int:
    item = sandbox.client("dynamodb", region).get_item(
        TableName="mm-ddbtable", Key={"MysfitId": {"S": mysfit}}
    )["Item"]
    return int(item["Likes"]["N"])


@pytest.fixture
def no_chaos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMTUI_SANDBOX_CHAOS", "off")


def test_primary_site_serves_page_list_and_likes(sandbox: Sandbox, no_chaos: None) -> None:
    url = site(sandbox, "us-west-2")
    status, page = fetch(url + "/")
    assert status == 200
    assert "Current region: us-west-2" in page
    assert "fetch('/mysfits')" in page  # the browser loads the list, as on the Core service
    status, body = fetch(url + "/mysfits")
    mysfits = json.loads(body)["mysfits"]
    assert status == 200 and len(mysfits) == 12
    assert {m["name"] for m in mysfits} >= {"Evangeline", "Gretta", "Twilight Glitter"}
    before = likes(sandbox, "us-west-2")
    assert fetch(f"{url}/mysfits/{GRETTA}/like", "POST") == (200, '{"Update": "Success"}')
    assert likes(sandbox, "us-west-2") == before + 1
    assert fetch(f"{url}/mysfits/{GRETTA}/like")[0] == 405
    assert fetch(url + "/nowhere")[0] == 404


def test_the_page_answers_without_the_table_and_the_list_needs_it(sandbox: Sandbox) -> None:
    """The Core service's `/` only names its region (the load balancer's health check hits
    it), so it answers while the table cannot be read; `/mysfits` reads the table."""
    sandbox.client("dynamodb", "us-west-2").delete_table(TableName="mm-ddbtable")
    url = site(sandbox, "us-west-2")
    status, page = fetch(url + "/")
    assert status == 200
    assert "Current region: us-west-2" in page
    assert fetch(url + "/mysfits")[0] == 502


def test_primary_like_service_runs_in_chaos_mode(sandbox: Sandbox) -> None:
    url = site(sandbox, "us-west-2")
    statuses = {fetch(f"{url}/mysfits/{GRETTA}/like", "POST")[0] for _ in range(40)}
    # Chaos mode fails about 30% with 500 and 30% with 404; 40 tries see all three.
    assert statuses == {200, 404, 500}


def test_env_file_publishes_each_load_balancer(sandbox: Sandbox) -> None:
    env = read_env_file(sandbox.state_dir / "sandbox.env")
    resolve = parse_resolve(env["MMTUI_RESOLVE"])
    assert resolve == sandbox.resolve_map()
    (dns,) = resolve
    outputs = stack_outputs(sandbox, "mm-multi-region", "us-west-2")
    assert dns == outputs["LoadBalancerDNS"]


def _create_secondary(sandbox: Sandbox) -> dict[str, str]:
    cloudformation = sandbox.client("cloudformation", "us-east-1")
    cloudformation.create_stack(
        StackName="mm-secondary-region",
        TemplateBody=secondary_template(),
        Capabilities=CAPABILITIES,
        Parameters=[{"ParameterKey": "IsSecondary", "ParameterValue": "true"}],
    )
    return stack_outputs(sandbox, "mm-secondary-region", "us-east-1")


def _deploy(sandbox: Sandbox, region: str, outputs: dict[str, str], image_region: str) -> None:
    """What the pipeline's ECS deploy does: a new task definition revision with the image."""
    ecs = sandbox.client("ecs", region)
    for label, container in CONTAINERS.items():
        repository_uri = outputs[f"Secondary{label}ServiceEcrRepo"].replace(
            f".{region}.", f".{image_region}."
        )
        repository = repository_uri.split("/", 1)[1]
        tag = TAG
        if image_region == region:
            sandbox.client("ecr", region).put_image(
                repositoryName=repository, imageTag=tag, imageManifest=image_manifest(repository)
            )
        service_name = outputs[f"{label}EcsServiceName"]
        service: dict[str, Any] = ecs.describe_services(
            cluster=outputs["EcsClusterName"], services=[service_name]
        )["services"][0]
        revision = register_with_image(
            ecs, service["taskDefinition"], container, f"{repository_uri}:{tag}"
        )
        ecs.update_service(
            cluster=outputs["EcsClusterName"], service=service_name, taskDefinition=revision
        )


def test_new_secondary_answers_503_until_its_own_images_run(
    sandbox: Sandbox, no_chaos: None
) -> None:
    outputs = _create_secondary(sandbox)
    resolve = sandbox.resolve_map()
    assert outputs["SecondaryLoadBalancerDNS"] in resolve
    env = read_env_file(sandbox.state_dir / "sandbox.env")
    assert outputs["SecondaryLoadBalancerDNS"] in parse_resolve(env["MMTUI_RESOLVE"])
    url = resolve[outputs["SecondaryLoadBalancerDNS"]]
    assert fetch(url + "/")[0] == 503  # the placeholder image is not the application

    # An image from the primary's registry does not count: ECS pulls from its own region.
    _deploy(sandbox, "us-east-1", outputs, image_region="us-west-2")
    assert fetch(url + "/")[0] == 503

    # Give the secondary its own table (step 2's replica does this in the lab) and images.
    dynamodb = sandbox.client("dynamodb", "us-east-1")
    dynamodb.create_table(
        TableName="mm-ddbtable",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "MysfitId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "MysfitId", "AttributeType": "S"}],
    )
    dynamodb.put_item(
        TableName="mm-ddbtable",
        Item={"MysfitId": {"S": GRETTA}, "Name": {"S": "Gretta"}, "Likes": {"N": "5"}},
    )
    _deploy(sandbox, "us-east-1", outputs, image_region="us-east-1")
    status, page = fetch(url + "/")
    assert status == 200
    assert "Current region: us-east-1" in page
    assert fetch(f"{url}/mysfits/{GRETTA}/like", "POST")[0] == 200  # chaos is off there
    assert likes(sandbox, "us-east-1") == 6
    assert likes(sandbox, "us-west-2") == 0  # no global table yet: the regions are apart


def test_deleted_load_balancer_stops_answering(sandbox: Sandbox) -> None:
    outputs = _create_secondary(sandbox)
    url = sandbox.resolve_map()[outputs["SecondaryLoadBalancerDNS"]]
    elbv2 = sandbox.client("elbv2", "us-east-1")
    (arn,) = [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert outputs["SecondaryLoadBalancerDNS"] not in sandbox.resolve_map()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/", timeout=5)


# ---------------------------------------------------------------------- target health

PRIMARY = "us-west-2"
STACK = "mm-multi-region"
VPC_CIDR = "10.0.0.0/16"
NARROWED = "10.0.0.0/32"
"""Lab 5's second way to break a region: the tasks' ingress rule narrowed to one address."""
INTERVAL = 0.5
"""The sandbox's seconds for AWS's 10 s health check interval in the timed tests (a factor
of 0.05: the template's checks every 0.5 s, their 5 s timeout 0.25 s, thresholds 3 and 3,
deregistration delay 30 s → 1.5 s, the ALB's 10 s connection timeout → 0.5 s)."""
FACTOR = INTERVAL / 10
SLACK = 1.5
"""What a busy machine may add to a timed transition (the board is checked every poll)."""


def balancers(sandbox: Sandbox) -> LoadBalancers:
    return sandbox.extension(LoadBalancers)


def balancer_arn(sandbox: Sandbox, region: str = PRIMARY) -> str:
    (balancer,) = sandbox.client("elbv2", region).describe_load_balancers()["LoadBalancers"]
    return str(balancer["LoadBalancerArn"])


def target_health(
    sandbox: Sandbox, group: str, region: str = PRIMARY, **kwargs: Any
) -> list[dict[str, Any]]:
    described = sandbox.client("elbv2", region).describe_target_health(
        TargetGroupArn=group, **kwargs
    )
    return list(described["TargetHealthDescriptions"])


def states(sandbox: Sandbox, group: str) -> list[str]:
    return [d["TargetHealth"]["State"] for d in target_health(sandbox, group)]


def wait_until(condition: Any, timeout: float = 15.0) -> float:
    """Seconds until `condition()` holds, polled without sleeping long; fails at `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition never held"
        time.sleep(0.02)
    return time.monotonic() - started


def within(low: float, high: float, before: float, after: float, done: float) -> None:
    """A change made by a call between `before` and `after` took effect at `done` no sooner
    than `low` and no later than `high` (+ SLACK) after it: judged from the side of the call
    that cannot make a right answer look wrong."""
    assert done - before >= low, (done - before, low)
    assert done - after <= high + SLACK, (done - after, high)


def set_desired(sandbox: Sandbox, count: int) -> None:
    """Lab 5's first way to break a region: both services at "Number of tasks" `count`."""
    outputs = stack_outputs(sandbox, STACK, PRIMARY)
    ecs = sandbox.client("ecs", PRIMARY)
    for label in ("Core", "Like"):
        ecs.update_service(
            cluster=outputs["EcsClusterName"],
            service=f"{STACK}_{label}-Service",
            desiredCount=count,
        )


@pytest.fixture
def timed(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The sandbox with its load balancers at FACTOR of AWS's durations (put back after)."""
    monkeypatch.setattr(balancers(sandbox), "health_interval_seconds", INTERVAL)
    return sandbox


def test_baseline_targets_are_the_services_tasks_and_healthy(sandbox: Sandbox) -> None:
    outputs = stack_outputs(sandbox, STACK, PRIMARY)
    private = [
        ipaddress.ip_network(subnet["CidrBlock"])
        for subnet in sandbox.client("ec2", PRIMARY).describe_subnets(
            SubnetIds=[outputs["PrivateSubnetOne"], outputs["PrivateSubnetTwo"]]
        )["Subnets"]
    ]
    for group in ("MythicalServiceTargetGroupArn", "LikeServiceTargetGroupArn"):
        (description,) = target_health(sandbox, outputs[group])
        target = description["Target"]
        assert any(ipaddress.ip_address(target["Id"]) in subnet for subnet in private)
        assert target["Port"] == 8080 and description["HealthCheckPort"] == "8080"
        assert description["TargetHealth"] == {"State": "healthy"}
    assert balancers(sandbox).target_health(balancer_arn(sandbox)) == "healthy"
    # A target named that is not registered is unused, as AWS says.
    (unused,) = target_health(
        sandbox,
        outputs["MythicalServiceTargetGroupArn"],
        Targets=[{"Id": "10.0.2.200", "Port": 8080}],
    )
    assert unused["TargetHealth"] == {
        "State": "unused",
        "Reason": "Target.NotRegistered",
        "Description": "Target is not registered to the target group",
    }


def test_at_time_scale_zero_health_follows_at_once(sandbox: Sandbox, no_chaos: None) -> None:
    outputs = stack_outputs(sandbox, STACK, PRIMARY)
    core = outputs["MythicalServiceTargetGroupArn"]
    url, arn = site(sandbox, PRIMARY), balancer_arn(sandbox)
    set_desired(sandbox, 0)
    assert target_health(sandbox, core) == []  # drained at once: no time passes at scale 0
    assert fetch(url + "/")[0] == 503
    assert fetch(f"{url}/mysfits/{GRETTA}/like", "POST")[0] == 503
    assert balancers(sandbox).target_health(arn) == "unhealthy"
    set_desired(sandbox, 1)
    assert states(sandbox, core) == ["healthy"]
    assert fetch(url + "/")[0] == 200

    ec2 = sandbox.client("ec2", PRIMARY)
    narrow(ec2, outputs["FargateContainerSecurityGroup"])
    (description,) = target_health(sandbox, core)
    assert description["TargetHealth"] == {
        "State": "unhealthy",
        "Reason": "Target.Timeout",
        "Description": "Request timed out",
    }
    assert balancers(sandbox).target_health(arn) == "unhealthy"
    status, page = fetch(url + "/")
    assert status == 504 and "504 Gateway Time-out" in page
    widen_with_cli(sandbox, outputs["FargateContainerSecurityGroup"])
    assert states(sandbox, core) == ["healthy"]
    assert balancers(sandbox).target_health(arn) == "healthy"


def narrow(ec2: Any, group: str) -> None:
    """The tasks' ingress rule changed to NARROWED, as the EC2 console edits a rule."""
    ec2.revoke_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": VPC_CIDR}]}]
    )
    ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": NARROWED}]}]
    )


def widen_with_cli(sandbox: Sandbox, group: str) -> None:
    """The VPC's rule put back with the aws CLI, as an attendee restores it."""
    revoke_narrowed_with_cli(sandbox, group)
    aws_cli(
        sandbox,
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        group,
        "--protocol",
        "-1",
        "--cidr",
        VPC_CIDR,
        "--region",
        PRIMARY,
    )


def revoke_narrowed_with_cli(sandbox: Sandbox, group: str) -> None:
    aws_cli(
        sandbox,
        "ec2",
        "revoke-security-group-ingress",
        "--group-id",
        group,
        "--ip-permissions",
        f"IpProtocol=-1,IpRanges=[{{CidrIp={NARROWED}}}]",
        "--region",
        PRIMARY,
    )


def test_no_tasks_drain_the_targets_and_the_site_answers_503(
    timed: Sandbox, no_chaos: None
) -> None:
    """Lab 5, option 1. ECS deregisters a task's target before it stops the task, so the
    target drains at once (the ALB sends it nothing new) for the group's deregistration
    delay, then leaves the group: the ALB answers 503 from the start, without waiting for
    failed health checks. A new task's target is `initial` until its first check passes."""
    sandbox = timed
    outputs = stack_outputs(sandbox, STACK, PRIMARY)
    core = outputs["MythicalServiceTargetGroupArn"]
    url, arn = site(sandbox, PRIMARY), balancer_arn(sandbox)
    assert fetch(url + "/")[0] == 200
    before = time.monotonic()
    set_desired(sandbox, 0)
    after = time.monotonic()
    (draining,) = target_health(sandbox, core)
    assert draining["TargetHealth"] == {
        "State": "draining",
        "Reason": "Target.DeregistrationInProgress",
        "Description": "Target deregistration is in progress",
    }
    assert fetch(url + "/")[0] == 503
    assert fetch(f"{url}/mysfits/{GRETTA}/like", "POST")[0] == 503
    assert balancers(sandbox).target_health(arn) == "unhealthy"
    wait_until(lambda: target_health(sandbox, core) == [])
    delay = 30 * FACTOR  # deregistration_delay.timeout_seconds of the template
    within(delay, delay, before, after, time.monotonic())

    before = time.monotonic()
    set_desired(sandbox, 1)
    after = time.monotonic()
    (registering,) = target_health(sandbox, core)
    assert registering["TargetHealth"]["State"] == "initial"
    assert registering["TargetHealth"]["Reason"] == "Elb.RegistrationInProgress"
    assert fetch(url + "/")[0] == 503  # not routed to before its first check passes
    assert balancers(sandbox).target_health(arn) == "unhealthy"  # judged before: not new
    wait_until(lambda: states(sandbox, core) == ["healthy"])
    # Its first check an interval after it registers, and one passing check suffices.
    within(INTERVAL, INTERVAL, before, after, time.monotonic())
    assert registering["Target"]["Id"] != draining["Target"]["Id"]  # a new task, a new address
    assert fetch(url + "/")[0] == 200
    assert balancers(sandbox).target_health(arn) == "healthy"


def test_narrowed_ingress_fails_the_checks_after_the_threshold(timed: Sandbox) -> None:
    """Lab 5, option 2. The security group drops the load balancer's packets: each check
    times out (5 s), and the target is unhealthy after 3 consecutive failures 10 s apart,
    so 25 to 35 s after the change on AWS. Requests meanwhile wait out the ALB's connection
    timeout and get a 504. Restored, 3 passing checks make it healthy again; meanwhile the ALB
    fails open (it sends requests to unhealthy targets when it has no healthy one), and they
    are answered."""
    sandbox = timed
    outputs = stack_outputs(sandbox, STACK, PRIMARY)
    core, group = outputs["MythicalServiceTargetGroupArn"], outputs["FargateContainerSecurityGroup"]
    url, arn = site(sandbox, PRIMARY), balancer_arn(sandbox)
    before = time.monotonic()
    narrow(sandbox.client("ec2", PRIMARY), group)
    after = time.monotonic()
    assert states(sandbox, core) == ["healthy"]  # not yet: no check has failed
    began = time.monotonic()
    assert fetch(url + "/")[0] == 504
    assert time.monotonic() - began >= 10 * FACTOR  # the ALB's connection timeout
    wait_until(lambda: states(sandbox, core) == ["unhealthy"])
    # 3 failures: the first check comes up to an interval after the change, each failure
    # lands at its check's timeout.
    timeout = 5 * FACTOR
    within(2 * INTERVAL + timeout, 3 * INTERVAL + timeout, before, after, time.monotonic())
    (description,) = target_health(sandbox, core)
    assert description["TargetHealth"]["Reason"] == "Target.Timeout"
    assert balancers(sandbox).target_health(arn) == "unhealthy"
    assert fetch(url + "/")[0] == 504

    # Restored: the narrowed rule removed with the aws CLI (nothing may reach the tasks then),
    # the VPC's rule put back through boto3, whose call takes milliseconds where the CLI's
    # take a second: the moment the checks start passing is known closely.
    revoke_narrowed_with_cli(sandbox, group)
    (rules,) = sandbox.client("ec2", PRIMARY).describe_security_groups(GroupIds=[group])[
        "SecurityGroups"
    ]
    assert rules["IpPermissions"] == []
    assert fetch(url + "/")[0] == 504
    before = time.monotonic()
    sandbox.client("ec2", PRIMARY).authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": VPC_CIDR}]}]
    )
    after = time.monotonic()
    assert states(sandbox, core) == ["unhealthy"]
    assert fetch(url + "/")[0] == 200  # fails open: the unhealthy target answers again
    wait_until(lambda: states(sandbox, core) == ["healthy"])
    within(2 * INTERVAL, 3 * INTERVAL, before, after, time.monotonic())
    assert balancers(sandbox).target_health(arn) == "healthy"


def test_a_rollout_registers_the_new_tasks_before_the_old_ones_drain(
    timed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new task definition (what the pipeline's deploy does): the new deployment's task
    registers beside the old one's, which serves until the rollout completes and then drains;
    the site answers throughout."""
    from mmtui.sandbox.moto_repairs import ecs_services_never_start

    sandbox = timed
    rollout = 4 * INTERVAL
    monkeypatch.setattr(ecs_services_never_start, "ROLLOUT_SECONDS", rollout)
    outputs = stack_outputs(sandbox, STACK, PRIMARY)
    core, url = outputs["MythicalServiceTargetGroupArn"], site(sandbox, PRIMARY)
    ecs = sandbox.client("ecs", PRIMARY)
    cluster, name = outputs["EcsClusterName"], f"{STACK}_Core-Service"
    service = ecs.describe_services(cluster=cluster, services=[name])["services"][0]
    (old,) = target_health(sandbox, core)
    current = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    image = next(
        spec["image"]
        for spec in current["taskDefinition"]["containerDefinitions"]
        if spec["name"] == "service"
    )
    revision = register_with_image(ecs, service["taskDefinition"], "service", image)
    ecs.update_service(cluster=cluster, service=name, taskDefinition=revision)
    seen: list[dict[str, str]] = []
    statuses: set[int] = set()

    def old_gone() -> bool:
        statuses.add(fetch(url + "/")[0])
        described = target_health(sandbox, core)
        seen.append({d["Target"]["Id"]: d["TargetHealth"]["State"] for d in described})
        return old["Target"]["Id"] not in seen[-1]

    wait_until(old_gone)
    assert statuses == {200}  # never without a target that serves
    old_id = old["Target"]["Id"]
    # At first the old task serves and the new one registers; at the rollout's end the old
    # one drains (the new one healthy by then), then leaves.
    assert seen[0][old_id] == "healthy"
    assert sorted(seen[0].values()) == ["healthy", "initial"]
    assert any(states.get(old_id) == "draining" for states in seen)
    assert all("healthy" in states.values() for states in seen[1:])
    (new,) = target_health(sandbox, core)
    assert new["TargetHealth"] == {"State": "healthy"} and new["Target"]["Id"] != old_id


# ---------------------------------------------------------------------- metrics


def metric_sum(
    sandbox: Sandbox, name: str, full_name: str, region: str = PRIMARY, stat: str = "Sum"
) -> float:
    now = datetime.now(UTC)
    answer = sandbox.client("cloudwatch", region).get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": name,
                        "Dimensions": [{"Name": "LoadBalancer", "Value": full_name}],
                    },
                    "Period": 60,
                    "Stat": stat,
                },
            }
        ],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
    )
    values = answer["MetricDataResults"][0]["Values"]
    return float(sum(values)) if stat == "Sum" else float(values[-1]) if values else 0.0


@pytest.fixture
def quick_metrics(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    monkeypatch.setattr(balancers(sandbox), "metrics_flush_seconds", 0.1)
    return sandbox


def test_traffic_is_published_as_the_load_balancers_metrics(
    quick_metrics: Sandbox, no_chaos: None
) -> None:
    sandbox = quick_metrics
    outputs = stack_outputs(sandbox, STACK, PRIMARY)
    full_name = outputs["LoadBalancerFullName"]
    url = site(sandbox, PRIMARY)
    for _ in range(5):
        assert fetch(url + "/")[0] == 200
    assert fetch(url + "/nowhere")[0] == 404
    assert fetch(f"{url}/mysfits/{GRETTA}/like", "POST")[0] == 200
    wait_until(lambda: metric_sum(sandbox, "RequestCount", full_name) == 7)
    assert metric_sum(sandbox, "HTTPCode_Target_2XX_Count", full_name) == 6
    assert metric_sum(sandbox, "HTTPCode_Target_4XX_Count", full_name) == 1
    assert 0 < metric_sum(sandbox, "TargetResponseTime", full_name, stat="Average") < 10
    statistics = sandbox.client("cloudwatch", PRIMARY).get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName="RequestCount",
        Dimensions=[{"Name": "LoadBalancer", "Value": full_name}],
        StartTime=datetime.now(UTC) - timedelta(minutes=10),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in statistics["Datapoints"]) == 7

    # The load balancer's own 503s (no target) are ELB errors, not requests to a target.
    set_desired(sandbox, 0)
    for _ in range(2):
        assert fetch(url + "/")[0] == 503
    wait_until(lambda: metric_sum(sandbox, "HTTPCode_ELB_503_Count", full_name) == 2)
    assert metric_sum(sandbox, "HTTPCode_ELB_5XX_Count", full_name) == 2
    assert metric_sum(sandbox, "RequestCount", full_name) == 7
    assert metric_sum(sandbox, "HTTPCode_Target_5XX_Count", full_name) == 0


def test_each_load_balancers_metrics_are_in_its_own_region(
    quick_metrics: Sandbox, no_chaos: None
) -> None:
    sandbox = quick_metrics
    outputs = _create_secondary(sandbox)
    _deploy(sandbox, "us-east-1", outputs, image_region="us-east-1")
    url = sandbox.resolve_map()[outputs["SecondaryLoadBalancerDNS"]]
    for _ in range(3):
        assert fetch(url + "/")[0] == 200
    full_name = outputs["LoadBalancerFullName"]
    wait_until(lambda: metric_sum(sandbox, "RequestCount", full_name, "us-east-1") == 3)
    assert metric_sum(sandbox, "RequestCount", full_name, PRIMARY) == 0


def test_customers_cannot_put_metrics_in_aws_namespaces(sandbox: Sandbox) -> None:
    cloudwatch = sandbox.client("cloudwatch", PRIMARY)
    datum = [{"MetricName": "RequestCount", "Value": 1000.0}]
    with pytest.raises(ClientError) as refused:
        cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=datum)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == "The value AWS/ApplicationELB for parameter Namespace is invalid."
    cloudwatch.put_metric_data(Namespace="Mysfits/Custom", MetricData=datum)  # their own: fine
    listed = cloudwatch.list_metrics(Namespace="AWS/ApplicationELB")["Metrics"]
    assert listed == []


def test_an_attendee_accounts_traffic_is_its_own_accounts_metrics(
    attendee_accounts: Callable[[int], AttendeeSandbox],
    monkeypatch: pytest.MonkeyPatch,
    no_chaos: None,
) -> None:
    room = attendee_accounts(1)
    monkeypatch.setattr(balancers(room.sandbox), "metrics_flush_seconds", 0.1)
    account = room.ids[0]
    session = room.session(account)
    stack = session.client("cloudformation", endpoint_url=room.url).describe_stacks(
        StackName=STACK
    )["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    url = room.sandbox.resolve_map()[outputs["LoadBalancerDNS"]]
    for _ in range(4):
        assert fetch(url + "/")[0] == 200
    theirs = session.client("cloudwatch", endpoint_url=room.url)

    def requests(client: Any) -> float:
        now = datetime.now(UTC)
        points = client.get_metric_statistics(
            Namespace="AWS/ApplicationELB",
            MetricName="RequestCount",
            Dimensions=[{"Name": "LoadBalancer", "Value": outputs["LoadBalancerFullName"]}],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return float(sum(point["Sum"] for point in points))

    wait_until(lambda: requests(theirs) == 4)
    assert requests(room.sandbox.client("cloudwatch", PRIMARY)) == 0  # not the default account's


def test_the_reserved_namespace_is_read_in_every_wire_format() -> None:
    """boto3 and the CLI send CloudWatch calls as JSON here; botocore can also send CBOR
    (Smithy RPC v2) or the query protocol: the refusal reads all three."""
    import botocore.session
    from botocore.serialize import create_serializer

    from mmtui.sandbox.behaviours.load_balancers.api import refuse_reserved_namespace
    from mmtui.sandbox.core.protocol import AwsRequest

    model = botocore.session.get_session().get_service_model("cloudwatch")
    operation = model.operation_model("PutMetricData")
    for protocol in ("smithy-rpc-v2-cbor", "json", "query"):
        for namespace, refused in (("AWS/ApplicationELB", True), ("Mysfits", False)):
            serialized = create_serializer(protocol).serialize_to_request(
                {"Namespace": namespace, "MetricData": [{"MetricName": "m", "Value": 1.0}]},
                operation,
            )
            headers = {name.lower(): str(value) for name, value in serialized["headers"].items()}
            body = serialized["body"]
            if isinstance(body, dict):  # the query protocol's form, encoded as it is sent
                body = urlencode(body)
            data = body if isinstance(body, bytes) else str(body).encode()
            request = AwsRequest("POST", "/", "", headers, data, service="monitoring")
            answer = refuse_reserved_namespace(request)
            assert (answer is not None) == refused, (protocol, namespace)
            if answer is not None:
                assert answer.status == 400 and b"InvalidParameterValue" in answer.body
