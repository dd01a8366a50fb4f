"""Every value rule of the contract (CONTRACT.md, "POST /forward_orders — body"), valid and invalid,
one by one, on the reading of a request body: JSON text -> ``decode_body`` -> ``read_batch``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import (
    batch,
    item,
    order,
)
from tests.unit.request_reading import (
    DATE_FIELDS,
    LONG_LABEL_VALUES,
    OPTIONAL_FIELDS,
    OPTIONAL_STRING_FIELDS,
    REQUIRED_STRING_FIELDS,
    ROOMY,
    STRING_FIELDS,
    RawJson,
    errors,
    field_ids,
    item_field,
    label,
    label_field,
    messages,
    order_field,
    read,
)

# -- a valid body -------------------------------------------------------------------------------------


def test_a_valid_order_is_read_with_every_field() -> None:
    sent_item = item(
        "item-1",
        tracking_number="T1",
        reverse_tracking_number="R1",
        dropship_identifier="D1",
        shipped_date="2025-01-02",
        return_policy_end_date="2025-02-01T00:00:00Z",
        labels=[label(), label(type="text", name="Note", value="fragile")],
        updated_at="2025-01-03T08:00:00.5+01:00",
    )
    parsed = read(
        batch(
            order(
                "order-1",
                [sent_item],
                concept="Brand",
                postal_code="02134",
                created_at="2025-01-01T10:00:00",
                updated_at=" 2025-01-03T07:00:00Z ",
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
                "updated_at": "2025-01-03T07:00:00Z",
                # Every item value was sent as it is stored: read exactly as sent.
                "items": [sent_item],
            }
        ]
    }


# -- numbers in string fields ----------------------------------------------------------------------

INTEGERS = [0, 7, -42, 2**53 + 1, 12345678901234567890, 10**40 + 3]


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=field_ids(STRING_FIELDS))
@pytest.mark.parametrize("number", INTEGERS, ids=str)
def test_a_json_integer_in_a_string_field_is_kept_as_its_exact_digits(
    path: str, build: Any, stored: Any, number: int
) -> None:
    value = stored(read(build(number), ROOMY))
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
    parsed = read(RawJson(text.replace('"PLACEHOLDER"', digits)), LONG_LABEL_VALUES)
    assert parsed.orders[0].items[0].labels is not None
    assert parsed.orders[0].items[0].labels[0].value == digits


def test_an_integer_too_long_for_an_identifier_is_invalid_not_a_crash() -> None:
    text = json.dumps(batch(order("PLACEHOLDER"))).replace('"PLACEHOLDER"', "1" * 5000)
    assert errors(RawJson(text)) == [("orders/0/identifier", "invalid")]


NOT_STRINGS = [1.5, 1.0, -0.5, 1e30, True, False, {}, {"a": "b"}, [], ["x"], [1]]


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=field_ids(STRING_FIELDS))
@pytest.mark.parametrize("value", NOT_STRINGS, ids=repr)
def test_a_non_integer_number_boolean_object_or_array_in_a_string_field_is_invalid_type(
    path: str, build: Any, stored: Any, value: Any
) -> None:
    assert errors(build(value)) == [(path, "invalid_type")]


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=field_ids(STRING_FIELDS))
def test_exponent_notation_is_a_non_integer_number(path: str, build: Any, stored: Any) -> None:
    text = json.dumps(build("PLACEHOLDER")).replace('"PLACEHOLDER"', "1E3")
    assert errors(RawJson(text)) == [(path, "invalid_type")]


# -- trimming, required and optional strings ---------------------------------------------------------


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=field_ids(STRING_FIELDS))
@pytest.mark.parametrize("padded", ["  value  ", "\tvalue\n", "\r\n value \u00a0", "value   "])
def test_strings_are_trimmed(path: str, build: Any, stored: Any, padded: str) -> None:
    assert stored(read(build(padded))) == "value"


@pytest.mark.parametrize(("path", "build", "stored"), STRING_FIELDS, ids=field_ids(STRING_FIELDS))
def test_inner_whitespace_and_unicode_are_kept(path: str, build: Any, stored: Any) -> None:
    assert stored(read(build(" Zoë  &  Co. ✓ 😀 "))) == "Zoë  &  Co. ✓ 😀"


REQUIRED_FIELDS = [*REQUIRED_STRING_FIELDS, label_field("type"), item_field("quantity")]


@pytest.mark.parametrize(("path", "build", "stored"), [*REQUIRED_STRING_FIELDS, label_field("type")])
@pytest.mark.parametrize("blank", ["", " ", "   \t\r\n "])
def test_a_required_string_empty_after_trimming_is_missing_field(
    path: str, build: Any, stored: Any, blank: str
) -> None:
    assert errors(build(blank)) == [(path, "missing_field")]


@pytest.mark.parametrize(("path", "build", "stored"), REQUIRED_FIELDS, ids=field_ids(REQUIRED_FIELDS))
def test_a_required_field_that_is_null_is_missing_field(path: str, build: Any, stored: Any) -> None:
    assert errors(build(None)) == [(path, "missing_field")]


def _without(body: dict[str, Any], path: str) -> dict[str, Any]:
    parts = path.split("/")
    node: Any = body
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    del node[parts[-1]]
    return body


@pytest.mark.parametrize(("path", "build", "stored"), REQUIRED_FIELDS, ids=field_ids(REQUIRED_FIELDS))
def test_a_required_field_left_out_is_missing_field(path: str, build: Any, stored: Any) -> None:
    assert errors(_without(build("x"), path)) == [(path, "missing_field")]


def test_items_are_required_but_may_be_empty() -> None:
    assert errors(batch({"identifier": "o"})) == [("orders/0/items", "missing_field")]
    assert errors(batch({"identifier": "o", "items": None})) == [("orders/0/items", "missing_field")]
    assert read(batch(order("o", []))).orders[0].items == []


def test_the_missing_field_message_names_the_field() -> None:
    assert messages(batch(order("o", [item("i", sku="")]))) == {"orders/0/items/0/sku": "sku is required"}


@pytest.mark.parametrize(("path", "build", "stored"), OPTIONAL_FIELDS, ids=field_ids(OPTIONAL_FIELDS))
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

IDENTIFIERS = [order_field("identifier"), item_field("identifier")]


@pytest.mark.parametrize(("path", "build", "stored"), IDENTIFIERS, ids=field_ids(IDENTIFIERS))
@pytest.mark.parametrize("character", ["x", "é", "✓", "😀"])
def test_an_identifier_of_255_characters_is_valid(path: str, build: Any, stored: Any, character: str) -> None:
    assert stored(read(build(character * 255))) == character * 255


@pytest.mark.parametrize(("path", "build", "stored"), IDENTIFIERS, ids=field_ids(IDENTIFIERS))
@pytest.mark.parametrize("character", ["x", "😀"])
def test_an_identifier_of_256_characters_is_invalid(
    path: str, build: Any, stored: Any, character: str
) -> None:
    assert errors(build(character * 256)) == [(path, "invalid")]


@pytest.mark.parametrize(("path", "build", "stored"), IDENTIFIERS, ids=field_ids(IDENTIFIERS))
def test_identifier_length_is_counted_after_trimming(path: str, build: Any, stored: Any) -> None:
    assert stored(read(build("   " + "x" * 255 + "   "))) == "x" * 255


@pytest.mark.parametrize(("path", "build", "stored"), IDENTIFIERS, ids=field_ids(IDENTIFIERS))
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


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=field_ids(DATE_FIELDS))
@pytest.mark.parametrize("value", VALID_DATES)
def test_every_allowed_date_form_is_accepted_and_stored_exactly(
    path: str, build: Any, stored: Any, value: str
) -> None:
    assert stored(read(build(value))) == value


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=field_ids(DATE_FIELDS))
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


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=field_ids(DATE_FIELDS))
@pytest.mark.parametrize("value", INVALID_DATES)
def test_any_other_date_form_is_invalid_format(path: str, build: Any, stored: Any, value: str) -> None:
    assert errors(build(value)) == [(path, "invalid_format")]


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=field_ids(DATE_FIELDS))
def test_a_date_sent_as_a_json_integer_is_read_as_text_and_is_invalid_format(
    path: str, build: Any, stored: Any
) -> None:
    assert errors(build(20250131)) == [(path, "invalid_format")]


@pytest.mark.parametrize(("path", "build", "stored"), DATE_FIELDS, ids=field_ids(DATE_FIELDS))
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
