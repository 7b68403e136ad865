"""moto's outputs: an output whose Condition is false still exports, exports are matched to
outputs by value (two outputs of one value share a name), and change-set stacks have none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

_state_mark: Callable[[], object] | None = None
"""Says whether the state changed since (the sandbox's state generation); None: a settled
stack's outputs are evaluated on every read."""
_shown: dict[int, tuple[Any, object, str, list[dict[str, Any]] | None]] = {}
"""Per stack (by id, the stack kept to tell a reused id): the state mark and status its outputs
were shown at, and what they were."""


def evaluate_once_per_state(mark: Callable[[], object] | None) -> None:
    """Show a settled stack's outputs as evaluated while `mark()` stays the same (the sandbox
    counts its changes of state: Sandbox.state_generation). Called under the sandbox lock.

    moto evaluates every output of the template on each DescribeStacks: for the workshop's
    stack, a third of the answer's time, under the sandbox lock, when a room's fifty attendees
    all read their stacks at once (issue 15). Their values change only with the state (and the
    sandbox's port, which is the same until it restarts in a new process)."""
    global _state_mark
    _state_mark = mark
    _shown.clear()


# =========================================================================== outputs


def install() -> None:
    from moto.cloudformation import models, parsing

    def exports(self: Any) -> list[Any]:
        found = []
        for output in (self._output_json_map or {}).values():
            if not output.get("Export") or not output_shown(output, self._resource_map):
                continue
            name = parsing.clean_json(output["Export"].get("Name"), self._resource_map)
            value = parsing.clean_json(output.get("Value"), self._resource_map)
            found.append(parsing.Export(self._stack_id, name, value))
        return found

    patch("cloudformation.outputs", parsing.OutputMap, "exports", property(exports))

    def outputs(self: Any) -> list[dict[str, Any]] | None:
        if getattr(self, "_mmtui_pending", None) == "create" or self.status in _NO_OUTPUTS:
            # Nothing was made (yet, or any more): AWS shows no outputs, and evaluating them
            # would make moto create the resources they refer to.
            return None
        live = self.status in _LIVE_OUTPUTS
        mark = _state_mark() if live and _state_mark is not None else None
        if mark is not None:
            found = _shown.get(id(self))
            if found is not None and found[0] is self and found[1:3] == (mark, self.status):
                return None if found[3] is None else [dict(entry) for entry in found[3]]
        template_outputs = self.template_dict.get("Outputs") or {}
        shown = []
        # A settled stack's outputs are evaluated on every read, not cached as moto does: a
        # value may change while the stack stands (a clone URL names the sandbox's port of this
        # run), though not while the state stays the same (evaluate_once_per_state). Any other
        # stack keeps moto's cache: evaluating the outputs of a deleted stack would make moto
        # create again the resources they refer to.
        for key in template_outputs:
            if live:
                output = parsing.parse_output(key, template_outputs[key], self.resource_map)
                if output:  # what the stack shows once it is deleted
                    self.output_map._parsed_outputs[key] = output
            else:
                output = self.output_map[key]
            if not output:
                continue
            entry = {"OutputKey": output.key, "OutputValue": _output_text(output.value)}
            if output.description:
                entry["Description"] = output.description
            export = template_outputs[key].get("Export")
            if export:
                entry["ExportName"] = parsing.clean_json(export.get("Name"), self.resource_map)
            shown.append(entry)
        if mark is not None:
            if any(kept[1] != mark for kept in _shown.values()):
                _shown.clear()  # another state's: none of them can be shown again
            _shown[id(self)] = (self, mark, self.status, [dict(entry) for entry in shown] or None)
        return shown or None

    patch("cloudformation.outputs", models.Stack, "outputs", property(outputs))

    original_validate_outputs = parsing.ResourceMap.validate_outputs

    def validate_outputs(self: Any) -> None:
        # moto looks for Fn::GetAtt with `in`, which fails on a literal number or boolean.
        template_outputs = self._template.get("Outputs") or {}
        literal = {
            key: output
            for key, output in template_outputs.items()
            if not isinstance(output.get("Value"), dict | list | str)
        }
        if not literal:
            original_validate_outputs(self)
            return
        self._template["Outputs"] = {k: v for k, v in template_outputs.items() if k not in literal}
        try:
            original_validate_outputs(self)
        finally:
            self._template["Outputs"] = template_outputs

    patch("cloudformation.outputs", parsing.ResourceMap, "validate_outputs", validate_outputs)


_LIVE_OUTPUTS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})
_NO_OUTPUTS = frozenset(
    {"REVIEW_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED"}
)


def _output_text(value: Any) -> str:
    """An output value as AWS shows it: always a string (lists joined with commas)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_output_text(item) for item in value)
    return str(value)


def output_shown(output: dict[str, Any], resource_map: Any) -> bool:
    condition = output.get("Condition")
    return not condition or bool(resource_map.lazy_condition_map[condition])
