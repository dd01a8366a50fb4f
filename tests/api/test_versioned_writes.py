"""Versioned writes through the handler (issue 10; docs/design.md, "Versioned writes"): a record
written with an ``updated_at`` older than the stored one changes in nothing, an equal one is
applied, instants are compared rather than strings, and a write without one is v1's."""

from __future__ import annotations

from typing import Any

import pytest

from common.api_responses import MAX_STALE_SHOWN
from tests.api.tracking_calls import track
from tests.api_calls import get_order, post_orders
from tests.factories import batch, item, order, scan

pytestmark = pytest.mark.usefixtures("dynamodb")

NINE, TEN, ELEVEN = "2025-01-31T09:00:00Z", "2025-01-31T10:00:00Z", "2025-01-31T11:00:00Z"


def post(body: Any) -> dict[str, Any]:
    response = post_orders(body)
    assert response.status == 200, response.body
    answer: dict[str, Any] = response.json()
    return answer


def read(identifier: str) -> dict[str, Any]:
    response = get_order(identifier)
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


def raw_records(dynamodb: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(raw["pk"]["S"], raw["sk"]["S"]): raw for raw in scan(dynamodb)}


def tracked(number: str) -> list[str]:
    response = track(number)
    if response.status == 404:
        return []
    assert response.status == 200, response.body
    return [match["item"]["identifier"] for match in response.json()["matches"]]


def shipped(version: str, **fields: Any) -> dict[str, Any]:
    """Order A-1 with item 7, as the sender's system had it at ``version``."""
    return batch(
        order(
            "A-1",
            [
                item(
                    "7",
                    **{"sku": f"SKU-{version}", "tracking_number": f"T-{version}", "labels": [], **fields},
                )
            ],
            concept=f"concept at {version}",
            updated_at=version,
        )
    )


def test_an_older_write_changes_nothing_of_its_records(dynamodb: Any) -> None:
    post(shipped(TEN, labels=[{"type": "barcode", "name": "RMA", "value": "10"}]))
    before = raw_records(dynamodb)

    answer = post(shipped(NINE, labels=[{"type": "barcode", "name": "RMA", "value": "9"}]))

    assert answer == {
        "message": "Success",
        "orders_upserted": 0,
        "items_upserted": 0,
        "stale": [
            {"order_identifier": "A-1", "item_identifier": None},
            {"order_identifier": "A-1", "item_identifier": "7"},
        ],
        "stale_count": 2,
    }
    # No field, no label, no tracking index copy, not even last_received_at.
    assert raw_records(dynamodb) == before
    assert tracked(f"T-{TEN}") == ["7"]
    assert tracked(f"T-{NINE}") == []
    stored = read("A-1")
    assert stored["updated_at"] == stored["items"][0]["updated_at"] == TEN
    assert stored["concept"] == f"concept at {TEN}"


def test_a_newer_write_is_applied_and_moves_the_tracking_index(dynamodb: Any) -> None:
    post(shipped(TEN))
    answer = post(shipped(ELEVEN))
    assert answer == {"message": "Success", "orders_upserted": 1, "items_upserted": 1}
    assert tracked(f"T-{ELEVEN}") == ["7"]
    assert tracked(f"T-{TEN}") == []
    assert read("A-1")["items"][0]["sku"] == f"SKU-{ELEVEN}"


def test_an_equal_write_is_applied_as_an_idempotent_re_send(dynamodb: Any) -> None:
    post(shipped(TEN))
    first = raw_records(dynamodb)
    # The same instant, written in another zone: applied, its text stored.
    same = "2025-01-31T12:00:00+02:00"
    answer = post(batch(order("A-1", [item("7", sku="re-sent")], updated_at=same)))
    assert answer == {"message": "Success", "orders_upserted": 1, "items_upserted": 1}
    stored = read("A-1")
    assert stored["updated_at"] == stored["items"][0]["updated_at"] == same
    assert stored["items"][0]["sku"] == "re-sent"
    after = raw_records(dynamodb)
    assert all(after[key]["last_received_at"] != first[key]["last_received_at"] for key in first)


@pytest.mark.parametrize(
    ("stored", "sent", "applied"),
    [
        # 12:00 at +02:00 is 10:00Z: older than 11:00Z, though its text sorts after it.
        ("2025-01-31T11:00:00Z", "2025-01-31T12:00:00+02:00", False),
        ("2025-01-31T12:00:00+02:00", "2025-01-31T11:00:00Z", True),
        ("2025-01-31T23:30:00-05:00", "2025-02-01T03:00:00Z", False),
        ("2025-01-31T11:00:00Z", "2025-01-31T11:30:00+00:30", True),  # equal
        ("2025-01-31T11:00:00Z", "2025-01-31T11:00:00.000001Z", True),
        ("2025-01-31T11:00:00.5Z", "2025-01-31T11:00:00.499999Z", False),
        ("2025-01-31T11:00:00.5Z", "2025-01-31T11:00:00.500Z", True),  # equal
        ("2024-12-31T23:59:59Z", "2025-01-01T00:00:00+14:00", False),
    ],
)
def test_instants_are_compared_not_strings(stored: str, sent: str, applied: bool) -> None:
    post(batch(order("o", [], concept="first", updated_at=stored)))
    answer = post(batch(order("o", [], concept="second", updated_at=sent)))
    assert answer["orders_upserted"] == (1 if applied else 0)
    assert ("stale" in answer) is not applied
    assert read("o")["concept"] == ("second" if applied else "first")
    assert read("o")["updated_at"] == (sent if applied else stored)


def test_a_write_without_updated_at_is_applied_and_never_lowers_the_stored_one() -> None:
    post(shipped(TEN))
    answer = post(batch(order("A-1", [item("7", sku="from a v1 sender")], concept="v1")))
    assert answer == {"message": "Success", "orders_upserted": 1, "items_upserted": 1}
    stored = read("A-1")
    assert stored["concept"] == "v1" and stored["items"][0]["sku"] == "from a v1 sender"
    assert stored["updated_at"] == stored["items"][0]["updated_at"] == TEN
    # The stored version is still 10:00: 09:00 is still older.
    assert post(shipped(NINE))["stale_count"] == 2


def test_a_versioned_write_applies_over_a_record_that_never_had_one() -> None:
    post(batch(order("A-1", [item("7", sku="v1")])))
    answer = post(shipped("0001-01-01T00:00:00+01:00"))
    assert answer == {"message": "Success", "orders_upserted": 1, "items_upserted": 1}
    assert read("A-1")["items"][0]["sku"] == "SKU-0001-01-01T00:00:00+01:00"


def test_an_item_takes_its_orders_updated_at_and_each_record_is_versioned_on_its_own() -> None:
    post(batch(order("o", [item("plain"), item("own", updated_at=ELEVEN)], updated_at=NINE)))
    stored = {entry["identifier"]: entry for entry in read("o")["items"]}
    assert stored["plain"]["updated_at"] == NINE
    assert stored["own"]["updated_at"] == ELEVEN

    # At 10:00: the order and "plain" are newer than what is stored, "own" is older.
    answer = post(batch(order("o", [item("plain", sku="ten"), item("own", sku="ten")], updated_at=TEN)))
    assert answer == {
        "message": "Success",
        "orders_upserted": 1,
        "items_upserted": 1,
        "stale": [{"order_identifier": "o", "item_identifier": "own"}],
        "stale_count": 1,
    }
    stored = {entry["identifier"]: entry for entry in read("o")["items"]}
    assert (stored["plain"]["sku"], stored["plain"]["updated_at"]) == ("ten", TEN)
    assert (stored["own"]["sku"], stored["own"]["updated_at"]) == ("SKU-1", ELEVEN)


def test_a_new_item_of_a_stale_order_is_still_created() -> None:
    post(batch(order("o", [item("1")], updated_at=TEN)))
    answer = post(batch(order("o", [item("1"), item("2", sku="new")], updated_at=NINE)))
    assert answer["orders_upserted"] == 0 and answer["items_upserted"] == 1
    assert answer["stale"] == [
        {"order_identifier": "o", "item_identifier": None},
        {"order_identifier": "o", "item_identifier": "1"},
    ]
    assert [entry["identifier"] for entry in read("o")["items"]] == ["1", "2"]


def test_the_stale_list_names_at_most_50_records_and_counts_them_all() -> None:
    def three_orders(version: str) -> dict[str, Any]:
        return batch(
            *(order(f"big-{n}", [item(f"{i:02d}") for i in range(50)], updated_at=version) for n in range(3))
        )

    post(three_orders(TEN))
    answer = post(three_orders(NINE))
    assert answer["orders_upserted"] == answer["items_upserted"] == 0
    assert answer["stale_count"] == 3 * 51
    assert len(answer["stale"]) == MAX_STALE_SHOWN == 50
    # In body order: each order record, then its items.
    assert answer["stale"][:3] == [
        {"order_identifier": "big-0", "item_identifier": None},
        {"order_identifier": "big-0", "item_identifier": "00"},
        {"order_identifier": "big-0", "item_identifier": "01"},
    ]
    assert answer["stale"][-1] == {"order_identifier": "big-0", "item_identifier": "48"}


def test_a_v1_client_sees_exactly_v1s_answers_and_stores_no_version(dynamodb: Any) -> None:
    for _ in range(2):
        answer = post(batch(order("v1", [item("1"), item("2")], concept="c")))
        assert answer == {"message": "Success", "orders_upserted": 1, "items_upserted": 2}
    stored = read("v1")
    assert "updated_at" not in stored
    assert all("updated_at" not in entry for entry in stored["items"])
    assert not any("updated_at" in raw or "updated_at_us" in raw for raw in scan(dynamodb))


def test_the_stored_version_is_never_shown(dynamodb: Any) -> None:
    post(shipped(TEN))
    assert all("updated_at_us" in raw for raw in scan(dynamodb))
    shown = read("A-1")
    assert "updated_at_us" not in shown and "updated_at_us" not in shown["items"][0]
    response = track(f"T-{TEN}")
    assert "updated_at_us" not in response.body
    assert response.json()["matches"][0]["item"]["updated_at"] == TEN
