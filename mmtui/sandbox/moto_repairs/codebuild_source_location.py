"""moto's CodeBuild requires a `location` for every project source and artifacts type.

AWS does not for CODEPIPELINE (the pipeline hands the source and takes the artifacts) or
NO_SOURCE: the workshop's projects have none, so the check is relaxed for those types.
"""

from __future__ import annotations

from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "codebuild_source_location"
_SOURCE_WITHOUT_LOCATION = ("CODEPIPELINE", "NO_SOURCE")


def install() -> None:
    """Relax moto's location check for those types (called once, by moto_repairs.install)."""
    from moto.codebuild import responses

    original_source = responses._validate_required_params_source
    original_artifacts = responses._validate_required_params_artifacts

    def validate_source(source: dict[str, Any]) -> None:
        if source.get("type") in _SOURCE_WITHOUT_LOCATION:
            return
        original_source(source)

    def validate_artifacts(artifacts: dict[str, Any]) -> None:
        if artifacts.get("type") == "CODEPIPELINE":
            return
        original_artifacts(artifacts)

    patch(REPAIR, responses, "_validate_required_params_source", validate_source)
    patch(REPAIR, responses, "_validate_required_params_artifacts", validate_artifacts)
