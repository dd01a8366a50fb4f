"""The rules of a request body as a whole: its shape, duplicates, every problem reported with its
path (capped), the count limits, and properties over generated bodies.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forward_orders.batch_reader import MAX_PROBLEMS
from forward_orders.errors import ValidationFailed
from forward_orders.settings import Limits
from tests.factories import (
    batch,
    item,
    order,
)
from tests.unit.request_reading import (
    ROOMY,
    STRING_FIELDS,
    RawJson,
    errors,
    field_ids,
    label,
    messages,
    read,
)

# -- shape of the body -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["hello", 5, 1.5, True, None], ids=repr)
def test_a_body_that_is_neither_an_object_nor_an_array_is_invalid_type(body: Any) -> None:
    assert errors(body) == [("", "invalid_type")]


def test_a_json_string_holding_a_batch_is_not_a_batch() -> None:
    # Double-encoded JSON: a JSON string whose text happens to be a valid batch is still a string.
    double_encoded = json.dumps(batch(order("o", [item("i")])))
    assert errors(double_encoded) == [("", "invalid_type")]


def test_orders_is_required_and_must_be_a_non_empty_array() -> None:
    assert errors({}) == [("orders", "missing_field")]
    assert errors({"orders": None}) == [("orders", "missing_field")]
    assert errors({"orders": {"identifier": "o"}}) == [("orders", "invalid_type")]
    assert errors({"orders": "o"}) == [("orders", "invalid_type")]
    assert errors({"orders": []}) == [("orders", "invalid")]
    assert errors([]) == [("orders", "invalid")]


@pytest.mark.parametrize("entry", ["o", 1, None, [order()]], ids=repr)
def test_an_order_must_be_an_object(entry: Any) -> None:
    assert errors({"orders": [order("a"), entry]}) == [("orders/1", "invalid_type")]


@pytest.mark.parametrize("entry", ["i", 1, None, [item()]], ids=repr)
def test_an_item_must_be_an_object(entry: Any) -> None:
    assert errors(batch(order("o", [item("a"), entry]))) == [("orders/0/items/1", "invalid_type")]


@pytest.mark.parametrize("items", ["i", 1, {"identifier": "i"}], ids=repr)
def test_items_must_be_an_array(items: Any) -> None:
    assert errors(batch(order("o", items))) == [("orders/0/items", "invalid_type")]


def test_a_bare_array_of_orders_means_the_same_as_an_orders_object() -> None:
    orders = [order("a", [item("1"), item("2")]), order("b", [], postal_code=2134)]
    assert read(orders) == read({"orders": orders})


def test_error_paths_of_a_bare_array_body_still_start_with_orders() -> None:
    body = [order("a"), order("b", [item("1"), item("2", sku="")])]
    assert errors(body) == [("orders/1/items/1/sku", "missing_field")]


def test_unknown_fields_are_ignored_at_every_level() -> None:
    known = batch(order("o", [item("i", labels=[label()])], postal_code="1"))
    unknown = json.loads(json.dumps(known))
    unknown["version"] = 2
    unknown["orders"][0].update({"customer": {"name": "A"}, "status": None, "priority": 1.5})
    unknown["orders"][0]["items"][0].update({"price": 9.99, "gift": True, "tags": ["a"]})
    unknown["orders"][0]["items"][0]["labels"][0]["color"] = [1, 2]
    parsed = read(unknown)
    assert parsed == read(known)
    dumped = json.dumps(parsed.model_dump())
    for name in ("version", "customer", "status", "priority", "price", "gift", "tags", "color"):
        assert name not in dumped


def test_unknown_fields_cannot_smuggle_server_fields() -> None:
    body = batch(order("o", [item("i", first_received_at="x", order_identifier="other")], pk="evil"))
    dumped = read(body).model_dump()
    assert "pk" not in dumped["orders"][0]
    assert "first_received_at" not in dumped["orders"][0]["items"][0]
    assert "order_identifier" not in dumped["orders"][0]["items"][0]


# -- duplicates --------------------------------------------------------------------------------------


def test_a_repeated_order_identifier_is_duplicate_on_the_later_one() -> None:
    body = batch(order("a"), order("b"), order("a"))
    assert errors(body) == [("orders/2/identifier", "duplicate")]
    assert messages(body)["orders/2/identifier"] == "identifier repeats the order at orders/0"


def test_every_repeat_is_reported() -> None:
    body = batch(order("a"), order("a"), order("b"), order("a"), order("b"))
    assert errors(body) == [
        ("orders/1/identifier", "duplicate"),
        ("orders/3/identifier", "duplicate"),
        ("orders/4/identifier", "duplicate"),
    ]


def test_a_repeated_item_identifier_in_one_order_is_duplicate_on_the_later_one() -> None:
    body = batch(order("o", [item("x"), item("y"), item("x")]))
    assert errors(body) == [("orders/0/items/2/identifier", "duplicate")]
    assert messages(body)["orders/0/items/2/identifier"] == "identifier repeats the item at orders/0/items/0"


def test_the_same_item_identifier_in_two_orders_is_fine() -> None:
    parsed = read(batch(order("a", [item("x")]), order("b", [item("x")])))
    assert [o.items[0].identifier for o in parsed.orders] == ["x", "x"]


@pytest.mark.parametrize(("first", "second"), [("a", " a "), (7, "7"), ("7", 7), (" 7", 7)], ids=repr)
def test_identifiers_are_compared_as_stored(first: Any, second: Any) -> None:
    assert errors(batch(order(first), order(second))) == [("orders/1/identifier", "duplicate")]
    assert errors(batch(order("o", [item(first), item(second)]))) == [
        ("orders/0/items/1/identifier", "duplicate")
    ]


def test_identifiers_differing_in_case_are_distinct() -> None:
    assert len(read(batch(order("a"), order("A"))).orders) == 2


def test_duplicates_are_reported_together_with_other_problems_in_document_order() -> None:
    body = batch(
        order("a", [item("x"), item("x", upc="")]),
        order("a", [item("y", quantity=0)]),
    )
    assert errors(body) == [
        ("orders/0/items/1/identifier", "duplicate"),
        ("orders/0/items/1/upc", "missing_field"),
        ("orders/1/identifier", "duplicate"),
        ("orders/1/items/0/quantity", "invalid"),
    ]


# -- every problem, paths, cap -----------------------------------------------------------------------


def test_every_problem_is_reported_with_slash_paths_and_zero_based_indexes() -> None:
    body = batch(
        order("ok", [item("1")]),
        {
            "identifier": "",
            "created_at": "2025-02-30",
            "postal_code": 1.5,
            "items": [
                item("1"),
                {
                    "identifier": "2",
                    "upc": "u",
                    "quantity": True,
                    "labels": [label(), label(type="qr", value=[])],
                },
            ],
        },
        order("x" * 256, [item("1", shipped_date="tomorrow")]),
    )
    assert errors(body) == [
        ("orders/1/identifier", "missing_field"),
        ("orders/1/postal_code", "invalid_type"),
        ("orders/1/created_at", "invalid_format"),
        ("orders/1/items/1/sku", "missing_field"),
        ("orders/1/items/1/quantity", "invalid_type"),
        ("orders/1/items/1/labels/1/type", "invalid"),
        ("orders/1/items/1/labels/1/value", "invalid_type"),
        ("orders/2/identifier", "invalid"),
        ("orders/2/items/0/shipped_date", "invalid_format"),
    ]


def test_every_problem_has_a_field_a_contract_code_and_a_message() -> None:
    body = [{"identifier": 1.5, "concept": [], "items": [{"quantity": -1, "labels": [{}]}]}, "x"]
    with pytest.raises(ValidationFailed) as failure:
        read(body)
    found = failure.value.problems
    assert len(found) >= 8
    for problem in found:
        assert problem["code"] in {"missing_field", "invalid_type", "invalid_format", "invalid", "duplicate"}
        assert problem["field"].startswith("orders")
        assert "." not in problem["field"]
        assert problem["message"]


def test_problems_are_capped_at_100_in_document_order() -> None:
    body = batch(order("o", [item(str(i), sku="") for i in range(150)]))
    found = errors(body, ROOMY)
    assert MAX_PROBLEMS == 100
    assert len(found) == 100
    assert found == [(f"orders/0/items/{i}/sku", "missing_field") for i in range(100)]


def test_exactly_100_problems_are_all_reported() -> None:
    body = batch(*[order(str(i), [item("i", upc="")]) for i in range(100)])
    assert len(errors(body, ROOMY)) == 100


# -- count limits ------------------------------------------------------------------------------------


def test_the_default_limits_allow_their_maximum() -> None:
    orders = [order(str(i), [item("i", labels=[label()] * 20)]) for i in range(100)]
    orders[0]["items"] = [item(str(j)) for j in range(100)]
    assert len(read(batch(*orders), Limits(max_body_bytes=10_000_000)).orders) == 100


def test_more_orders_than_the_limit_is_invalid_on_the_array_and_reported_alone() -> None:
    orders = [order(str(i), [item("i", sku="")]) for i in range(101)]
    assert errors(batch(*orders), ROOMY.model_copy(update={"max_orders_per_request": 100})) == [
        ("orders", "invalid")
    ]
    assert errors(orders, ROOMY.model_copy(update={"max_orders_per_request": 100})) == [("orders", "invalid")]


def test_more_items_than_the_limit_is_invalid_on_that_items_array() -> None:
    body = batch(
        order("a", [item(str(j)) for j in range(100)]), order("b", [item(str(j)) for j in range(101)])
    )
    assert errors(body, Limits(max_body_bytes=10_000_000)) == [("orders/1/items", "invalid")]


def test_more_labels_than_the_limit_is_invalid_on_that_labels_array() -> None:
    body = batch(order("o", [item("a", labels=[label()] * 20), item("b", labels=[label()] * 21)]))
    assert errors(body) == [("orders/0/items/1/labels", "invalid")]


# -- properties ---------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=st.integers(min_value=-(10**60), max_value=10**60))
def test_any_json_integer_round_trips_exactly_in_every_string_field(number: int) -> None:
    body = batch(
        order(
            number,
            [
                item(
                    number,
                    upc=number,
                    sku=number,
                    tracking_number=number,
                    labels=[label(name=number, value=number)],
                )
            ],
            postal_code=number,
            concept=number,
        )
    )
    parsed = read(body, ROOMY)
    first = parsed.orders[0]
    assert first.items[0].labels is not None
    values = [
        first.identifier,
        first.postal_code,
        first.concept,
        first.items[0].identifier,
        first.items[0].upc,
        first.items[0].sku,
        first.items[0].tracking_number,
        first.items[0].labels[0].name,
        first.items[0].labels[0].value,
    ]
    assert values == [str(number)] * len(values)


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=1, max_size=40).filter(lambda t: t.strip() != ""))
def test_any_text_is_stored_trimmed(text: str) -> None:
    body = batch(order("o", [item("i", sku=text, tracking_number=text)], concept=text))
    try:
        parsed = read(body)
    except ValidationFailed as failure:
        # Lone surrogates are not text that can be stored (see test_not_unicode_text_is_invalid).
        assert all(p["code"] == "invalid" for p in failure.problems)
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    assert parsed.orders[0].concept == text.strip()
    assert parsed.orders[0].items[0].sku == text.strip()


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=field_ids(STRING_FIELDS))
def test_not_unicode_text_is_invalid(path: str, build: Any, stored: Any) -> None:
    # A lone surrogate escape is JSON syntax but not a Unicode string: DynamoDB cannot store it.
    text = json.dumps(build("PLACEHOLDER")).replace("PLACEHOLDER", "ab\\ud800cd")
    assert errors(RawJson(text)) == [(path, "invalid")]
