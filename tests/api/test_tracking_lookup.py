"""GET /tracking/{tracking_number} through the API function: lookup by either number, normalisation,
what the tracking indexes hold and how an update moves an item, numbers and identifiers with
special characters. docs/tracking.md is the design these tests pin down.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.tracking_calls import SERVER_FIELDS, assert_not_found, matches, post, summary, track
from tests.api_calls import ORDERS_TABLE_NAME, get_order
from tests.factories import batch, full_item, item, order, scan

pytestmark = pytest.mark.usefixtures("dynamodb")

# The functions are imported inside tests, never at collection: their Powertools objects read the
# environment when they are created, and conftest sets it per test.


# -- lookup by either number ------------------------------------------------------------------------


def test_an_items_tracking_number_finds_it_with_its_order_concept_and_stored_fields() -> None:
    post(batch(order("order-1", [full_item("item-1")], concept="Acme Outdoors", postal_code="02134")))

    response = track("1Z999AA10123456784")

    [match] = matches(response)
    stored_item = get_order("order-1").json()["items"][0]
    # Its end date (2025-02-01T00:00:00Z) is long past: tests/api/test_tracking_eligibility.py has the rest.
    eligibility = match.pop("return_eligibility")
    assert eligibility["status"] == "expired"
    assert eligibility["return_policy_end_date"] == "2025-02-01T00:00:00Z"
    assert eligibility["days_left"] < 0
    assert match == {
        "order_identifier": "order-1",
        "concept": "Acme Outdoors",
        "matched": "tracking_number",
        "item": stored_item,
    }
    assert set(stored_item) >= SERVER_FIELDS
    assert response.json()["tracking_number"] == "1z999aa10123456784"
    assert response.json()["truncated"] is False
    assert response.headers["x-request-id"]


def test_a_reverse_tracking_number_finds_the_item_and_says_which_number_matched() -> None:
    post(batch(order("order-1", [full_item("item-1")])))
    assert summary(track("1Z999AA10123456785")) == [(None, "order-1", "item-1", "reverse_tracking_number")]
    assert summary(track("1Z999AA10123456784")) == [(None, "order-1", "item-1", "tracking_number")]


def test_every_item_with_the_number_is_found_in_client_order_and_item_order() -> None:
    post(
        batch(
            order("B", [item("2", tracking_number="T-1"), item("1", tracking_number="T-1")], concept="b"),
            order("A", [item("9", reverse_tracking_number="T-1"), item("8", tracking_number="T-2")]),
        )
    )
    assert summary(track("T-1")) == [
        (None, "A", "9", "reverse_tracking_number"),
        (None, "B", "1", "tracking_number"),
        (None, "B", "2", "tracking_number"),
    ]
    [first, *_] = matches(track("T-1"))
    assert "concept" not in first  # order A has none: left out, as GET leaves it out


def test_an_item_whose_two_numbers_are_the_same_is_found_once_per_number() -> None:
    post(batch(order("o", [item("i", tracking_number="SAME", reverse_tracking_number="same")])))
    assert summary(track("same")) == [
        (None, "o", "i", "tracking_number"),
        (None, "o", "i", "reverse_tracking_number"),
    ]


def test_an_item_whose_order_record_is_missing_is_found_without_a_concept(dynamodb: Any) -> None:
    """The window docs/design.md describes (a failed batch's items stored before their order)."""
    post(batch(order("o", [item("i", tracking_number="T")], concept="C")))
    dynamodb.delete_item(TableName=ORDERS_TABLE_NAME, Key={"pk": {"S": "acme#o"}, "sk": {"S": "ORDER"}})
    [match] = matches(track("T"))
    assert (match["order_identifier"], "concept" in match) == ("o", False)


def test_an_unknown_number_is_404_not_found() -> None:
    post(batch(order("o", [full_item("i")])))
    assert_not_found(track("1Z999AA10123456786"))
    assert_not_found(track("1Z999AA1012345678"))  # a prefix is not a match
    assert_not_found(track("   "))  # nothing left after trimming
    assert_not_found(track("o"))  # an order identifier is not a tracking number
    assert_not_found(track("012345678905"))  # nor is a UPC


# -- normalisation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scanned",
    [
        "1Z999AA10123456784",
        "1z999aa10123456784",
        "  1z999Aa10123456784  ",
        "\t1Z999AA10123456784\r\n",
        "\u00a01Z999AA10123456784",
    ],
    ids=["as sent", "lower case", "mixed case and spaces", "tab and newline", "no-break space"],
)
def test_surrounding_whitespace_and_letter_case_of_the_scanned_number_do_not_matter(scanned: str) -> None:
    post(batch(order("o", [item("i", tracking_number="1Z999AA10123456784")])))
    assert summary(track(scanned)) == [(None, "o", "i", "tracking_number")]


def test_the_stored_number_is_normalised_too_and_still_read_back_as_the_client_sent_it() -> None:
    post(
        batch(
            order("o", [item("i", tracking_number="  1z999aA10123456784 ", reverse_tracking_number="rMa-7")])
        )
    )

    [match] = matches(track("1Z999AA10123456784"))
    assert match["item"]["tracking_number"] == "1z999aA10123456784"  # trimmed, as every string
    assert match["item"]["reverse_tracking_number"] == "rMa-7"
    assert get_order("o").json()["items"][0]["tracking_number"] == "1z999aA10123456784"
    assert summary(track("RMA-7")) == [(None, "o", "i", "reverse_tracking_number")]


def test_case_folding_is_unicode_aware_and_inner_characters_are_kept() -> None:
    post(batch(order("o", [item("i", tracking_number="STRASSE-Ä1"), item("j", tracking_number="1Z 999")])))
    assert summary(track("straße-ä1")) == [(None, "o", "i", "tracking_number")]
    assert summary(track("1z 999")) == [(None, "o", "j", "tracking_number")]
    assert_not_found(track("1Z999"))  # inner whitespace is part of the number
    assert_not_found(track("1Z  999"))


def test_a_number_sent_as_a_json_integer_is_found_by_its_digits() -> None:
    post(batch(order("o", [item("i", tracking_number=1234567890123456789012)])))
    assert summary(track("1234567890123456789012")) == [(None, "o", "i", "tracking_number")]


@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    st.sampled_from(["", " ", "  ", "\t", "\n"]),
)
def test_index_keys_ignore_surrounding_whitespace_and_ascii_case(number: str, padding: str) -> None:
    from forward_orders.tracking import index_key, normalise

    assert index_key(f"{padding}{number.upper()}{padding}") == index_key(number.lower()) == normalise(number)
    assert normalise(normalise(number)) == normalise(number)


def test_a_number_too_long_for_an_index_key_is_indexed_by_its_digest_and_still_found(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forward_orders.tracking import HASHED_KEY_PREFIX, MAX_INDEX_KEY_BYTES

    # Only a bound configured far above the default lets a number this long in.
    monkeypatch.setenv("MAX_TRACKING_NUMBER_LENGTH", str(2 * MAX_INDEX_KEY_BYTES))

    long_number = "Ab" * MAX_INDEX_KEY_BYTES  # 4,096 bytes, over DynamoDB's 2,048 for a key
    post(batch(order("o", [item("i", tracking_number=long_number)])))

    [record] = [r for r in scan(dynamodb) if r["sk"]["S"] == "I#i"]
    assert record["tracking_number"]["S"] == long_number
    assert record["tracking_number_key"]["S"].startswith(HASHED_KEY_PREFIX)
    assert summary(track(f" {long_number.lower()} ")) == [(None, "o", "i", "tracking_number")]
    assert_not_found(track(long_number[:-1]))


def test_a_number_exactly_at_the_key_limit_is_indexed_as_it_is(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forward_orders.tracking import MAX_INDEX_KEY_BYTES

    monkeypatch.setenv("MAX_TRACKING_NUMBER_LENGTH", str(MAX_INDEX_KEY_BYTES))

    number = "é" * (MAX_INDEX_KEY_BYTES // 2)  # two bytes each in UTF-8
    post(batch(order("o", [item("i", tracking_number=number)])))
    [record] = [r for r in scan(dynamodb) if r["sk"]["S"] == "I#i"]
    assert record["tracking_number_key"]["S"] == number
    assert summary(track(number.upper())) == [(None, "o", "i", "tracking_number")]


# -- what is stored, and kept right on update ------------------------------------------------------


def test_items_carry_the_index_keys_and_orders_do_not(dynamodb: Any) -> None:
    post(
        batch(
            order("o", [item("with", tracking_number=" AB ", reverse_tracking_number="Cd"), item("without")])
        )
    )
    records = {r["sk"]["S"]: r for r in scan(dynamodb)}
    assert records["I#with"]["tracking_number_key"] == {"S": "ab"}
    assert records["I#with"]["reverse_tracking_number_key"] == {"S": "cd"}
    assert records["I#with"]["client_id"] == {"S": "acme"}
    for sk in ("ORDER", "I#without"):
        assert not {"tracking_number_key", "reverse_tracking_number_key", "client_id"} & set(records[sk])


def test_the_index_keys_never_show_in_get_forward_orders_or_in_a_match() -> None:
    post(batch(order("o", [full_item("i")])))
    stored = get_order("o").json()
    hidden = {
        "tracking_number_key",
        "reverse_tracking_number_key",
        "client_id",
        "pk",
        "sk",
        "order_identifier",
    }
    assert not hidden & set(stored)
    assert not hidden & set(stored["items"][0])
    [match] = matches(track("1Z999AA10123456784"))
    assert not hidden & set(match["item"])


def test_changing_a_tracking_number_drops_the_old_match() -> None:
    post(batch(order("o", [item("i", tracking_number="OLD-1", reverse_tracking_number="R-OLD")])))
    post(batch(order("o", [item("i", tracking_number="new-1")])))

    assert_not_found(track("OLD-1"))
    [match] = matches(track("NEW-1"))
    assert match["item"]["tracking_number"] == "new-1"
    # Left out of the update: kept, as every field is, and still found.
    assert summary(track("r-old")) == [(None, "o", "i", "reverse_tracking_number")]

    post(batch(order("o", [item("i", reverse_tracking_number="R-NEW")])))
    assert_not_found(track("R-OLD"))
    assert summary(track("R-NEW")) == [(None, "o", "i", "reverse_tracking_number")]
    assert summary(track("NEW-1")) == [(None, "o", "i", "tracking_number")]


def test_an_update_that_leaves_the_numbers_out_keeps_the_item_found_with_its_new_fields() -> None:
    post(batch(order("o", [item("i", tracking_number="T", quantity=1)])))
    post(batch(order("o", [item("i", quantity=5)], concept="Later")))
    [match] = matches(track("t"))
    assert (match["item"]["quantity"], match["concept"]) == (5, "Later")


def test_a_number_moved_to_another_item_finds_only_that_one() -> None:
    post(batch(order("o", [item("a", tracking_number="T"), item("b", tracking_number="U")])))
    post(batch(order("o", [item("a", tracking_number="V"), item("b", tracking_number="T")])))
    assert summary(track("T")) == [(None, "o", "b", "tracking_number")]


# -- identifiers and numbers with special characters --------------------------------------------


@pytest.mark.parametrize(
    ("order_id", "item_id", "number"),
    [
        ("A#1", "I#1", "1Z#99"),
        ("a/b c", "x/y", "AB/CD 12"),
        ("100%", "?&=", "50%+OFF?"),
        ("ünïcödé 注文", "项目", "ÅÄÖ-ß-注"),
        ("🛒🛍️", "😀", "📦-1"),
        ("12345678901234567890", "0", "00012"),
    ],
)
def test_identifiers_and_numbers_with_special_characters_round_trip(
    order_id: str, item_id: str, number: str
) -> None:
    post(batch(order(order_id, [item(item_id, tracking_number=number)], concept="C#1/ü")))
    response = track(number.upper())
    [match] = matches(response)
    assert (match["order_identifier"], match["item"]["identifier"], match["concept"]) == (
        order_id,
        item_id,
        "C#1/ü",
    )
    assert match["item"]["tracking_number"] == number
    labelled = matches(track(f" {number.lower()} ", None))
    assert [(m["client_id"], m["order_identifier"]) for m in labelled] == [("acme", order_id)]


def test_the_percent_encoded_path_is_only_a_fallback_for_the_decoded_parameter() -> None:
    post(batch(order("o", [item("i", tracking_number="A/B")])))
    assert summary(track("A/B", encoded="A%2FB", decoded=False)) == [(None, "o", "i", "tracking_number")]


def test_the_longest_identifiers_a_client_can_send_are_indexed_and_found() -> None:
    """255 four-byte characters make a 1,020-byte identifier, and the client id comes on top: too
    long for an index sort key (1,024 bytes), which is why the indexes sort on the client id."""
    order_id, item_id = "🛒" * 255, "😀" * 255
    post(batch(order(order_id, [item(item_id, tracking_number="T", reverse_tracking_number="R")])), "a" * 64)
    [match] = matches(track("t", "a" * 64))
    assert (match["order_identifier"], match["item"]["identifier"]) == (order_id, item_id)
    assert summary(track("r", None)) == [("a" * 64, order_id, item_id, "reverse_tracking_number")]
