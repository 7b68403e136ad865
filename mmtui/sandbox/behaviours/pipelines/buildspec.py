"""Buildspec files (version 0.2), read as CodeBuild reads them.

Only what a build needs to run is kept: the environment variables, the commands of each phase
(with their `finally` blocks and `on-failure` behaviour) and the artifact files. A file CodeBuild
would refuse is refused with a YAML_FILE_ERROR message in CodeBuild's manner, so the build log
tells the attendee what is wrong with their buildspec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

PHASES = ("install", "pre_build", "build", "post_build")
ABORT = "ABORT"
CONTINUE = "CONTINUE"


class BuildspecError(Exception):
    """A buildspec CodeBuild would not run (the message follows `YAML_FILE_ERROR Message:`)."""


@dataclass
class Phase:
    commands: list[str] = field(default_factory=list)
    finally_commands: list[str] = field(default_factory=list)
    on_failure: str = ABORT


@dataclass
class Artifacts:
    files: list[str] = field(default_factory=list)
    base_directory: str = "."
    discard_paths: bool = False


@dataclass
class Buildspec:
    variables: dict[str, str] = field(default_factory=dict)
    phases: dict[str, Phase] = field(default_factory=dict)
    artifacts: Artifacts | None = None

    def command_count(self) -> dict[str, int]:
        return {name: len(phase.commands) for name, phase in self.phases.items()}


def parse(text: str) -> Buildspec:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise BuildspecError(f"yaml: {where}{problem}") from None
    if not isinstance(loaded, dict):
        raise BuildspecError("Expected the buildspec to be a YAML map of keys")
    version = str(loaded.get("version", "")).strip()
    if not version:
        raise BuildspecError("missing version: the buildspec must declare `version: 0.2`")
    if version not in ("0.2", "0.1"):
        raise BuildspecError(f"invalid buildspec version: {version}")
    spec = Buildspec(variables=_variables(loaded.get("env")))
    phases = loaded.get("phases")
    if phases is not None and not isinstance(phases, dict):
        raise BuildspecError("Expected phases to be a map of phase names")
    for name, body in (phases or {}).items():
        if name not in PHASES:
            raise BuildspecError(f"Unknown phase name: {name} (phases are {', '.join(PHASES)})")
        spec.phases[name] = _phase(name, body)
    spec.artifacts = _artifacts(loaded.get("artifacts"))
    return spec


def _variables(env: Any) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise BuildspecError("Expected env to be a map")
    variables = env.get("variables") or {}
    if not isinstance(variables, dict):
        raise BuildspecError("Expected env/variables to be a map of names to values")
    found: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, (dict, list)):
            raise BuildspecError(f"Expected the value of env variable {name} to be a string")
        found[str(name)] = "" if value is None else _scalar(value)
    return found


def _phase(name: str, body: Any) -> Phase:
    if body is None:
        return Phase()
    if not isinstance(body, dict):
        raise BuildspecError(f"Expected phase {name} to be a map with commands")
    phase = Phase(
        commands=_commands(name, "commands", body.get("commands")),
        finally_commands=_commands(name, "finally", body.get("finally")),
    )
    on_failure = str(body.get("on-failure", ABORT)).upper()
    if on_failure not in (ABORT, CONTINUE):
        raise BuildspecError(f"Invalid on-failure value {on_failure} in phase {name}")
    phase.on_failure = on_failure
    return phase


def _commands(phase: str, key: str, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BuildspecError(f"Expected {key} of phase {phase} to be a list of commands")
    commands: list[str] = []
    for index, command in enumerate(raw):
        if isinstance(command, (dict, list)):
            # The classic slip: `- echo "a: b"` unquoted turns the command into a map.
            raise BuildspecError(
                f"Expected Commands[{index}] to be of string type: found subkeys instead in "
                f"phase {phase.upper()} (quote a command that contains ': ')"
            )
        if command is not None:
            commands.append(_scalar(command))
    return commands


def _artifacts(raw: Any) -> Artifacts | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BuildspecError("Expected artifacts to be a map")
    files = raw.get("files") or []
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, (str, int, float)) for f in files):
        raise BuildspecError("Expected artifacts/files to be a list of paths")
    discard = raw.get("discard-paths", False)
    return Artifacts(
        files=[_scalar(f) for f in files],
        base_directory=str(raw.get("base-directory") or "."),
        discard_paths=discard is True or str(discard).lower() == "yes",
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
