"""moto misreads parts of a template: `!Condition` inside `!Not`/`!And`/`!Or`, short-form tags
on mappings, and `Fn::GetAZs` (always us-east-1's zones, or an error on `{Ref: AWS::Region}`).
"""

from __future__ import annotations

from typing import Any

from mmtui.sandbox.moto_repairs.cloudformation.stacks import ec2_backend
from mmtui.sandbox.moto_repairs.patching import patch

# =========================================================================== template reading


def install() -> None:
    import yaml
    from moto.cloudformation import models, parsing, responses, utils

    original_constructor = utils.yaml_tag_constructor

    def yaml_tag_constructor(loader: Any, tag: str, node: Any) -> Any:
        if tag == "!Condition":
            # A reference to another condition, as in `!Not [!Condition PrimaryRegion]`;
            # moto made it `Fn::Condition`, which its condition evaluator does not know.
            return {"Condition": node.value}
        if isinstance(node, yaml.MappingNode):
            # e.g. `!GetAZs {Ref: AWS::Region}`: moto returned the raw YAML node pairs.
            key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
            return {key: loader.construct_mapping(node, deep=True)}
        if tag == "!GetAtt" and isinstance(node, yaml.ScalarNode):
            # `!GetAtt Stack.Outputs.Key` names the attribute `Outputs.Key`: AWS splits at the
            # first dot only (moto at every dot).
            return {"Fn::GetAtt": str(node.value).split(".", 1)}
        return original_constructor(loader, tag, node)

    # Each module registers the constructor it imported before parsing, so all must change.
    for module in (utils, models, responses):
        patch(
            "cloudformation.template_reading", module, "yaml_tag_constructor", yaml_tag_constructor
        )

    original_clean_json = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
            return _availability_zones(resource_json["Fn::GetAZs"], resources_map)
        return original_clean_json(resource_json, resources_map)

    patch("cloudformation.template_reading", parsing, "clean_json", clean_json)


def _availability_zones(argument: Any, resources_map: Any) -> list[str]:
    """`Fn::GetAZs`: the zones of the named region, or of the stack's region when empty."""
    from moto.cloudformation import parsing

    region = parsing.clean_json(argument, resources_map) if argument else ""
    region = str(region or resources_map["AWS::Region"])
    zones = ec2_backend(resources_map["AWS::AccountId"], region).describe_availability_zones()
    return sorted(zone.name for zone in zones)
