"""Pipeline artifacts: zip files in the pipeline's S3 artifact store, as CodePipeline keeps them.

The source action zips the commit, the build action zips the files of `artifacts.files`; each
goes to the artifact bucket of the pipeline's region under `<pipeline>/<artifact>/<id>` (both
names cut to 20 characters, as CodePipeline does). An action in another region reads a copy
put in that region's artifact store first, which is why a cross-region action needs one.
"""

from __future__ import annotations

import io
import secrets
import string
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_KEY_ALPHABET = string.ascii_letters + string.digits


def artifact_key(pipeline: str, artifact: str) -> str:
    suffix = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(7))
    return f"{pipeline[:20]}/{artifact[:20]}/{suffix}"


def zip_files(files: Mapping[str, Path]) -> bytes:
    """A zip of files on disk (name in the zip → path), keeping their permission bits."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (path.stat().st_mode & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def zip_tree(root: Path) -> bytes:
    """A zip of every file below `root` (a checkout: no `.git`)."""
    files = {
        path.relative_to(root).as_posix(): path
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }
    return zip_files(files)


def read_zip(data: bytes) -> dict[str, bytes]:
    """The files of a zip (name → content)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()
        }


def unzip_into(data: bytes, dest: Path) -> None:
    """Extract a zip, keeping permission bits; names leaving `dest` are skipped."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            target = (dest / info.filename).resolve()
            if not target.is_relative_to(root) or info.is_dir():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)


def put_artifact(s3: Any, bucket: str, key: str, data: bytes) -> dict[str, str]:
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return {"bucketName": bucket, "objectKey": key}


def get_artifact(s3: Any, location: Mapping[str, str]) -> bytes:
    body = s3.get_object(Bucket=location["bucketName"], Key=location["objectKey"])["Body"]
    data: bytes = body.read()
    return data


def s3_arn(location: Mapping[str, str]) -> str:
    return f"arn:aws:s3:::{location['bucketName']}/{location['objectKey']}"
