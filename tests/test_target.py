"""Target resolution, region validation, clients per thread, and the account identity."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.target.clients import ClientFactory
from mmtui.target.identity import fetch_identity
from mmtui.target.regions import known_regions, validate_region
from mmtui.target.spec import TargetFlags, TargetSpec, resolve_target
from tests.conftest import AttendeeSandbox, Endpoint, invoke


def test_default_is_sandbox_with_workshop_regions() -> None:
    spec = resolve_target(TargetFlags(), env={})
    assert spec.kind == "sandbox"
    assert spec.regions == ("us-west-2", "us-east-1")


def test_aws_endpoint_url_in_env_is_the_target_when_no_flag() -> None:
    spec = resolve_target(TargetFlags(), env={"AWS_ENDPOINT_URL": "http://127.0.0.1:4566/"})
    assert (spec.kind, spec.endpoint_url) == ("endpoint", "http://127.0.0.1:4566")


def test_flags_beat_the_environment() -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
    assert resolve_target(TargetFlags(aws=True), env=env).kind == "aws"
    assert resolve_target(TargetFlags(sandbox=True), env=env).kind == "sandbox"
    profile = resolve_target(TargetFlags(profile="attendee7"), env=env)
    assert (profile.kind, profile.profile) == ("aws", "attendee7")
    endpoint = resolve_target(TargetFlags(endpoint_url="http://127.0.0.1:5000"), env=env)
    assert endpoint.endpoint_url == "http://127.0.0.1:5000"


def test_regions_and_workspace_from_flags_and_env(tmp_path: Path) -> None:
    spec = resolve_target(
        TargetFlags(primary_region="EU-West-1", workspace=str(tmp_path)),
        env={"MMTUI_SECONDARY_REGION": "eu-central-1"},
    )
    assert spec.regions == ("eu-west-1", "eu-central-1")
    assert spec.workspace == tmp_path


def test_workspace_that_is_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    with pytest.raises(MmtuiError, match="--workspace: .* is not a folder"):
        resolve_target(TargetFlags(workspace=str(afile)), env={})


def test_region_names_come_from_botocore_partitions() -> None:
    regions = known_regions()
    # Regions of several partitions, none of them typed into mmtui.
    assert {"us-west-2", "us-east-1", "cn-north-1", "us-gov-west-1"} <= regions
    assert validate_region(" AP-Southeast-2 ", "--x") == "ap-southeast-2"
    with pytest.raises(MmtuiError) as error:
        validate_region("us-westt-2", "--primary-region")
    assert error.value.exit_code == ExitCode.USAGE
    assert str(error.value).startswith("--primary-region: 'us-westt-2' is not an AWS region")
    assert "us-west-2" in str(error.value)
    with pytest.raises(MmtuiError, match="is not an AWS region$"):
        validate_region("atlantis", "--secondary-region")


def _spec(endpoint: Endpoint) -> TargetSpec:
    return resolve_target(TargetFlags(endpoint_url=endpoint.url), env={})


def test_clients_are_made_once_and_shared_by_every_thread(
    aws_endpoint: Endpoint, sandbox_credentials: None
) -> None:
    """A whole-lab check runs its checks on a pool of threads: they share one session and one
    client per service and region (made once, even when they all ask at the same moment), and
    calls through the shared client from every thread at once all succeed."""
    from concurrent.futures import ThreadPoolExecutor

    factory = ClientFactory(_spec(aws_endpoint), endpoint_url=aws_endpoint.url)
    barrier = threading.Barrier(8)

    def ask(_: int) -> tuple[Any, Any, str]:
        barrier.wait()
        client = factory.client("sts", "us-east-1")
        return client, factory.session(), client.get_caller_identity()["Account"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert len({id(client) for client, _, _ in answers}) == 1
    assert len({id(session) for _, session, _ in answers}) == 1
    assert {account for _, _, account in answers} == {"123456789012"}
    assert factory.client("sts", "us-west-2") is not answers[0][0]
    assert factory.client("sts", "us-east-1", read_only=True) is not answers[0][0]


def test_sessions_of_every_thread_read_botocore_data_through_one_loader(
    aws_endpoint: Endpoint, dummy_credentials: None
) -> None:
    factory = ClientFactory(_spec(aws_endpoint), endpoint_url=aws_endpoint.url)
    factory.client("sts", "us-east-1")
    seen: dict[str, Any] = {}

    def other_thread() -> None:
        factory.client("sts", "us-east-1")
        seen["loader"] = factory.session()._session.get_component("data_loader")

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert seen["loader"] is factory.session()._session.get_component("data_loader")


def _walks_of_botocore_data(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each listing of botocore's data folder: one walk of it per list of services."""
    import os

    import botocore

    root = os.path.join(os.path.dirname(botocore.__file__), "data")
    walks: list[str] = []
    listdir = os.listdir

    def counting(path: Any = ".") -> list[str]:
        if os.fspath(path) == root:
            walks.append(root)
        return listdir(path)

    monkeypatch.setattr(os, "listdir", counting)
    return walks


def test_threads_that_start_together_walk_botocore_data_once(
    aws_endpoint: Endpoint, dummy_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first session to lend the process its loader also lists the services every client
    needs, so that threads making their first clients at once (a fleet's targets) do not each
    walk botocore's data folders."""
    from mmtui.target import clients

    monkeypatch.setattr(clients, "_shared_loader", None)  # as in a new process
    walks = _walks_of_botocore_data(monkeypatch)
    start = threading.Barrier(6)

    def first_client() -> None:
        factory = ClientFactory(_spec(aws_endpoint), endpoint_url=aws_endpoint.url)
        start.wait()
        factory.client("sts", "us-east-1")

    workers = [threading.Thread(target=first_client) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(walks) == 2  # the services with a model, the services with endpoint rules


def test_threads_making_their_first_paginators_together_walk_botocore_data_once(
    aws_endpoint: Endpoint, dummy_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client's first paginator lists the services that have paginators, a walk of
    botocore's data folders. A fleet's targets make theirs in the same instant through one
    shared client: each missed the loader's cache and walked (issue 15: 52 walks in a room of
    fifty). Now one walks and the others wait for its answer."""
    import os
    import time

    from mmtui.target import clients

    monkeypatch.setattr(clients, "_shared_loader", None)  # as in a new process
    factory = ClientFactory(_spec(aws_endpoint), endpoint_url=aws_endpoint.url)
    client = factory.client("dynamodb", "us-east-1")
    walks = _walks_of_botocore_data(monkeypatch)
    counting = os.listdir

    def slow(path: Any = ".") -> list[str]:
        time.sleep(0.0005)  # lets the other threads in mid-walk, as a busy fleet does
        return counting(path)

    monkeypatch.setattr(os, "listdir", slow)
    start = threading.Barrier(6)

    def first_paginator() -> None:
        start.wait()
        client.get_paginator("scan")

    workers = [threading.Thread(target=first_paginator) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(walks) == 1  # the services with paginators


def test_the_client_that_assumes_a_role_reads_the_shared_data_too(
    attendee_accounts: Callable[[int], AttendeeSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet assumes a role per attendee: its STS client is made like every other client."""
    room = attendee_accounts(1)
    record = room.accounts[0]
    keys = room.sandbox.credentials()
    # The shared loader made, and the sandbox's STS having answered once (it lives in this
    # process, with a loader of its own).
    ClientFactory(_spec(Endpoint(room.url)), room.url, keys).client("sts").get_caller_identity()
    walks = _walks_of_botocore_data(monkeypatch)
    factory = ClientFactory(room.role_target(record), endpoint_url=room.url)
    assert factory.client("sts").get_caller_identity()["Account"] == record.account_id
    assert walks == []


def test_a_target_reached_through_a_role_knows_itself_from_assume_role(
    attendee_accounts: Callable[[int], AttendeeSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AssumeRole's answer names the session (AssumedRoleUser): exactly what GetCallerIdentity
    would answer, so a target reached through a role is not asked again (a fleet of fifty: fifty
    calls and a round trip each fewer)."""
    from mmtui.sandbox.core.app import SandboxApp

    room = attendee_accounts(1)
    record = room.accounts[0]
    asked: list[str] = []
    handle = SandboxApp.handle

    def recording(app: SandboxApp, request: Any, environ: dict[str, Any]) -> Any:
        asked.append(request.operation)
        return handle(app, request, environ)

    monkeypatch.setattr(SandboxApp, "handle", recording)
    factory = ClientFactory(room.role_target(record), endpoint_url=room.url)
    identity = fetch_identity(factory)
    assert asked == ["AssumeRole"]
    answer = factory.client("sts").get_caller_identity()
    assert (identity.account_id, identity.arn, identity.user_id) == (
        answer["Account"],
        answer["Arn"],
        answer["UserId"],
    )
    assert identity.account_id == record.account_id


def test_an_assume_role_answer_that_does_not_name_the_session_is_not_trusted() -> None:
    from mmtui.target.identity import Identity, assumed_identity

    arn = "arn:aws:sts::210987654321:assumed-role/WorkshopAdmin/mmtui"
    assert assumed_identity({"Arn": arn, "AssumedRoleId": "AROAEXAMPLE:mmtui"}) == Identity(
        "210987654321", arn, "AROAEXAMPLE:mmtui"
    )
    # Each of these makes the target ask GetCallerIdentity, as before.
    assert assumed_identity(None) is None
    assert assumed_identity({"Arn": arn}) is None
    assert assumed_identity({"Arn": "WorkshopAdmin", "AssumedRoleId": "AROA:x"}) is None
    assert assumed_identity({"Arn": "arn:aws:sts::me:x/y", "AssumedRoleId": "AROA:x"}) is None


def test_clients_send_mmtui_user_agent_and_use_standard_retries(
    aws_endpoint: Endpoint, sandbox_credentials: None
) -> None:
    factory = ClientFactory(_spec(aws_endpoint), endpoint_url=aws_endpoint.url)
    client = factory.client("sts")
    agents: list[str] = []
    client.meta.events.register(
        "before-send.sts.*", lambda request, **_: agents.append(request.headers["User-Agent"])
    )
    client.get_caller_identity()
    assert len(agents) == 1
    agent = agents[0].decode() if isinstance(agents[0], bytes) else agents[0]
    assert "mmtui/0.1.0" in agent
    config = client.meta.config
    assert config.retries["mode"] == "standard"
    assert (config.connect_timeout, config.read_timeout) == (5, 30)
    assert client.meta.region_name == "us-west-2"


def test_identity_over_http(aws_endpoint: Endpoint, sandbox_credentials: None) -> None:
    identity = fetch_identity(ClientFactory(_spec(aws_endpoint), endpoint_url=aws_endpoint.url))
    assert identity.account_id == "123456789012"
    assert identity.arn.startswith("arn:aws:sts::123456789012:")


def test_target_command_shows_identity_and_regions(
    aws_endpoint: Endpoint, sandbox_credentials: None
) -> None:
    result = invoke("target", "--endpoint-url", aws_endpoint.url, "--secondary-region", "eu-west-1")
    assert result.code == 0, result.stderr
    assert f"endpoint {aws_endpoint.url}" in result.stdout
    assert "account:           123456789012" in result.stdout
    assert "secondary region:  eu-west-1" in result.stdout


def test_missing_credentials_exit_3_with_the_fix() -> None:
    result = invoke("target", "--aws")
    assert result.code == 3
    assert result.stderr.strip() == (
        "mmtui: no AWS credentials found: run `aws configure`, pass --profile NAME, "
        "or use --sandbox"
    )


def test_unknown_profile_exits_3() -> None:
    result = invoke("target", "--profile", "nobody")
    assert result.code == 3
    assert "no profile named 'nobody'" in result.stderr


def test_endpoint_without_credentials_says_to_source_sandbox_env(aws_endpoint: Endpoint) -> None:
    result = invoke("target", "--endpoint-url", aws_endpoint.url)
    assert result.code == 3
    assert "sandbox.env" in result.stderr


def test_unreachable_endpoint_exits_4(dummy_credentials: None) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = invoke("target", "--endpoint-url", f"http://127.0.0.1:{port}")
    assert result.code == 4
    assert "cannot reach" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [
        ("AccessDenied", ExitCode.CREDENTIALS),
        ("ExpiredToken", ExitCode.CREDENTIALS),
        ("InternalFailure", ExitCode.AWS_ERROR),
    ],
)
def test_sts_errors_map_to_exit_codes(
    code: str, exit_code: ExitCode, aws_endpoint: Endpoint, dummy_credentials: None
) -> None:
    factory = ClientFactory(_spec(aws_endpoint), endpoint_url=aws_endpoint.url)
    with Stubber(factory.client("sts", max_attempts=2, read_only=True)) as stub:
        stub.add_client_error(
            "get_caller_identity", service_error_code=code, service_message="nope"
        )
        with pytest.raises(MmtuiError) as error:
            fetch_identity(factory)
    assert error.value.exit_code == exit_code
    assert f"sts:GetCallerIdentity failed: {code}: nope" == str(error.value)


def test_real_aws_target_ignores_endpoint_in_environment(
    monkeypatch: pytest.MonkeyPatch, dummy_credentials: None
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    factory = ClientFactory(resolve_target(TargetFlags(aws=True)))
    client = factory.client("sts", "us-east-1")
    assert "127.0.0.1" not in client.meta.endpoint_url
