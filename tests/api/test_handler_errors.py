"""The API function's error statuses, each as the contract's response table says: 400, 401, 404,
413, 422, 500 and 502; and the request id every response carries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from forward_orders import orders
from tests.api_calls import (
    api_event,
    assert_json_error,
    call_api,
    get_event,
    get_order,
    post_event,
    post_orders,
    request_id_of,
)
from tests.factories import FlakyCalls, api_orders_table, batch, break_storage, item, order, problems, scan

pytestmark = pytest.mark.usefixtures("dynamodb")

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

    from tests.api_calls import ORDERS_TABLE_NAME

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


@pytest.mark.parametrize("operation", ["get_item", "query"])
def test_a_read_from_failing_storage_is_502(monkeypatch: pytest.MonkeyPatch, operation: str) -> None:
    # A GET reads the order record (GetItem) and its items (Query): either failing is a 502.
    assert post_orders(batch(order("o"))).status == 200
    flaky, _ = break_storage(monkeypatch, "InternalServerError", operation=operation, status=500)
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
    from tests.api_calls import lambda_context

    event = post_event(batch())
    result = lambda_handler(event, lambda_context())
    assert result["headers"]["x-request-id"] == request_id_of(event)
    if result.get("multiValueHeaders") is not None:
        assert result["multiValueHeaders"]["x-request-id"] == [request_id_of(event)]
