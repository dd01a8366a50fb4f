"""The API function through its Lambda entry point, with API Gateway REST (v1 proxy) events shaped
like the ones AWS sends after the authorizer: every status of the contract's response table."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from forward_orders import orders
from tests.conftest import ApiResponse, api_event, call_api, get_order, post_orders
from tests.factories import (
    FlakyCalls,
    api_orders_table,
    batch,
    break_storage,
    full_item,
    item,
    order,
    problems,
    reuse_boto3_session,  # noqa: F401  (autouse: faster moto set-up)
    scan,
)

pytestmark = [
    pytest.mark.usefixtures("dynamodb"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def request_id_of(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["requestId"])


def assert_json_error(
    response: ApiResponse, status: int, message: str, event: dict[str, Any]
) -> dict[str, Any]:
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["message"] == message
    assert body["request_id"] == request_id_of(event) == response.headers["x-request-id"]
    return body


def post_event(body: Any = None, **kwargs: Any) -> dict[str, Any]:
    return api_event("POST", "/forward_orders", body=body, **kwargs)


def get_event(identifier: str, **kwargs: Any) -> dict[str, Any]:
    return api_event(
        "GET",
        f"/forward_orders/{quote(identifier, safe='')}",
        resource="/forward_orders/{identifier}",
        path_parameters={"identifier": identifier},
        **kwargs,
    )


# -- 200 ---------------------------------------------------------------------------------------------


def test_post_answers_200_success() -> None:
    event = post_event(batch(order("o-1", [item("a"), item("b")]), order("o-2", [])))
    response = call_api(event)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == request_id_of(event)
    body = response.json()
    assert body["message"] == "Success"
    assert body.get("orders_upserted", 2) == 2
    assert body.get("items_upserted", 2) == 2


def test_a_bare_array_body_is_accepted() -> None:
    assert post_orders([order("o-1")]).status == 200
    assert get_order("o-1").status == 200


def test_get_answers_the_stored_order_with_every_field_and_the_server_timestamps() -> None:
    assert (
        post_orders(
            batch(
                order(
                    "o-1",
                    [full_item("b"), item("a")],
                    concept="Brand",
                    postal_code=2134,
                    created_at="2025-01-01",
                )
            )
        ).status
        == 200
    )
    event = get_event("o-1")
    response = call_api(event)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == request_id_of(event)
    body = response.json()
    for record in [body, *body["items"]]:
        assert TIMESTAMP.fullmatch(record.pop("first_received_at"))
        assert TIMESTAMP.fullmatch(record.pop("last_received_at"))
    assert body == {
        "identifier": "o-1",
        "concept": "Brand",
        "postal_code": "2134",
        "created_at": "2025-01-01",
        "items": [
            {"identifier": "a", "upc": "012345678905", "sku": "SKU-1", "quantity": 1},
            {
                "identifier": "b",
                "upc": "012345678905",
                "sku": "SKU-1",
                "quantity": 1,
                "tracking_number": "1Z999AA10123456784",
                "reverse_tracking_number": "1Z999AA10123456785",
                "dropship_identifier": "DS-1",
                "shipped_date": "2025-01-02",
                "return_policy_end_date": "2025-02-01T00:00:00Z",
                "labels": [{"type": "barcode", "name": "RMA", "value": "RMA-1"}],
            },
        ],
    }


def test_get_sorts_items_by_identifier() -> None:
    identifiers = ["b", "10", "a", "9", "B", "é", "1", "a-2"]
    assert post_orders(batch(order("o", [item(i) for i in identifiers]))).status == 200
    body = get_order("o").json()
    assert [entry["identifier"] for entry in body["items"]] == sorted(identifiers)
    assert [entry["identifier"] for entry in body["items"]] == ["1", "10", "9", "B", "a", "a-2", "b", "é"]


def test_get_of_an_order_without_items() -> None:
    assert post_orders(batch(order("o", []))).status == 200
    body = get_order("o").json()
    assert body["identifier"] == "o"
    assert body["items"] == []


@pytest.mark.parametrize(
    "identifier",
    [
        "a/b",
        "/leading/and/trailing/",
        "with space",
        "ünïcødé-✓",
        "emoji 😀 order",
        "100%",
        "%2F",
        "a?b#c&d=e",
        "plus+sign",
        "quote\"and'apostrophe",
        "back\\slash",
        "日本語の注文",
    ],
)
def test_get_of_an_identifier_that_needs_percent_encoding(identifier: str) -> None:
    assert post_orders(batch(order(identifier, [item("i")]))).status == 200
    response = get_order(identifier)
    assert response.status == 200, response.body
    assert response.json()["identifier"] == identifier
    assert [entry["identifier"] for entry in response.json()["items"]] == ["i"]


def test_get_without_path_parameters_decodes_the_path() -> None:
    assert post_orders(batch(order("a/b c", []))).status == 200
    event = get_event("a/b c")
    event["pathParameters"] = None
    response = call_api(event)
    assert response.status == 200
    assert response.json()["identifier"] == "a/b c"


def test_get_trims_the_identifier_like_post_does() -> None:
    assert post_orders(batch(order("  padded  ", []))).status == 200
    assert get_order("padded").json()["identifier"] == "padded"
    assert get_order(" padded ").json()["identifier"] == "padded"


def test_a_numeric_identifier_is_read_back_by_its_digits() -> None:
    assert post_orders(batch(order(12345678901234567890, [item(98765432109876543210)]))).status == 200
    body = get_order("12345678901234567890").json()
    assert body["identifier"] == "12345678901234567890"
    assert body["items"][0]["identifier"] == "98765432109876543210"


@pytest.mark.parametrize("character", ["x", "é", "✓", "😀"])
def test_identifiers_of_the_maximum_length_are_stored_and_read_back(character: str) -> None:
    # 255 characters of up to 4 UTF-8 bytes each must fit DynamoDB's key size limits.
    identifier = character * 255
    assert post_orders(batch(order(identifier, [item(identifier)]))).status == 200
    body = get_order(identifier).json()
    assert body["identifier"] == identifier
    assert body["items"][0]["identifier"] == identifier


# -- base64 bodies -----------------------------------------------------------------------------------


def test_a_base64_encoded_body_is_decoded() -> None:
    event = post_event(batch(order("b64", [item("i")], postal_code="02134")), base64_body=True)
    assert event["isBase64Encoded"] is True
    assert json.loads(base64.b64decode(event["body"]))["orders"][0]["identifier"] == "b64"
    assert call_api(event).status == 200
    assert get_order("b64").json()["postal_code"] == "02134"


def test_a_base64_encoded_utf8_body_keeps_its_characters() -> None:
    text = json.dumps(batch(order("ü-1", [item("✓")], concept="Zoë")), ensure_ascii=False)
    assert post_orders(raw_body=text.encode("utf-8")).status == 200
    body = get_order("ü-1").json()
    assert (body["concept"], body["items"][0]["identifier"]) == ("Zoë", "✓")


def test_a_base64_encoded_invalid_body_is_422() -> None:
    response = post_orders(raw_body=json.dumps(batch(order("o", [item("i", sku="")]))).encode())
    assert response.status == 422
    assert problems(response.json()) == [("orders/0/items/0/sku", "missing_field")]


# -- 400 ---------------------------------------------------------------------------------------------

NOT_JSON: list[tuple[str, dict[str, Any]]] = [
    ("no body", {"raw_body": None}),
    ("empty body", {"raw_body": ""}),
    ("whitespace body", {"raw_body": "  \n\t "}),
    ("empty base64 body", {"raw_body": b""}),
    ("whitespace base64 body", {"raw_body": b"   "}),
    ("bad base64", {"raw_body": "not base64!!", "base64_marked": True}),
    ("truncated base64", {"raw_body": "eyJvcmRlcnMiOiBb", "base64_marked": True}),
    ("invalid UTF-8", {"raw_body": b'{"orders": [{"identifier": "\xff\xfe"}]}'}),
    ("latin-1 body", {"raw_body": '{"orders": [{"identifier": "café"}]}'.encode("latin-1")}),
    ("syntax error", {"raw_body": '{"orders": [}'}),
    ("unterminated", {"raw_body": '{"orders": ['}),
    ("trailing data", {"raw_body": '{"orders": []} x'}),
    ("single quotes", {"raw_body": "{'orders': []}"}),
    ("trailing comma", {"raw_body": '{"orders": [1,]}'}),
    ("NaN", {"raw_body": '{"orders": [{"identifier": "o", "items": [], "postal_code": NaN}]}'}),
    ("Infinity", {"raw_body": '{"orders": Infinity}'}),
    ("-Infinity", {"raw_body": "[-Infinity]"}),
    ("not JSON at all", {"raw_body": "orders=1&items=2"}),
    ("deeply nested", {"raw_body": "[" * 100_000 + "]" * 100_000}),
]


@pytest.mark.parametrize(("case", "options"), NOT_JSON, ids=[case for case, _ in NOT_JSON])
def test_a_body_that_is_not_json_is_400_invalid_json(case: str, options: dict[str, Any]) -> None:
    event = post_event(raw_body=options["raw_body"])
    if options.get("base64_marked"):
        event["isBase64Encoded"] = True
    response = call_api(event)
    body = assert_json_error(response, 400, "Bad Request", event)
    assert len(body["errors"]) == 1
    assert body["errors"][0]["code"] == "invalid_json"
    assert isinstance(body["errors"][0]["message"], str)
    assert body["errors"][0]["message"]
    assert scan_is_empty()


def scan_is_empty() -> bool:
    import boto3

    from tests.conftest import ORDERS_TABLE_NAME

    return scan(boto3.client("dynamodb", region_name="us-east-1"), ORDERS_TABLE_NAME) == []


# -- 401 ---------------------------------------------------------------------------------------------


def _without_tenant(event: dict[str, Any], authorizer: Any) -> dict[str, Any]:
    event["requestContext"]["authorizer"] = authorizer
    return event


NO_TENANT = [
    ("no authorizer", None),
    ("empty authorizer", {}),
    ("principal only", {"principalId": "acme"}),
    ("empty client id", {"principalId": "acme", "client_id": ""}),
    ("null client id", {"principalId": "acme", "client_id": None}),
]


@pytest.mark.parametrize(("case", "authorizer"), NO_TENANT, ids=[case for case, _ in NO_TENANT])
@pytest.mark.parametrize(
    "make_event",
    [
        lambda: post_event(batch()),
        lambda: post_event(raw_body="{not json"),
        lambda: post_event(batch(order("o", [item("i", sku="")]))),
        lambda: get_event("o"),
        lambda: api_event("GET", "/no/such/route"),
        lambda: api_event("DELETE", "/forward_orders"),
    ],
    ids=["post", "post not json", "post invalid", "get", "unknown route", "unknown method"],
)
def test_without_a_tenant_in_the_authorizer_context_the_answer_is_401_with_an_empty_body(
    case: str, authorizer: Any, make_event: Callable[[], dict[str, Any]]
) -> None:
    event = _without_tenant(make_event(), authorizer)
    response = call_api(event)
    assert response.status == 401
    assert response.body == ""
    assert response.headers["x-request-id"] == request_id_of(event)
    assert scan_is_empty()


def test_a_401_does_not_reveal_whether_an_order_exists() -> None:
    assert post_orders(batch(order("exists"))).status == 200
    found = call_api(_without_tenant(get_event("exists"), None))
    missing = call_api(_without_tenant(get_event("missing"), None))
    assert (found.status, found.body) == (missing.status, missing.body) == (401, "")


# -- 404 ---------------------------------------------------------------------------------------------


def test_an_unknown_order_is_404_not_found() -> None:
    event = get_event("nope")
    body = assert_json_error(call_api(event), 404, "Not Found", event)
    assert set(body) == {"message", "request_id"}


def test_an_identifier_longer_than_any_stored_one_is_404_not_a_storage_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DynamoDB rejects a partition key over 2048 bytes with a ValidationException; an identifier
    # that long cannot have been stored, so the answer is an ordinary 404.
    table, _ = api_orders_table(monkeypatch)
    real_query = table._client.query

    def query(**kwargs: Any) -> Any:
        key = kwargs["ExpressionAttributeValues"][":pk"]["S"]
        if len(key.encode("utf-8")) > 2048:
            from tests.factories import client_error

            raise client_error("ValidationException", "Query")
        return real_query(**kwargs)

    monkeypatch.setattr(table._client, "query", query)
    for identifier in ["x" * 256, "x" * 3000, "😀" * 600]:
        event = get_event(identifier)
        assert_json_error(call_api(event), 404, "Not Found", event)


@pytest.mark.parametrize("identifier", ["", "   ", "a\ud800b", "\udfff"], ids=repr)
def test_an_identifier_no_post_could_store_is_404(identifier: str) -> None:
    event = api_event(
        "GET",
        "/forward_orders/x",
        resource="/forward_orders/{identifier}",
        path_parameters={"identifier": identifier},
    )
    assert_json_error(call_api(event), 404, "Not Found", event)


UNKNOWN_ROUTES = [
    ("GET", "/"),
    ("GET", "/forward_orders"),
    ("GET", "/forward_orders/"),
    ("GET", "/forward_orders/a/b"),
    ("GET", "/forward_order/a"),
    ("GET", "/FORWARD_ORDERS/a"),
    ("POST", "/forward_orders/a"),
    ("PUT", "/forward_orders"),
    ("PATCH", "/forward_orders"),
    ("DELETE", "/forward_orders"),
    ("DELETE", "/forward_orders/a"),
    ("PUT", "/forward_orders/a"),
    ("GET", "/orders"),
    ("POST", "/v2/forward_orders"),
]


@pytest.mark.parametrize(("method", "path"), UNKNOWN_ROUTES, ids=[f"{m} {p}" for m, p in UNKNOWN_ROUTES])
def test_an_unknown_route_is_404_not_found(method: str, path: str) -> None:
    event = api_event(method, path, body=batch())
    body = assert_json_error(call_api(event), 404, "Not Found", event)
    assert set(body) == {"message", "request_id"}
    assert scan_is_empty()


# -- 413 ---------------------------------------------------------------------------------------------


def test_a_body_over_the_default_limit_is_413() -> None:
    padding = "x" * 262_144
    event = post_event(batch(order("o", concept=padding)))
    body = assert_json_error(call_api(event), 413, "Payload Too Large", event)
    assert set(body) == {"message", "request_id"}
    assert scan_is_empty()


def test_a_base64_body_is_measured_after_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(batch(order("o")))
    monkeypatch.setenv("MAX_BODY_BYTES", str(len(text)))
    # The base64 text is a third longer than the limit; the body itself is exactly at it.
    assert post_orders(raw_body=text, base64_body=True).status == 200
    assert post_orders(raw_body=text + "\n", base64_body=True).status == 413


def test_an_oversized_body_is_413_even_when_it_is_not_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "100")
    assert post_orders(raw_body="x" * 101).status == 413


# -- 422 ---------------------------------------------------------------------------------------------


def test_validation_failures_are_422_with_every_problem() -> None:
    event = post_event(
        [
            order("a", [item("1", sku=""), item("2", quantity=0)]),
            order(
                "a",
                [item("1", shipped_date="2025-02-30", labels=[{"type": "qr", "name": "n", "value": "v"}])],
            ),
        ]
    )
    response = call_api(event)
    body = assert_json_error(response, 422, "Validation Failed", event)
    assert set(body) == {"message", "errors", "request_id"}
    assert body["errors"] == [
        {"field": "orders/0/items/0/sku", "code": "missing_field", "message": "sku is required"},
        {"field": "orders/0/items/1/quantity", "code": "invalid", "message": body["errors"][1]["message"]},
        {"field": "orders/1/identifier", "code": "duplicate", "message": body["errors"][2]["message"]},
        {
            "field": "orders/1/items/0/shipped_date",
            "code": "invalid_format",
            "message": body["errors"][3]["message"],
        },
        {
            "field": "orders/1/items/0/labels/0/type",
            "code": "invalid",
            "message": body["errors"][4]["message"],
        },
    ]
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"}
        assert isinstance(error["message"], str)
        assert error["message"]
    assert scan_is_empty()


def test_text_that_is_not_unicode_is_422_not_a_storage_error() -> None:
    # "\ud800" is JSON syntax for a lone surrogate, which no UTF-8 store (DynamoDB) can hold.
    text = json.dumps(batch(order("o", [item("i", sku="PLACEHOLDER")]))).replace("PLACEHOLDER", "\\ud800")
    response = post_orders(raw_body=text)
    assert response.status == 422
    assert problems(response.json()) == [("orders/0/items/0/sku", "invalid")]
    assert scan_is_empty()


def test_an_escaped_surrogate_pair_is_ordinary_text() -> None:
    text = json.dumps(batch(order("o", [item("i", sku="PLACEHOLDER")]))).replace(
        "PLACEHOLDER", "\\ud83d\\ude00"
    )
    assert post_orders(raw_body=text).status == 200
    assert get_order("o").json()["items"][0]["sku"] == "\U0001f600"


@pytest.mark.parametrize(
    "body", [{}, "orders", 42, None, {"orders": "x"}, [], {"order": [order()]}], ids=repr
)
def test_json_of_the_wrong_shape_is_422(body: Any) -> None:
    event = post_event(raw_body=json.dumps(body))
    response = call_api(event)
    assert_json_error(response, 422, "Validation Failed", event)
    assert response.json()["errors"]


def test_a_422_is_capped_at_100_problems() -> None:
    response = post_orders([order(str(i), [item("1", upc="", sku="")]) for i in range(60)])
    assert response.status == 422
    assert len(response.json()["errors"]) == 100


# -- 500 ---------------------------------------------------------------------------------------------

SECRET = "SECRET-7731"


def _buggy_record_writes(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(f"bug while writing postal code {SECRET}")


def test_a_bug_is_500_with_the_request_id_and_no_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "record_writes", _buggy_record_writes)
    event = post_event(batch(order("o", postal_code=SECRET)))
    response = call_api(event)
    body = assert_json_error(response, 500, "Internal Server Error", event)
    assert body == {"message": "Internal Server Error", "request_id": request_id_of(event)}
    for text in ("Traceback", "RuntimeError", SECRET, ".py", "line "):
        assert text not in response.body


def test_a_bug_in_a_read_is_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError(SECRET)

    monkeypatch.setattr(orders, "get_order", broken)
    event = get_event("o")
    body = assert_json_error(call_api(event), 500, "Internal Server Error", event)
    assert set(body) == {"message", "request_id"}


def test_a_storage_error_that_no_retry_can_fix_is_500_after_one_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flaky, sleeps = break_storage(monkeypatch, "ValidationException")
    event = post_event(batch(order("o", [item("i")])))
    assert_json_error(call_api(event), 500, "Internal Server Error", event)
    assert flaky.calls == 2  # the order record and the item record, once each
    assert sleeps == []


# -- 502 ---------------------------------------------------------------------------------------------

RETRYABLE = [
    ("ProvisionedThroughputExceededException", 400),
    ("ThrottlingException", 400),
    ("RequestLimitExceeded", 400),
    ("InternalServerError", 500),
    ("ServiceUnavailable", 503),
]


@pytest.mark.parametrize(("code", "status"), RETRYABLE, ids=[code for code, _ in RETRYABLE])
def test_storage_that_keeps_failing_is_502_with_retry_after(
    monkeypatch: pytest.MonkeyPatch, code: str, status: int
) -> None:
    flaky, sleeps = break_storage(monkeypatch, code, status=status)
    event = post_event(batch(order("o", [item("i")])))
    response = call_api(event)
    body = assert_json_error(response, 502, "Bad Gateway", event)
    assert set(body) == {"message", "request_id"}
    assert response.headers["retry-after"] == "1"
    assert flaky.calls == 2 * 4  # two records, four attempts each (the default)
    assert len(sleeps) == 2 * 3
    assert all(0 <= delay <= 1.0 for delay in sleeps)


def test_retry_after_and_attempts_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_AFTER_SECONDS", "7")
    monkeypatch.setenv("STORAGE_MAX_ATTEMPTS", "2")
    flaky, sleeps = break_storage(monkeypatch, "ProvisionedThroughputExceededException")
    response = post_orders(batch(order("o", [item("i"), item("j")])))
    assert response.status == 502
    assert response.headers["retry-after"] == "7"
    assert flaky.calls == 3 * 2
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
    ],
    ids=["connection", "read timeout"],
)
def test_connection_failures_are_502(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    table, _ = api_orders_table(monkeypatch)
    monkeypatch.setattr(table._client, "update_item", FlakyCalls(table._client.update_item, error))
    response = post_orders(batch(order("o", [])))
    assert response.status == 502
    assert response.headers["retry-after"] == "1"


def test_a_read_from_failing_storage_is_502(monkeypatch: pytest.MonkeyPatch) -> None:
    flaky, _ = break_storage(monkeypatch, "InternalServerError", operation="query", status=500)
    event = get_event("o")
    response = call_api(event)
    assert_json_error(response, 502, "Bad Gateway", event)
    assert response.headers["retry-after"] == "1"
    assert flaky.calls == 4


def test_transient_storage_failures_are_retried_to_success(monkeypatch: pytest.MonkeyPatch) -> None:
    flaky, sleeps = break_storage(monkeypatch, "ProvisionedThroughputExceededException", failures=3)
    assert post_orders(batch(order("o", [item("i"), item("j")]))).status == 200
    assert flaky.calls == 3 + 3
    assert len(sleeps) == 3
    assert [entry["identifier"] for entry in get_order("o").json()["items"]] == ["i", "j"]


# -- every response carries x-request-id ---------------------------------------------------------------


def _event_for(status: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An event that gets ``status``, after arranging whatever it takes."""
    if status == 413:
        monkeypatch.setenv("MAX_BODY_BYTES", "10")
    elif status == 500:
        monkeypatch.setattr(orders, "record_writes", _buggy_record_writes)
    elif status == 502:
        break_storage(monkeypatch, "ProvisionedThroughputExceededException")
    events: dict[int, Callable[[], dict[str, Any]]] = {
        400: lambda: post_event(raw_body="{"),
        401: lambda: _without_tenant(post_event(batch()), None),
        404: lambda: get_event("missing"),
        422: lambda: post_event({"orders": []}),
    }
    return events.get(status, lambda: post_event(batch()))()


@pytest.mark.parametrize("status", [200, 400, 401, 404, 413, 422, 500, 502])
def test_every_response_carries_x_request_id_and_error_bodies_repeat_it(
    monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    event = _event_for(status, monkeypatch)
    response = call_api(event)
    assert response.status == status
    assert response.headers["x-request-id"] == request_id_of(event)
    if status >= 400 and status != 401:
        assert response.json()["request_id"] == request_id_of(event)
        assert response.headers["content-type"] == "application/json"


def test_the_raw_lambda_response_carries_x_request_id_in_every_header_map() -> None:
    from forward_orders.handler import lambda_handler
    from tests.conftest import LambdaContext

    event = post_event(batch())
    result = lambda_handler(event, LambdaContext())
    assert result["headers"]["x-request-id"] == request_id_of(event)
    if result.get("multiValueHeaders") is not None:
        assert result["multiValueHeaders"]["x-request-id"] == [request_id_of(event)]


# -- logging: no payload, no stack trace ---------------------------------------------------------------

PAYLOAD = {
    "order": "SECRET-ORDER-19",
    "item": "SECRET-ITEM-28",
    "postal": "SECRET-POSTAL-37",
    "tracking": "SECRET-TRACK-46",
    "reverse": "SECRET-REVERSE-55",
    "label": "SECRET-LABEL-64",
    "date": "SECRET-DATE-73",
}


@pytest.fixture
def logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Everything the function writes: its Powertools JSON logs, every Python log record (with
    formatted tracebacks, as Lambda's root handler would write them) and stdout/stderr."""
    from forward_orders import handler

    stream = io.StringIO()
    monkeypatch.setattr(handler.logger.registered_handler, "stream", stream)
    caplog.set_level(logging.INFO)

    def text() -> str:
        captured = capsys.readouterr()
        return "\n".join([stream.getvalue(), caplog.text, captured.out, captured.err])

    return text


def _payload_body(**changes: Any) -> dict[str, Any]:
    return batch(
        order(
            PAYLOAD["order"],
            [
                item(
                    PAYLOAD["item"],
                    tracking_number=PAYLOAD["tracking"],
                    reverse_tracking_number=PAYLOAD["reverse"],
                    labels=[{"type": "barcode", "name": "RMA", "value": PAYLOAD["label"]}],
                    **changes,
                )
            ],
            postal_code=PAYLOAD["postal"],
        )
    )


def _assert_clean(text: str) -> None:
    for value in PAYLOAD.values():
        assert value not in text
    assert "SECRET" not in text
    assert "Traceback" not in text


def test_the_log_capture_sees_the_function_logs(logged: Any) -> None:
    assert post_orders(_payload_body()).status == 200
    text = logged()
    assert "orders upserted" in text
    _assert_clean(text)


def test_a_422_logs_no_payload_and_no_stack_trace(logged: Any) -> None:
    response = post_orders(_payload_body(quantity=0, shipped_date=PAYLOAD["date"], upc=""))
    assert response.status == 422
    text = logged()
    assert "validation failed" in text
    _assert_clean(text)


def test_a_400_logs_no_payload_and_no_stack_trace(logged: Any) -> None:
    response = post_orders(raw_body=json.dumps(_payload_body())[:-3])
    assert response.status == 400
    _assert_clean(logged())


def test_a_500_logs_no_payload_and_no_stack_trace(logged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"cannot write {PAYLOAD['postal']} / {PAYLOAD['tracking']}")

    monkeypatch.setattr(orders, "record_writes", buggy)
    assert post_orders(_payload_body()).status == 500
    text = logged()
    assert "unhandled error" in text
    assert "ValueError" in text  # the error type is logged, its message is not
    _assert_clean(text)


def test_a_404_logs_no_identifier(logged: Any) -> None:
    assert get_order(PAYLOAD["order"]).status == 404
    _assert_clean(logged())


def test_a_502_logs_no_payload_and_no_stack_trace(logged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    break_storage(monkeypatch, "ProvisionedThroughputExceededException")
    assert post_orders(_payload_body()).status == 502
    text = logged()
    assert "storage unavailable" in text
    _assert_clean(text)


def test_a_storage_bug_logs_no_payload(logged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    break_storage(monkeypatch, "ValidationException")
    assert post_orders(_payload_body()).status == 500
    _assert_clean(logged())
