"""Region names, validated against botocore's own partition data rather than a list of ours."""

from __future__ import annotations

import difflib
from functools import lru_cache

from mmtui.exitcodes import ExitCode, MmtuiError


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows, without any network call.

    Read through the data loader the target's clients share, so the endpoint data parsed here
    is not parsed again when the first client is made."""
    import boto3

    from mmtui.target.clients import share_data_loader

    session = share_data_loader(boto3.Session()._session)
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)


# The lab's default regions, which every botocore knows: accepting them without loading the
# partition data keeps botocore out of start-up (the guide paints its first screen sooner).
DEFAULT_REGIONS = frozenset({"us-west-2", "us-east-1"})


def validate_region(name: str, flag: str) -> str:
    region = name.strip().lower()
    if region in DEFAULT_REGIONS or region in known_regions():
        return region
    close = difflib.get_close_matches(region, sorted(known_regions()), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise MmtuiError(f"{flag}: {name!r} is not an AWS region{hint}", ExitCode.USAGE)


# The region prefix of each partition but the commercial one (botocore's endpoint data writes
# them as regexes of region names; a prefix is enough and loads nothing at start-up).
_PARTITION_PREFIXES = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
)


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to: `aws`, `aws-cn`, `aws-us-gov`, ..."""
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def pair_problem(
    primary: str, secondary: str, primary_flag: str, secondary_flag: str
) -> str | None:
    """Why two regions cannot be the lab's pair, or None. An account, a global table's replicas
    and a pipeline's cross-region actions all stay within one partition (red-team C6)."""
    if primary == secondary:
        return (
            f"{primary_flag} and {secondary_flag} are both {primary}: the lab replicates "
            "into a second, different region"
        )
    first, second = partition_of(primary), partition_of(secondary)
    if first != second:
        return (
            f"{primary_flag} {primary} and {secondary_flag} {secondary} are in different AWS "
            f"partitions ({first} and {second}): an account, its table's replicas and its "
            "pipelines stay within one partition; choose two regions of the same partition"
        )
    return None
