"""Every value rule of the contract (CONTRACT.md, "POST /forward_orders — body"), valid and invalid,
one by one, on the reading of a request body: JSON text -> ``decode_body`` -> ``read_batch``.

The last section checks the limits end to end through the Lambda handler, with the limits changed
by environment variables as an operator would change them.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forward_orders.batch_reader import MAX_PROBLEMS, decode_body, read_batch
from forward_orders.errors import PayloadTooLarge, ValidationFailed
from forward_orders.models import OrdersBatch
from forward_orders.settings import Limits
from tests.conftest import post_orders
from tests.factories import (
    batch,
    item,
    order,
    problems,
    reuse_boto3_session,  # noqa: F401  (autouse: faster moto set-up)
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

DEFAULT_LIMITS = Limits()
# Large enough that no count limit gets in the way of tests about other rules.
ROOMY = Limits(max_body_bytes=50_000_000, max_orders_per_request=1000, max_items_per_order=1000)


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
    return [(p.field, p.code) for p in failure.value.problems]


def messages(body: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failure:
        read(body)
    return {p.field: p.message for p in failure.value.problems}


def label(**fields: Any) -> dict[str, Any]:
    return {"type": "barcode", "name": "RMA", "value": "RMA-1", **fields}


# -- where each kind of field lives ------------------------------------------------------------------
# (path of the field in the body, a function that puts a value there, a function that reads the
# stored value back from the parsed batch).


def _order_field(name: str) -> tuple[str, Any, Any]:
    def build(value: Any) -> dict[str, Any]:
        body = batch(order("order-1"))
        body["orders"][0][name] = value
        return body

    return f"orders/0/{name}", build, lambda parsed: getattr(parsed.orders[0], name)


def _item_field(name: str) -> tuple[str, Any, Any]:
    def build(value: Any) -> dict[str, Any]:
        body = batch(order("order-1", [item("item-1")]))
        body["orders"][0]["items"][0][name] = value
        return body

    return f"orders/0/items/0/{name}", build, lambda parsed: getattr(parsed.orders[0].items[0], name)


def _label_field(name: str) -> tuple[str, Any, Any]:
    def build(value: Any) -> dict[str, Any]:
        return batch(order("order-1", [item("item-1", labels=[label(**{name: value})])]))

    return (
        f"orders/0/items/0/labels/0/{name}",
        build,
        lambda parsed: getattr(parsed.orders[0].items[0].labels[0], name),
    )


REQUIRED_STRING_FIELDS = [
    _order_field("identifier"),
    _item_field("identifier"),
    _item_field("upc"),
    _item_field("sku"),
    _label_field("name"),
    _label_field("value"),
]
OPTIONAL_STRING_FIELDS = [
    _order_field("concept"),
    _order_field("postal_code"),
    _item_field("tracking_number"),
    _item_field("reverse_tracking_number"),
    _item_field("dropship_identifier"),
]
STRING_FIELDS = REQUIRED_STRING_FIELDS + OPTIONAL_STRING_FIELDS
DATE_FIELDS = [
    _order_field("created_at"),
    _item_field("shipped_date"),
    _item_field("return_policy_end_date"),
]
OPTIONAL_FIELDS = [*OPTIONAL_STRING_FIELDS, *DATE_FIELDS, _item_field("labels")]


def _ids(fields: list[tuple[str, Any, Any]]) -> list[str]:
    return [path for path, _, _ in fields]


# -- a valid body -------------------------------------------------------------------------------------


def test_a_valid_order_is_read_with_every_field() -> None:
    parsed = read(
        batch(
            order(
                "order-1",
                [
                    item(
                        "item-1",
                        tracking_number="T1",
                        reverse_tracking_number="R1",
                        dropship_identifier="D1",
                        shipped_date="2025-01-02",
                        return_policy_end_date="2025-02-01T00:00:00Z",
                        labels=[label(), label(type="text", name="Note", value="fragile")],
                    )
                ],
                concept="Brand",
                postal_code="02134",
                created_at="2025-01-01T10:00:00",
            )
        )
    )
    assert parsed.model_dump() == {
        "orders": [
            {
                "identifier": "order-1",
                "concept": "Brand",
                "postal_code": "02134",
                "created_at": "2025-01-01T10:00:00",
                "items": [
                    {
                        "identifier": "item-1",
                        "upc": "012345678905",
                        "sku": "SKU-1",
                        "quantity": 1,
                        "tracking_number": "T1",
                        "reverse_tracking_number": "R1",
                        "dropship_identifier": "D1",
                        "shipped_date": "2025-01-02",
                        "return_policy_end_date": "2025-02-01T00:00:00Z",
                        "labels": [
                            {"type": "barcode", "name": "RMA", "value": "RMA-1"},
                            {"type": "text", "name": "Note", "value": "fragile"},
                        ],
                    }
                ],
            }
        ]
    }


# -- numbers in string fields ----------------------------------------------------------------------

INTEGERS = [0, 7, -42, 2**53 + 1, 12345678901234567890, 10**40 + 3]


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=_ids(STRING_FIELDS))
@pytest.mark.parametrize("number", INTEGERS, ids=str)
def test_a_json_integer_in_a_string_field_is_kept_as_its_exact_digits(
    path: str, build: Any, stored: Any, number: int
) -> None:
    value = stored(read(build(number)))
    assert value == str(number)
    assert type(value) is str


def test_the_digits_are_the_ones_in_the_json_text_not_a_rounded_float() -> None:
    text = (
        '{"orders": [{"identifier": 12345678901234567890, "postal_code": 2134, "items": ['
        '{"identifier": 98765432109876543210, "upc": 123456789012345678901234567890, "sku": 1,'
        ' "quantity": 1, "tracking_number": 100000000000000000001,'
        ' "labels": [{"type": "barcode", "name": 5, "value": 99999999999999999999}]}]}]}'
    )
    parsed = read(RawJson(text))
    assert parsed.orders[0].identifier == "12345678901234567890"
    assert parsed.orders[0].postal_code == "2134"
    first = parsed.orders[0].items[0]
    assert first.identifier == "98765432109876543210"
    assert first.upc == "123456789012345678901234567890"
    assert first.sku == "1"
    assert first.tracking_number == "100000000000000000001"
    assert first.labels is not None
    assert (first.labels[0].name, first.labels[0].value) == ("5", "99999999999999999999")


def test_an_integer_too_long_for_python_int_is_still_kept_as_its_digits() -> None:
    # Python refuses int() of more than 4,300 digits; valid JSON must not crash the reader.
    digits = "9" * 5000
    text = json.dumps(batch(order("o", [item("i", labels=[label(value="PLACEHOLDER")])])))
    parsed = read(RawJson(text.replace('"PLACEHOLDER"', digits)))
    assert parsed.orders[0].items[0].labels is not None
    assert parsed.orders[0].items[0].labels[0].value == digits


def test_an_integer_too_long_for_an_identifier_is_invalid_not_a_crash() -> None:
    text = json.dumps(batch(order("PLACEHOLDER"))).replace('"PLACEHOLDER"', "1" * 5000)
    assert errors(RawJson(text)) == [("orders/0/identifier", "invalid")]


NOT_STRINGS = [1.5, 1.0, -0.5, 1e30, True, False, {}, {"a": "b"}, [], ["x"], [1]]


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=_ids(STRING_FIELDS))
@pytest.mark.parametrize("value", NOT_STRINGS, ids=repr)
def test_a_non_integer_number_boolean_object_or_array_in_a_string_field_is_invalid_type(
    path: str, build: Any, stored: Any, value: Any
) -> None:
    assert errors(build(value)) == [(path, "invalid_type")]


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=_ids(STRING_FIELDS))
def test_exponent_notation_is_a_non_integer_number(path: str, build: Any, stored: Any) -> None:
    text = json.dumps(build("PLACEHOLDER")).replace('"PLACEHOLDER"', "1E3")
    assert errors(RawJson(text)) == [(path, "invalid_type")]


# -- trimming, required and optional strings ---------------------------------------------------------


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=_ids(STRING_FIELDS))
@pytest.mark.parametrize("padded", ["  value  ", "\tvalue\n", "\r\n value \u00a0", "value   "])
def test_strings_are_trimmed(path: str, build: Any, stored: Any, padded: str) -> None:
    assert stored(read(build(padded))) == "value"


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=_ids(STRING_FIELDS))
def test_inner_whitespace_and_unicode_are_kept(path: str, build: Any, stored: Any) -> None:
    assert stored(read(build(" Zoë  &  Co. ✓ 😀 "))) == "Zoë  &  Co. ✓ 😀"


REQUIRED_FIELDS = [*REQUIRED_STRING_FIELDS, _label_field("type"), _item_field("quantity")]


@pytest.mark.parametrize(("path", "build", "stored"), [*REQUIRED_STRING_FIELDS, _label_field("type")])
@pytest.mark.parametrize("blank", ["", " ", "   \t\r\n "])
def test_a_required_string_empty_after_trimming_is_missing_field(
    path: str, build: Any, stored: Any, blank: str
) -> None:
    assert errors(build(blank)) == [(path, "missing_field")]


@pytest.mark.parametrize(("path", "build", "stored"), REQUIRED_FIELDS, ids=_ids(REQUIRED_FIELDS))
def test_a_required_field_that_is_null_is_missing_field(path: str, build: Any, stored: Any) -> None:
    assert errors(build(None)) == [(path, "missing_field")]


def _without(body: dict[str, Any], path: str) -> dict[str, Any]:
    parts = path.split("/")
    node: Any = body
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    del node[parts[-1]]
    return body


@pytest.mark.parametrize(("path", "build", "stored"), REQUIRED_FIELDS, ids=_ids(REQUIRED_FIELDS))
def test_a_required_field_left_out_is_missing_field(path: str, build: Any, stored: Any) -> None:
    assert errors(_without(build("x"), path)) == [(path, "missing_field")]


def test_items_are_required_but_may_be_empty() -> None:
    assert errors(batch({"identifier": "o"})) == [("orders/0/items", "missing_field")]
    assert errors(batch({"identifier": "o", "items": None})) == [("orders/0/items", "missing_field")]
    assert read(batch(order("o", []))).orders[0].items == []


def test_the_missing_field_message_names_the_field() -> None:
    assert messages(batch(order("o", [item("i", sku="")]))) == {"orders/0/items/0/sku": "sku is required"}


@pytest.mark.parametrize(("path", "build", "stored"), OPTIONAL_FIELDS, ids=_ids(OPTIONAL_FIELDS))
def test_null_for_an_optional_field_is_the_same_as_leaving_it_out(path: str, build: Any, stored: Any) -> None:
    with_null = read(build(None))
    left_out = read(_without(build(None), path))
    assert stored(with_null) is None
    assert with_null == left_out


@pytest.mark.parametrize(("path", "build", "stored"), OPTIONAL_STRING_FIELDS + DATE_FIELDS)
def test_an_empty_optional_string_is_treated_as_not_sent(path: str, build: Any, stored: Any) -> None:
    # The contract only says "null means left out"; the implementation treats a blank optional
    # string the same way (nothing is ever erased through this API), rather than rejecting it.
    assert stored(read(build("   "))) is None


# -- identifiers -------------------------------------------------------------------------------------

IDENTIFIERS = [_order_field("identifier"), _item_field("identifier")]


@pytest.mark.parametrize(("path", "build", "stored"), IDENTIFIERS, ids=_ids(IDENTIFIERS))
@pytest.mark.parametrize("character", ["x", "é", "✓", "😀"])
def test_an_identifier_of_255_characters_is_valid(path: str, build: Any, stored: Any, character: str) -> None:
    assert stored(read(build(character * 255))) == character * 255


@pytest.mark.parametrize(("path", "build", "stored"), IDENTIFIERS, ids=_ids(IDENTIFIERS))
@pytest.mark.parametrize("character", ["x", "😀"])
def test_an_identifier_of_256_characters_is_invalid(
    path: str, build: Any, stored: Any, character: str
) -> None:
    assert errors(build(character * 256)) == [(path, "invalid")]


@pytest.mark.parametrize(("path", "build", "stored"), IDENTIFIERS, ids=_ids(IDENTIFIERS))
def test_identifier_length_is_counted_after_trimming(path: str, build: Any, stored: Any) -> None:
    assert stored(read(build("   " + "x" * 255 + "   "))) == "x" * 255


@pytest.mark.parametrize(("path", "build", "stored"), IDENTIFIERS, ids=_ids(IDENTIFIERS))
def test_an_integer_identifier_longer_than_255_digits_is_invalid(path: str, build: Any, stored: Any) -> None:
    assert errors(build(10**255)) == [(path, "invalid")]  # 256 digits
    assert stored(read(build(10**254))) == "1" + "0" * 254  # 255 digits


# -- dates -------------------------------------------------------------------------------------------

VALID_DATES = [
    "2025-01-31",
    "2024-02-29",
    "2000-02-29",
    "2025-01-31T00:00:00",
    "2025-01-31T23:59:59",
    "2025-01-31T10:20:30.5",
    "2025-01-31T10:20:30.123",
    "2025-01-31T10:20:30.123456789",
    "2025-01-31T10:20:30Z",
    "2025-01-31T10:20:30.123Z",
    "2025-01-31T10:20:30+00:00",
    "2025-01-31T10:20:30-05:00",
    "2025-01-31T10:20:30+05:30",
    "2025-01-31T10:20:30.999+14:00",
    "2025-01-31T10:20:30-12:00",
    "0001-01-01",
    "9999-12-31T23:59:59Z",
]


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
@pytest.mark.parametrize("value", VALID_DATES)
def test_every_allowed_date_form_is_accepted_and_stored_exactly(
    path: str, build: Any, stored: Any, value: str
) -> None:
    assert stored(read(build(value))) == value


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
def test_a_date_is_stored_exactly_as_sent_after_trimming(path: str, build: Any, stored: Any) -> None:
    assert stored(read(build("  2025-01-31T10:20:30.100-05:00 \n"))) == "2025-01-31T10:20:30.100-05:00"


INVALID_DATES = [
    "2025-02-30",  # impossible day
    "2025-02-29",  # not a leap year
    "1900-02-29",  # not a leap year either
    "2025-13-01",
    "2025-00-10",
    "2025-01-00",
    "2025-04-31",
    "0000-01-01",
    "2025-01-31T24:00:00",
    "2025-01-31T23:60:00",
    "2025-01-31T23:59:60",
    "2025-01-31T10:20:30+24:00",
    "2025-01-31T10:20:30+05:60",
    "2025-1-31",
    "25-01-31",
    "20250131",
    "2025/01/31",
    "31-01-2025",
    "01/31/2025",
    "2025-01-31T10:20",
    "2025-01-31T10",
    "2025-01-31T",
    "2025-01-31 10:20:30",
    "2025-01-31t10:20:30",
    "2025-01-31T10:20:30z",
    "2025-01-31T10:20:30.",
    "2025-01-31T10:20:30.Z",
    "2025-01-31T10:20:30,5",
    "2025-01-31T10:20:30+0500",
    "2025-01-31T10:20:30+05",
    "2025-01-31T10:20:30 +05:00",
    "2025-01-31T10:20:30ZZ",
    "2025-01-31T10:20:30UTC",
    "2025-W05-5",
    "2025-031",
    "+02025-01-31",
    "\uff12\uff10\uff12\uff15-01-31",  # full-width digits
    "yesterday",
    "2025-01-31junk",
]


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
@pytest.mark.parametrize("value", INVALID_DATES)
def test_any_other_date_form_is_invalid_format(path: str, build: Any, stored: Any, value: str) -> None:
    assert errors(build(value)) == [(path, "invalid_format")]


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
def test_a_date_sent_as_a_json_integer_is_read_as_text_and_is_invalid_format(
    path: str, build: Any, stored: Any
) -> None:
    assert errors(build(20250131)) == [(path, "invalid_format")]


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
@pytest.mark.parametrize("value", [1.5, True, {}, ["2025-01-31"]], ids=repr)
def test_a_date_of_the_wrong_json_type_is_invalid_type(
    path: str, build: Any, stored: Any, value: Any
) -> None:
    assert errors(build(value)) == [(path, "invalid_type")]


def test_there_are_no_cross_field_date_rules() -> None:
    parsed = read(
        batch(
            order(
                "o",
                [item("i", shipped_date="2025-06-01", return_policy_end_date="2020-01-01T00:00:00Z")],
                created_at="2030-01-01",
            )
        )
    )
    stored = parsed.orders[0]
    assert stored.created_at == "2030-01-01"
    assert (stored.items[0].shipped_date, stored.items[0].return_policy_end_date) == (
        "2025-06-01",
        "2020-01-01T00:00:00Z",
    )


# -- quantity ----------------------------------------------------------------------------------------

QUANTITY = "orders/0/items/0/quantity"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [(1, 1), (12, 12), (2_147_483_647, 2_147_483_647), ("1", 1), ("42", 42), (" 42 ", 42), ("007", 7)],
    ids=repr,
)
def test_quantity_accepts_a_json_integer_or_a_string_of_digits(sent: Any, stored: int) -> None:
    quantity = read(batch(order("o", [item("i", quantity=sent)]))).orders[0].items[0].quantity
    assert quantity == stored
    assert type(quantity) is int


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        (0, "invalid"),
        (-1, "invalid"),
        (-100, "invalid"),
        ("0", "invalid"),
        ("000", "invalid"),
        (1.5, "invalid_type"),
        (1.0, "invalid_type"),
        (0.5, "invalid_type"),
        ("1.5", "invalid_type"),
        ("1.0", "invalid_type"),
        ("1e3", "invalid_type"),
        ("-1", "invalid_type"),
        ("+1", "invalid_type"),
        ("one", "invalid_type"),
        ("", "invalid_type"),
        ("١٢", "invalid_type"),  # non-ASCII digits
        (True, "invalid_type"),
        (False, "invalid_type"),
        ([1], "invalid_type"),
        ({"n": 1}, "invalid_type"),
        (None, "missing_field"),
        # Beyond what every client's int32 can hold (the implementation's upper bound).
        (2_147_483_648, "invalid"),
        ("99999999999999999999", "invalid"),
    ],
    ids=repr,
)
def test_quantity_rejects_fractions_booleans_zero_and_negatives(sent: Any, code: str) -> None:
    assert errors(batch(order("o", [item("i", quantity=sent)]))) == [(QUANTITY, code)]


def test_quantity_written_as_a_json_fraction_is_invalid_type() -> None:
    text = json.dumps(batch(order("o", [item("i", quantity=0)]))).replace('"quantity": 0', '"quantity": 2.0')
    assert errors(RawJson(text)) == [(QUANTITY, "invalid_type")]


# -- labels ------------------------------------------------------------------------------------------

LABEL = "orders/0/items/0/labels/0"


@pytest.mark.parametrize(("sent", "stored"), [("barcode", "barcode"), ("text", "text"), (" text ", "text")])
def test_label_type_is_barcode_or_text(sent: str, stored: str) -> None:
    parsed = read(batch(order("o", [item("i", labels=[label(type=sent)])])))
    labels = parsed.orders[0].items[0].labels
    assert labels is not None
    assert labels[0].type == stored


@pytest.mark.parametrize("sent", ["Barcode", "BARCODE", "TEXT", "qr", "barcodes", "bar code", 1])
def test_any_other_label_type_is_invalid(sent: Any) -> None:
    assert errors(batch(order("o", [item("i", labels=[label(type=sent)])]))) == [(f"{LABEL}/type", "invalid")]


@pytest.mark.parametrize("name", ["type", "name", "value"])
def test_every_label_field_is_required(name: str) -> None:
    incomplete = label()
    del incomplete[name]
    assert errors(batch(order("o", [item("i", labels=[incomplete])]))) == [
        (f"{LABEL}/{name}", "missing_field")
    ]


def test_labels_may_be_empty() -> None:
    assert read(batch(order("o", [item("i", labels=[])]))).orders[0].items[0].labels == []


@pytest.mark.parametrize("labels", ["barcode", 1, {"type": "text"}, True])
def test_labels_must_be_an_array(labels: Any) -> None:
    errs = errors(batch(order("o", [item("i", labels=labels)])))
    assert errs == [("orders/0/items/0/labels", "invalid_type")]


@pytest.mark.parametrize("entry", ["barcode", 1, None, ["barcode", "RMA", "1"]], ids=repr)
def test_a_label_must_be_an_object(entry: Any) -> None:
    assert errors(batch(order("o", [item("i", labels=[label(), entry])]))) == [
        ("orders/0/items/0/labels/1", "invalid_type")
    ]


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
        assert problem.code in {"missing_field", "invalid_type", "invalid_format", "invalid", "duplicate"}
        assert problem.field.startswith("orders")
        assert "." not in problem.field
        assert problem.message


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
    parsed = read(body)
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
        assert all(p.code == "invalid" for p in failure.problems)
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    assert parsed.orders[0].concept == text.strip()
    assert parsed.orders[0].items[0].sku == text.strip()


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=_ids(STRING_FIELDS))
def test_not_unicode_text_is_invalid(path: str, build: Any, stored: Any) -> None:
    # A lone surrogate escape is JSON syntax but not a Unicode string: DynamoDB cannot store it.
    text = json.dumps(build("PLACEHOLDER")).replace("PLACEHOLDER", "ab\\ud800cd")
    assert errors(RawJson(text)) == [(path, "invalid")]


# -- limits through the handler, configured by environment variables ---------------------------------


@pytest.mark.usefixtures("dynamodb")
def test_max_orders_per_request_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ORDERS_PER_REQUEST", "2")
    assert post_orders(batch(order("a"), order("b"))).status == 200
    response = post_orders(batch(order("a"), order("b"), order("c")))
    assert response.status == 422
    assert problems(response.json()) == [("orders", "invalid")]
    assert response.json()["errors"][0]["message"] == "orders must hold at most 2 orders"


@pytest.mark.usefixtures("dynamodb")
def test_max_items_per_order_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ITEMS_PER_ORDER", "3")
    assert post_orders(batch(order("a", [item(str(i)) for i in range(3)]))).status == 200
    response = post_orders(
        batch(order("a", [item(str(i)) for i in range(3)]), order("b", [item(str(i)) for i in range(4)]))
    )
    assert response.status == 422
    assert problems(response.json()) == [("orders/1/items", "invalid")]


@pytest.mark.usefixtures("dynamodb")
def test_max_labels_per_item_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_LABELS_PER_ITEM", "1")
    assert post_orders(batch(order("a", [item("1", labels=[label()])]))).status == 200
    response = post_orders(batch(order("a", [item("1", labels=[label(), label(type="text")])])))
    assert response.status == 422
    assert problems(response.json()) == [("orders/0/items/0/labels", "invalid")]


@pytest.mark.usefixtures("dynamodb")
def test_max_body_bytes_is_configurable_and_answers_413(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(batch(order("a")))
    monkeypatch.setenv("MAX_BODY_BYTES", str(len(text.encode())))
    assert post_orders(raw_body=text).status == 200
    response = post_orders(raw_body=text + " ")
    assert response.status == 413
    assert response.json()["message"] == "Payload Too Large"


@pytest.mark.usefixtures("dynamodb")
def test_the_body_limit_counts_bytes_not_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(batch(order("a", concept="é" * 10)), ensure_ascii=False)
    monkeypatch.setenv("MAX_BODY_BYTES", str(len(text) + 5))  # fewer than its 10 extra UTF-8 bytes
    assert post_orders(raw_body=text).status == 413
    assert post_orders(raw_body=text, base64_body=True).status == 413


def test_the_body_limit_applies_before_json_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_body("{" * 11, is_base64=False, limits=Limits(max_body_bytes=10))
    with pytest.raises(PayloadTooLarge):
        decode_body(base64.b64encode(b"[" * 11).decode(), is_base64=True, limits=Limits(max_body_bytes=10))
