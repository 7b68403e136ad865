"""Pipelines that really run: CodePipeline executions, CodeBuild builds, ECS deployments.

engine.py is the sandbox extension (executions, one at a time per pipeline, started by a push or
by the API); build.py runs a buildspec with bash, with docker.py as its `docker`; deploy.py is
the ECS deploy action; api.py answers the CodePipeline and CodeBuild calls from what ran;
seed.py makes the workshop's pipelines of the baseline and runs them once.
"""

from __future__ import annotations

from mmtui.sandbox.pipelines.engine import Pipelines
from mmtui.sandbox.pipelines.seed import seed_pipelines

__all__ = ["Pipelines", "seed_pipelines"]
