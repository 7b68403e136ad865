"""Load balancers that answer on loopback, playing the workshop's application per region."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop.primary_app import stack_outputs
from mmtui.sandbox.workshop.stacks import CAPABILITIES
from mmtui.target.connect import parse_resolve, read_env_file
from tests.conftest import secondary_template

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
