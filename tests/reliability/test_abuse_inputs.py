"""Hostile requests, one table row each with the status it must get and what it may write.

Through ``forward-orders serve`` (HTTP, the request as a client sends it: raw paths, raw bytes,
odd headers), except the base64 rows, which only API Gateway itself could send and so are events
for the API function in this process. After every row the whole orders table is compared with its
state before: a rejected request writes nothing; an accepted one writes exactly the records named
in its row. Every request has a 30 s client timeout and must answer within 10 s: nothing hangs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.processes import ServeProcess, start_serve, stop_process_group
from tests.reliability import figures
from tests.reliability.harness import scan_records

ACME, GLOBEX = "abuse-acme-key", "abuse-globex-key"
SLOWEST_ALLOWED = 10.0
ITEM = {"identifier": "1", "upc": "1", "sku": "S", "quantity": 1}


def order(identifier: Any, **fields: Any) -> dict[str, Any]:
    return {"identifier": identifier, "items": [ITEM], **fields}


def batch(*orders: dict[str, Any]) -> bytes:
    return json.dumps({"orders": list(orders)}).encode()


def records(identifier: str, *items: str, client: str = "acme") -> frozenset[tuple[str, str]]:
    """The (pk, sk) of an order and its items, as the contract says they are stored."""
    pk = f"{client}#{identifier}"
    return frozenset({(pk, "ORDER"), *((pk, f"I#{item}") for item in items)})


@dataclass(frozen=True)
class Row:
    name: str
    status: int
    body: bytes | None = None
    method: str = "POST"
    path: str = "/forward_orders"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    key: str | None = ACME
    writes: frozenset[tuple[str, str]] = frozenset()
    check: Callable[[Any], None] | None = None  # more about the reply


def _error(code: str, field_prefix: str = "") -> Callable[[Any], None]:
    def check(reply: Any) -> None:
        problems = reply.json()["errors"]
        assert any(p["code"] == code and p.get("field", "").startswith(field_prefix) for p in problems), (
            problems
        )

    return check


def _identifier(expected: str) -> Callable[[Any], None]:
    def check(reply: Any) -> None:
        assert reply.json()["identifier"] == expected

    return check


def _problem_count(count: int) -> Callable[[Any], None]:
    def check(reply: Any) -> None:
        assert len(reply.json()["errors"]) == count

    return check


LONG = "x" * 255
EMOJI = "😀" * 255  # 1,020 bytes of UTF-8: the longest identifier, at the key size limits
JSON = {"Content-Type": "application/json"}

ROWS: list[Row] = [
    # -- nesting and sizes -----------------------------------------------------------------------
    Row("100,000 nested arrays", 400, b"[" * 100_000 + b"]" * 100_000),
    Row("40,000 nested objects", 400, b'{"a":' * 40_000 + b"1" + b"}" * 40_000),
    Row(
        "5,000 levels inside an unknown field",
        400,
        b'{"orders":[{"identifier":"n","items":[],"x":' + b"[" * 5000 + b"]" * 5000 + b"}]}",
    ),
    Row(
        "500 levels inside an unknown field (parsed, ignored)",
        200,
        b'{"orders":[{"identifier":"nest-ok","items":[],"x":' + b"[" * 500 + b"]" * 500 + b"}]}",
        writes=records("nest-ok"),
    ),
    Row(
        "a 5,000-digit quantity",
        422,
        batch({**order("q"), "items": [{**ITEM, "quantity": 7}]}).replace(
            b'"quantity": 7', b'"quantity": 1' + b"0" * 4999
        ),
        check=_error("invalid", "orders/0/items/0/quantity"),
    ),
    Row(
        "a 5,000-digit identifier",
        422,
        batch(order(7)).replace(b'"identifier": 7', b'"identifier": 1' + b"0" * 4999),
        check=_error("invalid", "orders/0/identifier"),
    ),
    Row(
        "a 200,000-digit postal code (over its bound: invalid, not a crash)",
        422,
        b'{"orders":[{"identifier":"big-number","postal_code":' + b"9" * 200_000 + b',"items":[]}]}',
        check=_error("invalid"),
    ),
    Row(
        "a 32-digit postal code (at its bound, stored as its digits)",
        200,
        b'{"orders":[{"identifier":"bound-number","postal_code":' + b"9" * 32 + b',"items":[]}]}',
        writes=records("bound-number"),
    ),
    Row(
        "1e400 as quantity",
        422,
        batch({**order("inf"), "items": [{**ITEM, "quantity": 1e400}]}).replace(b"Infinity", b"1e400"),
        check=_error("invalid_type"),
    ),
    Row(
        "-0 as quantity",
        422,
        batch({**order("zero"), "items": [{**ITEM, "quantity": 0}]}).replace(
            b'"quantity": 0', b'"quantity": -0'
        ),
        check=_error("invalid"),
    ),
    Row("NaN", 400, b'{"orders":[{"identifier":NaN,"items":[]}]}'),
    Row(
        "a 250,000-character string (over its bound)",
        422,
        batch(order("big-string", concept="c" * 250_000)),
        check=_error("invalid"),
    ),
    Row(
        "a 255-character concept of 4-byte characters (at its bound)",
        200,
        batch(order("bound-string", concept="\U0001f600" * 255)),
        writes=records("bound-string", "1"),
    ),
    Row(
        "a 300,000-character string (over the body limit)",
        413,
        batch(order("too-big", concept="c" * 300_000)),
    ),
    Row("over API Gateway's 10 MB", 413, b"[" + b" " * (10 * 1024 * 1024) + b"]"),
    # -- bytes and encodings ------------------------------------------------------------------------
    Row(
        "an escaped NUL in an identifier",
        200,
        batch(order("nul\u0000id")),
        writes=records("nul\u0000id", "1"),
    ),
    Row("a raw NUL inside a string", 400, b'{"orders":[{"identifier":"a\x00b","items":[]}]}'),
    Row("a raw NUL between tokens", 400, b'{"orders":\x00[]}'),
    Row("invalid UTF-8", 400, b'{"orders":[{"identifier":"\xff\xfe","items":[]}]}'),
    Row("an overlong UTF-8 slash", 400, b'{"orders":[{"identifier":"\xc0\xaf","items":[]}]}'),
    Row(
        "a lone surrogate escape",
        422,
        b'{"orders":[{"identifier":"\\ud800","items":[]}]}',
        check=_error("invalid", "orders/0/identifier"),
    ),
    Row("a UTF-8 byte order mark", 400, b"\xef\xbb\xbf" + batch(order("bom"))),
    Row("UTF-16", 400, json.dumps({"orders": [order("utf16")]}).encode("utf-16")),
    Row("an empty body", 400, b""),
    Row("a blank body", 400, b" \r\n\t "),
    # -- content types ------------------------------------------------------------------------------
    Row(
        "text/plain with valid JSON (read as JSON)",
        200,
        batch(order("text-plain")),
        headers={"Content-Type": "text/plain"},
        writes=records("text-plain", "1"),
    ),
    Row(
        "no Content-Type with valid JSON",
        200,
        batch(order("no-type")),
        headers={},
        writes=records("no-type", "1"),
    ),
    Row(
        "a form",
        400,
        b"orders=%5B%5D&identifier=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Row(
        "multipart",
        400,
        b'--b\r\nContent-Disposition: form-data; name="orders"\r\n\r\n[]\r\n--b--\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    Row("XML", 400, b"<orders><order identifier='1'/></orders>", headers={"Content-Type": "application/xml"}),
    Row("a JSON body sent base64-encoded by the client", 400, base64.b64encode(batch(order("b64")))),
    Row(
        "a JSON string holding a batch",
        422,
        json.dumps(batch(order("double")).decode()).encode(),
        check=_error("invalid_type", ""),
    ),
    # -- big arrays within the size limit --------------------------------------------------------------
    Row(
        "100,000 orders",
        422,
        b'{"orders":[' + b",".join([b"0"] * 100_000) + b"]}",
        check=_error("invalid", "orders"),
    ),
    Row(
        "101 items",
        422,
        batch({**order("items-101"), "items": [{**ITEM, "identifier": str(n)} for n in range(101)]}),
        check=_error("invalid", "orders/0/items"),
    ),
    Row(
        "100 items (the limit)",
        200,
        batch({**order("items-100"), "items": [{**ITEM, "identifier": str(n)} for n in range(100)]}),
        writes=records("items-100", *(str(n) for n in range(100))),
    ),
    Row(
        "21 labels",
        422,
        batch(
            {
                **order("labels-21"),
                "items": [{**ITEM, "labels": [{"type": "text", "name": "n", "value": "v"}] * 21}],
            }
        ),
        check=_error("invalid", "orders/0/items/0/labels"),
    ),
    Row(
        "10,000 invalid items: 100 problems at most",
        422,
        batch(*({"identifier": f"o{n}", "items": [{}] * 100} for n in range(100))),
        check=_problem_count(100),
    ),
    Row(
        "an unknown field holding 100,000 numbers",
        200,
        b'{"orders":[{"identifier":"wide","items":[],"x":[' + b",".join([b"1"] * 100_000) + b"]}]}",
        writes=records("wide"),
    ),
    # -- identifier lengths ----------------------------------------------------------------------------
    Row(
        "identifiers of 255 characters",
        200,
        batch({**order(LONG), "items": [{**ITEM, "identifier": LONG}]}),
        writes=records(LONG, LONG),
    ),
    Row(
        "identifiers of 255 four-byte characters",
        200,
        batch({**order(EMOJI), "items": [{**ITEM, "identifier": EMOJI}]}),
        writes=records(EMOJI, EMOJI),
    ),
    Row(
        "255 characters padded with spaces",
        200,
        batch(order(f"  {'p' * 255}  ")),
        writes=records("p" * 255, "1"),
    ),
    Row(
        "an order identifier of 256 characters",
        422,
        batch(order("x" * 256)),
        check=_error("invalid", "orders/0/identifier"),
    ),
    Row(
        "an item identifier of 256 four-byte characters",
        422,
        batch({**order("i256"), "items": [{**ITEM, "identifier": "😀" * 256}]}),
        check=_error("invalid", "orders/0/items/0/identifier"),
    ),
    Row("GET an identifier of 256 characters", 404, method="GET", path="/forward_orders/" + "x" * 256),
    Row("GET an identifier of 6,000 characters", 404, method="GET", path="/forward_orders/" + "y" * 6000),
    # -- paths -----------------------------------------------------------------------------------------
    Row(
        "an encoded slash finds the order a/b",
        200,
        method="GET",
        path="/forward_orders/a%2Fb",
        check=_identifier("a/b"),
    ),
    Row(
        "encoded dots find the order ..",
        200,
        method="GET",
        path="/forward_orders/%2E%2E",
        check=_identifier(".."),
    ),
    Row("a real slash is another route", 404, method="GET", path="/forward_orders/a/b"),
    Row("dot segments are not resolved", 404, method="GET", path="/forward_orders/../forward_orders/a%2Fb"),
    Row(
        "encoded traversal is an identifier", 404, method="GET", path="/forward_orders/..%2F..%2Fetc%2Fpasswd"
    ),
    Row("an encoded NUL", 404, method="GET", path="/forward_orders/%00"),
    Row("a bad percent escape", 404, method="GET", path="/forward_orders/%ZZ"),
    Row("percent-encoded invalid UTF-8", 404, method="GET", path="/forward_orders/%F0%9F"),
    Row("a blank identifier", 404, method="GET", path="/forward_orders/%20%20"),
    # Python's http.server (under the local server) collapses leading slashes: still acme's own order.
    Row("a leading double slash", 200, method="GET", path="//forward_orders/a%2Fb", check=_identifier("a/b")),
    Row("an empty identifier", 404, method="GET", path="/forward_orders/"),
    Row(
        "a query string naming another client",
        404,
        method="GET",
        path="/forward_orders/globex-secret?client_id=globex",
    ),
    # -- methods (the contract: another method is an unknown route, 404) ------------------------------------
    *(
        Row(f"{method} /forward_orders", 404, batch(order("m")), method=method)
        for method in ("PUT", "PATCH", "DELETE")
    ),
    Row("GET /forward_orders", 404, method="GET"),
    Row("POST to an order", 404, batch(order("m")), path="/forward_orders/x"),
    Row("OPTIONS", 404, method="OPTIONS", path="/forward_orders/a%2Fb"),
    Row("HEAD", 404, method="HEAD", path="/forward_orders/a%2Fb"),
    # -- other clients and credentials ---------------------------------------------------------------------
    Row("another client's order", 404, method="GET", path="/forward_orders/globex-secret"),
    Row(
        "another client's identifier, posted: a separate order",
        200,
        batch(order("globex-secret", concept="acme's own")),
        writes=records("globex-secret", "1"),
    ),
    Row(
        "a client named in headers, query and body",
        200,
        batch({**order("spoof"), "client_id": "globex", "client": "globex"}).replace(
            b'{"orders"', b'{"client_id": "globex", "orders"'
        ),
        path="/forward_orders?client_id=globex&clientId=globex",
        headers={
            **JSON,
            "x-client-id": "globex",
            "X-Amzn-Principal": "globex",
            "X-Forwarded-For": "10.0.0.1",
        },
        writes=records("spoof", "1"),
    ),
    Row(
        "Basic credentials beside a valid x-api-key",
        401,
        batch(order("basic")),
        key=None,
        headers={**JSON, "Authorization": "Basic YWNtZTp4", "x-api-key": ACME},
    ),
    Row("a 10 KB key", 401, batch(order("long-key")), key="k" * 10_000),
    # A NUL is not allowed in a header field (RFC 9110 5.5): the front end refuses the request.
    Row("a key with a NUL", 400, batch(order("nul-key")), key="abuse-acme-key\x00"),
    Row("no key", 401, batch(order("no-key")), key=None),
    # -- duplicate keys ---------------------------------------------------------------------------------
    Row(
        "duplicate orders keys: the last wins",
        200,
        b'{"orders":[{"identifier":"dup-first","items":[]}],"orders":[{"identifier":"dup-last","items":[]}]}',
        writes=records("dup-last"),
    ),
    Row(
        "duplicate keys, the last invalid", 422, b'{"orders":[{"identifier":"dup-ok","items":[]}],"orders":7}'
    ),
    Row(
        "duplicate identifier keys in an order",
        200,
        b'{"orders":[{"identifier":"dup-a","identifier":"dup-b","items":[]}]}',
        writes=records("dup-b"),
    ),
    Row(
        "the same order twice in one body",
        422,
        batch(order("twice"), order(" twice ")),
        check=_error("duplicate", "orders/1/identifier"),
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    server = start_serve(tmp_path_factory.mktemp("abuse"), {"acme": ACME, "globex": GLOBEX})
    try:
        # What the path rows read: acme's a/b and .., and globex's own order.
        for identifier in ("a/b", ".."):
            assert (
                server.call("POST", "/forward_orders", key=ACME, raw=batch(order(identifier))).status == 200
            )
        assert (
            server.call(
                "POST", "/forward_orders", key=GLOBEX, raw=batch(order("globex-secret", concept="globex's"))
            ).status
            == 200
        )
        yield server
    finally:
        stop_process_group(server.process)


def snapshot(server: ServeProcess) -> dict[tuple[str, str], dict[str, Any]]:
    records = scan_records(server.dynamodb(), server.state()["orders_table"])
    return {(record["pk"], record["sk"]): record for record in records}


SLOWEST: list[float] = []


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_a_hostile_request_gets_its_status_and_writes_only_what_it_may(
    server: ServeProcess, row: Row
) -> None:
    before = snapshot(server)
    headers = dict(row.headers)
    if row.key is not None:
        headers["Authorization"] = f"Bearer {row.key}"
    reply = server.call(row.method, row.path, raw=row.body, headers=headers, timeout=30)
    after = snapshot(server)
    SLOWEST.append(reply.seconds)
    figures.record("abuse inputs", rows=len(ROWS), slowest_reply_s=max(SLOWEST))

    assert reply.status == row.status, (reply.status, reply.body[:500])
    assert reply.seconds < SLOWEST_ALLOWED
    assert reply.headers.get("x-request-id")
    if reply.status == 401 or row.method == "HEAD":
        assert reply.body == b""
    else:
        body = reply.json()
        assert reply.headers["content-type"] == "application/json"
        if reply.status >= 400:
            assert body["request_id"] == reply.headers["x-request-id"]
    if row.check is not None:
        row.check(reply)
    changed = {key for key in {*before, *after} if before.get(key) != after.get(key)}
    assert changed == set(row.writes), f"written: {sorted(changed)[:10]}, expected: {sorted(row.writes)[:10]}"
    globex = ("globex#globex-secret", "ORDER")
    assert after[globex]["concept"] == "globex's"


# -- base64 bodies: only API Gateway sends these, so they are events ---------------------------------

BASE64_ROWS = [
    ("not base64 at all", "!!! not base64 !!!", True, 400),
    ("base64 without its padding", base64.b64encode(batch(order("pad"))).decode().rstrip("="), True, 400),
    (
        "base64 with line breaks",
        base64.encodebytes(batch(order("lines", concept="c" * 100))).decode(),
        True,
        400,
    ),
    (
        "base64 of invalid UTF-8",
        base64.b64encode(b'{"orders":[{"identifier":"\xff","items":[]}]}').decode(),
        True,
        400,
    ),
    (
        "base64 over the body limit",
        base64.b64encode(batch(order("b", concept="c" * 300_000))).decode(),
        True,
        413,
    ),
    ("an empty base64 body", "", True, 400),
    (
        "url-safe base64 alphabet",
        base64.urlsafe_b64encode(b'{"orders":[{"identifier":">>>???","items":[]}]}').decode(),
        True,
        400,
    ),
    ("a text body holding a lone surrogate", '{"orders":[{"identifier":"\ud800","items":[]}]}', False, 400),
]


@pytest.mark.parametrize(
    ("name", "body", "is_base64", "status"), BASE64_ROWS, ids=[row[0] for row in BASE64_ROWS]
)
def test_a_body_that_is_not_what_it_claims_is_rejected_and_writes_nothing(
    dynamodb: Any, name: str, body: str, is_base64: bool, status: int
) -> None:
    from tests.api_calls import ORDERS_TABLE_NAME, api_event, call_api

    event = api_event("POST", "/forward_orders", client_id="acme")
    event["body"], event["isBase64Encoded"] = body, is_base64
    response = call_api(event)

    assert response.status == status, response.body
    assert response.json()["request_id"] == response.headers["x-request-id"]
    if status == 400:
        assert response.json()["errors"][0]["code"] == "invalid_json"
    assert dynamodb.scan(TableName=ORDERS_TABLE_NAME)["Items"] == []
