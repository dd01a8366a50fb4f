"""Lookup by tracking number through ``forward-orders serve`` (a subprocess on a free port, spoken to
over HTTP), with both kinds of key: two client keys given with ``--client`` and an operations key
issued with ``forward-orders keys create --operations`` against the running server's store.

The server helpers are tests/processes.py's: the same process-group handling, the same environment
that cannot reach AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.local.test_end_to_end import KEY1, KEY2, start_server
from tests.processes import ServeProcess

ACME_BATCH = {
    "orders": [
        {
            "identifier": "A-100",
            "concept": "Acme Outdoors",
            "items": [
                {
                    "identifier": "1",
                    "upc": "012345678905",
                    "sku": "SKU-TENT",
                    "quantity": 1,
                    "tracking_number": "1Z999AA10123456784",
                    "reverse_tracking_number": "RMA-0001",
                },
                {"identifier": "2", "upc": "012345678906", "sku": "SKU-STOVE", "quantity": 2},
            ],
        }
    ]
}
GLOBEX_BATCH = {
    "orders": [
        {
            "identifier": "G/7",
            "concept": "Globex",
            "items": [
                {
                    "identifier": "x#1",
                    "upc": "1",
                    "sku": "S",
                    "quantity": 1,
                    "tracking_number": "1z999aa10123456784",
                }
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServeProcess]:
    server = start_server(tmp_path_factory.mktemp("serve-tracking"), request)
    for key, body in ((KEY1, ACME_BATCH), (KEY2, GLOBEX_BATCH)):
        posted = server.call("POST", "/forward_orders", key=key, body=body)
        assert posted.status == 200, posted.body
    yield server


@pytest.fixture(scope="module")
def operations_key(server: ServeProcess) -> str:
    created = server.cli("keys", "create", "--operations", "--name", "warehouse")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def summary(reply: Any) -> list[tuple[Any, ...]]:
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/json"
    return [
        (m.get("client_id"), m["order_identifier"], m.get("concept"), m["item"]["identifier"], m["matched"])
        for m in reply.json()["matches"]
    ]


def test_a_client_key_finds_its_own_items_by_either_number_whatever_the_case_and_spaces(
    server: ServeProcess,
) -> None:
    assert summary(server.call("GET", "/tracking/%201z999aa10123456784%20", key=KEY1)) == [
        (None, "A-100", "Acme Outdoors", "1", "tracking_number")
    ]
    reply = server.call("GET", "/tracking/rma-0001", key=KEY1, scheme="x-api-key")
    assert summary(reply) == [(None, "A-100", "Acme Outdoors", "1", "reverse_tracking_number")]
    item = reply.json()["matches"][0]["item"]
    stored = server.call("GET", "/forward_orders/A-100", key=KEY1).json()["items"][0]
    assert item == stored
    assert item["tracking_number"] == "1Z999AA10123456784"  # as the client sent it

    assert summary(server.call("GET", "/tracking/1Z999AA10123456784", key=KEY2)) == [
        (None, "G/7", "Globex", "x#1", "tracking_number")
    ]
    assert server.call("GET", "/tracking/RMA-0001", key=KEY2).status == 404


def test_an_operations_key_sees_every_clients_matches_labelled(
    server: ServeProcess, operations_key: str
) -> None:
    reply = server.call("GET", "/tracking/1Z999AA10123456784", key=operations_key)
    assert summary(reply) == [
        ("acme", "A-100", "Acme Outdoors", "1", "tracking_number"),
        ("globex", "G/7", "Globex", "x#1", "tracking_number"),
    ]
    assert reply.headers["x-request-id"]
    missing = server.call("GET", "/tracking/NOPE", key=operations_key)
    assert missing.status == 404
    assert missing.json() == {"message": "Not Found", "request_id": missing.headers["x-request-id"]}


def test_an_operations_key_gets_401_with_an_empty_body_anywhere_else(
    server: ServeProcess, operations_key: str
) -> None:
    for method, path in (
        ("POST", "/forward_orders"),
        ("GET", "/forward_orders/A-100"),
        ("GET", "/tracking"),
        ("GET", "/nope"),
    ):
        body = {"orders": [{"identifier": "ops-1", "items": []}]} if method == "POST" else None
        reply = server.call(method, path, key=operations_key, body=body)
        assert (reply.status, reply.body) == (401, b""), (method, path)
        assert reply.headers["www-authenticate"] == "Bearer"
    assert server.call("GET", "/forward_orders/ops-1", key=KEY1).status == 404  # nothing was written


def test_without_a_valid_key_the_lookup_is_401(server: ServeProcess) -> None:
    for key in (None, "not-a-key"):
        reply = server.call("GET", "/tracking/1Z999AA10123456784", key=key)
        assert (reply.status, reply.body) == (401, b"")


def test_keys_list_shows_the_kinds_and_a_revoked_operations_key_stops_at_once(server: ServeProcess) -> None:
    created = server.cli("keys", "create", "--operations", "--name", "temp", "--json")
    assert created.returncode == 0, created.stderr
    record = json.loads(created.stdout)
    assert server.call("GET", "/tracking/RMA-0001", key=record["key"]).status == 200

    listed = server.cli("keys", "list")
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert ["client", "acme"] in [row[1:3] for row in rows]
    assert ["operations", "(temp)"] in [row[1:3] for row in rows]

    assert server.cli("keys", "revoke", record["key_id"]).returncode == 0
    assert server.call("GET", "/tracking/RMA-0001", key=record["key"]).status == 401
