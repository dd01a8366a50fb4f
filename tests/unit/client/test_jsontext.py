"""Numbers keep their spelling through the client, and identifiers are read as the API reads them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forward_orders.models import identifier as api_identifier
from forward_orders_client import jsontext

NUMBER_SPELLINGS = ["0", "-0", "12345678901234567890", "1.50", "1e2", "1E+2", "-0.0", "2134", "1" * 5000]


@pytest.mark.parametrize("spelling", NUMBER_SPELLINGS)
def test_a_number_is_written_back_exactly_as_it_was_read(spelling: str) -> None:
    text = f'{{"value":{spelling},"list":[{spelling}]}}'
    assert jsontext.dumps(jsontext.loads(text)) == text.encode()


def test_nan_and_infinity_are_not_json() -> None:
    for text in ('{"a": NaN}', "[Infinity]", "-Infinity"):
        with pytest.raises(jsontext.NotJson):
            jsontext.loads(text)


def test_deep_nesting_is_not_json_rather_than_a_crash() -> None:
    with pytest.raises(jsontext.NotJson):
        jsontext.loads("[" * 100_000 + "]" * 100_000)


def test_a_lone_surrogate_stays_an_escape() -> None:
    value = jsontext.loads('{"a": "x\\ud800y", "b": "é"}')
    encoded = jsontext.dumps(value)
    assert json.loads(encoded) == {"a": "x\ud800y", "b": "é"}
    assert b"\\ud800" in encoded


def test_ijson_values_keep_their_digits() -> None:
    assert jsontext.dumps({"a": Decimal("1.50"), "b": 10**30, "c": True, "d": None}) == (
        b'{"a":1.50,"b":1000000000000000000000000000000,"c":true,"d":null}'
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_what_the_client_writes_reads_back_as_the_same_values(value: object) -> None:
    encoded = jsontext.dumps(value)
    assert json.loads(encoded, parse_float=Decimal) == value
    # And the client's own reader gives the same text back.
    assert jsontext.dumps(jsontext.loads(encoded.decode())) == encoded


def _api_identity(raw: object) -> str | None:
    try:
        return api_identifier(raw)
    except Exception:
        return None


@given(
    st.one_of(
        st.integers(),
        st.text(max_size=20),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.from_regex(r"\s*[A-Z]-[0-9]{1,4}\s*", fullmatch=True),
    )
)
def test_the_identity_of_an_order_is_the_one_the_api_stores(raw: object) -> None:
    text = json.dumps(raw)
    parsed = jsontext.loads(text)
    expected = _api_identity(json.loads(text))
    mine = jsontext.identity(parsed)
    # The client may know an identifier the API refuses for its length; never a different one.
    assert mine == expected or (expected is None and mine is not None and len(mine) > 255)
