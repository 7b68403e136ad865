"""What CreatePipeline and UpdatePipeline refuse on AWS and moto accepts: artifact stores.

A pipeline keeps its artifacts in an S3 bucket of its own region. An action in another region
(Lab 3 step 3's CrossRegionDeploy, `region: us-east-1`) reads them from a bucket in that region,
so such a pipeline must declare `artifactStores` (one per region it has actions in) instead of
the single `artifactStore`, and every bucket must exist in the region it is given for. moto
stores whatever it is given; this says no as CodePipeline does (InvalidStructureException).
"""

from __future__ import annotations

from typing import Any


def problem(pipeline: Any, region: str, account: str) -> str | None:
    """Why AWS would refuse this pipeline declaration, or None (lock held: reads moto's S3)."""
    if not isinstance(pipeline, dict):
        return None  # moto's own validation answers
    single = pipeline.get("artifactStore")
    stores = pipeline.get("artifactStores")
    if single and stores:
        return (
            "Pipeline declaration can't have both artifactStore and artifactStores: use "
            "artifactStores alone when the pipeline has actions in more than one region"
        )
    regions = action_regions(pipeline, region)
    others = sorted(r for r in regions if r != region)
    if single and others:
        return (
            f"The pipeline has actions in {', '.join(others)}, outside its region {region}: "
            "a cross-region action needs artifactStores, with an artifact store in each region "
            f"the pipeline has actions in ({', '.join(sorted(regions))}), instead of artifactStore"
        )
    if isinstance(stores, dict):
        missing = sorted(r for r in regions if r not in stores)
        if missing:
            return (
                f"artifactStores has no artifact store for {', '.join(missing)}: the pipeline "
                f"has actions there (each region with actions needs one)"
            )
        for store_region, store in sorted(stores.items()):
            found = _bucket_problem(store, str(store_region), account)
            if found:
                return found
    elif isinstance(single, dict):
        return _bucket_problem(single, region, account)
    return None


def action_regions(pipeline: dict[str, Any], region: str) -> set[str]:
    return {
        str(action.get("region") or region)
        for stage in pipeline.get("stages") or []
        if isinstance(stage, dict)
        for action in stage.get("actions") or []
        if isinstance(action, dict)
    } | {region}


def _bucket_problem(store: Any, region: str, account: str) -> str | None:
    if not isinstance(store, dict) or store.get("type", "S3") != "S3":
        return None
    bucket = str(store.get("location", ""))
    found = _bucket_region(bucket, account)
    # These are CodePipeline's words for an artifact bucket it cannot use.
    if found is None:
        return (
            f"An error occurred while validating the artifact bucket '{bucket}': No bucket with "
            f"the name {bucket} was found. Choose a valid artifact bucket in '{region}', or "
            "create a new artifact bucket to use in your pipeline."
        )
    if found != region:
        return (
            f"An error occurred while validating the artifact bucket '{bucket}': The bucket "
            f"named {bucket} is not located in the `{region}` AWS region."
        )
    return None


def _bucket_region(bucket: str, account: str) -> str | None:
    """The region of the account's bucket (another account's bucket is not the pipeline's to
    use: the sandbox has no bucket policies to grant it)."""
    from moto.s3.models import s3_backends

    for partition in ("aws",):
        found = s3_backends[account][partition].buckets.get(bucket)
        if found is not None:
            return str(found.region_name)
    return None
