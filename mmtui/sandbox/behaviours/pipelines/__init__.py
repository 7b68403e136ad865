"""Pipelines that really run: CodePipeline executions, CodeBuild builds, ECS deployments.

engine.py is the sandbox extension (executions, one at a time per pipeline, started by a push or
by the API); actions.py runs an execution's actions; build.py runs a buildspec with bash, with
docker.py as its `docker`; deploy.py is the ECS deploy action; api.py answers the CodePipeline
and CodeBuild calls from what ran; moto_models.py reads and writes what moto stores (pipelines,
rules, projects, build records). The workshop's own pipelines (the baseline's, run once) are
made by workshop/pipelines.py.
"""

from __future__ import annotations

from mmtui.sandbox.behaviours.pipelines.engine import Pipelines

__all__ = ["Pipelines"]
