"""Region names, validated against botocore's own partition data rather than a list of ours."""

from __future__ import annotations

import difflib
from functools import lru_cache

from mmtui.exitcodes import ExitCode, MmtuiError


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows, without any network call."""
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)


def validate_region(name: str, flag: str) -> str:
    region = name.strip().lower()
    if region in known_regions():
        return region
    close = difflib.get_close_matches(region, sorted(known_regions()), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise MmtuiError(f"{flag}: {name!r} is not an AWS region{hint}", ExitCode.USAGE)
