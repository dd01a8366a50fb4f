"""What pydynox (the benchmark's leanest client, bench/pydynox_adapter.py) tells of each DynamoDB
failure, through the fault proxy in front of moto: the evidence behind docs/performance.md's
decision to keep botocore. If a pydynox upgrade starts exposing codes or statuses, these fail, and
the decision is worth revisiting.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pydynox
import pytest
from bench.pydynox_adapter import PydynoxWrites, client_error
from pydynox import exceptions as pydynox_errors

from forward_orders.storage import STALE_CODE, is_retryable
from tests.reliability.faults import ALL_FAULTS, FaultProxy
from tests.reliability.harness import MotoServer

READ_TIMEOUT = 0.3
# Each fault and the class pydynox raises for it. Throttling has a class of its own; 500 and 503 are
# the bare base class, as is every error pydynox does not map: no code, no status.
EXPECTED = {
    "ProvisionedThroughputExceededException": pydynox_errors.ProvisionedThroughputExceededException,
    "ThrottlingException": pydynox_errors.ProvisionedThroughputExceededException,
    "RequestLimitExceeded": pydynox_errors.ProvisionedThroughputExceededException,
    "InternalServerError": pydynox_errors.PydynoxException,
    "ServiceUnavailable": pydynox_errors.PydynoxException,
    "ReadTimeout": pydynox_errors.ConnectionException,
    "ConnectionReset": pydynox_errors.ConnectionException,
    "ReadTimeout_after_write": pydynox_errors.ConnectionException,
    "InternalServerError_after_write": pydynox_errors.PydynoxException,
    "ConnectionReset_after_write": pydynox_errors.ConnectionException,
}
UPDATE: dict[str, Any] = {
    "update_expression": "SET #v = :v",
    "expression_attribute_names": {"#v": "version"},
    "expression_attribute_values": {":v": 5},
}


@pytest.fixture
def table(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"pydynox-{uuid.uuid4().hex[:12]}"
    moto_server.create_tables(name)
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # not a secret: moto on loopback
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(variable, value)
    yield name


def client(endpoint: str) -> pydynox.DynamoDBClient:
    return pydynox.DynamoDBClient(
        endpoint_url=endpoint, max_retries=0, read_timeout=READ_TIMEOUT, connect_timeout=READ_TIMEOUT
    )


def test_every_list_of_faults_is_covered() -> None:
    assert set(EXPECTED) == set(ALL_FAULTS)


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_what_pydynox_raises_for_each_fault_with_its_own_retries_off(
    moto_server: MotoServer, table: str, fault: str
) -> None:
    proxy = FaultProxy(rate=1.0, seed=1, faults=(fault,), hold=READ_TIMEOUT + 0.2).start(moto_server.endpoint)
    try:
        started = time.monotonic()
        with pytest.raises(pydynox_errors.PydynoxException) as raised:
            client(proxy.endpoint).sync_update_item(table, {"pk": "a", "sk": fault}, **UPDATE)
        assert type(raised.value) is EXPECTED[fault], (fault, type(raised.value))
        assert proxy.calls == {"UpdateItem": 1}, "max_retries=0: one HTTP request, no retry of its own"
        assert time.monotonic() - started < READ_TIMEOUT + 3.0  # its read timeout, not retries
        # The prototype's mapping makes every one of them retryable for the storage adapter; for
        # the bare class only by exclusion, which an unmapped permanent error would share.
        assert is_retryable(client_error(raised.value, proxy.endpoint, "UpdateItem"))
    finally:
        proxy.stop()


def test_a_stale_versioned_write_is_told_apart(moto_server: MotoServer, table: str) -> None:
    writer = client(moto_server.endpoint)
    writer.sync_update_item(table, {"pk": "a", "sk": "b"}, **UPDATE)
    with pytest.raises(pydynox_errors.ConditionalCheckFailedException) as raised:
        writer.sync_update_item(
            table,
            {"pk": "a", "sk": "b"},
            update_expression="SET #v = :v",
            condition_expression="#v <= :v",
            expression_attribute_names={"#v": "version"},
            expression_attribute_values={":v": 1},
        )
    mapped = client_error(raised.value, moto_server.endpoint, "UpdateItem")
    assert not is_retryable(mapped)
    assert getattr(mapped, "response", {})["Error"]["Code"] == STALE_CODE


def test_the_prototype_writes_typed_values_as_the_botocore_adapter_does(
    moto_server: MotoServer, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one conversion (typed AttributeValues to pydynox's native values) stores what botocore
    stores: strings, integers, lists of maps, not maps of type tags. Endpoint from the variable."""
    from common.order_records import VERSION
    from forward_orders.storage import RecordWrite, update_request

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.endpoint)
    write = RecordWrite(
        "acme",
        "o-1",
        "1",
        {"sku": "S-1", "quantity": 3, "labels": [{"type": "text", "value": "x"}]},
        version=7,
    )
    PydynoxWrites(recorder=None).update_item(**update_request(table, write, "2026-01-01T00:00:00.000Z"))
    stored = moto_server.client().get_item(TableName=table, Key={"pk": {"S": "acme#o-1"}, "sk": {"S": "I#1"}})
    item = stored["Item"]
    assert item["sku"] == {"S": "S-1"}
    assert item["quantity"] == {"N": "3"}
    assert item["labels"] == {"L": [{"M": {"type": {"S": "text"}, "value": {"S": "x"}}}]}
    assert item[VERSION] == {"N": "7"}
