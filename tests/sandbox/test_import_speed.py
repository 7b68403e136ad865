"""moto's cheaper import (moto_repairs/import_speed.py) changes nothing moto answers.

The import hooks rely on moto's internals at the pinned version: the module-level `Session`
calls of its EC2 regions, `AccountSpecificBackend.get_session`, the instance type offerings'
loading loop, and API Gateway's imports of openapi_spec_validator. Each test here compares what
the sandbox answers with what moto answers without the hooks (a fresh interpreter importing
moto directly), and checks that the hooks really acted, so a moto upgrade that moves any of
them fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.moto_repairs import import_speed

REGIONS = ("us-west-2", "us-east-1", "eu-west-1")
LOCATION_TYPES = ("region", "availability-zone", "availability-zone-id")

# Run in a fresh interpreter that never imports mmtui: moto as it loads by itself, served
# in-process by mock_aws. Prints what EC2 answers, as JSON.
UNTOUCHED_MOTO = """
import json, sys
import boto3
from moto import mock_aws

regions, location_types = json.loads(sys.argv[1])
with mock_aws():
    answers = {}
    first = boto3.client("ec2", region_name=regions[0])
    answers["regions"] = sorted(
        (r["RegionName"], r["Endpoint"], r["OptInStatus"])
        for r in first.describe_regions(AllRegions=True)["Regions"]
    )
    for region in regions:
        ec2 = boto3.client("ec2", region_name=region)
        answers["zones " + region] = [
            (z["ZoneName"], z["ZoneId"])
            for z in ec2.describe_availability_zones()["AvailabilityZones"]
        ]
        for location_type in location_types:
            offerings = ec2.describe_instance_type_offerings(LocationType=location_type)
            answers[location_type + " " + region] = sorted(
                (o["InstanceType"], o["Location"], o["LocationType"])
                for o in offerings["InstanceTypeOfferings"]
            )
        answers["t3 " + region] = ec2.describe_instance_types(InstanceTypes=["t3.micro"])[
            "InstanceTypes"
        ][0]["MemoryInfo"]
    assert "mmtui" not in sys.modules
    print(json.dumps(answers))
"""


def untouched_answers() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", UNTOUCHED_MOTO, json.dumps([REGIONS, LOCATION_TYPES])],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert done.returncode == 0, done.stderr
    answers: dict[str, Any] = json.loads(done.stdout)
    return answers


def sandbox_answers(sandbox: Sandbox) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    first = sandbox.client("ec2", REGIONS[0])
    answers["regions"] = sorted(
        [r["RegionName"], r["Endpoint"], r["OptInStatus"]]
        for r in first.describe_regions(AllRegions=True)["Regions"]
    )
    for region in REGIONS:
        ec2 = sandbox.client("ec2", region)
        answers["zones " + region] = [
            [z["ZoneName"], z["ZoneId"]]
            for z in ec2.describe_availability_zones()["AvailabilityZones"]
        ]
        for location_type in LOCATION_TYPES:
            offerings = ec2.describe_instance_type_offerings(LocationType=location_type)
            answers[location_type + " " + region] = sorted(
                [o["InstanceType"], o["Location"], o["LocationType"]]
                for o in offerings["InstanceTypeOfferings"]
            )
        answers["t3 " + region] = ec2.describe_instance_types(InstanceTypes=["t3.micro"])[
            "InstanceTypes"
        ][0]["MemoryInfo"]
    return answers


def test_the_hooks_acted_on_the_pinned_moto(sandbox: Sandbox) -> None:
    import boto3
    from moto.core.base_backend import AccountSpecificBackend
    from moto.ec2.models import availability_zones_and_regions, instance_types
    from moto.utilities import utils

    # One session for every region lookup, and moto's own name for Session put back.
    assert AccountSpecificBackend.get_session() is import_speed.shared_session()
    assert vars(availability_zones_and_regions)["Session"] is boto3.Session
    assert boto3.Session is boto3.session.Session
    # The offerings are read lazily, each location type with every region's file.
    offerings = instance_types.INSTANCE_TYPE_OFFERINGS
    assert set(offerings) == set(LOCATION_TYPES)
    for location_type in LOCATION_TYPES:
        assert isinstance(offerings[location_type], import_speed.LazyOfferings)
        assert len(offerings[location_type]) > 20
    assert vars(instance_types)["load_resource"] is vars(utils)["load_resource"]
    # openapi_spec_validator's stand-ins are gone from sys.modules once API Gateway loaded.
    stand_in = sys.modules.get("openapi_spec_validator")
    assert stand_in is None or getattr(stand_in, "__file__", None) is not None


def test_ec2_regions_zones_and_offerings_are_moto_s_own(sandbox: Sandbox) -> None:
    expected = untouched_answers()
    got = sandbox_answers(sandbox)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == value, key
    assert len(got["regions"]) > 25
    assert got["zones us-west-2"][0] == ["us-west-2a", "usw2-az2"]
    assert ["t3.micro", "us-west-2", "region"] in got["region us-west-2"]


def test_a_zone_of_another_region_is_still_refused(sandbox: Sandbox) -> None:
    """RunInstances checks its zone against the region's offerings (read on first use)."""
    ec2 = sandbox.client("ec2", "us-west-2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    with pytest.raises(ec2.exceptions.ClientError) as refused:
        ec2.run_instances(
            ImageId=image,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            Placement={"AvailabilityZone": "us-east-1a"},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "(us-east-1a)" in refused.value.response["Error"]["Message"]
    started = ec2.run_instances(
        ImageId=image,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        Placement={"AvailabilityZone": "us-west-2b"},
    )
    assert started["Instances"][0]["Placement"]["AvailabilityZone"] == "us-west-2b"


def test_openapi_documents_are_still_validated(sandbox: Sandbox) -> None:
    """API Gateway imports openapi_spec_validator when it first validates a document: an
    invalid one is refused as moto refuses it, a valid one imported."""
    apigateway = sandbox.client("apigateway", "us-west-2")
    invalid = {"openapi": "3.0.0", "info": {"title": "broken", "description": "x"}}
    with pytest.raises(apigateway.exceptions.BadRequestException) as refused:
        apigateway.import_rest_api(body=json.dumps(invalid).encode(), failOnWarnings=True)
    assert "paths" in refused.value.response["Error"]["Message"]
    valid = {
        "openapi": "3.0.0",
        "info": {"title": "fine", "description": "a valid document", "version": "1"},
        "paths": {},
    }
    imported = apigateway.import_rest_api(body=json.dumps(valid).encode(), failOnWarnings=True)
    assert imported["name"] == "fine"
    from moto.apigateway import models
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    assert vars(models)["OpenAPIValidationError"] is OpenAPIValidationError


def test_templates_read_by_libyaml_are_read_as_moto_reads_them(sandbox: Sandbox) -> None:
    """cloudformation/template_speed.py: the workshop's templates (short-form tags, nested
    stacks) give the same dictionaries as PyYAML's pure-Python loader, and a template that is
    not YAML still falls back to JSON."""
    from importlib import resources

    import yaml
    from moto.cloudformation import models

    stand_in = vars(models)["yaml"]
    assert type(stand_in).__name__ == "YamlForTemplates"
    assert issubclass(stand_in.Loader, yaml.CLoader)
    folder = resources.files("mmtui.sandbox.workshop").joinpath("assets", "workshop", "cfn")
    templates = [f for f in folder.iterdir() if f.name.endswith(".yml")]
    assert len(templates) >= 3
    for template in templates:
        text = template.read_text(encoding="utf-8")
        fast = models.Stack.parse_template(text)
        yaml.add_multi_constructor("", vars(models)["yaml_tag_constructor"])
        assert fast == yaml.load(text, Loader=yaml.Loader), template.name
    assert models.Stack.parse_template('{"Resources": {"A":\t{"Type": "X"}}}') == {
        "Resources": {"A": {"Type": "X"}}
    }
    # YAML 1.1 as moto reads it: an unquoted `No` is false.
    assert models.Stack.parse_template("Conditions:\n  No: !Not [!Condition Primary]\n") == {
        "Conditions": {False: {"Fn::Not": [{"Condition": "Primary"}]}}
    }


def test_endpoint_prefixes_read_from_the_models_heads_are_botocore_s() -> None:
    """The shared session finds each service's endpoint prefix in its model's first bytes:
    that is the prefix of the whole model, or nothing (the whole model is loaded then), and
    the regions it answers are botocore's own. Checked for the workshop's services and every
    fourth of the rest (all 455 took 7.6 s of the suite: a change of botocore's layout shows in
    any sample of them)."""
    import botocore.session

    reference = botocore.session.Session()
    shared = import_speed.shared_session()
    available = reference.get_available_services()
    assert len(available) > 300
    workshop = {"ec2", "ecs", "elbv2", "dynamodb", "cloudformation", "codecommit", "codebuild"}
    workshop |= {"codepipeline", "ecr", "iam", "s3", "sts", "cloudwatch", "logs", "xray"}
    services = sorted(workshop | set(available[::4]))
    found = 0
    for service in services:
        prefix = import_speed.endpoint_prefix(shared._session, service)
        if prefix is not None:
            found += 1
            model = reference.get_service_data(service)
            assert prefix == model["metadata"].get("endpointPrefix", service), service
    assert found > 0.9 * len(services)
    for service in ("ec2", "elbv2", "cloudwatch", "logs", "codecommit", "globalaccelerator"):
        for partition in ("aws", "aws-cn"):
            assert shared.get_available_regions(
                service, partition_name=partition
            ) == reference.get_available_regions(service, partition_name=partition), service
