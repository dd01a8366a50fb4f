"""Reading a request body as the API function does, for the tests of its value rules: JSON text ->
``decode_body`` -> ``read_batch``, and the problems of a body that must be rejected."""

from __future__ import annotations

import json
from typing import Any

import pytest

from forward_orders.batch_reader import decode_body, read_batch
from forward_orders.errors import ValidationFailed
from forward_orders.models import OrdersBatch
from forward_orders.settings import Limits
from tests.factories import batch, item, order

DEFAULT_LIMITS = Limits()
# Large enough that no count limit gets in the way of tests about other rules.
ROOMY = Limits(
    max_body_bytes=50_000_000,
    max_orders_per_request=1000,
    max_response_bytes=5_000_000,  # room for the per-order answer of 1,000 orders
    max_items_per_order=1000,
    # Every string field long enough for the numbers and texts of the tests of other rules.
    **{
        name: 100
        for name in ("max_concept_length", "max_postal_code_length", "max_upc_length", "max_sku_length")
    },
    **{name: 100 for name in ("max_tracking_number_length", "max_dropship_identifier_length")},
    **{name: 100 for name in ("max_date_length", "max_label_name_length", "max_label_value_length")},
)
# One label value longer than Python's int() takes (4,300 digits), within the record bounds.
LONG_LABEL_VALUES = Limits(max_labels_per_item=1, max_label_value_length=5000)


class RawJson(str):
    """JSON text to send as is (for numbers and escapes ``json.dumps`` would not write)."""


def read(body: Any, limits: Limits = DEFAULT_LIMITS) -> OrdersBatch:
    """A Python value sent as JSON text (``RawJson`` as is), read the way the handler reads it."""
    text = body if isinstance(body, RawJson) else json.dumps(body)
    return read_batch(decode_body(text, is_base64=False, limits=limits), limits)


def errors(body: Any, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, str]]:
    """The (field, code) problems of a body that must be rejected."""
    with pytest.raises(ValidationFailed) as failure:
        read(body, limits)
    return [(p["field"], p["code"]) for p in failure.value.problems]


def messages(body: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failure:
        read(body)
    return {p["field"]: p["message"] for p in failure.value.problems}


def label(**fields: Any) -> dict[str, Any]:
    return {"type": "barcode", "name": "RMA", "value": "RMA-1", **fields}


# -- where each kind of field lives ----------------------------------------------------------------
# (path of the field in the body, a function that puts a value there, a function that reads the
# stored value back from the parsed batch).


def order_field(name: str) -> tuple[str, Any, Any]:
    def build(value: Any) -> dict[str, Any]:
        body = batch(order("order-1"))
        body["orders"][0][name] = value
        return body

    return f"orders/0/{name}", build, lambda parsed: getattr(parsed.orders[0], name)


def item_field(name: str) -> tuple[str, Any, Any]:
    def build(value: Any) -> dict[str, Any]:
        body = batch(order("order-1", [item("item-1")]))
        body["orders"][0]["items"][0][name] = value
        return body

    return f"orders/0/items/0/{name}", build, lambda parsed: getattr(parsed.orders[0].items[0], name)


def label_field(name: str) -> tuple[str, Any, Any]:
    def build(value: Any) -> dict[str, Any]:
        return batch(order("order-1", [item("item-1", labels=[label(**{name: value})])]))

    return (
        f"orders/0/items/0/labels/0/{name}",
        build,
        lambda parsed: getattr(parsed.orders[0].items[0].labels[0], name),
    )


REQUIRED_STRING_FIELDS = [
    order_field("identifier"),
    item_field("identifier"),
    item_field("upc"),
    item_field("sku"),
    label_field("name"),
    label_field("value"),
]
OPTIONAL_STRING_FIELDS = [
    order_field("concept"),
    order_field("postal_code"),
    item_field("tracking_number"),
    item_field("reverse_tracking_number"),
    item_field("dropship_identifier"),
]
STRING_FIELDS = REQUIRED_STRING_FIELDS + OPTIONAL_STRING_FIELDS
DATE_FIELDS = [
    order_field("created_at"),
    item_field("shipped_date"),
    item_field("return_policy_end_date"),
]
# updated_at: a date-time with its zone (versioned writes).
INSTANT_FIELDS = [order_field("updated_at"), item_field("updated_at")]
OPTIONAL_FIELDS = [*OPTIONAL_STRING_FIELDS, *DATE_FIELDS, *INSTANT_FIELDS, item_field("labels")]


def field_ids(fields: list[tuple[str, Any, Any]]) -> list[str]:
    return [path for path, _, _ in fields]
