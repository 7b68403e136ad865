"""moto's S3 bucket-name registry is not part of its backends, so a restore leaves it stale.

moto keeps a process-wide registry of bucket names (`s3_backends.bucket_accounts`) beside
the backends. A restored snapshot brings the backends back but not that registry, so a bucket
made after the snapshot stays "taken" (and looking it up recurses forever) while the restored
ones are unknown to it; `rebuild_bucket_registry()` makes it match the restored buckets again.
Called after every restore (the pipelines' artifact stores, an account's image).
"""

from __future__ import annotations


def rebuild_bucket_registry() -> None:
    """Make moto's bucket name registry list exactly the buckets its backends hold."""
    import sys

    if "moto.s3.models" not in sys.modules:
        return  # S3 was never used: nothing to match
    from moto.s3.models import s3_backends

    registry: dict[str, tuple[str, str]] = {}
    for account, partitions in list(s3_backends.items()):
        for partition, backend in list(partitions.items()):
            for name in [*backend.buckets, *getattr(backend, "table_buckets", {})]:
                registry[name] = (partition, account)
    s3_backends.bucket_accounts.clear()
    s3_backends.bucket_accounts.update(registry)
