"""Every string field has a maximum length (issue 9; docs/design.md, "Field bounds"): at the bound
it is stored, one character over it is ``422 invalid`` on that field, before any write. The bounds
are configuration (``Limits``), and no configuration can let a record or an event grow past what
DynamoDB and EventBridge accept."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from forward_orders.models import ACTIVE_LIMITS
from forward_orders.settings import Limits
from tests.factories import batch, item, order
from tests.unit.request_reading import errors, item_field, label_field, messages, order_field, read

DEFAULTS = Limits()
# Each bounded field: where it is, how to put a value there, how to read it back, and its bound.
BOUNDED = [
    (order_field("concept"), "max_concept_length"),
    (order_field("postal_code"), "max_postal_code_length"),
    (item_field("upc"), "max_upc_length"),
    (item_field("sku"), "max_sku_length"),
    (item_field("tracking_number"), "max_tracking_number_length"),
    (item_field("reverse_tracking_number"), "max_tracking_number_length"),
    (item_field("dropship_identifier"), "max_dropship_identifier_length"),
    (label_field("name"), "max_label_name_length"),
    (label_field("value"), "max_label_value_length"),
]
DATES = [order_field("created_at"), item_field("shipped_date"), item_field("return_policy_end_date")]
INSTANTS = [order_field("updated_at"), item_field("updated_at")]


def _ids(cases: list[Any]) -> list[str]:
    return [field[0] for field, _ in cases]


@pytest.mark.parametrize(("field", "bound"), BOUNDED, ids=_ids(BOUNDED))
@pytest.mark.parametrize("character", ["x", "é", "😀"])
def test_a_value_at_its_bound_is_stored_and_one_character_more_is_invalid(
    field: tuple[str, Any, Any], bound: str, character: str
) -> None:
    path, build, stored = field
    longest = getattr(DEFAULTS, bound)
    assert stored(read(build(character * longest))) == character * longest
    assert errors(build(character * (longest + 1))) == [(path, "invalid")]
    assert messages(build("x" * (longest + 1)))[path].endswith(f"must be at most {longest} characters")


@pytest.mark.parametrize(("field", "bound"), BOUNDED, ids=_ids(BOUNDED))
def test_the_length_is_counted_once_trimmed_and_a_json_integer_by_its_digits(
    field: tuple[str, Any, Any], bound: str
) -> None:
    path, build, stored = field
    longest = getattr(DEFAULTS, bound)
    assert stored(read(build("  " + "x" * longest + " \n"))) == "x" * longest
    digits = min(longest, 40)
    assert stored(read(build(int("9" * digits)))) == "9" * digits
    if longest < 300:  # an integer of more digits than the bound
        assert errors(build(int("9" * (longest + 1)))) == [(path, "invalid")]


@pytest.mark.parametrize(("field", "bound"), BOUNDED, ids=_ids(BOUNDED))
def test_every_bound_is_configuration(field: tuple[str, Any, Any], bound: str) -> None:
    path, build, stored = field
    tight = Limits(**{bound: 3})
    assert stored(read(build("abc"), tight)) == "abc"
    assert errors(build("abcd"), tight) == [(path, "invalid")]


@pytest.mark.parametrize("field", DATES, ids=[path for path, _, _ in DATES])
def test_a_date_is_bounded_too_as_long_fractions_are_still_the_format(field: tuple[str, Any, Any]) -> None:
    path, build, stored = field
    prefix = "2025-01-31T10:20:30."
    longest = DEFAULTS.max_date_length
    at_bound = prefix + "1" * (longest - len(prefix))
    assert stored(read(build(at_bound))) == at_bound
    assert errors(build(at_bound + "1")) == [(path, "invalid")]


@pytest.mark.parametrize("field", INSTANTS, ids=[path for path, _, _ in INSTANTS])
def test_an_updated_at_has_the_dates_bound(field: tuple[str, Any, Any]) -> None:
    path, build, stored = field
    prefix, zone = "2025-01-31T10:20:30.", "+05:30"
    at_bound = prefix + "1" * (DEFAULTS.max_date_length - len(prefix) - len(zone)) + zone
    assert stored(read(build(at_bound))) == at_bound
    assert errors(build(at_bound.replace(zone, "1" + zone))) == [(path, "invalid")]


def test_identifiers_keep_the_contracts_255_characters() -> None:
    assert errors(batch(order("x" * 256))) == [("orders/0/identifier", "invalid")]
    assert errors(batch(order("o", [item("i" * 256)]))) == [("orders/0/items/0/identifier", "invalid")]


def test_every_over_long_field_of_a_batch_is_reported_and_nothing_else_blocks_it() -> None:
    body = batch(
        order("a", [item("1", sku="s" * 129), item("2", upc="u" * 65)], postal_code="p" * 33),
        order("b", [item("1", labels=[{"type": "text", "name": "n" * 65, "value": "v"}])]),
    )
    assert errors(body) == [
        ("orders/0/postal_code", "invalid"),
        ("orders/0/items/0/sku", "invalid"),
        ("orders/0/items/1/upc", "invalid"),
        ("orders/1/items/0/labels/0/name", "invalid"),
    ]


def test_the_bounds_in_force_are_the_ones_of_the_request_being_read() -> None:
    # read_batch sets them for its own validation only and puts back what was there.
    tight = Limits(max_sku_length=2)
    assert errors(batch(order("o", [item("i", sku="abc")])), tight) == [("orders/0/items/0/sku", "invalid")]
    assert ACTIVE_LIMITS.get() == DEFAULTS
    assert read(batch(order("o", [item("i", sku="abc")]))).orders[0].items[0].sku == "abc"


@pytest.mark.parametrize(
    "bounds",
    [
        {"max_label_value_length": 100_000},
        {"max_labels_per_item": 1000, "max_label_value_length": 200},
        {"max_sku_length": 60_000},
    ],
)
def test_no_configuration_allows_a_record_or_event_dynamodb_or_eventbridge_would_refuse(
    bounds: dict[str, int],
) -> None:
    with pytest.raises(ValidationError, match="at most"):
        Limits(**bounds)


def test_the_response_budget_holds_at_least_one_item_of_the_largest_size() -> None:
    with pytest.raises(ValidationError, match="max_response_bytes"):
        Limits(max_label_value_length=4000, max_labels_per_item=4, max_response_bytes=65_536)
    with pytest.raises(ValidationError, match="default_page_items"):
        Limits(default_page_items=10, max_page_items=5)


def test_no_configuration_allows_a_post_answer_over_the_response_bound() -> None:
    # Each order's result names it (per-order mode): more orders need a larger response bound.
    with pytest.raises(ValidationError, match="max_orders_per_request"):
        Limits(max_orders_per_request=200)
    assert Limits(max_orders_per_request=200, max_response_bytes=2_000_000).max_orders_per_request == 200
