"""Judging a buildspec by what it does, not by how it is spelled.

The attendee may name variables as they like, log in with either CLI style and quote as they
please; what matters is what the commands do once the variables they set are filled in: tag,
log in to, and push to the secondary registry, write the secondary image definitions, and ship
them as an artifact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_PLACEHOLDER = re.compile(r"\bREPLACEME_[A-Z0-9_]+")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(%%/\*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Piece:
    name: str
    hint: str

    @property
    def key(self) -> str:
        """The piece's short name in check names (`build_artifacts.core_<key>`)."""
        return PIECE_KEYS[self.name]


PIECE_KEYS = {
    "valid YAML": "yaml",
    "secondary repository URI": "secondary_uri",
    "secondary region": "secondary_region",
    "tag for the secondary registry": "tag",
    "log in to the secondary registry": "login",
    "push to the secondary registry": "push",
    "imagedefinitions_secondary.json": "imagedefinitions",
    "artifact": "artifact",
}

PIECE_CHECKS = {
    "secondary_uri": "the secondary repository URI is set",
    "secondary_region": "the secondary region is set",
    "tag": "the image is tagged for the secondary registry",
    "login": "it logs in to the secondary registry",
    "push": "it pushes to the secondary registry",
    "imagedefinitions": "it writes imagedefinitions_secondary.json",
    "artifact": "imagedefinitions_secondary.json is an artifact",
}
"""The pieces step 4 checks one by one (check `build_artifacts.<service>_<key>`, beside the
buildspec's own check `<service>_buildspec`), each with what its check says when present."""


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def commands(document: Any) -> list[str]:
    phases = document.get("phases") if isinstance(document, dict) else None
    found: list[str] = []
    for phase in ("install", "pre_build", "build", "post_build"):
        entry = (phases or {}).get(phase) or {}
        found += [str(c) for c in entry.get("commands") or [] if c is not None]
    return found


def expand(lines: list[str], variables: dict[str, str]) -> list[str]:
    """Each command with the variables set before it filled in (as the shell would)."""
    known = dict(variables)
    expanded: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        value = known.get(name)
        if value is None:
            return match.group(0)
        return value.split("/", 1)[0] if match.group(2) else value

    for line in lines:
        text = _REFERENCE.sub(fill, line)
        assignment = _ASSIGNMENT.match(text.strip())
        if assignment:
            known[assignment.group(1)] = _unquote(assignment.group(2))
        expanded.append(text)
    return expanded


def missing_pieces(
    text: str, container: str, secondary_uri: str, secondary_region: str
) -> list[Piece]:
    """What the buildspec still lacks to build for the secondary region (empty: complete)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [Piece("valid YAML", f"buildspec_prod.yml is not valid YAML: {exc}")]
    if not isinstance(document, dict):
        return [Piece("valid YAML", "buildspec_prod.yml is not a YAML mapping")]
    env = document.get("env") or {}
    variables = {str(k): str(v) for k, v in (env.get("variables") or {}).items()}
    variables.setdefault("AWS_DEFAULT_REGION", "")
    lines = expand(commands(document), variables)
    host = secondary_uri.split("/", 1)[0]
    joined = "\n".join(lines)
    pieces: list[Piece] = []
    # A finished hint file (app/hints) copied with one of its placeholders still in: say which,
    # rather than only what the value should have been.
    left = sorted(set(_PLACEHOLDER.findall(joined)))
    unfilled = (
        f"; it still holds {', '.join(left)}: put the value from the stacks' outputs there"
        if left
        else ""
    )
    if secondary_uri not in joined and secondary_uri not in variables.values():
        pieces.append(
            Piece(
                "secondary repository URI",
                f"set a variable to the secondary repository {secondary_uri}{unfilled}",
            )
        )
    # The region is "set" when a variable holds it or a command names it: a missing login
    # line is the login's check alone, not this one's too (newcomer walkthrough).
    assigned = [m.group(2) for m in (_ASSIGNMENT.match(line.strip()) for line in lines) if m]
    region_set = secondary_region in [*variables.values(), *map(_unquote, assigned)]
    if not region_set and not re.search(rf"--region[ =]{re.escape(secondary_region)}\b", joined):
        pieces.append(
            Piece(
                "secondary region",
                f"set a variable to {secondary_region} (the secondary region), for the login "
                f"to its registry{unfilled}",
            )
        )
    if not any(
        re.search(rf"docker\s+tag\s+\S+\s+{re.escape(secondary_uri)}:", line) for line in lines
    ):
        pieces.append(
            Piece(
                "tag for the secondary registry",
                "docker tag the image as <secondary repository URI>:<commit id>",
            )
        )
    login_v1 = rf"aws\s+ecr\s+get-login\b[^\n]*--region[ =]{re.escape(secondary_region)}\b"
    login_v2 = (
        rf"get-login-password[^\n|]*--region[ =]{re.escape(secondary_region)}\b"
        rf"[^\n]*\|\s*docker\s+login\b[^\n]*{re.escape(host)}"
    )
    if not re.search(login_v1, joined) and not re.search(login_v2, joined):
        pieces.append(
            Piece(
                "log in to the secondary registry",
                f"log in to {host}: `$(aws ecr get-login --no-include-email --region "
                f"{secondary_region})` on the workshop's build image (AWS CLI version 1), or "
                f"`aws ecr get-login-password --region {secondary_region} | docker login ...` "
                "on an image with version 2",
            )
        )
    if not any(re.search(rf"docker\s+push\s+{re.escape(secondary_uri)}:", line) for line in lines):
        pieces.append(
            Piece(
                "push to the secondary registry",
                "docker push <secondary repository URI>:<commit id>",
            )
        )
    definitions = [
        line for line in lines if "imagedefinitions_secondary.json" in line and ">" in line
    ]
    if not any(
        f'"name":"{container}"' in line.replace(" ", "") and secondary_uri in line
        for line in definitions
    ):
        pieces.append(
            Piece(
                "imagedefinitions_secondary.json",
                f'write [{{"name":"{container}","imageUri":"<secondary URI>:<commit>"}}]'
                " to imagedefinitions_secondary.json",
            )
        )
    files = (document.get("artifacts") or {}).get("files") or []
    if "imagedefinitions_secondary.json" not in [str(f) for f in files]:
        pieces.append(Piece("artifact", "list imagedefinitions_secondary.json in artifacts.files"))
    return pieces


def pushes_to_region(text: str, region: str) -> bool:
    """The buildspec pushes an image to a registry of `region` (variables filled in): once
    that region's repositories are deleted, its builds fail. Text that is not a buildspec
    counts when it names such a registry at all, so a reset never leaves it in doubt."""
    host = rf"\d{{12}}\.dkr\.ecr\.{re.escape(region)}\.amazonaws\.com(?:\.cn)?/"
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return re.search(host, text) is not None
    if not isinstance(document, dict):
        return re.search(host, text) is not None
    env = document.get("env") or {}
    variables = {str(k): str(v) for k, v in (env.get("variables") or {}).items()}
    lines = expand(commands(document), variables)
    return any(re.search(rf"docker\s+push\s+{host}", line) for line in lines)
