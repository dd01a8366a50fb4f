"""Every spelling of a JSON number, and of a digit string, read as the contract says (issue 9's
adversarial pass): a JSON integer in a string field is stored as the very digits the body spells
(``-0`` stays ``-0``, 5,000 digits stay 5,000), a number written with a fraction or an exponent is
``invalid_type``, a quantity is a JSON integer or a string of ASCII digits in range."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from common.order_records import MAX_QUANTITY
from tests.factories import batch, item, order
from tests.unit.request_reading import ROOMY, RawJson, errors, read

INTEGER = st.from_regex(r"\A-?(0|[1-9][0-9]{0,60})\Z")
FRACTION = st.from_regex(r"\A\.[0-9]{1,5}\Z")
EXPONENT = st.from_regex(r"\A[eE][+-]?[0-9]{1,3}\Z")
NOT_INTEGER = st.one_of(
    st.tuples(INTEGER, FRACTION, st.just("")),
    st.tuples(INTEGER, st.just(""), EXPONENT),
    st.tuples(INTEGER, FRACTION, EXPONENT),
).map("".join)


def _with(field: str, literal: str) -> RawJson:
    """A body whose item ``field`` is the JSON text ``literal``, as written."""
    body = json.dumps(batch(order("o", [item("i", **{field: "PLACEHOLDER"})])))
    return RawJson(body.replace('"PLACEHOLDER"', literal))


@settings(max_examples=150)
@given(literal=INTEGER)
def test_a_json_integer_in_a_string_field_is_stored_as_spelled(literal: str) -> None:
    for field in ("sku", "upc", "tracking_number", "dropship_identifier"):
        parsed = read(_with(field, literal), ROOMY)
        assert getattr(parsed.orders[0].items[0], field) == literal


def test_minus_zero_stays_minus_zero_and_is_another_identifier_than_zero() -> None:
    body = RawJson('{"orders": [{"identifier": -0, "items": []}, {"identifier": 0, "items": []}]}')
    assert [o.identifier for o in read(body).orders] == ["-0", "0"]
    same = RawJson('{"orders": [{"identifier": 7, "items": []}, {"identifier": " 7 ", "items": []}]}')
    assert errors(same) == [("orders/1/identifier", "duplicate")]


@settings(max_examples=150)
@given(literal=NOT_INTEGER)
def test_a_number_with_a_fraction_or_an_exponent_is_invalid_type_in_a_string_field(literal: str) -> None:
    assert errors(_with("sku", literal)) == [("orders/0/items/0/sku", "invalid_type")]


@settings(max_examples=150)
@given(literal=INTEGER)
def test_a_quantity_is_any_json_integer_spelling_in_range(literal: str) -> None:
    value = int(literal)
    if 1 <= value <= MAX_QUANTITY:
        assert read(_with("quantity", literal)).orders[0].items[0].quantity == value
    else:
        assert errors(_with("quantity", literal)) == [("orders/0/items/0/quantity", "invalid")]


@settings(max_examples=150)
@given(literal=NOT_INTEGER)
def test_a_quantity_written_with_a_fraction_or_an_exponent_is_invalid_type(literal: str) -> None:
    assert errors(_with("quantity", literal)) == [("orders/0/items/0/quantity", "invalid_type")]


@settings(max_examples=200)
@given(
    digits=st.text(alphabet="0123456789", min_size=1, max_size=12),
    padding=st.tuples(st.sampled_from(["", " ", "\t", "\u00a0"]), st.sampled_from(["", " ", "\n"])),
)
def test_a_quantity_digit_string_is_read_trimmed_and_bounded(digits: str, padding: tuple[str, str]) -> None:
    text = padding[0] + digits + padding[1]
    body = batch(order("o", [item("i", quantity=text)]))
    if len(digits) <= len(str(MAX_QUANTITY)) and 1 <= int(digits) <= MAX_QUANTITY:
        assert read(body).orders[0].items[0].quantity == int(digits)
    else:
        assert errors(body) == [("orders/0/items/0/quantity", "invalid")]


# Signs, separators, an exponent, an Arabic-Indic three, a full-width one, a superscript two.
NOT_ASCII_DIGITS = "+-_.,e\u0663\uff11\u00b2"


@settings(max_examples=100)
@given(text=st.text(alphabet=NOT_ASCII_DIGITS, min_size=1, max_size=4).map(lambda extra: "1" + extra))
def test_a_quantity_string_with_anything_but_ascii_digits_is_invalid_type(text: str) -> None:
    body = batch(order("o", [item("i", quantity=text)]))
    assert errors(body) == [("orders/0/items/0/quantity", "invalid_type")]
