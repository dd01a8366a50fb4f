"""Concurrent writers of one order, through the local HTTP server: no item and no field is lost, and
each field ends with a value one writer sent.

One ``forward-orders serve`` runs its API function one request at a time (one Lambda execution
environment), so concurrent requests to it never overlap at the storage level. Here ``SERVERS``
processes share one DynamoDB (the moto server of this test run, ``--dynamodb-endpoint``), as several
Lambda environments share the table, and many client threads spread their requests over them: the
UpdateItems of different requests really interleave. The moto server applies each call atomically,
as DynamoDB does (see atomic_moto.py for why that must be added to moto).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.processes import Reply
from tests.reliability import figures
from tests.reliability.harness import Cluster, MotoServer, serve_cluster

SERVERS = 3
THREADS = 12
KEY = "acme-concurrency-key"


@pytest.fixture(scope="module")
def cluster(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with serve_cluster(moto_server, tmp_path_factory, size=SERVERS, key=KEY) as servers:
        yield servers


def run_concurrently(cluster: Cluster, bodies: list[Any]) -> list[Reply]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(cluster.post, range(len(bodies)), bodies))


def assert_all_200(replies: list[Reply]) -> None:
    statuses = sorted({reply.status for reply in replies})
    assert statuses == [200], [(reply.status, reply.body[:200]) for reply in replies if reply.status != 200]


def test_concurrent_requests_adding_different_items_to_one_order_lose_none(cluster: Cluster) -> None:
    order_id = f"many-items-{uuid.uuid4().hex[:6]}"
    writers, rounds = figures.scale(24, 60), figures.scale(4, 10)
    bodies = []
    expected: dict[str, dict[str, Any]] = {}
    for writer, round_ in itertools.product(range(writers), range(rounds)):
        items = []
        for line in range(1 + (writer + round_) % 4):  # 1 to 4 items per request
            identifier = f"w{writer:02d}-r{round_:02d}-{line}"
            item = {
                "identifier": identifier,
                "upc": f"{writer}{round_}{line}",
                "sku": f"SKU-{writer}",
                "quantity": line + 1,
            }
            items.append(item)
            expected[identifier] = {
                "identifier": identifier,
                "upc": item["upc"],
                "sku": item["sku"],
                "quantity": line + 1,
            }
        bodies.append({"orders": [{"identifier": order_id, "items": items}]})

    started = time.monotonic()
    replies = run_concurrently(cluster, bodies)
    seconds = time.monotonic() - started
    assert_all_200(replies)

    order = cluster.get(order_id)
    stored = {
        item["identifier"]: {k: item[k] for k in ("identifier", "upc", "sku", "quantity")}
        for item in order["items"]
    }
    assert stored == expected
    figures.record(
        "concurrency: items of one order",
        servers=SERVERS,
        client_threads=THREADS,
        requests=len(bodies),
        items=len(expected),
        items_stored=len(stored),
        run_s=seconds,
        max_request_s=max(reply.seconds for reply in replies),
    )


# Each writer owns one optional field of the shared item or order and sends it every round.
ITEM_FIELD_VALUES = {
    "tracking_number": lambda w, r: f"1Z{w:03d}{r:04d}",
    "reverse_tracking_number": lambda w, r: 94001000 + w * 1000 + r,  # a JSON number: stored as digits
    "dropship_identifier": lambda w, r: f"DS-{w}-{r}",
    "shipped_date": lambda w, r: f"2025-01-{1 + r % 28:02d}",
    "return_policy_end_date": lambda w, r: f"2025-{1 + r % 12:02d}-15T10:00:00Z",
    "labels": lambda w, r: [{"type": "text", "name": f"writer {w}", "value": f"round {r}"}],
}
ORDER_FIELD_VALUES = {
    "concept": lambda w, r: f"Concept {w}/{r}",
    "postal_code": lambda w, r: f"{10000 + r}",
    "created_at": lambda w, r: f"2024-{1 + r % 12:02d}-01",
}


def _stored_form(value: Any) -> Any:
    return str(value) if isinstance(value, int) else value


@pytest.mark.parametrize("start", ["existing", "new"])
def test_concurrent_requests_updating_different_fields_of_one_item_lose_none(
    cluster: Cluster, start: str
) -> None:
    """Each writer owns a field (of the item, or of its order) and writes it round after round,
    concurrently with the others; the required upc, sku and quantity are sent by every writer.
    "existing": the item is stored first; "new": the writers create it together."""
    order_id = f"fields-{start}-{uuid.uuid4().hex[:6]}"
    owners = [*ITEM_FIELD_VALUES, *ORDER_FIELD_VALUES]
    rounds = figures.scale(6, 25)
    if start == "existing":
        base = {"identifier": "shared", "upc": "000", "sku": "SKU-0", "quantity": 1}
        assert cluster.post(0, {"orders": [{"identifier": order_id, "items": [base]}]}).status == 200
    before = cluster.get(order_id) if start == "existing" else None

    sent: dict[str, list[Any]] = {name: [] for name in ("upc", "sku", "quantity")}
    bodies = []
    for round_, (writer, field) in itertools.product(range(rounds), enumerate(owners)):
        item: dict[str, Any] = {
            "identifier": "shared",
            "upc": f"{writer}-{round_}",
            "sku": f"SKU-{writer}",
            "quantity": writer + 1,
        }
        order: dict[str, Any] = {"identifier": order_id, "items": [item]}
        for name in ("upc", "sku", "quantity"):
            sent[name].append(item[name])
        if field in ITEM_FIELD_VALUES:
            item[field] = ITEM_FIELD_VALUES[field](writer, round_)
        else:
            order[field] = ORDER_FIELD_VALUES[field](writer, round_)
        bodies.append({"orders": [order]})

    started = time.monotonic()
    # A writer's rounds follow each other; different writers run at the same time.
    by_writer = [
        [body for number, body in enumerate(bodies) if number % len(owners) == writer]
        for writer in range(len(owners))
    ]

    def write_rounds(writer: int) -> list[Reply]:
        return [cluster.post(writer + r, body) for r, body in enumerate(by_writer[writer])]

    with ThreadPoolExecutor(max_workers=len(owners)) as pool:
        replies = [reply for replies in pool.map(write_rounds, range(len(owners))) for reply in replies]
    seconds = time.monotonic() - started
    assert_all_200(replies)

    order = cluster.get(order_id)
    (item,) = order["items"]
    last_round = rounds - 1
    for writer, field in enumerate(owners):
        # Only its owner writes this field, one round after another: its last value must stand.
        value = ITEM_FIELD_VALUES[field] if field in ITEM_FIELD_VALUES else ORDER_FIELD_VALUES[field]
        actual = item.get(field) if field in ITEM_FIELD_VALUES else order.get(field)
        assert actual == _stored_form(value(writer, last_round)), field
    for name, values in sent.items():
        # Everyone writes these: the value is one a writer sent (in its last round).
        last_values = {_stored_form(value) for value in values[-len(owners) :]}
        assert _stored_form(item[name]) in last_values, name
    if before is not None:
        assert order["first_received_at"] == before["first_received_at"]
        assert item["first_received_at"] == before["items"][0]["first_received_at"]
    figures.record(
        f"concurrency: fields of one item ({start})",
        servers=SERVERS,
        writers=len(owners),
        requests=len(bodies),
        run_s=seconds,
        max_request_s=max(reply.seconds for reply in replies),
    )
