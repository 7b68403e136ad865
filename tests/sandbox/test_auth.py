"""The sandbox authenticates as AWS does: SigV4 on every API call, CodeCommit's credential helper
on git, loopback-only Host, and a state folder only its owner can read.

Everything over real HTTP: boto3 and the `aws` CLI for the API, the real `git` for git.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from mmtui.sandbox.behaviours import git_store
from mmtui.sandbox.core.server import ENV_FILE, KEY_FILE, STATE_FILE, Sandbox, SandboxOptions
from mmtui.sandbox.workshop.repositories import repository_names
from tests.conftest import AttendeeSandbox, aws_cli, aws_keys, codecommit_git

REGION = "us-west-2"


def client(sandbox: Sandbox, service: str, **keys: Any) -> Any:
    """A boto3 client on the sandbox with the given keys (no retries: a refusal is final)."""
    return boto3.client(
        service,
        endpoint_url=sandbox.url,
        region_name=REGION,
        config=Config(retries={"total_max_attempts": 1}, **keys.pop("config", {})),
        **keys,
    )


def refusal(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def secret_for(sandbox: Sandbox) -> dict[str, str]:
    access_key, secret = sandbox.credentials()
    return {"aws_access_key_id": access_key, "aws_secret_access_key": secret}


# ---------------------------------------------------------------------- the API


def test_the_sandbox_keys_are_random_and_its_own(sandbox: Sandbox) -> None:
    access_key, secret = sandbox.credentials()
    assert access_key.startswith("AKIA") and len(access_key) == 20
    assert len(secret) == 40 and secret != "testing"
    env = sandbox.env()
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (access_key, secret)
    sts = client(sandbox, "sts", **secret_for(sandbox))
    assert sts.get_caller_identity()["Account"] == sandbox.account_id


def test_unsigned_calls_are_refused_in_each_protocols_shape(sandbox: Sandbox) -> None:
    unsigned = {"config": {"signature_version": UNSIGNED}}
    assert refusal(client(sandbox, "sts", **unsigned).get_caller_identity) == (
        403,
        "MissingAuthenticationToken",
    )
    assert refusal(client(sandbox, "dynamodb", **unsigned).list_tables) == (
        400,
        "MissingAuthenticationTokenException",
    )
    s3 = client(sandbox, "s3", **unsigned)
    assert refusal(lambda: s3.create_bucket(Bucket="unsigned-bucket")) == (403, "AccessDenied")
    signed = client(sandbox, "s3", **secret_for(sandbox))
    assert "unsigned-bucket" not in [b["Name"] for b in signed.list_buckets()["Buckets"]]


def test_a_wrong_secret_or_an_unknown_key_is_refused(sandbox: Sandbox) -> None:
    access_key, _ = sandbox.credentials()
    wrong = {"aws_access_key_id": access_key, "aws_secret_access_key": "x" * 40}
    unknown = {"aws_access_key_id": "AKIAUNKNOWNKEY000000", "aws_secret_access_key": "x" * 40}
    expected = {
        "sts": (
            lambda c: c.get_caller_identity(),
            (403, "SignatureDoesNotMatch"),
            (403, "InvalidClientTokenId"),
        ),
        "dynamodb": (
            lambda c: c.list_tables(),
            (400, "InvalidSignatureException"),
            (400, "UnrecognizedClientException"),
        ),
        "s3": (
            lambda c: c.list_buckets(),
            (403, "SignatureDoesNotMatch"),
            (403, "InvalidAccessKeyId"),
        ),
        "xray": (
            lambda c: c.get_groups(),
            (403, "InvalidSignatureException"),
            (403, "UnrecognizedClientException"),
        ),
    }
    for service, (call, bad_signature, bad_key) in expected.items():
        for keys, answer in ((wrong, bad_signature), (unknown, bad_key)):
            made = client(sandbox, service, **keys)
            assert refusal(lambda made=made, call=call: call(made)) == answer, service
    # Nothing a refused request asked for happened.
    table = client(sandbox, "dynamodb", **secret_for(sandbox)).list_tables()["TableNames"][0]
    with pytest.raises(ClientError):
        client(sandbox, "dynamodb", **wrong).delete_table(TableName=table)
    assert table in client(sandbox, "dynamodb", **secret_for(sandbox)).list_tables()["TableNames"]


def test_a_key_deleted_or_made_inactive_is_refused_from_the_next_call(sandbox: Sandbox) -> None:
    """Keys found are remembered between calls (one trip through the sandbox lock a call, not
    two); any change forgets them, so a revoked key never outlives its revocation."""
    iam = client(sandbox, "iam", **secret_for(sandbox))
    iam.create_user(UserName="revoked")
    made = iam.create_access_key(UserName="revoked")["AccessKey"]
    keys = {
        "aws_access_key_id": made["AccessKeyId"],
        "aws_secret_access_key": made["SecretAccessKey"],
    }
    sts = client(sandbox, "sts", **keys)
    assert sts.get_caller_identity()["Arn"].endswith(":user/revoked")
    assert sts.get_caller_identity()["Arn"].endswith(":user/revoked")  # the remembered key
    iam.update_access_key(
        UserName="revoked", AccessKeyId=keys["aws_access_key_id"], Status="Inactive"
    )
    assert refusal(sts.get_caller_identity) == (403, "InvalidClientTokenId")
    iam.update_access_key(
        UserName="revoked", AccessKeyId=keys["aws_access_key_id"], Status="Active"
    )
    assert sts.get_caller_identity()["Arn"].endswith(":user/revoked")
    iam.delete_access_key(UserName="revoked", AccessKeyId=keys["aws_access_key_id"])
    assert refusal(sts.get_caller_identity) == (403, "InvalidClientTokenId")


def test_a_new_sts_session_keeps_the_keys_found_and_the_state_generation(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STS writes only add sessions: the keys found stay remembered (a room's fifty AssumeRoles
    made every following call look its key up again under the lock) and the generation that
    extensions' derived facts hang on stays; any other write forgets and counts, as before."""
    from mmtui.sandbox.behaviours import accounts
    from mmtui.sandbox.core import server

    iam = client(sandbox, "iam", **secret_for(sandbox))
    iam.create_user(UserName="kept")
    made = iam.create_access_key(UserName="kept")["AccessKey"]
    keys = {
        "aws_access_key_id": made["AccessKeyId"],
        "aws_secret_access_key": made["SecretAccessKey"],
    }
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{sandbox.account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="kept", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    sts = client(sandbox, "sts", **keys)
    sts.get_caller_identity()  # found, and remembered
    looked_up: list[str] = []
    lookup = accounts.moto_principal

    def counting(access_key: str) -> Any:
        looked_up.append(access_key)
        return lookup(access_key)

    monkeypatch.setattr(server, "moto_principal", counting)
    generation = sandbox.state_generation
    session = sts.assume_role(RoleArn=role, RoleSessionName="kept")["Credentials"]  # STS write
    assert sandbox.state_generation == generation
    # The new session's key is found while AssumeRole holds the lock, not on its first call.
    assert looked_up == [session["AccessKeyId"]]
    assert sts.get_caller_identity()["Arn"].endswith(":user/kept")
    assert looked_up == [session["AccessKeyId"]]
    as_session = client(
        sandbox,
        "sts",
        aws_access_key_id=session["AccessKeyId"],
        aws_secret_access_key=session["SecretAccessKey"],
        aws_session_token=session["SessionToken"],
    )
    assert as_session.get_caller_identity()["Account"] == sandbox.account_id
    assert looked_up == [session["AccessKeyId"]]  # known since its birth: not looked up again
    iam.create_user(UserName="other")  # any other write
    assert sandbox.state_generation == generation + 1
    sts.get_caller_identity()
    assert looked_up[-1] == keys["aws_access_key_id"]


def test_a_request_outside_the_15_minutes_is_refused(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sts = client(sandbox, "sts", **secret_for(sandbox))
    s3 = client(sandbox, "s3", **secret_for(sandbox))
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: now - datetime.timedelta(minutes=14)
    )
    assert sts.get_caller_identity()["Account"] == sandbox.account_id  # within: fine
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda: now - datetime.timedelta(minutes=20)
    )
    with pytest.raises(ClientError) as caught:
        sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert caught.value.response["Error"]["Message"].startswith("Signature expired: ")
    assert refusal(s3.list_buckets) == (403, "RequestTimeTooSkewed")


def test_assumed_role_credentials_work_and_their_token_is_checked(
    attendee_accounts: Callable[[int], AttendeeSandbox],
) -> None:
    room = attendee_accounts(1)
    account = room.ids[0]
    credentials = room.credentials(account)

    def sts(token: str | None) -> Any:
        return boto3.client(
            "sts",
            endpoint_url=room.url,
            region_name=REGION,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=token,
            config=Config(retries={"total_max_attempts": 1}),
        )

    assert sts(credentials["AWS_SESSION_TOKEN"]).get_caller_identity()["Account"] == account
    tampered = credentials["AWS_SESSION_TOKEN"][:-4] + "AAAA"
    assert refusal(sts(tampered).get_caller_identity) == (403, "InvalidClientTokenId")
    assert refusal(sts(None).get_caller_identity) == (403, "InvalidClientTokenId")


def test_presigned_s3_urls_work_and_a_tampered_or_expired_one_does_not(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = client(sandbox, "s3", **secret_for(sandbox))
    s3.create_bucket(
        Bucket="presigned-things", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s3.put_object(Bucket="presigned-things", Key="a b+c.txt", Body=b"hello")
    # What the attendee's `aws s3 presign` makes (Signature Version 2 in this awscli).
    url = aws_cli(sandbox, "s3", "presign", "s3://presigned-things/a b+c.txt").strip()
    assert urllib.request.urlopen(url, timeout=30).read() == b"hello"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url.replace("Signature=", "Signature=A"), timeout=30)
    assert refused.value.code == 403
    v4 = client(sandbox, "s3", config={"signature_version": "s3v4"}, **secret_for(sandbox))
    fresh = v4.generate_presigned_url(
        "get_object", Params={"Bucket": "presigned-things", "Key": "a b+c.txt"}
    )
    assert urllib.request.urlopen(fresh, timeout=30).read() == b"hello"
    past = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(hours=2)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: past)
    stale = v4.generate_presigned_url(
        "get_object", Params={"Bucket": "presigned-things", "Key": "a b+c.txt"}, ExpiresIn=60
    )
    with pytest.raises(urllib.error.HTTPError) as expired:
        urllib.request.urlopen(stale, timeout=30)
    assert expired.value.code == 403 and b"Request has expired" in expired.value.read()


def test_the_aws_cli_copies_files_with_the_keys_of_sandbox_env(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))  # multipart: several signed uploads
    aws_cli(sandbox, "s3", "mb", "s3://cli-copies")
    aws_cli(sandbox, "s3", "cp", str(big), "s3://cli-copies/big.bin")
    aws_cli(sandbox, "s3", "cp", "s3://cli-copies/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == big.read_bytes()


def test_a_foreign_host_is_refused_before_anything_reads_it(sandbox: Sandbox) -> None:
    def get(host: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=30)
        try:
            connection.request("GET", "/v1/repos/anything/info/refs", headers={"Host": host})
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    for host in ("attacker.example", f"attacker.example:{sandbox.port}", "127.0.0.1:1"):
        status, body = get(host)
        assert status == 403 and b"only answers requests addressed to" in body, host
    for host in (f"127.0.0.1:{sandbox.port}", f"localhost:{sandbox.port}", "localhost"):
        assert get(host)[0] == 401, host  # reached git, which asks for credentials
    # The API through `localhost` works, signed as usual.
    sts = boto3.client(
        "sts",
        endpoint_url=f"http://localhost:{sandbox.port}",
        region_name=REGION,
        **secret_for(sandbox),
    )
    assert sts.get_caller_identity()["Account"] == sandbox.account_id


def test_load_balancer_stand_ins_listen_on_loopback_only(sandbox: Sandbox) -> None:
    from mmtui.sandbox.behaviours.load_balancers import LoadBalancers

    balancers = sandbox.extension(LoadBalancers)
    assert balancers.servers  # the baseline's primary load balancer
    for server in balancers.servers.values():
        assert server.server_address[0] == "127.0.0.1"
    assert sandbox._server.server_address[0] == "127.0.0.1"


# ---------------------------------------------------------------------- git


def core(sandbox: Sandbox) -> tuple[str, str]:
    name = repository_names(sandbox)["core"]
    return name, f"{sandbox.url}/v1/repos/{name}"


def test_git_without_credentials_is_asked_for_them_and_fails(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    _, url = core(sandbox)
    answer = urllib.request.Request(f"{url}/info/refs?service=git-upload-pack")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(answer, timeout=30)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Basic realm=")
    # Plain git: no helper to ask, so no credentials, so no clone.
    plain = subprocess.run(
        ["git", "clone", url, str(tmp_path / "plain")],
        env=git_store.git_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.returncode != 0 and "could not read Username" in plain.stderr
    # The helper with no AWS credentials cannot sign either.
    bare = codecommit_git("clone", url, str(tmp_path / "bare"), aws=None, check=False)
    assert bare.returncode != 0 and not (tmp_path / "bare").exists()


def test_git_with_the_helper_and_the_accounts_keys_works_and_others_are_refused(
    attendee_accounts: Callable[[int], AttendeeSandbox], tmp_path: Path
) -> None:
    room = attendee_accounts(1)
    sandbox, account = room.sandbox, room.ids[0]
    _, url = core(sandbox)
    codecommit_git("clone", "--quiet", url, str(tmp_path / "mine"), aws=sandbox)
    assert (tmp_path / "mine" / "buildspec_prod.yml").is_file()

    theirs = room.credentials(account)
    foreign = codecommit_git("clone", url, str(tmp_path / "foreign"), aws=theirs, check=False)
    assert foreign.returncode != 0 and "403" in foreign.stderr

    attendee_name = repository_names(sandbox, account)["core"]
    attendee_url = f"{sandbox.url}/accounts/{account}/v1/repos/{attendee_name}"
    other = codecommit_git("clone", attendee_url, str(tmp_path / "x"), aws=sandbox, check=False)
    assert other.returncode != 0 and "403" in other.stderr
    codecommit_git("clone", "--quiet", attendee_url, str(tmp_path / "theirs"), aws=theirs)
    tampered = {**theirs, "AWS_SESSION_TOKEN": theirs["AWS_SESSION_TOKEN"][:-4] + "AAAA"}
    refused = codecommit_git("clone", attendee_url, str(tmp_path / "y"), aws=tampered, check=False)
    assert refused.returncode != 0 and "403" in refused.stderr
    wrong = {**aws_keys(sandbox), "AWS_SECRET_ACCESS_KEY": "x" * 40}
    guessed = codecommit_git("clone", url, str(tmp_path / "z"), aws=wrong, check=False)
    assert guessed.returncode != 0 and "403" in guessed.stderr


@pytest.fixture
def heard(sandbox: Sandbox) -> Iterator[list[tuple[str, str, str, str]]]:
    pushes: list[tuple[str, str, str, str]] = []

    def listen(repo: str, branch: str, old: str, new: str) -> None:
        pushes.append((repo, branch, old, new))

    sandbox.push_listeners.append(listen)
    try:
        yield pushes
    finally:
        sandbox.push_listeners.remove(listen)


def test_a_push_without_the_keys_changes_nothing_and_starts_no_pipeline(
    sandbox: Sandbox, tmp_path: Path, heard: list[tuple[str, str, str, str]]
) -> None:
    name, _ = core(sandbox)
    clone = sandbox.workspace / name
    before = git_store.head(sandbox, name, "master")
    (clone / "buildspec_prod.yml").write_text(
        "version: 0.2\nphases:\n  pre_build:\n    commands: [id]\n"
    )
    codecommit_git("commit", "--quiet", "-am", "not mine to push", cwd=clone, aws=None)
    wrong = {**aws_keys(sandbox), "AWS_SECRET_ACCESS_KEY": "x" * 40}
    for keys in (None, wrong):
        pushed = subprocess.run(
            ["git", "push", "origin", "master"],
            cwd=clone,
            env={**git_store.git_env(), **(keys or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert pushed.returncode != 0
    assert git_store.head(sandbox, name, "master") == before
    assert heard == []
    pipelines = sandbox.client("codepipeline").list_pipelines()["pipelines"]
    for pipeline in pipelines:
        runs = sandbox.client("codepipeline").list_pipeline_executions(
            pipelineName=pipeline["name"]
        )["pipelineExecutionSummaries"]
        assert len(runs) == 1, pipeline["name"]  # only the first run, from seeding


def test_a_workspace_clone_pushes_from_a_shell_that_sourced_sandbox_env(
    sandbox: Sandbox, heard: list[tuple[str, str, str, str]]
) -> None:
    """Lab 3 step 4 by hand: `source sandbox.env`, then `git push` in the clone, which is
    configured as Lab 0 leaves Cloud9's (the AWS CLI's credential helper, with the path)."""
    name, _ = core(sandbox)
    clone = sandbox.workspace / name
    helper = codecommit_git("config", "--local", "credential.helper", cwd=clone, aws=None)
    assert "codecommit credential-helper" in helper.stdout
    assert sys.executable in helper.stdout  # the awscli mmtui ships, whatever `aws` is
    use_path = codecommit_git("config", "--local", "credential.UseHttpPath", cwd=clone, aws=None)
    assert use_path.stdout.strip() == "true"
    (clone / "README.md").write_text("pushed by hand\n")
    codecommit_git("add", "README.md", cwd=clone, aws=None)
    codecommit_git("commit", "--quiet", "-m", "by hand", cwd=clone, aws=None)
    env_file = sandbox.state_dir / ENV_FILE
    shell = {k: v for k, v in git_store.git_env().items() if not k.startswith("AWS_")}
    shell["AWS_CONFIG_FILE"] = shell["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    pushed = subprocess.run(
        ["bash", "-c", f"source {env_file} && git push --quiet origin master"],
        cwd=clone,
        env=shell,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pushed.returncode == 0, pushed.stderr
    head = codecommit_git("rev-parse", "HEAD", cwd=clone, aws=None).stdout.strip()
    assert git_store.head(sandbox, name, "master") == head
    assert heard and heard[-1][0] == name and heard[-1][3] == head


# ---------------------------------------------------------------------- the state folder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_folder_and_its_secrets_are_the_owners_alone(sandbox: Sandbox) -> None:
    sandbox.save()
    assert mode(sandbox.state_dir) == 0o700
    for name in (ENV_FILE, KEY_FILE, STATE_FILE):
        assert mode(sandbox.state_dir / name) == 0o600, name


def test_an_existing_folder_is_made_private_and_keeps_its_key(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    (state / ENV_FILE).write_text("export AWS_SECRET_ACCESS_KEY=testing\n")
    os.chmod(state / ENV_FILE, 0o644)
    previous = os.umask(0o022)
    try:
        keys = []
        for _ in range(2):
            # Only the folder (no moto): the session's sandbox keeps running meanwhile.
            server = Sandbox(SandboxOptions(state_dir=state))
            server._prepare_dir()
            try:
                keys.append(server.credentials())
                assert mode(state) == 0o700
                # The previous run's sandbox.env (readable by others here) is gone until the
                # sandbox is ready and writes its own, 0600 (target/detached.py: "starting").
                assert not (state / ENV_FILE).exists()
                assert mode(state / KEY_FILE) == 0o600
            finally:
                server._lock_handle.close()
    finally:
        os.umask(previous)
    assert keys[0] == keys[1] and keys[0][1] != "testing"


def test_mmtuis_own_git_signs_as_the_target_whatever_the_environment_says(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit B3/B4: a fresh clone and a push by mmtui authenticate through the helper given
    on git's command line, with the target's own credentials, even when the environment names
    another profile and other keys."""
    from mmtui.exitcodes import ExitCode, MmtuiError
    from mmtui.gitops.repository import (
        aws_identity_for_git,
        commit_and_push,
        open_clone,
        plan_change,
        target_git_identity,
    )
    from mmtui.target.clients import ClientFactory
    from mmtui.target.spec import TargetFlags, resolve_target

    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[someone-else]\naws_access_key_id = AKIASOMEONEELSE00001\n"
        "aws_secret_access_key = someone-elses-secret\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "someone-else")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASOMEONEELSE00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(name, "mmtui test")
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(name, "test@example.com")
    name, url = core(sandbox)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    with pytest.raises(MmtuiError) as refused:
        open_clone(workspace, name, url)  # as the environment: refused
    assert refused.value.exit_code == ExitCode.AWS_ERROR

    spec = resolve_target(TargetFlags(endpoint_url=sandbox.url), env={})
    factory = ClientFactory(spec, endpoint_url=sandbox.url, credentials=sandbox.credentials())
    with aws_identity_for_git(target_git_identity(factory, REGION)):
        repo = open_clone(workspace, name, url)
        commit = commit_and_push(plan_change(repo, "NOTES.md", "by mmtui\n"), "A note")
    assert git_store.head(sandbox, name, "master") == commit
    helper = codecommit_git(
        "config", "--local", "credential.helper", cwd=workspace / name, aws=None
    )
    assert "codecommit credential-helper" in helper.stdout


def test_the_signature_is_botocores_and_the_git_password_awsclis() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from mmtui.sandbox.core.auth import codecommit_password, signature

    canonical = "GET\n/\n\nhost:127.0.0.1:5000\n\nhost\n" + "e3b0" * 16
    signer = SigV4Auth(Credentials("AKIAEXAMPLE", "secret/key+1"), "dynamodb", "eu-west-1")
    request = AWSRequest()
    request.context["timestamp"] = "20261204T101500Z"
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    assert signature("secret/key+1", "20261204T101500Z", "eu-west-1", "dynamodb", canonical) == (
        expected
    )
    helper = subprocess.run(
        [sys.executable, "-P", "-m", "awscli", "codecommit", "credential-helper"]
        + ["--ignore-host-check", "get"],
        input="protocol=http\nhost=127.0.0.1:5000\npath=v1/repos/some-repo\n\n",
        env={
            **os.environ,
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret/key+1",
            "AWS_DEFAULT_REGION": "eu-west-1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    answer = dict(line.split("=", 1) for line in helper.stdout.splitlines())
    stamp = answer["password"].split("Z", 1)[0]
    moment = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=datetime.UTC)
    assert answer["username"] == "AKIAEXAMPLE"
    assert answer["password"] == codecommit_password(
        "secret/key+1", "127.0.0.1:5000", "/v1/repos/some-repo", "eu-west-1", moment
    )


def test_a_rest_read_sent_as_a_post_changes_nothing(sandbox: Sandbox) -> None:
    """X-Ray's GetGroups is `POST /Groups`: a read, which Lab 3's checks make every round. It
    was counted a change (the state saved again after every round of the guide's checks)."""
    xray = client(sandbox, "xray", **secret_for(sandbox))
    generation = sandbox.state_generation
    xray.get_groups()
    assert sandbox.state_generation == generation
    xray.create_group(GroupName="counted", FilterExpression='service("mysfits")')
    assert sandbox.state_generation == generation + 1
    xray.get_group(GroupName="counted")
    assert sandbox.state_generation == generation + 1
    # Any other method than POST writes, named or not (no service model is read for it).
    s3 = client(sandbox, "s3", **secret_for(sandbox))
    s3.create_bucket(Bucket="counted-too", CreateBucketConfiguration={"LocationConstraint": REGION})
    assert sandbox.state_generation == generation + 2
