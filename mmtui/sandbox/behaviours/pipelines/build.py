"""One CodeBuild build, really run: the buildspec's commands in bash, phase by phase.

As on CodeBuild (buildspec version 0.2), every command of every phase runs in ONE shell session,
so variables and the working directory carry from one command to the next and across phases;
the first failing command fails its phase, its output is in the log; a failure in INSTALL or
PRE_BUILD ends the build, one in BUILD still runs POST_BUILD (with
CODEBUILD_BUILD_SUCCEEDING=0), and UPLOAD_ARTIFACTS is always attempted after BUILD. The log
has CodeBuild's `[Container]` lines around the commands' own output.

The shell sees the CodeBuild environment variables, the sandbox as its AWS endpoint, a HOME of
its own and a PATH whose first folder holds `aws` (the awscli package mmtui depends on, run by
this Python through a fork server that has imported it once, command_server.py, lacking the
commands the project's image's CLI lacks: aws_cli.py) and `docker` (docker.py, through the same
server); the rest of PATH is the basic system folders only, so
nothing else installed on the machine takes part.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmtui.gitops.build_images import GET_LOGIN, GET_LOGIN_PASSWORD, image_cli
from mmtui.sandbox.behaviours.pipelines import buildspec as buildspecs
from mmtui.sandbox.behaviours.pipelines import command_launcher
from mmtui.sandbox.behaviours.pipelines.artifacts import unzip_into, zip_files

SYSTEM_PATH = "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
"""Basic system folders; /usr/local/bin is left out: that is where a machine's own `aws` or
`docker` would be."""
DEFAULT_BUILDSPEC = "buildspec.yml"
MARKER_FD = 87
"""The descriptor the shell reports each command's end on: a copy of its stdout taken before any
command runs, so a command redirecting its own output cannot hide the report."""

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
STOPPED = "STOPPED"
TIMED_OUT = "TIMED_OUT"
COMMAND_EXECUTION_ERROR = "COMMAND_EXECUTION_ERROR"
CLIENT_ERROR = "CLIENT_ERROR"
YAML_FILE_ERROR = "YAML_FILE_ERROR"


@dataclass
class BuildRequest:
    build_id: str
    project: dict[str, Any]
    """The project as BatchGetProjects describes it."""
    region: str
    account: str
    source_zip: bytes
    source_version: str
    """CODEBUILD_SOURCE_VERSION: for a pipeline, the S3 ARN of the source artifact."""
    resolved_source_version: str
    """CODEBUILD_RESOLVED_SOURCE_VERSION: the commit."""
    initiator: str
    build_number: int
    endpoint: str
    access_key: str
    secret_key: str
    log_path: Path
    environment_overrides: list[dict[str, Any]] = field(default_factory=list)
    wants_artifact: bool = True


@dataclass
class BuildOutcome:
    status: str
    phase: str | None = None
    """The first phase that did not succeed, with its context code and message."""
    code: str | None = None
    message: str | None = None
    artifact: bytes | None = None


class BuildHooks:
    """What the build reports while it runs (the engine records it; tests may override)."""

    def phases_changed(self, phases: list[dict[str, Any]], current: str) -> None:
        """The phases so far (CodeBuild's shape) and the current phase."""

    def log_events(self, events: list[tuple[int, str]]) -> None:
        """New log lines, as (epoch milliseconds, line with its newline)."""


class BuildLog:
    """The build's log: a file written as lines come, and events for CloudWatch Logs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._pending: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def container(self, message: str) -> None:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime())
        fraction = f"{time.time() % 1:.6f}"[1:]
        self.line(f"[Container] {stamp}{fraction} {message}")

    def line(self, text: str) -> None:
        with self._lock:
            if self._file.closed:
                return  # a background process still writing after the build ended
            self._file.write(text + "\n")
            self._file.flush()
            self._pending.append((int(time.time() * 1000), text + "\n"))

    def take(self) -> list[tuple[int, str]]:
        with self._lock:
            pending, self._pending = self._pending, []
            return pending

    def close(self) -> None:
        with self._lock:
            self._file.close()


class Shell:
    """A bash session fed one command at a time; each command's status comes back in-band."""

    def __init__(self, cwd: Path, env: dict[str, str], script_dir: Path, log: BuildLog) -> None:
        self._nonce = secrets.token_hex(8)
        self._script_dir = script_dir
        self._log = log
        self._done: queue.Queue[tuple[int, int]] = queue.Queue()
        self._count = 0
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping the build stops it all
        )
        assert self.process.stdin is not None
        self._send(f"exec {MARKER_FD}>&1\n")
        self._reader = threading.Thread(target=self._read, name="mmtui-build-output", daemon=True)
        self._reader.start()

    def _send(self, text: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(text.encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the shell is gone: the command's status comes back as "exited"

    def run(self, command: str, deadline: float, cancel: threading.Event) -> int | str:
        """The command's exit status; "exited" if the shell ended, "cancelled" or "timeout"."""
        self._count += 1
        script = self._script_dir / f"command-{self._count:04d}.sh"
        script.write_text(command + "\n")
        # Sourced, so that assignments and `cd` stay in the session; its stdin is /dev/null so a
        # command reading stdin never eats what comes next.
        self._send(
            f". {shlex.quote(str(script))} </dev/null\n"
            f"printf '\\036MMTUI:%s:%d:%d\\036' {self._nonce} {self._count} $? >&{MARKER_FD}\n"
        )
        while True:
            if cancel.is_set():
                return "cancelled"
            remaining = deadline - time.time()
            if remaining <= 0:
                return "timeout"
            try:
                number, status = self._done.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
            if number == -1:
                return "exited"
            if number == self._count:
                return status

    def export(self, name: str, value: str) -> None:
        self._send(f"export {name}={shlex.quote(value)}\n")

    def _read(self) -> None:
        try:
            self._read_output()
        except Exception:  # noqa: BLE001  (never a traceback on the terminal; the build ends)
            self._done.put((-1, -1))

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        marker = f"\x1eMMTUI:{self._nonce}:".encode()
        buffer = b""
        fd = self.process.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            while True:
                start = buffer.find(marker)
                if start < 0:
                    # Whole lines go to the log now; a partial line (or what could be the
                    # start of a marker) waits for more.
                    cut = buffer.rfind(b"\n")
                    if cut >= 0 and b"\x1e" not in buffer[: cut + 1]:
                        self._lines(buffer[:cut])
                        buffer = buffer[cut + 1 :]
                    break
                end = buffer.find(b"\x1e", start + len(marker))
                if end < 0:
                    break
                if start:
                    text = buffer[:start]
                    self._lines(text[:-1] if text.endswith(b"\n") else text)
                number, _, status = buffer[start + len(marker) : end].decode().partition(":")
                buffer = buffer[end + 1 :]
                self._done.put((int(number), int(status)))
        if buffer:
            self._lines(buffer.rstrip(b"\n"))
        self._done.put((-1, self.process.wait()))

    def _lines(self, data: bytes) -> None:
        for line in data.decode("utf-8", "replace").split("\n"):
            self._log.line(line)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self._reader.join(timeout=5)


class BuildRun:
    """Runs one build; `run()` returns its outcome and never raises for a build failure."""

    def __init__(self, request: BuildRequest, hooks: BuildHooks, cancel: threading.Event) -> None:
        self.request = request
        self.hooks = hooks
        self.cancel = cancel
        self.phases: list[dict[str, Any]] = []
        self.log = BuildLog(request.log_path)
        self.outcome = BuildOutcome(SUCCEEDED)
        timeout = int(request.project.get("timeoutInMinutes") or 60)
        self.deadline = time.time() + max(1, timeout) * 60
        self._phase_start = time.time()
        self._current = ""
        self._variables: dict[str, str] = {}
        """The project's and the action's variables (they take precedence over the buildspec's)."""
        self._spec_variables: dict[str, str] = {}

    # ------------------------------------------------------------------ phases

    def _enter(self, phase: str) -> None:
        self._current = phase
        self._phase_start = time.time()
        self.hooks.phases_changed(
            [*self.phases, {"phaseType": phase, "startTime": self._phase_start}], phase
        )

    def _complete(self, status: str, code: str = "", message: str = "") -> None:
        end = time.time()
        self.phases.append(
            {
                "phaseType": self._current,
                "phaseStatus": status,
                "startTime": self._phase_start,
                "endTime": end,
                "durationInSeconds": int(end - self._phase_start),
                "contexts": [{"statusCode": code, "message": message}],
            }
        )
        if self._current not in ("SUBMITTED", "QUEUED", "PROVISIONING", "FINALIZING"):
            self.log.container(f"Phase complete: {self._current} State: {status}")
            self.log.container(f"Phase context status code: {code} Message: {message}")
        if status != SUCCEEDED and self.outcome.phase is None:
            self.outcome.phase, self.outcome.code, self.outcome.message = (
                self._current,
                code,
                message,
            )
            self.outcome.status = status if status in (STOPPED, TIMED_OUT) else FAILED
        self.hooks.phases_changed(list(self.phases), self._current)
        self.hooks.log_events(self.log.take())

    # ------------------------------------------------------------------ the build

    def run(self) -> BuildOutcome:
        work = Path(tempfile.mkdtemp(prefix="mmtui-build-"))
        shell: Shell | None = None
        try:
            for phase in ("SUBMITTED", "QUEUED"):
                self._enter(phase)
                self._complete(SUCCEEDED)
            self._enter("PROVISIONING")
            source_dir = work / "src"
            env = self._environment(work, source_dir)
            self.log.container("Running on CodeBuild On-demand (mmtui sandbox)")
            self.log.container("Waiting for agent ping")
            self.log.container("Waiting for DOWNLOAD_SOURCE")
            self._complete(SUCCEEDED)
            self._enter("DOWNLOAD_SOURCE")
            self.log.container("Phase is DOWNLOAD_SOURCE")
            spec = self._download_source(source_dir)
            if spec is None:
                return self._finish()
            shell = Shell(source_dir, env, work / "commands", self.log)
            failed_early = False
            for name in buildspecs.PHASES:
                if failed_early or self.outcome.status in (STOPPED, TIMED_OUT):
                    break
                if name == "post_build" and self.outcome.status == FAILED:
                    shell.export("CODEBUILD_BUILD_SUCCEEDING", "0")
                ok = self._run_phase(shell, name, spec.phases.get(name))
                if not ok and name in ("install", "pre_build"):
                    failed_early = True
            if not failed_early and self.outcome.status not in (STOPPED, TIMED_OUT):
                self._upload_artifacts(source_dir, spec)
            return self._finish()
        except Exception as exc:  # noqa: BLE001  (the sandbox's own failure: say so in the log)
            self.log.container(f"mmtui sandbox error: {type(exc).__name__}: {exc}")
            if self._current and not any(p["phaseType"] == self._current for p in self.phases):
                self._complete(FAILED, "CLIENT_ERROR", f"{type(exc).__name__}: {exc}")
            return self._finish()
        finally:
            if shell is not None:
                shell.close()
            shutil.rmtree(work, ignore_errors=True)

    def _finish(self) -> BuildOutcome:
        self._enter("FINALIZING")
        self._complete(SUCCEEDED)
        self._current = "COMPLETED"
        self.phases.append({"phaseType": "COMPLETED", "startTime": time.time()})
        self.hooks.phases_changed(list(self.phases), "COMPLETED")
        self.hooks.log_events(self.log.take())
        self.log.close()
        return self.outcome

    def _environment(self, work: Path, source_dir: Path) -> dict[str, str]:
        request = self.request
        bin_dir, home = work / "bin", work / "home"
        for folder in (bin_dir, home, work / "tmp", work / "docker", work / "commands"):
            folder.mkdir(parents=True, exist_ok=True)
        python = shlex.quote(sys.executable)
        project_env = request.project.get("environment") or {}
        _write_script(bin_dir / "aws", _aws_script(python, str(project_env.get("image") or "")))
        settings = {
            "MMTUI_DOCKER_ENDPOINT": request.endpoint,
            "MMTUI_DOCKER_ACCESS_KEY": request.access_key,
            "MMTUI_DOCKER_SECRET_KEY": request.secret_key,
            "MMTUI_DOCKER_ROOT": str(work / "docker"),
        }
        exports = "".join(f"{k}={shlex.quote(v)} " for k, v in settings.items())
        docker = command_launcher.command(python, "docker")
        _write_script(bin_dir / "docker", f'{exports}exec {docker} "$@"\n')
        builtins = {
            "CODEBUILD_BUILD_ARN": (
                f"arn:aws:codebuild:{request.region}:{request.account}:build/{request.build_id}"
            ),
            "CODEBUILD_BUILD_ID": request.build_id,
            "CODEBUILD_BUILD_IMAGE": str(project_env.get("image", "")),
            "CODEBUILD_BUILD_NUMBER": str(request.build_number),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_INITIATOR": request.initiator,
            "CODEBUILD_KMS_KEY_ID": str(request.project.get("encryptionKey", "")),
            "CODEBUILD_LOG_PATH": request.build_id.split(":", 1)[-1],
            "CODEBUILD_PROJECT_ARN": str(request.project.get("arn", "")),
            "CODEBUILD_RESOLVED_SOURCE_VERSION": request.resolved_source_version,
            "CODEBUILD_SOURCE_REPO_URL": request.source_version,
            "CODEBUILD_SOURCE_VERSION": request.source_version,
            "CODEBUILD_SRC_DIR": str(source_dir),
            "CODEBUILD_START_TIME": str(int(time.time() * 1000)),
        }
        env = {
            "PATH": f"{bin_dir}:{SYSTEM_PATH}",
            "HOME": str(home),
            "TMPDIR": str(work / "tmp"),
            "LANG": "C.UTF-8",
            "SHELL": "/bin/bash",
            "AWS_ENDPOINT_URL": request.endpoint,
            "AWS_ACCESS_KEY_ID": request.access_key,
            "AWS_SECRET_ACCESS_KEY": request.secret_key,
            "AWS_DEFAULT_REGION": request.region,
            "AWS_REGION": request.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            **builtins,
        }
        for variable in [
            *(project_env.get("environmentVariables") or []),
            *request.environment_overrides,
        ]:
            if str(variable.get("type", "PLAINTEXT")) != "PLAINTEXT":
                raise RuntimeError(
                    f"environment variable {variable.get('name')} is of type "
                    f"{variable.get('type')}, which the mmtui sandbox does not resolve"
                )
            self._variables[str(variable["name"])] = str(variable.get("value", ""))
        env.update(self._variables)
        return env

    def _download_source(self, source_dir: Path) -> buildspecs.Buildspec | None:
        unzip_into(self.request.source_zip, source_dir)
        self.log.container(f"CODEBUILD_SRC_DIR={source_dir}")
        source = self.request.project.get("source") or {}
        declared = str(source.get("buildspec") or DEFAULT_BUILDSPEC)
        if "\n" in declared:
            text = declared  # an inline buildspec in the project
            self.log.container("YAML location is the project's inline buildspec")
        else:
            path = source_dir / declared
            self.log.container(f"YAML location is {path}")
            if not path.is_file():
                self._complete(FAILED, YAML_FILE_ERROR, f"stat {path}: no such file or directory")
                return None
            text = path.read_text(errors="replace")
        try:
            spec = buildspecs.parse(text)
        except buildspecs.BuildspecError as exc:
            self._complete(FAILED, YAML_FILE_ERROR, str(exc))
            return None
        self.log.container("Processing environment variables")
        self.log.container(f"Moving to directory {source_dir}")
        counts = {name: n for name, n in spec.command_count().items() if n}
        self.log.container(f"Phases found in YAML: {len(spec.phases)}")
        for name, count in counts.items():
            self.log.container(f" {name.upper()}: {count} commands")
        self._complete(SUCCEEDED)
        self._spec_variables = spec.variables
        return spec

    def _run_phase(self, shell: Shell, name: str, phase: buildspecs.Phase | None) -> bool:
        self._enter(name.upper())
        self.log.container(f"Entering phase {name.upper()}")
        if name == "install":
            # The buildspec's variables have the lowest precedence (project and action ones win),
            # and CodeBuild's own CODEBUILD_* ones cannot be replaced.
            for variable, value in self._spec_variables.items():
                if variable not in self._variables and not variable.startswith("CODEBUILD_"):
                    shell.export(variable, value)
        failure: tuple[str, str, str] | None = None
        if phase is not None:
            failure = self._commands(shell, phase.commands, phase.on_failure)
            if phase.finally_commands:
                late = self._commands(shell, phase.finally_commands, phase.on_failure)
                failure = failure or late
        if failure is None:
            self._complete(SUCCEEDED)
            return True
        self._complete(*failure)
        return False

    def _commands(
        self, shell: Shell, commands: list[str], on_failure: str
    ) -> tuple[str, str, str] | None:
        failure: tuple[str, str, str] | None = None
        for command in commands:
            self.log.container(f"Running command {command}")
            status = shell.run(command, self.deadline, self.cancel)
            if status == 0:
                continue
            if status == "cancelled":
                self.log.container("Build stopped")
                return STOPPED, "BUILD_STOPPED", "Build was stopped"
            if status == "timeout":
                self.log.container("Build timed out")
                return TIMED_OUT, "BUILD_TIMED_OUT", "Build has timed out."
            reason = "the shell exited" if status == "exited" else f"exit status {status}"
            self.log.container(f"Command did not exit successfully {command} {reason}")
            failure = failure or (
                FAILED,
                COMMAND_EXECUTION_ERROR,
                f"Error while executing command: {command}. Reason: {reason}",
            )
            if on_failure == buildspecs.ABORT or status == "exited":
                return failure
        return failure

    def _upload_artifacts(self, source_dir: Path, spec: buildspecs.Buildspec) -> None:
        self._enter("UPLOAD_ARTIFACTS")
        if not self.request.wants_artifact:
            self._complete(SUCCEEDED)
            return
        artifacts = spec.artifacts or buildspecs.Artifacts()
        base = (source_dir / artifacts.base_directory).resolve()
        self.log.container(f"Expanding base directory path: {artifacts.base_directory}")
        self.log.container("Assembling file list")
        found: dict[str, Path] = {}
        missing = False
        if not base.is_dir() or not base.is_relative_to(source_dir.resolve()):
            self._complete(
                FAILED,
                CLIENT_ERROR,
                f"no matching base directory path found for {artifacts.base_directory}",
            )
            return
        for pattern in artifacts.files:
            self.log.container(f"Expanding {pattern}")
            matches = _expand(base, pattern)
            if not matches:
                self.log.container(f"Skipping invalid file path {pattern}")
                missing = True
            for path in matches:
                name = path.name if artifacts.discard_paths else path.relative_to(base).as_posix()
                found[name] = path
        if missing or not found:
            self._complete(FAILED, CLIENT_ERROR, "no matching artifact paths found")
            return
        self.log.container(f"Found {len(found)} file(s)")
        self.outcome.artifact = zip_files(found)
        self._complete(SUCCEEDED)


def _expand(base: Path, pattern: str) -> list[Path]:
    """The files a pattern of `artifacts.files` names (a folder means all files below it)."""
    pattern = pattern.strip().removeprefix("./")
    if pattern in ("", "."):
        pattern = "**/*"
    try:
        candidates = (
            sorted(base.glob(pattern)) if any(c in pattern for c in "*?[") else [base / pattern]
        )
    except (ValueError, NotImplementedError):
        return []
    files: list[Path] = []
    for candidate in candidates:
        if candidate.is_dir():
            files += sorted(p for p in candidate.rglob("*") if p.is_file())
        elif candidate.is_file():
            files.append(candidate)
    resolved = base.resolve()
    return [f for f in files if f.resolve().is_relative_to(resolved)]


def _aws_script(python: str, image: str) -> str:
    """The build's `aws`: the image's CLI, which lacks what that version lacks (aws_cli.py)."""
    cli = image_cli(image)
    lacking = [
        f"ecr {style}" for style in (GET_LOGIN, GET_LOGIN_PASSWORD) if cli and cli.lacks(style)
    ]
    run = command_launcher.command(python)
    if cli is None or not lacking:
        return f'exec {run} "$@"\n'
    settings = (
        f"MMTUI_AWS_CLI_MAJOR={cli.major} MMTUI_AWS_CLI_LACKS={shlex.quote(','.join(lacking))}"
    )
    return f'{settings} exec {run} "$@"\n'


def _write_script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
