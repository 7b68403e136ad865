"""Every moto target the repairs patch is still where, and what, the repairs expect.

The repairs (mmtui/sandbox/moto_repairs/) replace attributes of moto's modules and classes and
often call the original with its own arguments. moto is pinned for this; when the pin moves,
these tests say which repair lost its target or now wraps a function whose parameters changed,
instead of a wrong AWS answer surfacing in some other test. TARGETS is checked against a moto
that no repair has touched (a fresh interpreter), and against what `moto_repairs.install()`
really patched in this process, so the list can neither go stale nor miss a patch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from mmtui.sandbox import moto_repairs
from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.moto_repairs.patching import PATCHED, MotoTargetMissing, patch


class Target(NamedTuple):
    repair: str
    owner: str
    """`module` or `module:Class` in moto."""
    attribute: str
    shape: str | None
    """As the pinned moto has it: a callable's parameters, "property" or "value"; None: moto
    has no such attribute and the repair adds it (moto gaining one would be overwritten)."""


# Written from the pinned moto (its parameters as `describe` below reports them).
TARGETS: tuple[Target, ...] = (
    Target(
        "shared_models",
        "moto.core.utils",
        "_load_service_model",
        "(service_name, model_name)",
    ),
    Target(
        "serializer_key_memo",
        "moto.core.serialize:XFormedAttributePicker",
        "get_possible_keys",
        "(self, context)",
    ),
    Target("access_key_accounts", "moto.iam.models", "get_account_id_from", "(access_key)"),
    Target(
        "xml_body",
        "moto.core.serialize:BaseXMLSerializer",
        "_serialize_body",
        "(self, body)",
    ),
    Target(
        "action_method_names",
        "moto.core.responses",
        "method_names_from_class",
        "(clazz)",
    ),
    Target(
        "serializer_key_memo",
        "moto.core.serialize:ResponseSerializer",
        "get_value",
        "(self, value, key, shape)",
    ),
    Target(
        "cloudformation.template_reading",
        "moto.cloudformation.utils",
        "yaml_tag_constructor",
        "(loader, tag, node)",
    ),
    Target(
        "cloudformation.template_reading",
        "moto.cloudformation.models",
        "yaml_tag_constructor",
        "(loader, tag, node)",
    ),
    Target(
        "cloudformation.template_reading",
        "moto.cloudformation.responses",
        "yaml_tag_constructor",
        "(loader, tag, node)",
    ),
    Target(
        "cloudformation.template_reading",
        "moto.cloudformation.parsing",
        "clean_json",
        "(resource_json, resources_map)",
    ),
    Target("cloudformation.template_speed", "moto.cloudformation.models", "yaml", "value"),
    Target("cloudformation.template_speed", "moto.cloudformation.responses", "yaml", "value"),
    Target(
        "cloudformation.outputs", "moto.cloudformation.parsing:OutputMap", "exports", "property"
    ),
    Target("cloudformation.outputs", "moto.cloudformation.models:Stack", "outputs", "property"),
    Target(
        "cloudformation.outputs",
        "moto.cloudformation.parsing:ResourceMap",
        "validate_outputs",
        "(self)",
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.elbv2.models:FakeLoadBalancer",
        "get_cfn_attribute",
        "(self, attribute_name)",
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.ec2.models.security_groups:SecurityGroup",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.iam.models:Role",
        "update_from_cloudformation_json",
        (
            "(cls, original_resource, new_resource_name, "
            "cloudformation_json, account_id, region_name)"
        ),
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.ecs.models:Service",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.ecs.models:TaskDefinition",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.ecs.models:TaskDefinition",
        "update_from_cloudformation_json",
        (
            "(cls, original_resource, new_resource_name, "
            "cloudformation_json, account_id, region_name)"
        ),
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.elbv2.models:FakeLoadBalancer",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.elbv2.models:FakeTargetGroup",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.ec2.models.vpcs:VPC",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "cloudformation.resource_properties",
        "moto.ec2.models.subnets:Subnet",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.models:CloudFormationBackend",
        "create_stack",
        (
            "(self, name, template, parameters, notification_arns, tags, "
            "role_arn, enable_termination_protection, timeout_in_mins, "
            "stack_policy_body)"
        ),
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.models:CloudFormationBackend",
        "create_change_set",
        (
            "(self, stack_name, change_set_name, template, parameters, "
            "description, change_set_type, notification_arns, tags, "
            "role_arn)"
        ),
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.models:CloudFormationBackend",
        "execute_change_set",
        "(self, change_set_name, stack_name)",
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.models:CloudFormationBackend",
        "delete_stack",
        "(self, name_or_stack_id)",
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.models:Stack",
        "update",
        "(self, template, role_arn, parameters, tags)",
    ),
    Target("cloudformation.lifecycle", "moto.cloudformation.models:Stack", "delete", "(self)"),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.models:Stack",
        "stack_resources",
        "property",
    ),
    Target("cloudformation.lifecycle", "moto.cloudformation.models:ChangeSet", "diff", "(self)"),
    Target(
        "cloudformation.lifecycle", "moto.cloudformation.parsing:ResourceMap", "delete", "(self)"
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.parsing",
        "parse_and_create_resource",
        ("(logical_id, resource_json, resources_map, account_id, region_name)"),
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.responses:CloudFormationResponse",
        "_validate_different_update",
        "(self, incoming_params, stack_body, old_stack)",
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.responses:StackResourceDTO",
        "__init__",
        "(self, stack, resource)",
    ),
    Target(
        "cloudformation.lifecycle",
        "moto.cloudformation.responses:CloudFormationResponse",
        "list_stack_resources",
        "(self)",
    ),
    Target(
        "cloudformation.custom_resources",
        "moto.cloudformation.custom_model:CustomModel",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "lambda_blocked_runtimes",
        "moto.awslambda.models:LambdaBackend",
        "create_function",
        "(self, spec)",
    ),
    Target(
        "lambda_blocked_runtimes",
        "moto.awslambda.models:LambdaFunction",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "lambda_blocked_runtimes",
        "moto.awslambda.models:LambdaFunction",
        "update_from_cloudformation_json",
        (
            "(cls, original_resource, new_resource_name, "
            "cloudformation_json, account_id, region_name)"
        ),
    ),
    Target(
        "cloudformation.nested_stacks.stack_model",
        "moto.cloudformation.models:Stack",
        "physical_resource_id",
        "property",
    ),
    Target(
        "cloudformation.nested_stacks.stack_model",
        "moto.cloudformation.models:Stack",
        "get_cfn_attribute",
        None,
    ),
    Target(
        "cloudformation.nested_stacks.stack_model",
        "moto.cloudformation.models:Stack",
        "create_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)"),
    ),
    Target(
        "cloudformation.nested_stacks.stack_model",
        "moto.cloudformation.models:Stack",
        "delete_from_cloudformation_json",
        ("(cls, resource_name, cloudformation_json, account_id, region_name)"),
    ),
    Target(
        "cloudformation.nested_stacks.stack_model",
        "moto.cloudformation.models:Stack",
        "parent_id",
        None,
    ),
    Target(
        "cloudformation.nested_stacks.stack_model",
        "moto.cloudformation.models:Stack",
        "root_id",
        None,
    ),
    Target(
        "cloudformation.nested_stacks.generated_names",
        "moto.cloudformation.parsing",
        "generate_resource_name",
        "(resource_type, stack_name, logical_id)",
    ),
    Target(
        "ecs_services_never_start",
        "moto.ecs.models:EC2ContainerServiceBackend",
        "create_service",
        (
            "(self, cluster_str, service_name, desired_count, "
            "task_definition_str, load_balancers, scheduling_strategy, "
            "tags, deployment_controller, launch_type, "
            "service_registries, platform_version, propagate_tags, "
            "network_configuration, role_arn)"
        ),
    ),
    Target(
        "ecs_services_never_start",
        "moto.ecs.models:EC2ContainerServiceBackend",
        "update_service",
        "(self, service_properties)",
    ),
    Target(
        "ecs_services_never_start",
        "moto.ecs.models:EC2ContainerServiceBackend",
        "describe_services",
        "(self, cluster_str, service_names_or_arns)",
    ),
    Target(
        "ecs_deleted_services_listed",
        "moto.ecs.models:EC2ContainerServiceBackend",
        "list_services",
        "(self, cluster_str, scheduling_strategy, launch_type)",
    ),
    Target(
        "codebuild_source_location",
        "moto.codebuild.responses",
        "_validate_required_params_source",
        "(source)",
    ),
    Target(
        "codebuild_source_location",
        "moto.codebuild.responses",
        "_validate_required_params_artifacts",
        "(artifacts)",
    ),
    Target(
        "elbv2_account_dns_names",
        "moto.elbv2.models:ELBv2Backend",
        "create_load_balancer",
        (
            "(self, name, security_groups, subnet_ids, subnet_mappings, "
            "scheme, loadbalancer_type, ip_address_type, tags)"
        ),
    ),
)


# Run in a fresh interpreter, so that it sees moto's own attributes, not the repairs'.
_DESCRIBE = r"""
import importlib, inspect, json, sys

def describe(owner, attribute):
    module_name, _, qualname = owner.partition(":")
    try:
        holder = importlib.import_module(module_name)
        for part in filter(None, qualname.split(".")):
            holder = getattr(holder, part)
    except (ImportError, AttributeError) as exc:
        return f"missing owner ({type(exc).__name__}: {exc})"
    if not hasattr(holder, attribute):
        return None
    value = inspect.getattr_static(holder, attribute)
    if isinstance(value, (classmethod, staticmethod)):
        value = value.__func__
    if isinstance(value, property):
        return "property"
    if not callable(value):
        return "value"
    marks = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}
    parameters = inspect.signature(value).parameters.values()
    return "(" + ", ".join(marks.get(p.kind.name, "") + p.name for p in parameters) + ")"

targets = json.load(sys.stdin)
print(json.dumps([describe(owner, attribute) for owner, attribute in targets]))
"""


def test_every_target_is_in_the_pinned_moto_as_the_repair_expects() -> None:
    found = subprocess.run(
        [sys.executable, "-c", _DESCRIBE],
        input=json.dumps([[target.owner, target.attribute] for target in TARGETS]),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    shapes = json.loads(found.stdout)
    changed = [
        f"repair {target.repair!r}: {target.owner}.{target.attribute} was {target.shape}, "
        f"moto now has {shape}"
        for target, shape in zip(TARGETS, shapes, strict=True)
        if shape != target.shape
    ]
    assert not changed, "moto moved what these repairs patch:\n" + "\n".join(changed)


def test_targets_list_exactly_what_the_repairs_patch(sandbox: Sandbox) -> None:
    # The sandbox started: the repairs are installed in this process (once).
    moto_repairs.install()
    patched = {(p.repair, p.owner, p.attribute, p.new) for p in PATCHED}
    declared = {(t.repair, t.owner, t.attribute, t.shape is None) for t in TARGETS}
    assert patched - declared == set(), "patched but not listed in TARGETS"
    assert declared - patched == set(), "listed in TARGETS but not patched"
    assert len(PATCHED) == len(patched), "a target was patched twice"


def test_a_repair_whose_target_is_gone_fails_at_install_naming_it() -> None:
    class Model:  # stands for a moto class that lost the method a repair replaces
        def kept(self) -> str:
            return "moto"

    recorded = len(PATCHED)
    with pytest.raises(MotoTargetMissing, match=r"'lambda_blocked_runtimes'.*'create_function'"):
        patch("lambda_blocked_runtimes", Model, "create_function", lambda self: None)
    assert not hasattr(Model, "create_function")
    assert len(PATCHED) == recorded


def test_remembered_serializer_keys_follow_the_class_and_an_objects_own_aliases() -> None:
    """serializer_key_memo answers as moto would: per class (a class-name prefix is an alias),
    and never from memory for an object whose alias table is its own."""
    moto_repairs.install()
    from botocore.model import StringShape
    from moto.core.serialize import AttributePickerContext, XFormedAttributePicker

    shape = StringShape("TableName", {"type": "string"})

    class Table:
        name = "by class prefix"

    class Other:
        table_name = "by snake case"

    class Aliased:
        def __init__(self, target: str) -> None:
            self.Meta = type("Meta", (), {"serialization_aliases": {"TableName": target}})
            self.first = "first"
            self.second = "second"

    def pick(obj: object) -> object:
        return XFormedAttributePicker()(AttributePickerContext(obj, "TableName", shape))

    for _ in range(2):  # the second round is answered from memory
        # Other first: remembered per shape and key alone, Table would miss its alias.
        assert pick(Other()) == "by snake case"
        assert pick(Table()) == "by class prefix"
        assert pick({"TableName": "from a dict"}) == "from a dict"
    assert pick(Aliased("first")) == "first"
    assert pick(Aliased("second")) == "second"


def test_moto_reads_the_shared_loader_s_model_only_when_it_is_the_same_file() -> None:
    """shared_models: moto's model of a service with no extras is the shared loader's own copy,
    equal to what moto's loader reads; a service with moto's or botocore's extras (S3 has
    both) is read by moto's loader as before."""
    moto_repairs.install()
    from moto.core import utils
    from moto.core.loaders import create_loader

    from mmtui.sandbox.moto_repairs import shared_models

    loader = shared_models.shared_loader()
    for service in ("ecs", "cloudformation", "codepipeline"):
        assert shared_models.same_file(loader, service, "service-2")
        model = utils._load_service_model(service, "service-2")
        assert model is loader.load_service_model(service, "service-2")
        assert model == create_loader().load_service_model(service, "service-2")
    assert shared_models.same_file(loader, "ecs", "paginators-1")
    assert not shared_models.same_file(loader, "s3", "service-2")
    own = utils._load_service_model("s3", "service-2")
    assert own is not loader.load_service_model("s3", "service-2")
    assert own == create_loader().load_service_model("s3", "service-2")
    assert not shared_models.same_file(loader, "no-such-service", "service-2")


def test_values_picked_from_remembered_names_are_the_ones_moto_picks(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serializer_key_memo's `get_value` answers as moto's own: a DynamoDB table and an item
    of every attribute type (JSON, from dicts), the workshop's stacks and an ECS service (from
    moto's objects) read the same once moto's way of picking is put back."""
    from moto.core import serialize

    from mmtui.sandbox.moto_repairs import serializer_key_memo

    dynamodb = sandbox.client("dynamodb")
    dynamodb.create_table(
        TableName="every-type",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {
        "id": {"S": "one"},
        "n": {"N": "1.5"},
        "b": {"B": b"\x00\x01"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"x"]},
        "m": {"M": {"inner": {"L": [{"S": "deep"}, {"NULL": True}, {"BOOL": False}]}}},
    }
    dynamodb.put_item(TableName="every-type", Item=item)
    cloudformation = sandbox.client("cloudformation")
    # Tags: moto transforms a stack's tags on their way out (a response transformer, which
    # the fast path applies as moto does).
    cloudformation.create_stack(
        StackName="tagged",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
        Tags=[{"Key": "team", "Value": "mysfits"}, {"Key": "lab", "Value": "3"}],
    )
    ecs = sandbox.client("ecs")
    cluster = ecs.list_clusters()["clusterArns"][0]
    service = ecs.list_services(cluster=cluster)["serviceArns"][0]

    def answers() -> list[dict[str, Any]]:
        read = [
            dynamodb.describe_table(TableName="every-type"),
            dynamodb.scan(TableName="every-type"),
            cloudformation.describe_stacks(),
            ecs.describe_services(cluster=cluster, services=[service]),
        ]
        for answer in read:
            answer.pop("ResponseMetadata")
        return read

    first = answers()
    assert first[1]["Items"] == [item]
    tagged = [stack for stack in first[2]["Stacks"] if stack["StackName"] == "tagged"]
    assert sorted(tag["Key"] for tag in tagged[0]["Tags"]) == ["lab", "team"]
    assert first[2]["Stacks"] and first[3]["services"]
    remembered = answers()  # every name is known now: picked by the fast path
    assert any(kind is dict for kind, _, _ in serializer_key_memo._remembered)
    assert any(kind is not dict for kind, _, _ in serializer_key_memo._remembered)
    monkeypatch.setattr(
        serialize.ResponseSerializer,
        "get_value",
        serialize.ResponseSerializer.get_value.__wrapped__,  # type: ignore[attr-defined]
    )
    assert answers() == remembered == first


def test_the_account_of_an_access_key_is_remembered_while_that_account_holds_it(
    sandbox: Sandbox,
) -> None:
    """access_key_accounts answers as moto's walk over every account: the account a key was
    made in, from memory while the key is there; once it is deleted, moto's own answer (the
    default account) and not the remembered one."""
    from moto.iam import models

    walk = models.get_account_id_from.__wrapped__  # type: ignore[attr-defined]
    account = "222233334444"
    with sandbox.lock:
        backend = models.iam_backends[account]["aws"]
        backend.create_user("us-east-1", "keyed")
        key = backend.create_access_key("keyed").access_key_id
        for _ in range(2):  # the second answer from memory
            assert models.get_account_id_from(key) == walk(key) == account
        backend.delete_access_key(key, "keyed")
        assert models.get_account_id_from(key) == walk(key) != account


XML_BODIES: tuple[Callable[[], dict[str, Any]], ...] = (
    lambda: {"A": "text"},
    lambda: {"A": ""},
    lambda: {"A": None},
    lambda: {"A": {}},
    lambda: {"A": True, "B": False, "C": 0, "D": 1.5, "E": b"bytes"},
    lambda: {"A": "5 < 6 & 7 > 2 \"quoted\" 'single'"},
    lambda: {"A": {"@attr": 'say "hi"', "@other": "it's", "@both": "\"'", "#text": "x"}},
    lambda: {"A": {"@attr": "line\nbreak\ttab\rreturn", "@none": None, "@number": 3}},
    lambda: {"A": {"B": [], "C": ["one", "two", None, {}], "D": ("t", "u")}},
    lambda: {"A": {"B": (item for item in ["from", "a generator"])}},
    lambda: {"A": {"B": iter([])}},  # yields nothing: the element stays short
    lambda: {"A": {"#text": "after", "B": "first"}},
    lambda: {"A": {"#text": None, "B": {"C": {"D": "deep"}}}},
    lambda: {"A": {"#text": ""}},
    lambda: {"Root": {"@xmlns": "https://example.com/doc/", "Member": [{"Key": "k"}]}},
    lambda: {"A": [{"B": "1"}, {"B": "2"}], "Z": "second root"},
)
LEFT_TO_XMLTODICT: tuple[Callable[[], dict[str, Any]], ...] = (
    lambda: {"A": {"@xmlns": {"x": "urn:x"}}},  # a namespace table
    lambda: {"#comment": "a comment", "A": "x"},
    lambda: {"A": {"bad name": "x"}},  # xmltodict refuses it: so does moto's answer
)


def test_xml_answers_are_written_as_xmltodict_writes_them() -> None:
    """xml_body's writer gives the string xmltodict gives for what moto hands it (the edge
    cases of xmltodict's rules), or leaves the body to xmltodict."""
    import xmltodict

    from mmtui.sandbox.moto_repairs import xml_body

    for make in XML_BODIES:
        expected = xmltodict.unparse(make(), full_document=False, short_empty_elements=True)
        assert xml_body.written(make()) == expected, make()
    for make in LEFT_TO_XMLTODICT:
        with pytest.raises(xml_body.Unusual):
            xml_body.written(make())


def test_every_xml_answer_of_a_check_round_is_written_as_xmltodict_writes_it(
    sandbox: Sandbox, sandbox_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answers the workshop meets (STS, CloudFormation, IAM, ELB; an error too), each
    compared with xmltodict's as the sandbox serves it."""
    import xmltodict
    from botocore.exceptions import ClientError
    from moto.core import serialize

    from mmtui.sandbox.moto_repairs import xml_body
    from tests.conftest import invoke

    served = serialize.BaseXMLSerializer._serialize_body
    compared: list[str] = []

    def comparing(self: Any, body: Any) -> str:
        answer: str = served(self, body)
        if not self.pretty_print:
            assert answer == xmltodict.unparse(body, full_document=False, short_empty_elements=True)
            compared.append(str(next(iter(body))))
        return answer

    monkeypatch.setattr(serialize.BaseXMLSerializer, "_serialize_body", comparing)
    assert xml_body.REPAIR in {p.repair for p in PATCHED}
    direct: list[str] = []
    write = xml_body.written

    def counted(body: dict[str, Any]) -> str:
        answer = write(body)  # raises Unusual for what xmltodict writes itself
        direct.append(answer)
        return answer

    monkeypatch.setattr(xml_body, "written", counted)
    result = invoke("check", "--endpoint-url", sandbox.url, "--format", "json")
    assert result.code == 1, result.stderr  # Lab 3 not done yet: its checks fail
    sandbox.client("sts").get_caller_identity()
    with pytest.raises(ClientError):
        sandbox.client("cloudformation").describe_stacks(StackName="no-such-stack")
    sandbox.client("iam").list_roles()
    sandbox.client("elbv2").describe_load_balancers()
    names = set(compared)
    assert {"DescribeStacksResponse", "GetCallerIdentityResponse", "ErrorResponse"} <= names
    assert {"ListRolesResponse", "DescribeLoadBalancersResponse"} <= names
    assert len(direct) == len(compared)  # every one written directly, none left to xmltodict
