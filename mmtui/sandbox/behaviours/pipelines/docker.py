"""The `docker` of the sandbox's builds: what a buildspec does with docker, without a daemon.

CodeBuild runs the buildspec next to a Docker daemon. The sandbox has none, so the build's PATH
holds this stand-in instead. It keeps images in the build's own folder and supports what the
workshop's buildspecs (and most simple ones) do:

- `docker build -t name:tag [-f Dockerfile] CONTEXT`: reads the Dockerfile, checks that the files
  it copies exist in the context, and makes an image whose manifest is derived from the
  Dockerfile and the context's file contents (the same sources give the same digests);
- `docker tag`, `docker images`, `docker login` / `logout` (credentials are kept per registry in
  `$DOCKER_CONFIG/config.json`, as docker does), `docker version`;
- `docker push` to an ECR registry of the sandbox (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/repo`):
  it needs a login to that registry and puts the image's manifest into that region's ECR with
  the tag; `docker pull` does the reverse.

Errors are docker's own words, so a buildspec mistake reads in the build log as it would on
CodeBuild. The script runs with `python -I -S` (no site packages: the standard library only,
for a fast start) and talks to the sandbox's ECR API with signed requests; the sandbox's URL and
keys come from `MMTUI_DOCKER_ENDPOINT`, `MMTUI_DOCKER_ACCESS_KEY`, `MMTUI_DOCKER_SECRET_KEY`
and the image store folder from `MMTUI_DOCKER_ROOT`, all set by the build's `docker` shim.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import fnmatch
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.parse
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

VERSION = "20.10.25"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ECR_HOST = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921"
DOCKER_HUB = "docker.io"
INSTRUCTIONS = {
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
}
# Flags of `docker build` that take a value, and those that do not (others are refused).
BUILD_VALUE_FLAGS = {
    "--build-arg",
    "--label",
    "--target",
    "--platform",
    "--network",
    "--cache-from",
    "--iidfile",
    "--progress",
}
BUILD_BOOL_FLAGS = {"-q", "--quiet", "--no-cache", "--pull", "--rm", "--force-rm", "--compress"}


class DockerError(Exception):
    """A failure docker reports on stderr, with its exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------- references


def split_reference(reference: str) -> tuple[str, str, str]:
    """`[host/]path[:tag]` → (host, path, tag); the host is docker.io when there is none."""
    if "@" in reference:
        raise DockerError(
            f'invalid reference format: "{reference}" (the sandbox handles tags, not digests)'
        )
    name, tag = reference, "latest"
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = reference[: -len(last)] + last.split(":", 1)[0], last.split(":", 1)[1]
    if not name or not tag or name != name.lower() or " " in reference:
        raise DockerError(f'invalid reference format: repository name must be lowercase: "{name}"')
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest, tag
    return DOCKER_HUB, name, tag


def full_name(reference: str) -> str:
    """The canonical `name:tag` the image store uses (docker.io names without their host)."""
    host, path, tag = split_reference(reference)
    return f"{path}:{tag}" if host == DOCKER_HUB else f"{host}/{path}:{tag}"


def registry_host(server: str) -> str:
    """`https://HOST/v2/` or `HOST` → `HOST`."""
    host = re.sub(r"^[a-z]+://", "", server.strip()).split("/", 1)[0]
    return host or DOCKER_HUB


# ---------------------------------------------------------------------- local state


class Store:
    """The images of this build (the daemon's image store) and the logins (config.json)."""

    def __init__(self) -> None:
        root = os.environ.get("MMTUI_DOCKER_ROOT") or str(Path.home() / ".mmtui-docker")
        self.images_file = Path(root) / "images.json"
        config_dir = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
        self.config_file = Path(config_dir) / "config.json"

    def images(self) -> dict[str, Any]:
        return _read_json(self.images_file, {"tags": {}, "images": {}})

    def save_images(self, data: dict[str, Any]) -> None:
        _write_json(self.images_file, data)

    def config(self) -> dict[str, Any]:
        return _read_json(self.config_file, {})

    def save_config(self, data: dict[str, Any]) -> None:
        _write_json(self.config_file, data)

    def find(self, reference: str) -> tuple[str, dict[str, Any]] | None:
        """(image id, image) by name:tag, or by (a prefix of) its id."""
        data = self.images()
        try:
            image_id = data["tags"].get(full_name(reference))
        except DockerError:
            image_id = None
        if image_id is None and re.fullmatch(r"(sha256:)?[0-9a-f]{4,64}", reference):
            wanted = reference.removeprefix("sha256:")
            matches = [i for i in data["images"] if i.removeprefix("sha256:").startswith(wanted)]
            image_id = matches[0] if len(matches) == 1 else None
        if image_id is None or image_id not in data["images"]:
            return None
        return image_id, data["images"][image_id]

    def auth(self, host: str) -> tuple[str, str] | None:
        for server, entry in self.config().get("auths", {}).items():
            if registry_host(server) == host and entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                return user, password
        return None


def _read_json(path: Path, default: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return default
    return loaded if isinstance(loaded, dict) else default


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2))
    os.replace(temporary, path)


# ---------------------------------------------------------------------- the sandbox's ECR


def ecr_call(region: str, operation: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One ECR API call to the sandbox (JSON 1.1, signed with Signature Version 4)."""
    # Imported here: only login, push and pull call ECR, and this script starts for every
    # docker command of every build (urllib.request and http.client are a third of its start).
    import urllib.error
    import urllib.request

    endpoint = os.environ.get("MMTUI_DOCKER_ENDPOINT", "")
    if not endpoint:
        raise DockerError("Cannot connect to the Docker daemon: the sandbox's address is not set")
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"{ECR_TARGET}.{operation}",
    }
    headers.update(
        _sign(
            endpoint,
            region,
            "ecr",
            body,
            headers,
            os.environ.get("MMTUI_DOCKER_ACCESS_KEY", "testing"),
            os.environ.get("MMTUI_DOCKER_SECRET_KEY", "testing"),
        )
    )
    request = urllib.request.Request(endpoint.rstrip("/") + "/", body, headers, method="POST")
    # The sandbox is on loopback: a proxy from the environment must not be asked for it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            answer = json.loads(error.read() or b"{}")
        except ValueError:
            answer = {}
        return error.code, answer if isinstance(answer, dict) else {}
    except (urllib.error.URLError, OSError) as error:
        raise DockerError(f"Cannot reach the sandbox's registries at {endpoint}: {error}") from None


def _sign(
    url: str,
    region: str,
    service: str,
    body: bytes,
    headers: dict[str, str],
    access_key: str,
    secret_key: str,
) -> dict[str, str]:
    """The headers that sign a POST to `url` (AWS Signature Version 4)."""
    now = datetime.datetime.now(datetime.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    host = urllib.parse.urlsplit(url).netloc
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed.update({"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    names = sorted(signed)
    canonical = "\n".join(
        ["POST", "/", "", *(f"{name}:{signed[name]}" for name in names), "", ";".join(names)]
    )
    canonical += "\n" + payload_hash
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Amz-Date": amz_date,
        "X-Amz-Content-Sha256": payload_hash,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        ),
    }


def _ecr_registry(host: str) -> tuple[str, str]:
    """(account, region) of an ECR registry host, or the error docker gives for any other."""
    match = ECR_HOST.match(host)
    if match is None:
        raise DockerError(
            f'Get "https://{host}/v2/": dial tcp: lookup {host}: no such host '
            "(the sandbox's registries are ECR's: ACCOUNT.dkr.ecr.REGION.amazonaws.com)"
        )
    return match["account"], match["region"]


# ---------------------------------------------------------------------- commands


def _arguments(args: list[str], value_flags: Collection[str]) -> Iterator[tuple[str, str | None]]:
    """The command line as docker reads it: a flag of `value_flags` with its value (from
    `--flag=value` or the next argument), any other argument with None."""
    index = 0
    while index < len(args):
        arg = args[index]
        name, has_value, value = arg.partition("=")
        if name in value_flags:
            if not has_value:
                index += 1
                if index >= len(args):
                    raise DockerError(f"flag needs an argument: {name}", 125)
                value = args[index]
            yield name, value
        else:
            yield arg, None
        index += 1


def cmd_build(args: list[str], store: Store) -> int:
    tags: list[str] = []
    dockerfile: str | None = None
    quiet = False
    positional: list[str] = []
    value_flags = {"-t", "--tag", "-f", "--file", *BUILD_VALUE_FLAGS}
    for arg, value in _arguments(args, value_flags):
        if value is not None:
            if arg in ("-t", "--tag"):
                tags.append(value)
            elif arg in ("-f", "--file"):
                dockerfile = value
        elif arg in BUILD_BOOL_FLAGS:
            quiet = quiet or arg in ("-q", "--quiet")
        elif arg.startswith("-") and arg != "-":
            raise DockerError(f"unknown flag: {arg}\nSee 'docker build --help'.", 125)
        else:
            positional.append(arg)
    if len(positional) != 1:
        raise DockerError(
            "\"docker build\" requires exactly 1 argument.\nSee 'docker build --help'.\n\n"
            "Usage:  docker build [OPTIONS] PATH | URL | -\n\n"
            "Build an image from a Dockerfile",
            1,
        )
    for tag in tags:
        split_reference(tag)  # refuse a malformed tag before building, as docker does
    context = Path(positional[0])
    if not context.is_dir():
        raise DockerError(f"unable to prepare context: path {positional[0]!r} not found", 1)
    dockerfile_path = Path(dockerfile) if dockerfile else context / "Dockerfile"
    if not dockerfile_path.is_file():
        raise DockerError(
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
            f"lstat {dockerfile_path.resolve()}: no such file or directory"
        )
    files = context_files(context)
    size = sum(len(content) for content in files.values())
    instructions = parse_dockerfile(dockerfile_path.read_text(errors="replace"))
    out = [f"Sending build context to Docker daemon  {_human(size)}"]
    layers: list[dict[str, Any]] = []
    history: list[str] = []
    state = hashlib.sha256(b"mmtui-docker").hexdigest()
    for number, (keyword, rest) in enumerate(instructions, start=1):
        out.append(f"Step {number}/{len(instructions)} : {keyword} {rest}")
        content = b""
        if keyword in ("COPY", "ADD"):
            content = copied_content(rest, files, keyword)
        state = hashlib.sha256(f"{state}\n{keyword} {rest}\n".encode() + content).hexdigest()
        history.append(f"{keyword} {rest}")
        if keyword == "FROM" or keyword in ("RUN", "COPY", "ADD"):
            layers.append(
                {
                    "mediaType": LAYER_TYPE,
                    "size": len(content) + 1024 + int(state[:5], 16),
                    "digest": f"sha256:{state}",
                }
            )
        if keyword == "RUN":
            out.append(f" ---> Running in {state[20:32]}")
            out.append(f"Removing intermediate container {state[20:32]}")
        out.append(f" ---> {state[:12]}")
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "history": history,
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        },
        sort_keys=True,
    ).encode()
    config_digest = f"sha256:{hashlib.sha256(config).hexdigest()}"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": config_digest},
            "layers": layers,
        },
        indent=3,
    )
    data = store.images()
    data["images"][config_digest] = {
        "manifest": manifest,
        "created": time.time(),
        "size": sum(layer["size"] for layer in layers),
    }
    for tag in tags:
        data["tags"][full_name(tag)] = config_digest
    store.save_images(data)
    short = config_digest.removeprefix("sha256:")[:12]
    out.append(f"Successfully built {short}")
    out += [f"Successfully tagged {full_name(tag)}" for tag in tags]
    print(config_digest if quiet else "\n".join(out))
    return 0


def context_files(context: Path) -> dict[str, bytes]:
    """Every file of the build context (relative path → content), as the daemon receives it."""
    found: dict[str, bytes] = {}
    for path in sorted(context.rglob("*")):
        relative = path.relative_to(context).as_posix()
        if path.is_file() and not relative.startswith(".git/"):
            found[relative] = path.read_bytes()
    return found


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; line continuations joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    start_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start_line = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, rest = whole.partition(" ")
        if keyword.upper() not in INSTRUCTIONS:
            raise DockerError(
                f"Error response from daemon: dockerfile parse error line {start_line}: "
                f"unknown instruction: {keyword.upper()}"
            )
        instructions.append((keyword.upper(), rest.strip()))
    if pending.strip():
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    if not instructions:
        raise DockerError("Error response from daemon: the Dockerfile (Dockerfile) cannot be empty")
    first = next((keyword for keyword, _ in instructions if keyword != "ARG"), "")
    if first != "FROM":
        raise DockerError("Error response from daemon: No build stage in current context")
    return instructions


def copied_content(arguments: str, files: dict[str, bytes], keyword: str) -> bytes:
    """The bytes a COPY/ADD takes from the context; docker's error when a source is missing."""
    words = [w for w in arguments.split() if not w.startswith("--")]
    if arguments.lstrip().startswith("["):
        with contextlib.suppress(ValueError):
            words = [str(w) for w in json.loads(arguments)]
    sources = words[:-1]
    if not sources:
        raise DockerError(
            f"Error response from daemon: dockerfile parse error: {keyword} requires at least "
            "two arguments"
        )
    if any(w.startswith("--from") for w in arguments.split()):
        return b""  # from another stage or image, not the context
    digest = hashlib.sha256()
    for source in sources:
        if re.match(r"^[a-z]+://", source):
            digest.update(source.encode())
            continue
        pattern = source.removeprefix("./").strip("/") if source not in (".", "./") else ""
        matched = sorted(
            name
            for name in files
            if not pattern
            or name == pattern
            or name.startswith(pattern + "/")
            or fnmatch.fnmatch(name, pattern)
        )
        if not matched:
            raise DockerError(
                f"{keyword} failed: file not found in build context or excluded by "
                f".dockerignore: stat {source}: file does not exist"
            )
        for name in matched:
            digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest().encode()


def cmd_tag(args: list[str], store: Store) -> int:
    if len(args) != 2:
        raise DockerError(
            "\"docker tag\" requires exactly 2 arguments.\nSee 'docker tag --help'.\n\n"
            "Usage:  docker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
            "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"
        )
    found = store.find(args[0])
    if found is None:
        raise DockerError(f"Error response from daemon: No such image: {args[0]}")
    target = full_name(args[1])
    data = store.images()
    data["tags"][target] = found[0]
    store.save_images(data)
    return 0


def cmd_images(args: list[str], store: Store) -> int:
    quiet = any(arg in ("-q", "--quiet") for arg in args)
    data = store.images()
    rows = []
    for name, image_id in sorted(data["tags"].items()):
        repository, _, tag = name.rpartition(":")
        image = data["images"].get(image_id, {})
        rows.append((repository, tag, image_id.removeprefix("sha256:")[:12], image))
    if quiet:
        print("\n".join(dict.fromkeys(row[2] for row in rows)))
        return 0
    width = max([len(row[0]) for row in rows] + [10]) + 3
    print(f"{'REPOSITORY':<{width}}{'TAG':<44}{'IMAGE ID':<15}{'CREATED':<16}SIZE")
    for repository, tag, short, image in rows:
        age = _age(float(image.get("created", time.time())))
        print(f"{repository:<{width}}{tag:<44}{short:<15}{age:<16}{_human(image.get('size', 0))}")
    return 0


def cmd_login(args: list[str], store: Store) -> int:
    username = password = None
    from_stdin = False
    servers: list[str] = []
    for arg, value in _arguments(args, ("-u", "--username", "-p", "--password")):
        if value is not None:
            if arg in ("-u", "--username"):
                username = value
            else:
                password = value
        elif arg == "--password-stdin":
            from_stdin = True
        elif arg.startswith("--"):
            raise DockerError(f"unknown flag: {arg}\nSee 'docker login --help'.", 125)
        elif arg.startswith("-") and len(arg) > 1:
            # `aws ecr get-login` without --no-include-email adds `-e none`: docker 17.06+
            # no longer knows the flag.
            raise DockerError(
                f"unknown shorthand flag: '{arg[1]}' in {arg}\nSee 'docker login --help'.", 125
            )
        else:
            servers.append(arg)
    if len(servers) > 1:
        raise DockerError(
            "\"docker login\" requires at most 1 argument.\nSee 'docker login --help'."
        )
    if password is not None and from_stdin:
        raise DockerError("--password and --password-stdin are mutually exclusive")
    if from_stdin:
        if not username:
            raise DockerError("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password is not None:
        print(
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
            file=sys.stderr,
        )
    server = servers[0] if servers else "https://index.docker.io/v1/"
    host = registry_host(server)
    if host in (DOCKER_HUB, "index.docker.io", "registry-1.docker.io"):
        raise DockerError(
            'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: '
            "lookup registry-1.docker.io: no such host (the sandbox has no internet)"
        )
    if not username or password is None:
        raise DockerError("Error: Cannot perform an interactive login from a non TTY device")
    account, region = _ecr_registry(host)
    status, answer = ecr_call(region, "GetAuthorizationToken", {"registryIds": [account]})
    expected = ""
    if status == 200:
        for data in answer.get("authorizationData", []):
            expected = base64.b64decode(data.get("authorizationToken", "")).decode()
    if f"{username}:{password}" != expected:
        raise DockerError(
            f"Error response from daemon: login attempted to https://{host}/v2/ failed with "
            "status: 400 Bad Request"
        )
    config = store.config()
    config.setdefault("auths", {})
    for existing in [k for k in config["auths"] if registry_host(k) == host]:
        del config["auths"][existing]
    config["auths"][server] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    store.save_config(config)
    print(
        f"WARNING! Your password will be stored unencrypted in {store.config_file}.\n"
        "Configure a credential helper to remove this warning. See\n"
        "https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n"
        "Login Succeeded"
    )
    return 0


def cmd_logout(args: list[str], store: Store) -> int:
    host = registry_host(args[0]) if args else DOCKER_HUB
    config = store.config()
    auths = config.get("auths", {})
    removed = [k for k in auths if registry_host(k) == host]
    for key in removed:
        del auths[key]
    store.save_config(config)
    if removed:
        print(f"Removing login credentials for {host}")
    else:
        print(f"Not logged in to {host}")
    return 0


def cmd_push(args: list[str], store: Store) -> int:
    positional = [a for a in args if not a.startswith("-")]
    if len(positional) != 1:
        raise DockerError(
            "\"docker push\" requires exactly 1 argument.\nSee 'docker push --help'.\n\n"
            "Usage:  docker push [OPTIONS] NAME[:TAG]\n\n"
            "Push an image or a repository to a registry"
        )
    reference = positional[0]
    host, repository, tag = split_reference(reference)
    found = store.find(reference)
    if found is None:
        raise DockerError(f"An image does not exist locally with the tag: {reference}")
    image = found[1]
    manifest = json.loads(image["manifest"])
    shown = f"{host}/{repository}" if host != DOCKER_HUB else f"docker.io/library/{repository}"
    print(f"The push refers to repository [{shown}]")
    layers = [layer["digest"].removeprefix("sha256:")[:12] for layer in manifest["layers"]]
    for layer in reversed(layers):
        print(f"{layer}: Preparing")
    sys.stdout.flush()
    if host == DOCKER_HUB:
        raise DockerError("denied: requested access to the resource is denied")
    account, region = _ecr_registry(host)
    credentials = store.auth(host)
    if credentials is None:
        raise DockerError("no basic auth credentials")
    status, answer = ecr_call(
        region, "DescribeRepositories", {"registryId": account, "repositoryNames": [repository]}
    )
    if status != 200:
        raise DockerError(_registry_error(answer, repository, account))
    status, answer = ecr_call(
        region,
        "PutImage",
        {
            "registryId": account,
            "repositoryName": repository,
            "imageManifest": image["manifest"],
            "imageManifestMediaType": MANIFEST_TYPE,
            "imageTag": tag,
        },
    )
    already = status != 200 and "ImageAlreadyExists" in str(answer.get("__type", ""))
    if status != 200 and not already:
        raise DockerError(_registry_error(answer, repository, account))
    for layer in reversed(layers):
        print(f"{layer}: {'Layer already exists' if already else 'Pushed'}")
    digest = hashlib.sha256(image["manifest"].encode()).hexdigest()
    print(f"{tag}: digest: sha256:{digest} size: {len(image['manifest'].encode())}")
    return 0


def cmd_pull(args: list[str], store: Store) -> int:
    positional = [a for a in args if not a.startswith("-")]
    if len(positional) != 1:
        raise DockerError('"docker pull" requires exactly 1 argument.')
    reference = positional[0]
    host, repository, tag = split_reference(reference)
    if host == DOCKER_HUB:
        raise DockerError(
            'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: '
            "lookup registry-1.docker.io: no such host (the sandbox has no internet)"
        )
    account, region = _ecr_registry(host)
    if store.auth(host) is None:
        raise DockerError(
            f'Error response from daemon: Head "https://{host}/v2/{repository}/manifests/'
            f'{tag}": no basic auth credentials'
        )
    status, answer = ecr_call(
        region,
        "BatchGetImage",
        {"registryId": account, "repositoryName": repository, "imageIds": [{"imageTag": tag}]},
    )
    if status != 200:
        raise DockerError(
            "Error response from daemon: " + _registry_error(answer, repository, account)
        )
    images = answer.get("images", [])
    if not images:
        raise DockerError(
            f"Error response from daemon: manifest for {host}/{repository}:{tag} not found: "
            "manifest unknown: Requested image not found"
        )
    manifest = str(images[0]["imageManifest"])
    parsed = json.loads(manifest)
    config_digest = str(parsed.get("config", {}).get("digest", ""))
    image_id = config_digest or f"sha256:{hashlib.sha256(manifest.encode()).hexdigest()}"
    data = store.images()
    data["images"][image_id] = {
        "manifest": manifest,
        "created": time.time(),
        "size": sum(int(layer.get("size", 0)) for layer in parsed.get("layers", [])),
    }
    data["tags"][full_name(reference)] = image_id
    store.save_images(data)
    digest = hashlib.sha256(manifest.encode()).hexdigest()
    print(f"{tag}: Pulling from {repository}\nDigest: sha256:{digest}")
    print(
        f"Status: Downloaded newer image for {host}/{repository}:{tag}\n{host}/{repository}:{tag}"
    )
    return 0


def _registry_error(answer: dict[str, Any], repository: str, account: str) -> str:
    code = str(answer.get("__type", "")).rsplit("#", 1)[-1]
    message = str(answer.get("message") or answer.get("Message") or "")
    if code == "RepositoryNotFoundException":
        return (
            f"name unknown: The repository with name '{repository}' does not exist in the "
            f"registry with id '{account}'"
        )
    return f"{code or 'error'}: {message or 'the registry refused the request'}"


def cmd_version(args: list[str], store: Store) -> int:
    print(
        f"Client:\n Version:           {VERSION}\n API version:       1.41\n OS/Arch:           "
        f"linux/amd64\n\nServer: mmtui sandbox (no daemon: images are recorded, not run)\n"
        f" Engine:\n  Version:          {VERSION}"
    )
    return 0


COMMANDS = {
    "build": cmd_build,
    "tag": cmd_tag,
    "images": cmd_images,
    "login": cmd_login,
    "logout": cmd_logout,
    "push": cmd_push,
    "pull": cmd_pull,
    "version": cmd_version,
}
IMAGE_SUBCOMMANDS = {"build": "build", "tag": "tag", "ls": "images", "push": "push", "pull": "pull"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(
            "Usage:  docker [OPTIONS] COMMAND\n\nCommands of the mmtui sandbox's docker: "
            + ", ".join(sorted(COMMANDS))
        )
        return 0
    if argv[0] in ("-v", "--version"):
        print(f"Docker version {VERSION}, build mmtui-sandbox")
        return 0
    command, args = argv[0], argv[1:]
    if command == "image" and args and args[0] in IMAGE_SUBCOMMANDS:
        command, args = IMAGE_SUBCOMMANDS[args[0]], args[1:]
    handler = COMMANDS.get(command)
    if handler is None:
        if command.startswith("-"):
            print(f"unknown flag: {command}\nSee 'docker --help'.", file=sys.stderr)
            return 125
        known = command in ("run", "exec", "rmi", "rm", "ps", "inspect", "compose", "save", "load")
        reason = (
            f"docker {command} is not available in the mmtui sandbox (there is no daemon to run "
            "containers)"
            if known
            else f"docker: '{command}' is not a docker command.\nSee 'docker --help'"
        )
        print(reason, file=sys.stderr)
        return 1
    try:
        return handler(args, Store())
    except DockerError as error:
        sys.stdout.flush()
        print(str(error), file=sys.stderr)
        return error.status


def _human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.4g}{unit}"
        size /= 1000
    return f"{size}B"


def _age(created: float) -> str:
    seconds = max(0, int(time.time() - created))
    if seconds < 60:
        return "Less than a second ago" if seconds < 1 else f"{seconds} seconds ago"
    return f"{seconds // 60} minutes ago"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
