"""Security checks: keys are never stored or logged in plaintext, payload values are never logged,
a revoked key stops working, and the tenant comes only from the authorizer.

The log check runs ``forward-orders serve`` with every log level at its most verbose
(``POWERTOOLS_LOG_LEVEL=DEBUG`` and Powertools' own ``POWERTOOLS_DEBUG``), sends keys (good, wrong,
revoked, in both headers) and payloads with recognisable values (valid, invalid, failing), then
searches everything the process printed after its start-up banner. The banner itself shows the keys
given with ``--client`` by design: it is the developer's console, and they typed them.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.processes import ServeProcess, serving
from tests.reliability import figures
from tests.reliability.harness import scan_records

BANNER_END = "Ctrl-C stops it."
# Recognisable payload values: none of them may be logged.
SECRETS = {
    "postal_code": "PC-SECRET-90210",
    "tracking_number": "1ZSECRET999AA10123456784",
    "reverse_tracking_number": "9400SECRET1118992231974",
    "label": "LABEL-SECRET-VALUE",
    "concept": "CONCEPT-SECRET",
    "invalid quantity": "QTY-SECRET",
    "invalid date": "DATE-SECRET",
    "invalid postal code type": "NESTED-SECRET",
}


def _valid_order(identifier: str) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "postal_code": SECRETS["postal_code"],
        "concept": SECRETS["concept"],
        "items": [
            {
                "identifier": "1",
                "upc": "012345678905",
                "sku": "SKU-1",
                "quantity": 1,
                "tracking_number": SECRETS["tracking_number"],
                "reverse_tracking_number": SECRETS["reverse_tracking_number"],
                "labels": [{"type": "barcode", "name": "RMA", "value": SECRETS["label"]}],
            }
        ],
    }


def _invalid_order() -> dict[str, Any]:
    order = _valid_order("bad")
    order["created_at"] = SECRETS["invalid date"]
    order["postal_code"] = {"nested": SECRETS["invalid postal code type"]}
    order["items"][0]["quantity"] = SECRETS["invalid quantity"]
    return order


def _table(server: ServeProcess, name_key: str) -> list[dict[str, Any]]:
    return scan_records(server.dynamodb(), server.state()[name_key])


ACME, GLOBEX = f"fo_{secrets.token_urlsafe(32)}", f"fo_{secrets.token_urlsafe(32)}"
VERBOSE = {"POWERTOOLS_LOG_LEVEL": "DEBUG", "POWERTOOLS_DEBUG": "true"}
# Every key sent to the server below: the log test (last) looks for all of them.
KEYS_USED: dict[str, str] = {"acme": ACME, "globex": GLOBEX}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serving(
        tmp_path_factory.mktemp("security"), {"acme": ACME, "globex": GLOBEX}, extra_env=VERBOSE
    ) as server:
        yield server


def test_a_revoked_key_stops_working_with_the_next_request(server: ServeProcess) -> None:
    """Locally (no authorizer cache) and deployed with the default authorizerCacheTtlSeconds of 0,
    a revoked key is refused by the very next request; with a TTL of N seconds, for up to N."""
    from infra.config import ServiceConfig

    assert ServiceConfig().authorizer_cache_ttl_seconds == 0
    created = json.loads(server.cli("keys", "create", "--client", "hooli", "--json").stdout)
    key, key_id = created["key"], created["key_id"]
    KEYS_USED["hooli (revoked)"] = key
    body = {"orders": [{"identifier": "h-1", "items": []}]}
    for headers in ({"Authorization": f"Bearer {key}"}, {"x-api-key": key}):
        assert server.call("POST", "/forward_orders", body=body, headers=headers).status == 200
    assert server.cli("keys", "revoke", key_id).returncode == 0
    for headers in ({"Authorization": f"Bearer {key}"}, {"x-api-key": key}):
        reply = server.call("POST", "/forward_orders", body=body, headers=headers)
        assert (reply.status, reply.body) == (401, b"")
        reply = server.call("GET", "/forward_orders/h-1", headers=headers)
        assert (reply.status, reply.body) == (401, b"")


def test_the_log_check_finds_what_is_logged(server: ServeProcess) -> None:
    """A guard on the log check below: a value that is logged, it finds (the order identifier of
    a GET is in the gateway's request line, by design)."""
    marker = f"ORDER-{uuid.uuid4().hex[:8]}"
    assert server.call("GET", f"/forward_orders/{marker}", key=ACME).status == 404
    time.sleep(0.2)
    assert marker in server.output().split(BANNER_END, 1)[1]


def test_keys_and_payload_values_are_never_logged_and_keys_never_stored(server: ServeProcess) -> None:
    wrong = f"fo_{secrets.token_urlsafe(32)}"
    KEYS_USED["wrong"] = wrong
    created = server.cli("keys", "create", "--client", "initech", "--json")
    assert created.returncode == 0, created.stderr
    issued = json.loads(created.stdout)
    initech = KEYS_USED["initech (revoked)"] = issued["key"]
    calls = [
        ("POST", "/forward_orders", ACME, {"orders": [_valid_order("A-1")]}, {}, 200),
        ("POST", "/forward_orders", GLOBEX, [_valid_order("G-1")], {}, 200),
        ("POST", "/forward_orders", ACME, {"orders": [_invalid_order()]}, {}, 422),
        ("POST", "/forward_orders", wrong, {"orders": [_valid_order("W-1")]}, {}, 401),
        ("POST", "/forward_orders", None, {"orders": [_valid_order("X-1")]}, {"x-api-key": GLOBEX}, 200),
        ("POST", "/forward_orders", None, {"orders": []}, {"x-api-key": wrong}, 401),
        ("POST", "/forward_orders", initech, {"orders": [_valid_order("I-1")]}, {}, 200),
        ("GET", "/forward_orders/A-1", ACME, None, {}, 200),
        ("GET", "/forward_orders/A-1", GLOBEX, None, {}, 404),
        ("GET", "/forward_orders/nope", wrong, None, {}, 401),
    ]
    for method, path, key, body, headers, status in calls:
        reply = server.call(method, path, key=key, body=body, headers=headers)
        assert reply.status == status, (method, path, reply.status, reply.body[:300])
    assert server.cli("keys", "revoke", issued["key_id"]).returncode == 0
    assert (
        server.call("POST", "/forward_orders", key=initech, body={"orders": [_valid_order("I-2")]}).status
        == 401
    )
    raw = server.call(
        "POST", "/forward_orders", key=ACME, raw=json.dumps(_valid_order("R")).encode() + b"\xff"
    )
    assert raw.status == 400
    api_keys = _table(server, "api_keys_table")
    orders = json.dumps(_table(server, "orders_table"))
    time.sleep(0.2)  # the last lines reach the log file

    output = server.output()
    assert BANNER_END in output
    logged = output.split(BANNER_END, 1)[1]
    figures.record(
        "security: logs",
        log_bytes_after_banner=len(logged),
        keys_checked=len(KEYS_USED),
        values_checked=len(SECRETS),
    )
    # The run did log (the JSON lines of both functions, the gateway's request lines).
    assert '"level":"DEBUG"' in logged or '"level":"INFO"' in logged
    assert "POST /forward_orders -> 200" in logged
    stored_keys = json.dumps(api_keys)
    for name, key in KEYS_USED.items():
        assert key not in logged, f"the {name} key is in the logs"
        assert key[3:20] not in logged, f"a piece of the {name} key is in the logs"
        assert key not in stored_keys and key not in orders, f"the {name} key is stored in plaintext"
    for name, value in SECRETS.items():
        assert value not in logged, f"the {name} value is in the logs"
    # Keys are stored as their SHA-256 only.
    hashes = {record["key_hash"] for record in api_keys}
    assert {hashlib.sha256(key.encode()).hexdigest() for key in KEYS_USED.values() if key != wrong} <= hashes


# -- the tenant -------------------------------------------------------------------------------------


def _event(
    authorizer: dict[str, Any] | None, *, body: Any = None, method: str = "POST", **extra: Any
) -> dict[str, Any]:
    from tests.api_calls import get_event, post_event

    if method == "POST":
        event = post_event(body, client_id=None, **extra)
    else:
        event = get_event("T-1", client_id=None, **extra)
    event["requestContext"]["authorizer"] = authorizer
    event["queryStringParameters"] = {"client_id": "globex", "tenant": "globex"}
    event["multiValueQueryStringParameters"] = {"client_id": ["globex"], "tenant": ["globex"]}
    return event


SPOOF_HEADERS = {"x-client-id": "globex", "client_id": "globex", "X-Amzn-Principal": "globex"}


@pytest.mark.parametrize(
    "authorizer",
    [None, {}, {"principalId": "globex"}, {"client_id": ""}, {"client_id": None, "principalId": "acme"}],
    ids=["no authorizer", "empty", "principal only", "blank client", "null client"],
)
def test_without_the_authorizers_client_nothing_is_read_or_written(dynamodb: Any, authorizer: Any) -> None:
    from tests.api_calls import ORDERS_TABLE_NAME, call_api

    body = {"client_id": "globex", "orders": [{"identifier": "T-1", "client_id": "globex", "items": []}]}
    for method in ("POST", "GET"):
        response = call_api(_event(authorizer, body=body, method=method, headers=SPOOF_HEADERS))
        assert (response.status, response.body) == (401, ""), method
    assert dynamodb.scan(TableName=ORDERS_TABLE_NAME)["Items"] == []


def test_the_authorizers_client_is_the_only_tenant_whatever_the_request_says(dynamodb: Any) -> None:
    from tests.api_calls import ORDERS_TABLE_NAME, call_api

    globex_order = {"orders": [{"identifier": "T-1", "concept": "globex", "items": []}]}
    assert call_api(_event({"client_id": "globex", "principalId": "globex"}, body=globex_order)).status == 200

    spoofing = {"client_id": "globex", "orders": [{"identifier": "T-2", "client_id": "globex", "items": []}]}
    acme = {"client_id": "acme", "principalId": "globex"}  # principalId is not the tenant either
    assert call_api(_event(acme, body=spoofing, headers=SPOOF_HEADERS)).status == 200
    assert call_api(_event(acme, method="GET", headers=SPOOF_HEADERS)).status == 404  # globex's T-1

    keys = sorted(item["pk"]["S"] for item in dynamodb.scan(TableName=ORDERS_TABLE_NAME)["Items"])
    assert keys == ["acme#T-2", "globex#T-1"]


def test_the_access_log_records_no_credential_and_no_payload_value() -> None:
    from infra.api import access_log_format

    fields = json.loads(access_log_format())
    values = " ".join(fields.values())
    assert "$input" not in values and "header" not in values.lower()
    # Not the API key's value ($context.identity.apiKey, the metering key); its id names it safely.
    assert re.search(r"apiKey(?!Id\b)", values) is None
    assert "$context.path" not in values, "the request path holds tracking numbers (GET /tracking/{n})"
