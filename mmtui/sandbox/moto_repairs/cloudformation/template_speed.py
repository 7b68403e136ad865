"""Templates parsed by libyaml: moto reads every template with PyYAML's pure-Python loader.

Reading the workshop's template and its nested stacks' took about a fifth of a second of each
fresh start (and as long again for every `cloudformation deploy` of Lab 3). PyYAML's C loader
(`yaml.CLoader`, over libyaml) builds the same nodes and runs the same constructors, moto's
short-form tags included, several times faster; its errors are PyYAML's own classes
(ScannerError, ParserError), so moto's fallback to JSON works as before. Without libyaml,
nothing changes.

moto's modules call `yaml.load(template, Loader=yaml.Loader)` after `yaml.add_multi_constructor(
"", yaml_tag_constructor)`; each gets, in place of the `yaml` module, a stand-in whose `Loader`
is the C loader reading the pure loader's constructors (so moto's registrations apply).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "cloudformation.template_speed"


def install() -> None:
    import yaml
    from moto.cloudformation import models, responses

    if not getattr(yaml, "__with_libyaml__", False):
        return
    stand_in = _yaml_with_libyaml(yaml)
    for module in (models, responses):
        patch(REPAIR, module, "yaml", stand_in)


def _yaml_with_libyaml(yaml: ModuleType) -> ModuleType:
    pure = yaml.Loader

    class TemplateLoader(yaml.CLoader):  # type: ignore[name-defined,misc]
        """PyYAML's C parser with the pure-Python loader's constructors and resolvers, as they
        are when it parses (moto registers its tags on `yaml.Loader` before each parse)."""

        def __init__(self, stream: Any) -> None:
            super().__init__(stream)
            self.yaml_constructors = pure.yaml_constructors
            self.yaml_multi_constructors = pure.yaml_multi_constructors
            self.yaml_implicit_resolvers = pure.yaml_implicit_resolvers
            self.yaml_path_resolvers = pure.yaml_path_resolvers

    class YamlForTemplates(ModuleType):
        """The yaml module, but for `Loader`."""

        Loader = TemplateLoader

        def __getattr__(self, name: str) -> Any:
            return getattr(yaml, name)

    return YamlForTemplates("yaml")
