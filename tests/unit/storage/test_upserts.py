"""The storage adapter's upserts against moto: concurrent, field by field, whole or failed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from forward_orders.errors import StorageUnavailable
from forward_orders.storage import OrdersTable
from tests.api_calls import REGION
from tests.factories import client_error, scan
from tests.unit.storage.tables import FAR, make_table, read_back, write


def test_many_records_are_upserted_concurrently(table: OrdersTable, dynamodb: Any) -> None:
    writes = [write(f"o{i}", None, concept=f"c{i}") for i in range(12)]
    writes += [write(f"o{i}", f"i{j}", upc=f"u{i}-{j}", quantity=j + 1) for i in range(12) for j in range(15)]
    started = time.monotonic()
    table.upsert(writes, received_at="2025-01-01T00:00:00.000Z", deadline=time.monotonic() + 60)
    assert time.monotonic() - started < 30
    stored = scan(dynamodb)
    assert len(stored) == 12 + 12 * 15
    for i in (0, 7, 11):
        order = read_back(table, f"o{i}")
        assert order is not None
        assert order.order["concept"] == f"c{i}"
        assert [entry["upc"] for entry in order.items] == sorted(f"u{i}-{j}" for j in range(15))
        assert {entry["quantity"] for entry in order.items} == set(range(1, 16))


def test_an_upsert_runs_its_writes_in_parallel(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    in_flight = 0
    most = 0
    lock = threading.Lock()
    real_update = client.update_item

    def update_item(**kwargs: Any) -> Any:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            time.sleep(0.02)
            return real_update(**kwargs)
        finally:
            with lock:
                in_flight -= 1

    client.update_item = update_item  # type: ignore[method-assign]
    parallel = make_table(client, concurrency=8)
    try:
        parallel.upsert([write("o", str(i)) for i in range(32)], "2025-01-01T00:00:00.000Z", FAR)
    finally:
        parallel._pool.shutdown()
    assert most > 1
    assert most <= 8


def test_concurrent_writers_of_one_order_lose_no_item_and_no_field(table: OrdersTable) -> None:
    writers = 8

    def writer(n: int) -> None:
        writes = [
            write("shared", None, concept=f"concept-{n}", **({"postal_code": f"p{n}"} if n % 2 else {}))
        ]
        writes += [write("shared", f"item-{n}-{j}", sku=f"sku-{n}") for j in range(5)]
        writes += [write("shared", "common", upc=f"upc-{n}", **{f"field_{n}": f"v{n}"})]
        table.upsert(writes, f"2025-01-01T00:00:0{n}.000Z", FAR)

    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(writer, range(writers)))
    order = read_back(table, "shared")
    assert order is not None
    assert order.order["concept"] in {f"concept-{n}" for n in range(writers)}
    assert order.order["postal_code"] in {f"p{n}" for n in range(1, writers, 2)}
    items = {entry["identifier"]: entry for entry in order.items}
    assert set(items) == {"common"} | {f"item-{n}-{j}" for n in range(writers) for j in range(5)}
    common = items["common"]
    assert common["upc"] in {f"upc-{n}" for n in range(writers)}
    # Every writer's own field survived the others' writes of the same record.
    assert all(common[f"field_{n}"] == f"v{n}" for n in range(writers))
    assert common["first_received_at"] in {f"2025-01-01T00:00:0{n}.000Z" for n in range(writers)}


def test_an_upsert_sets_only_the_fields_it_carries(table: OrdersTable) -> None:
    table.upsert([write("o", "i", upc="u1", sku="s1", quantity=2)], "2025-01-01T00:00:00.000Z", FAR)
    table.upsert([write("o", "i", sku="s2")], "2025-01-02T00:00:00.000Z", FAR)
    table.upsert([write("o")], "2025-01-03T00:00:00.000Z", FAR)
    order = read_back(table, "o")
    assert order is not None
    assert order.items == [
        {
            "identifier": "i",
            "upc": "u1",
            "sku": "s2",
            "quantity": 2,
            "first_received_at": "2025-01-01T00:00:00.000Z",
            "last_received_at": "2025-01-02T00:00:00.000Z",
        }
    ]
    assert order.order["first_received_at"] == order.order["last_received_at"] == "2025-01-03T00:00:00.000Z"


def test_values_round_trip_with_their_types(table: OrdersTable) -> None:
    labels = [
        {"type": "barcode", "name": "RMA", "value": "0012"},
        {"type": "text", "name": "n", "value": "v"},
    ]
    table.upsert(
        [write("o", "i", upc="12345678901234567890", quantity=2_147_483_647, labels=labels, empty=[])],
        "2025-01-01T00:00:00.000Z",
        FAR,
    )
    order_items = read_back(table, "o")
    assert order_items is None  # no order record was written, so there is no order
    table.upsert([write("o")], "2025-01-01T00:00:00.000Z", FAR)
    stored = read_back(table, "o")
    assert stored is not None
    entry = stored.items[0]
    assert entry["upc"] == "12345678901234567890"
    assert entry["quantity"] == 2_147_483_647
    assert type(entry["quantity"]) is int
    assert entry["labels"] == labels
    assert entry["empty"] == []


def test_a_failing_write_makes_the_whole_upsert_fail(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    real_update = client.update_item

    def update_item(**kwargs: Any) -> Any:
        if kwargs["Key"]["sk"]["S"].endswith("bad"):
            raise client_error("ProvisionedThroughputExceededException")
        return real_update(**kwargs)

    client.update_item = update_item  # type: ignore[method-assign]
    flaky = make_table(client)
    try:
        with pytest.raises(StorageUnavailable):
            flaky.upsert([write("o"), write("o", "good"), write("o", "bad")], "2025-01-01T00:00:00.000Z", FAR)
    finally:
        flaky._pool.shutdown()
    # The other writes were still applied (a retry of the request converges, see docs/design.md).
    assert len(scan(dynamodb)) == 2


def test_a_bug_in_one_write_wins_over_unavailable_storage_in_another(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)

    def update_item(**kwargs: Any) -> Any:
        if kwargs["Key"]["sk"]["S"] == "ORDER":
            raise client_error("ProvisionedThroughputExceededException")
        raise client_error("ValidationException")

    client.update_item = update_item  # type: ignore[method-assign]
    broken = make_table(client)
    try:
        with pytest.raises(ClientError) as raised:
            broken.upsert([write("o"), write("o", "i")], "2025-01-01T00:00:00.000Z", FAR)
    finally:
        broken._pool.shutdown()
    assert raised.value.response["Error"]["Code"] == "ValidationException"
