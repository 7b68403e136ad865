"""Clients shared between targets (mmtui/target/pool.py): every call through a target's view is
made as that target (its identity, its resources, its retry quota), even while another target
calls through the same client at the same moment.

The targets are attendee accounts of the session sandbox, reached as a fleet reaches them (the
sandbox's keys assume each account's role), so a call signed by the wrong target lands in the
wrong account, where the sandbox answers as that account.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mmtui.sandbox.core.realism import Fault, Realism, Scope
from mmtui.target.binding import Binding, TargetQuota, UnboundCall
from mmtui.target.clients import ClientFactory
from mmtui.target.pool import ClientKey, ClientPool
from tests.conftest import AttendeeSandbox

Attendees = Callable[[int], AttendeeSandbox]
ROUNDS = 8


def factories(room: AttendeeSandbox, pool: ClientPool) -> list[ClientFactory]:
    return [
        ClientFactory(room.role_target(record), endpoint_url=room.url, pool=pool)
        for record in room.accounts[:2]
    ]


def shared(*clients: Any) -> Any:
    """The one client behind `clients` (views), failing the test if they are not one."""
    behind = {id(client._mmtui_client) for client in clients}
    assert len(behind) == 1, "the targets' views are not of one shared client"
    return clients[0]._mmtui_client


def test_a_shared_client_calls_as_each_target_at_once(attendee_accounts: Attendees) -> None:
    """Two targets in two accounts call through the same clients from their own threads at
    the same moments: each sees its own account (GetCallerIdentity), its own queue (a
    paginator's pages) and its own table (a waiter's polls), never the other's."""
    room = attendee_accounts(2)
    pool = ClientPool()
    targets = factories(room, pool)
    accounts = [record.account_id for record in room.accounts[:2]]
    for factory, account in zip(targets, accounts, strict=True):
        factory.client("sqs").create_queue(QueueName=f"pool-{account}")
        factory.client("dynamodb").create_table(
            TableName=f"pool-{account}",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    for service in ("sts", "sqs", "dynamodb"):
        shared(*(factory.client(service, read_only=True) for factory in targets))

    barrier = threading.Barrier(2)
    seen: dict[str, list[tuple[str, list[str]]]] = {account: [] for account in accounts}
    failures: list[BaseException] = []

    def work(factory: ClientFactory, account: str) -> None:
        try:
            sts = factory.client("sts", read_only=True)
            sqs = factory.client("sqs", read_only=True)
            dynamodb = factory.client("dynamodb", read_only=True)
            for _ in range(ROUNDS):
                barrier.wait(timeout=30)
                who = sts.get_caller_identity()["Account"]
                pages = sqs.get_paginator("list_queues").paginate(QueueNamePrefix="pool-")
                queues = [url.rsplit("/", 1)[-1] for page in pages for url in page["QueueUrls"]]
                dynamodb.get_waiter("table_exists").wait(
                    TableName=f"pool-{account}", WaiterConfig={"Delay": 1, "MaxAttempts": 2}
                )
                seen[account].append((who, queues))
        except BaseException as exc:  # noqa: BLE001  (reported by the test's thread)
            failures.append(exc)
            barrier.abort()

    threads = [
        threading.Thread(target=work, args=(factory, account))
        for factory, account in zip(targets, accounts, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    for account in accounts:
        assert seen[account] == [(account, [f"pool-{account}"])] * ROUNDS


def test_a_faulty_target_spends_only_its_own_retries(
    attendee_accounts: Attendees, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ListQueues fails (503). One target calls it until botocore's retry quota stops
    retrying its calls; the other target, on the same client, still gets all its retries."""
    from botocore.retries import standard

    # The backoff between retries is botocore's business, not this test's: no waiting.
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda *_a, **_k: 0)
    room = attendee_accounts(2)
    faulty, other = (
        factory.client("sqs", read_only=True) for factory in factories(room, ClientPool())
    )
    shared(faulty, other)

    def retries(client: Any) -> int:
        with pytest.raises(ClientError) as failed:
            client.list_queues()
        assert failed.value.response["Error"]["Code"] == "ServiceUnavailable"
        return int(failed.value.response["ResponseMetadata"]["RetryAttempts"])

    with room.sandbox.simulating(Realism(faults=[Fault("503", 1.0, Scope("sqs", "ListQueues"))])):
        assert retries(faulty) == 2  # a check's client: 3 attempts
        spent = [retries(faulty) for _ in range(60)]
        assert 0 in spent, "the faulty target's retries never ran out"
        assert retries(faulty) == 0  # its quota is spent: no more retries for it
        assert retries(other) == 2  # the same client, the other target's own quota


def test_the_installed_botocore_keeps_its_retry_quota_where_the_pool_finds_it() -> None:
    """The seam target/pool.py relies on (botocore's standard retry handler holds a
    RetryQuota): if a botocore release moves it, the pool falls back to a client per target
    and this test says so, to be mended."""
    pool = ClientPool()
    key = ClientKey(None, "sqs", "us-west-2", "http://127.0.0.1:9", 3, True, False)
    binding = Binding(None, "nobody")
    client = pool.client(key, binding)
    assert pool.shares is True
    assert pool.client(key, Binding(None, "another")) is client
    service = client.meta.service_model.service_id.hyphenize()
    handler = client.meta.events._emitter._unique_id_handlers[f"retry-config-{service}"]
    assert isinstance(handler["handler"].__self__._retry_quota._quota, TargetQuota)


def test_without_the_seam_each_target_gets_a_client_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("mmtui.target.pool.install_target_quota", lambda *_a: False)
    pool = ClientPool()
    key = ClientKey(None, "sqs", "us-west-2", "http://127.0.0.1:9", 3, True, False)
    first, second = Binding(None, "first"), Binding(None, "second")
    assert pool.client(key, first) is not pool.client(key, second)
    assert pool.client(key, first) is pool.client(key, first)
    assert pool.shares is False


def test_a_call_that_bypasses_the_views_is_refused() -> None:
    """Called directly, a shared client has nobody to sign for: it refuses rather than sign
    with whatever identity is around."""
    pool = ClientPool()
    key = ClientKey(None, "sqs", "us-west-2", "http://127.0.0.1:9", 1, True, False)
    client = pool.client(key, Binding(None, "nobody"))
    with pytest.raises(UnboundCall):
        client.list_queues()


def test_s3_clients_are_each_targets_own() -> None:
    """botocore's S3 client keeps S3 Express session credentials per bucket, got with
    whoever asked first: no target may be handed another's."""
    pool = ClientPool()
    first, second = Binding(None, "first"), Binding(None, "second")
    s3 = ClientKey(None, "s3", "us-west-2", "http://127.0.0.1:9", 3, True, False)
    sqs = replace(s3, service="sqs")
    assert pool.client(s3, first) is not pool.client(s3, second)
    assert pool.client(s3, first) is pool.client(s3, first)
    assert pool.client(sqs, first) is pool.client(sqs, second)
