"""Hypothesis properties of the contract, against the API function in this process (moto):

- any sequence of valid batches (numbers in string fields, padding, nulls, blanks, unknown fields,
  either body form, identifiers that repeat across batches) answers 200 each time, and every order
  reads back exactly as the reference model of the merge rules predicts;
- any single invalid value in an otherwise valid batch answers 422 with the contract's body, names
  that value's field and code, and writes nothing;
- any JSON value at all, and any bytes at all, answer a 4xx with the contract's body (or, for the
  rare valid one, 200): never a 5xx.

Each example uses a client of its own, so examples cannot see each other's data.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_calls import ApiResponse, api_event, call_api
from tests.reliability import figures
from tests.reliability.model import ReferenceModel, orders_of, text, without_timestamps

PROBLEM_CODES = {"missing_field", "invalid_type", "invalid_format", "invalid", "duplicate"}
MAX_QUANTITY = 2_147_483_647

SETTINGS = settings(
    max_examples=figures.scale(25, 400),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    derandomize=not figures.SOAK,
)

# -- valid values -------------------------------------------------------------------------------------

padding = st.sampled_from(["", "", " ", "\t", "\n ", "\u3000", "\xa0"])
visible = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12).filter(
    lambda s: s.strip() != ""
)


def padded(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(padding, strategy, padding).map("".join)


string_value = st.one_of(padded(visible), st.integers(-(10**30), 10**30))
blank_or_null = st.sampled_from([None, "", "  "])
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(timespec="seconds")),
    st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
    st.datetimes().map(lambda d: d.isoformat(timespec="microseconds") + "+05:30"),
)
quantity = st.one_of(st.integers(1, MAX_QUANTITY), st.integers(1, 99999).map(lambda n: f" {n} "))
unknown = st.dictionaries(
    st.sampled_from(["gift", "channel", "x-extra"]), st.integers() | st.text(max_size=5), max_size=2
)
ORDER_IDS = ["A", " A ", "B", 7, "7", "ünï"]  # " A " is "A", 7 is "7": the same orders
ITEM_IDS = ["1", 1, "two", " two", "3"]


def identity(value: Any) -> str:
    return text(value)


def optional_fields(values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Each field left out, null (or blank, for a string field), or given a value."""
    return st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(st.none() if name == "labels" else blank_or_null, strategy)
            for name, strategy in values.items()
        },
    )


label = st.fixed_dictionaries(
    {"type": padded(st.sampled_from(["barcode", "text"])), "name": string_value, "value": string_value}
)
item = st.builds(
    lambda required, optional, extra: {**extra, **required, **optional},
    st.fixed_dictionaries(
        {
            "identifier": st.sampled_from(ITEM_IDS),
            "upc": string_value,
            "sku": string_value,
            "quantity": quantity,
        }
    ),
    optional_fields(
        {
            "tracking_number": string_value,
            "reverse_tracking_number": string_value,
            "dropship_identifier": string_value,
            "shipped_date": padded(dates),
            "return_policy_end_date": dates,
            "labels": st.lists(label, max_size=3),
        }
    ),
    unknown,
)
order = st.builds(
    lambda identifier, items, optional, extra: {
        **extra,
        "identifier": identifier,
        **optional,
        "items": items,
    },
    st.sampled_from(ORDER_IDS),
    st.lists(item, max_size=4, unique_by=lambda entry: identity(entry["identifier"])),
    optional_fields({"concept": string_value, "postal_code": string_value, "created_at": dates}),
    unknown,
)
orders = st.lists(order, min_size=1, max_size=3, unique_by=lambda entry: identity(entry["identifier"]))
batch = st.one_of(orders.map(lambda entries: {"orders": entries}), orders)


# -- calling the API --------------------------------------------------------------------------------


def post(client: str, body: str | bytes) -> ApiResponse:
    data = body.encode() if isinstance(body, str) else body
    return call_api(api_event("POST", "/forward_orders", raw_body=data, client_id=client))


def get(client: str, identifier: str) -> ApiResponse:
    return call_api(
        api_event(
            "GET",
            f"/forward_orders/{quote(identifier, safe='')}",
            resource="/forward_orders/{identifier}",
            path_parameters={"identifier": identifier},
            client_id=client,
        )
    )


def stored_count(dynamodb: Any, client: str) -> int:
    from tests.api_calls import ORDERS_TABLE_NAME

    pages = dynamodb.get_paginator("scan").paginate(
        TableName=ORDERS_TABLE_NAME,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": f"{client}#"}},
    )
    return sum(len(page["Items"]) for page in pages)


def assert_error_body(response: ApiResponse, status: int, message: str) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["message"] == message
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body)


def assert_validation_failed(response: ApiResponse) -> list[dict[str, Any]]:
    body = assert_error_body(response, 422, "Validation Failed")
    assert set(body) == {"message", "errors", "request_id"}
    assert 1 <= len(body["errors"]) <= 100
    for problem in body["errors"]:
        assert set(problem) == {"field", "code", "message"}, problem
        assert problem["code"] in PROBLEM_CODES
        assert (
            isinstance(problem["field"], str) and isinstance(problem["message"], str) and problem["message"]
        )
    return list(body["errors"])


# -- properties -------------------------------------------------------------------------------------


@SETTINGS
@given(batches=st.lists(batch, min_size=1, max_size=3))
def test_any_valid_batches_are_stored_and_read_back_as_the_merge_rules_say(
    dynamodb: Any, batches: list[Any]
) -> None:
    client = f"prop-{uuid.uuid4().hex[:10]}"
    model = ReferenceModel()
    for body in batches:
        response = post(client, json.dumps(body))
        assert response.status == 200, response.body
        entries = orders_of(body)
        assert response.json() == {
            "message": "Success",
            "orders_upserted": len(entries),
            "items_upserted": sum(len(entry["items"]) for entry in entries),
        }
        model.apply(body)
    for order_id in model.orders:
        got = get(client, order_id)
        assert got.status == 200, got.body
        assert without_timestamps(got.json()) == model.read_back(order_id)


# Each mutation: where in an order (None: the order itself), which field, the value, and the code.
MUTATIONS: list[tuple[str, str, Any, str]] = [
    ("order", "identifier", True, "invalid_type"),
    ("order", "identifier", 1.5, "invalid_type"),
    ("order", "identifier", {"id": 1}, "invalid_type"),
    ("order", "identifier", None, "missing_field"),
    ("order", "identifier", "   ", "missing_field"),
    ("order", "identifier", "x" * 256, "invalid"),
    ("order", "identifier", "\ud800", "invalid"),
    ("order", "concept", [], "invalid_type"),
    ("order", "postal_code", False, "invalid_type"),
    ("order", "created_at", "yesterday", "invalid_format"),
    ("order", "created_at", "2023-02-29", "invalid_format"),
    ("order", "items", "none", "invalid_type"),
    ("order", "items", None, "missing_field"),
    ("item", "identifier", 2.0, "invalid_type"),
    ("item", "upc", None, "missing_field"),
    ("item", "sku", "", "missing_field"),
    ("item", "sku", {}, "invalid_type"),
    ("item", "quantity", 0, "invalid"),
    ("item", "quantity", -3, "invalid"),
    ("item", "quantity", MAX_QUANTITY + 1, "invalid"),
    ("item", "quantity", "12345678901", "invalid"),
    ("item", "quantity", 1.5, "invalid_type"),
    ("item", "quantity", True, "invalid_type"),
    ("item", "quantity", "one", "invalid_type"),
    ("item", "tracking_number", 1e3, "invalid_type"),
    ("item", "shipped_date", "2024-01-01T24:00:00", "invalid_format"),
    ("item", "return_policy_end_date", 20240101, "invalid_format"),
    ("item", "labels", "RMA", "invalid_type"),
    ("label", "type", "qr", "invalid"),
    ("label", "type", "Barcode", "invalid"),
    ("label", "name", None, "missing_field"),
    ("label", "value", [1], "invalid_type"),
]


@settings(SETTINGS, max_examples=figures.scale(60, 1000))
@given(body=batch, mutation=st.sampled_from(MUTATIONS), data=st.data())
def test_any_invalid_value_is_a_422_naming_it_and_writes_nothing(
    dynamodb: Any, body: Any, mutation: tuple[str, str, Any, str], data: st.DataObject
) -> None:
    where, field, value, code = mutation
    entries = orders_of(body)
    i = data.draw(st.integers(0, len(entries) - 1), label="order")
    target, path = entries[i], f"orders/{i}"
    if where in ("item", "label"):
        if not target["items"]:
            target["items"].append({"identifier": "new", "upc": "1", "sku": "S", "quantity": 1})
        j = data.draw(st.integers(0, len(target["items"]) - 1), label="item")
        target, path = target["items"][j], f"{path}/items/{j}"
        if where == "label":
            target["labels"] = [{"type": "text", "name": "n", "value": "v"}]
            target, path = target["labels"][0], f"{path}/labels/0"
    target[field] = value
    client = f"prop-{uuid.uuid4().hex[:10]}"

    problems = assert_validation_failed(post(client, json.dumps(body)))

    assert (f"{path}/{field}", code) in {(p["field"], p["code"]) for p in problems}, problems
    assert stored_count(dynamodb, client) == 0


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(SETTINGS, max_examples=figures.scale(100, 2000))
@given(
    value=st.one_of(
        json_values, st.fixed_dictionaries({"orders": json_values}), st.lists(json_values, max_size=3)
    )
)
def test_any_json_value_gets_a_contract_answer_and_never_a_5xx(dynamodb: Any, value: Any) -> None:
    client = f"prop-{uuid.uuid4().hex[:10]}"
    response = post(client, json.dumps(value))
    if response.status == 200:
        assert response.json()["message"] == "Success"
        return
    assert_validation_failed(response)
    assert stored_count(dynamodb, client) == 0


@settings(SETTINGS, max_examples=figures.scale(100, 2000))
@given(raw=st.binary(max_size=200) | st.text(max_size=50).map(str.encode))
def test_any_bytes_get_a_contract_answer_and_never_a_5xx(dynamodb: Any, raw: bytes) -> None:
    client = f"prop-{uuid.uuid4().hex[:10]}"
    response = post(client, raw)
    assert response.status in (200, 400, 422), response.body
    if response.status == 400:
        body = assert_error_body(response, 400, "Bad Request")
        assert set(body) == {"message", "errors", "request_id"}
        (problem,) = body["errors"]
        assert problem["code"] == "invalid_json" and isinstance(problem["message"], str)
    elif response.status == 422:
        assert_validation_failed(response)
    if response.status != 200:
        assert stored_count(dynamodb, client) == 0


@pytest.fixture(autouse=True)
def _quiet_handler_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
