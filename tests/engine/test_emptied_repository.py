"""What emptying a registry repository says it did: counted in words that agree with the count
(the newcomer walkthrough saw "deleted 1 images" in a reset's log)."""

from __future__ import annotations

import json

from mmtui.engine.tasks import TaskContext
from mmtui.labs.lab3.steps.infrastructure import empty_repository
from mmtui.sandbox.core.server import Sandbox
from tests.engine.test_checks import context


def manifest(n: int) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + str(n) * 64},
        }
    )


def test_one_image_is_one_image_and_two_are_images(sandbox: Sandbox) -> None:
    ecr = sandbox.client("ecr", "us-east-1")
    ctx = TaskContext(context(sandbox))
    for repository, count in (("mm-one", 1), ("mm-two", 2)):
        ecr.create_repository(repositoryName=repository)
        for n in range(1, count + 1):
            ecr.put_image(repositoryName=repository, imageManifest=manifest(n), imageTag=f"v{n}")
    assert empty_repository(ctx, "us-east-1", "mm-one") == "deleted 1 image from mm-one"
    assert empty_repository(ctx, "us-east-1", "mm-two") == "deleted 2 images from mm-two"
    assert not ecr.list_images(repositoryName="mm-two")["imageIds"]
    assert empty_repository(ctx, "us-east-1", "mm-two") == ""  # nothing left to say
