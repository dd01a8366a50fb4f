"""``updated_at`` (issue 10; docs/design.md, "Versioned writes"): what the request accepts, and the
writes it makes: the version a record is written with, an item taking its order's, and the
condition that makes an older write change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from forward_orders import orders
from forward_orders.storage import RecordWrite, update_request
from tests.factories import batch, item, order
from tests.unit.request_reading import INSTANT_FIELDS, errors, field_ids, read

# Microseconds in an hour, and the instant 2025-01-31T10:00:00Z in microseconds since 0001-01-01.
HOUR = 3_600_000_000
TEN_O_CLOCK = (datetime(2025, 1, 31, 10, tzinfo=UTC) - datetime(1, 1, 1, tzinfo=UTC)) // timedelta(
    microseconds=1
)


@pytest.mark.parametrize(("path", "build", "stored"), INSTANT_FIELDS, ids=field_ids(INSTANT_FIELDS))
@pytest.mark.parametrize(
    "value",
    [
        "2025-01-31T10:20:30Z",
        "2025-01-31T10:20:30.5Z",
        "2025-01-31T10:20:30.123456789Z",
        "2025-01-31T10:20:30+00:00",
        "2025-01-31T10:20:30-05:00",
        "2025-01-31T10:20:30.999+14:00",
        "2024-02-29T00:00:00-12:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
    ],
)
def test_a_date_time_with_its_zone_is_accepted_and_stored_exactly(
    path: str, build: Any, stored: Any, value: str
) -> None:
    assert stored(read(build(f" {value}\n"))) == value


@pytest.mark.parametrize(("path", "build", "stored"), INSTANT_FIELDS, ids=field_ids(INSTANT_FIELDS))
@pytest.mark.parametrize(
    "value",
    [
        "2025-01-31",  # a day is no instant
        "2025-01-31T10:20:30",  # nor is a wall-clock time without its zone
        "2025-01-31T10:20:30.5",
        "2025-02-29T10:20:30Z",
        "2025-01-31T24:00:00Z",
        "2025-01-31T23:59:60Z",
        "2025-01-31T10:20:30+24:00",
        "2025-01-31T10:20:30+05:60",
        "2025-01-31T10:20:30z",
        "2025-01-31T10:20:30+0500",
        "2025-01-31 10:20:30Z",
        "2025-01-31T10:20Z",
        "1738318830",
        "yesterday",
    ],
)
def test_anything_else_is_invalid_format(path: str, build: Any, stored: Any, value: str) -> None:
    assert errors(build(value)) == [(path, "invalid_format")]


@pytest.mark.parametrize(("path", "build", "stored"), INSTANT_FIELDS, ids=field_ids(INSTANT_FIELDS))
def test_a_json_integer_is_invalid_format_and_other_types_invalid_type(
    path: str, build: Any, stored: Any
) -> None:
    assert errors(build(1738318830)) == [(path, "invalid_format")]
    wrong: list[Any] = [1.5, True, {}, ["2025-01-31T10:20:30Z"]]
    for value in wrong:
        assert errors(build(value)) == [(path, "invalid_type")]


@pytest.mark.parametrize(("path", "build", "stored"), INSTANT_FIELDS, ids=field_ids(INSTANT_FIELDS))
@pytest.mark.parametrize("value", [None, "", "  \t"], ids=repr)
def test_null_or_blank_is_not_sent(path: str, build: Any, stored: Any, value: Any) -> None:
    assert stored(read(build(value))) is None


# -- the writes -------------------------------------------------------------------------------------


def writes_of(body: dict[str, Any]) -> dict[str | None, RecordWrite]:
    return {write.item_identifier: write for write in orders.record_writes("acme", read(body).orders)}


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2025-01-31T10:00:00Z", TEN_O_CLOCK),
        ("2025-01-31T10:00:00+00:00", TEN_O_CLOCK),
        ("2025-01-31T12:00:00+02:00", TEN_O_CLOCK),
        ("2025-01-31T05:00:00-05:00", TEN_O_CLOCK),
        ("2025-02-01T09:00:00+23:00", TEN_O_CLOCK),
        ("2025-01-31T10:00:00.000001Z", TEN_O_CLOCK + 1),
        # Below the microsecond, instants are equal (an equal write is applied).
        ("2025-01-31T10:00:00.0000009Z", TEN_O_CLOCK),
        ("2025-01-31T11:00:00+02:00", TEN_O_CLOCK - HOUR),
    ],
)
def test_a_write_is_versioned_by_its_instant_not_its_text(text: str, instant: int) -> None:
    write = writes_of(batch(order("o", [], updated_at=text)))[None]
    assert write.version == instant
    assert write.fields["updated_at"] == text


def test_an_item_takes_its_orders_updated_at_unless_it_has_its_own() -> None:
    writes = writes_of(
        batch(
            order(
                "o",
                [item("inherits"), item("own", updated_at="2025-01-31T12:00:00+01:00")],
                updated_at="2025-01-31T10:00:00Z",
            )
        )
    )
    assert writes["inherits"].version == writes[None].version == TEN_O_CLOCK
    assert writes["inherits"].fields["updated_at"] == "2025-01-31T10:00:00Z"
    assert writes["own"].version == TEN_O_CLOCK + HOUR
    assert writes["own"].fields["updated_at"] == "2025-01-31T12:00:00+01:00"


def test_an_item_with_its_own_updated_at_is_versioned_even_when_its_order_is_not() -> None:
    writes = writes_of(batch(order("o", [item("own", updated_at="2025-01-31T10:00:00Z"), item("plain")])))
    assert writes[None].version is None and "updated_at" not in writes[None].fields
    assert writes["own"].version == TEN_O_CLOCK
    assert writes["plain"].version is None and "updated_at" not in writes["plain"].fields


def test_without_updated_at_the_update_is_v1s_unconditional_one() -> None:
    request = update_request("t", writes_of(batch(order("o", [item("i")])))["i"], "2026-01-01T00:00:00.000Z")
    assert "ConditionExpression" not in request
    assert "updated_at_us" not in request["ExpressionAttributeNames"].values()


def test_with_updated_at_the_condition_is_part_of_the_one_update() -> None:
    write = writes_of(batch(order("o", [item("i")], updated_at="2025-01-31T10:00:00Z")))["i"]
    request = update_request("t", write, "2026-01-01T00:00:00.000Z")
    names, values = request["ExpressionAttributeNames"], request["ExpressionAttributeValues"]
    assert request["ConditionExpression"] == "attribute_not_exists(#version) OR #version <= :version"
    assert names["#version"] == "updated_at_us"
    assert values[":version"] == {"N": str(TEN_O_CLOCK)}
    # The version is set by the same SET that writes the fields.
    assert "#version = :version" in request["UpdateExpression"]
