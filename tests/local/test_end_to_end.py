"""``forward-orders serve`` as a subprocess on a free port, spoken to over HTTP: a batch shaped like
the published v1 sample (numbers in string fields included) reads back exactly, a 422, tenant
isolation, keys issued and revoked through the local store, and a clean stop on SIGINT/SIGTERM.

Every server runs in its own process group, killed in a finalizer whatever happens; its embedded
DynamoDB is dynalite on loopback, so nothing here can reach AWS.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ServeProcess, start_serve, stop_process_group

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
TIMESTAMPS = {"first_received_at", "last_received_at"}
KEY1, KEY2 = "acme-e2e-key-1", "globex-e2e-key-2"

# Shaped like the published v1 sample, written as JSON text: several values that the contract types
# as strings are sent as JSON numbers, as real clients do.
SAMPLE_BATCH = """{
  "orders": [
    {
      "identifier": 12345678901234567890,
      "concept": "Acme Outdoors",
      "postal_code": "02134",
      "created_at": "2024-03-01T10:15:30Z",
      "gift_message": "not in the contract: ignored, not stored",
      "items": [
        {
          "identifier": 2,
          "upc": 889698123456,
          "sku": "SKU-TENT-2P",
          "quantity": "2",
          "tracking_number": 1234567890123456789012,
          "reverse_tracking_number": "9400111899223197428490",
          "dropship_identifier": "DS-778",
          "shipped_date": "2024-03-02",
          "return_policy_end_date": "2024-04-01T00:00:00",
          "labels": [
            {"type": "barcode", "name": "RMA", "value": 998877665544},
            {"type": "text", "name": "Gift", "value": "  Happy birthday  "}
          ]
        },
        {"identifier": "1", "upc": "012345678905", "sku": "SKU-STOVE", "quantity": 1, "tracking_number": null}
      ]
    },
    {"identifier": "A-1002", "postal_code": 2134, "created_at": "2024-03-01", "items": []}
  ]
}"""

EXPECTED_FIRST_ORDER = {
    "identifier": "12345678901234567890",
    "concept": "Acme Outdoors",
    "postal_code": "02134",
    "created_at": "2024-03-01T10:15:30Z",
}
EXPECTED_FIRST_ORDER_ITEMS = [
    {"identifier": "1", "upc": "012345678905", "sku": "SKU-STOVE", "quantity": 1},
    {
        "identifier": "2",
        "upc": "889698123456",
        "sku": "SKU-TENT-2P",
        "quantity": 2,
        "tracking_number": "1234567890123456789012",
        "reverse_tracking_number": "9400111899223197428490",
        "dropship_identifier": "DS-778",
        "shipped_date": "2024-03-02",
        "return_policy_end_date": "2024-04-01T00:00:00",
        "labels": [
            {"type": "barcode", "name": "RMA", "value": "998877665544"},
            {"type": "text", "name": "Gift", "value": "Happy birthday"},
        ],
    },
]
EXPECTED_SECOND_ORDER = {"identifier": "A-1002", "postal_code": "2134", "created_at": "2024-03-01"}


# -- the server process -------------------------------------------------------------------------------


def start_server(directory: Path, request: pytest.FixtureRequest, port: int | None = None) -> ServeProcess:
    """``serve`` with two clients of known keys, stopped when the requesting test (or module) ends."""
    server = start_serve(directory, {"acme": KEY1, "globex": KEY2}, port=port)
    request.addfinalizer(lambda: stop_process_group(server.process))
    return server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServeProcess]:
    yield start_server(tmp_path_factory.mktemp("serve"), request)


# -- the API over HTTP --------------------------------------------------------------------------------


def without_timestamps(record: dict[str, Any]) -> dict[str, Any]:
    assert set(record) >= TIMESTAMPS, record
    assert record["first_received_at"].endswith("Z")
    return {name: value for name, value in record.items() if name not in TIMESTAMPS}


def assert_same_fields(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        assert name in actual, f"{name} missing"
        assert actual[name] == value, f"{name}: {actual[name]!r} != {value!r}"
    assert set(actual) == set(expected), f"unexpected fields {set(actual) - set(expected)}"


def test_a_v1_sample_batch_with_numbers_in_string_fields_reads_back_exactly(server: ServeProcess) -> None:
    posted = server.call("POST", "/forward_orders", key=KEY1, raw=SAMPLE_BATCH)
    assert posted.status == 200, posted.body
    assert posted.json()["message"] == "Success"
    assert posted.headers["content-type"] == "application/json"
    assert posted.headers["x-request-id"]

    first = server.call("GET", "/forward_orders/12345678901234567890", key=KEY1)
    assert first.status == 200, first.body
    order = first.json()
    items = order.pop("items")
    assert_same_fields(without_timestamps(order), EXPECTED_FIRST_ORDER)
    assert len(items) == len(EXPECTED_FIRST_ORDER_ITEMS)
    for item, expected in zip(items, EXPECTED_FIRST_ORDER_ITEMS, strict=True):
        assert_same_fields(without_timestamps(item), expected)

    second = server.call("GET", "/forward_orders/A-1002", key=KEY1, scheme="x-api-key")
    assert second.status == 200, second.body
    order = second.json()
    assert order.pop("items") == []
    assert_same_fields(without_timestamps(order), EXPECTED_SECOND_ORDER)


def test_a_later_post_merges_into_the_stored_order(server: ServeProcess) -> None:
    batch = {
        "orders": [
            {
                "identifier": "merge-1",
                "postal_code": "10001",
                "items": [{"identifier": "a", "upc": "1", "sku": "S", "quantity": 1}],
            }
        ]
    }
    update = {
        "orders": [
            {
                "identifier": "merge-1",
                "concept": "Outlet",
                "items": [{"identifier": "b", "upc": "2", "sku": "T", "quantity": 3}],
            }
        ]
    }
    assert server.call("POST", "/forward_orders", key=KEY1, body=batch).status == 200
    assert server.call("POST", "/forward_orders", key=KEY1, body=update).status == 200

    order = server.call("GET", "/forward_orders/merge-1", key=KEY1).json()

    assert (order["postal_code"], order["concept"]) == ("10001", "Outlet")
    assert [(item["identifier"], item["quantity"]) for item in order["items"]] == [("a", 1), ("b", 3)]


def test_an_invalid_batch_is_422_with_every_problem_and_writes_nothing(server: ServeProcess) -> None:
    body = {
        "orders": [
            {
                "identifier": "bad-1",
                "created_at": "yesterday",
                "items": [
                    {
                        "identifier": "1",
                        "upc": "012345678905",
                        "quantity": 0,
                        "labels": [{"type": "qr", "name": "x", "value": "y"}],
                    }
                ],
            }
        ]
    }
    reply = server.call("POST", "/forward_orders", key=KEY1, body=body)

    assert reply.status == 422
    payload = reply.json()
    assert payload["message"] == "Validation Failed"
    assert payload["request_id"] == reply.headers["x-request-id"]
    problems = {(problem["field"], problem["code"]) for problem in payload["errors"]}
    assert {
        ("orders/0/created_at", "invalid_format"),
        ("orders/0/items/0/sku", "missing_field"),
        ("orders/0/items/0/quantity", "invalid"),
    } <= problems
    assert any(field.startswith("orders/0/items/0/labels/0/type") for field, _ in problems)
    assert server.call("GET", "/forward_orders/bad-1", key=KEY1).status == 404


def test_a_client_cannot_read_or_change_another_clients_order(server: ServeProcess) -> None:
    acme = {"orders": [{"identifier": "shared-1", "concept": "Acme", "items": []}]}
    globex = {"orders": [{"identifier": "shared-1", "concept": "Globex", "items": []}]}
    assert server.call("POST", "/forward_orders", key=KEY1, body=acme).status == 200

    hidden = server.call("GET", "/forward_orders/shared-1", key=KEY2)
    assert hidden.status == 404
    assert hidden.json() == {"message": "Not Found", "request_id": hidden.headers["x-request-id"]}

    assert server.call("POST", "/forward_orders", key=KEY2, body=globex).status == 200
    assert server.call("GET", "/forward_orders/shared-1", key=KEY1).json()["concept"] == "Acme"
    assert server.call("GET", "/forward_orders/shared-1", key=KEY2).json()["concept"] == "Globex"


@pytest.mark.parametrize("key", [None, "not-a-key"])
def test_without_a_valid_key_it_is_401_with_an_empty_body(server: ServeProcess, key: str | None) -> None:
    for method, path in (("POST", "/forward_orders"), ("GET", "/forward_orders/A-1002"), ("GET", "/nope")):
        reply = server.call(method, path, key=key, raw="{}" if method == "POST" else None)
        assert (reply.status, reply.body) == (401, b""), (method, path)
        assert reply.headers["x-request-id"]


def test_an_unknown_route_with_a_valid_key_is_404(server: ServeProcess) -> None:
    reply = server.call("GET", "/orders", key=KEY1)
    assert reply.status == 404
    assert reply.json()["message"] == "Not Found"


def test_keys_issued_and_revoked_through_the_cli_work_at_once(server: ServeProcess) -> None:
    created = server.cli("keys", "create", "--client", "initech")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    batch = {"orders": [{"identifier": "i-1", "items": []}]}
    assert server.call("POST", "/forward_orders", key=key, body=batch).status == 200

    listed = server.cli("keys", "list", "--client", "initech", "--json")
    (record,) = json.loads(listed.stdout)
    revoked = server.cli("keys", "revoke", record["key_id"])
    assert revoked.returncode == 0, revoked.stderr

    assert server.call("GET", "/forward_orders/i-1", key=key).status == 401
    assert server.call("GET", "/forward_orders/i-1", key=KEY1).status == 404


# -- start-up and shutdown -------------------------------------------------------------------------------


def test_start_up_prints_the_url_the_keys_and_curl_examples(server: ServeProcess) -> None:
    output = server.output()
    assert f"Forward Orders API running at {server.url}" in output
    assert KEY1 in output and KEY2 in output
    assert f"curl -i -X POST {server.url}/forward_orders" in output
    assert f"console   {server.url}/console" in output
    assert f"console   {server.url}/console" in output
    assert json.loads(server.state_file.read_text())["url"] == server.url


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_server_cleanly(
    tmp_path: Path, request: pytest.FixtureRequest, signal_number: signal.Signals
) -> None:
    server = start_server(tmp_path, request)
    assert server.state_file.exists()

    server.process.send_signal(signal_number)
    try:
        status = server.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve did not stop within {STOP_TIMEOUT} s:\n{server.output()}")

    assert status == 0, server.output()
    assert "Stopped." in server.output()
    assert "Traceback" not in server.output()
    assert not server.state_file.exists()
    with pytest.raises(OSError):
        server.call("GET", "/forward_orders/1")
