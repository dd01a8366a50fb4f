"""Update semantics across several posts (CONTRACT.md, "Update semantics"), through the handler."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from forward_orders import orders
from forward_orders.batch_reader import read_batch
from forward_orders.settings import Limits
from tests.api_calls import get_order, post_orders
from tests.factories import (
    batch,
    full_item,
    item,
    order,
    problems,
    scan,
)

pytestmark = pytest.mark.usefixtures("dynamodb")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each request is received at the next of T1, T2, ... (the server's clock, made predictable)."""
    used: list[str] = []

    def next_timestamp() -> str:
        used.append(f"2025-03-0{len(used) + 1}T12:00:00.000Z")
        return used[-1]

    monkeypatch.setattr(orders, "utc_timestamp", next_timestamp)
    yield used


T1, T2, T3, T4 = (f"2025-03-0{n}T12:00:00.000Z" for n in range(1, 5))


def post(body: Any) -> None:
    response = post_orders(body)
    assert response.status == 200, response.body


def read(identifier: str) -> dict[str, Any]:
    response = get_order(identifier)
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


def items_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["identifier"]: entry for entry in body["items"]}


def without_last_received(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_last_received(v) for k, v in value.items() if k != "last_received_at"}
    if isinstance(value, list):
        return [without_last_received(v) for v in value]
    return value


FULL_ORDER = order(
    "o-1",
    [full_item("a"), full_item("b", quantity=3)],
    concept="Brand",
    postal_code="02134",
    created_at="2025-01-01T09:00:00-05:00",
)


def test_a_new_order_is_created_with_its_items(clock: list[str]) -> None:
    post(batch(FULL_ORDER))
    stored = read("o-1")
    assert stored == {
        "identifier": "o-1",
        "concept": "Brand",
        "postal_code": "02134",
        "created_at": "2025-01-01T09:00:00-05:00",
        "first_received_at": T1,
        "last_received_at": T1,
        "items": [
            {
                **{k: v for k, v in full_item("a").items()},
                "first_received_at": T1,
                "last_received_at": T1,
            },
            {
                **{k: v for k, v in full_item("b", quantity=3).items()},
                "first_received_at": T1,
                "last_received_at": T1,
            },
        ],
    }


def test_an_update_of_one_order_field_keeps_the_others(clock: list[str]) -> None:
    post(batch(FULL_ORDER))
    before = read("o-1")
    post(batch(order("o-1", [], postal_code="10001")))
    after = read("o-1")
    assert after["postal_code"] == "10001"
    assert after["concept"] == "Brand"
    assert after["created_at"] == "2025-01-01T09:00:00-05:00"
    assert (after["first_received_at"], after["last_received_at"]) == (T1, T2)
    assert after["items"] == before["items"]  # not mentioned: exactly as they were, timestamps too


def test_an_update_of_one_item_field_keeps_the_others(clock: list[str]) -> None:
    post(batch(FULL_ORDER))
    before = items_of(read("o-1"))
    post(batch(order("o-1", [item("a", tracking_number="NEW-TRACKING")])))
    after = items_of(read("o-1"))
    expected_a = {**before["a"], "tracking_number": "NEW-TRACKING", "last_received_at": T2}
    # The required fields were sent again (the default item's values equal full_item's).
    assert after["a"] == expected_a
    assert after["b"] == before["b"]


def test_required_item_fields_overwrite_when_sent(clock: list[str]) -> None:
    post(batch(FULL_ORDER))
    post(batch(order("o-1", [item("a", upc="999", sku="NEW-SKU", quantity="7")])))
    after = items_of(read("o-1"))["a"]
    assert (after["upc"], after["sku"], after["quantity"]) == ("999", "NEW-SKU", 7)
    assert after["shipped_date"] == "2025-01-02"


def test_null_or_omitted_fields_keep_their_stored_value(clock: list[str]) -> None:
    post(batch(FULL_ORDER))
    before = read("o-1")
    nulls = {
        "tracking_number": None,
        "reverse_tracking_number": None,
        "dropship_identifier": None,
        "shipped_date": None,
        "return_policy_end_date": None,
        "labels": None,
    }
    post(batch(order("o-1", [item("a", **nulls)], concept=None, postal_code=None, created_at=None)))
    after = read("o-1")
    assert without_last_received(after) == without_last_received(before)
    assert after["last_received_at"] == T2
    assert items_of(after)["a"]["last_received_at"] == T2
    assert items_of(after)["b"]["last_received_at"] == T1


def test_a_new_item_is_added_and_the_others_are_untouched(clock: list[str]) -> None:
    post(batch(FULL_ORDER))
    before = items_of(read("o-1"))
    post(batch(order("o-1", [item("c")])))
    after = items_of(read("o-1"))
    assert sorted(after) == ["a", "b", "c"]
    assert after["a"] == before["a"]
    assert after["b"] == before["b"]
    assert after["c"]["first_received_at"] == after["c"]["last_received_at"] == T2


def test_labels_are_replaced_as_a_whole(clock: list[str]) -> None:
    two = [
        {"type": "barcode", "name": "RMA", "value": "1"},
        {"type": "text", "name": "Note", "value": "fragile"},
    ]
    post(batch(order("o", [item("i", labels=two)])))
    assert items_of(read("o"))["i"]["labels"] == two
    post(batch(order("o", [item("i", labels=[{"type": "text", "name": "Gift", "value": "yes"}])])))
    assert items_of(read("o"))["i"]["labels"] == [{"type": "text", "name": "Gift", "value": "yes"}]
    post(batch(order("o", [item("i")])))  # labels left out: kept
    assert items_of(read("o"))["i"]["labels"] == [{"type": "text", "name": "Gift", "value": "yes"}]
    post(batch(order("o", [item("i", labels=[])])))  # an empty list is a value: it replaces
    assert items_of(read("o"))["i"]["labels"] == []


def test_first_received_at_is_set_once_and_last_received_at_advances(clock: list[str]) -> None:
    post(batch(order("o", [item("a")])))
    post(batch(order("o", [item("a"), item("b")])))
    post(batch(order("o", [item("b")])))
    stored = read("o")
    assert (stored["first_received_at"], stored["last_received_at"]) == (T1, T3)
    found = items_of(stored)
    assert (found["a"]["first_received_at"], found["a"]["last_received_at"]) == (T1, T2)
    assert (found["b"]["first_received_at"], found["b"]["last_received_at"]) == (T2, T3)


def test_real_timestamps_are_utc_milliseconds_and_never_go_backwards() -> None:
    post(batch(order("o", [item("a")])))
    first = read("o")
    post(batch(order("o", [item("a")])))
    second = read("o")
    assert second["first_received_at"] == first["first_received_at"]
    assert second["last_received_at"] >= first["last_received_at"]
    assert second["last_received_at"].endswith("Z")
    assert len(second["last_received_at"]) == len("2025-01-01T00:00:00.000Z")


def test_the_same_request_twice_leaves_the_same_state(clock: list[str], dynamodb: Any) -> None:
    body = batch(FULL_ORDER, order("o-2", [item("x", labels=[{"type": "text", "name": "n", "value": "v"}])]))
    post(body)
    once = {identifier: read(identifier) for identifier in ("o-1", "o-2")}
    table_once = sorted(scan(dynamodb), key=lambda r: (r["pk"]["S"], r["sk"]["S"]))
    post(body)
    twice = {identifier: read(identifier) for identifier in ("o-1", "o-2")}
    table_twice = sorted(scan(dynamodb), key=lambda r: (r["pk"]["S"], r["sk"]["S"]))
    assert without_last_received(twice) == without_last_received(once)
    assert [without_last_received(r) for r in table_twice] == [without_last_received(r) for r in table_once]
    assert {twice["o-1"]["last_received_at"], twice["o-2"]["last_received_at"]} == {T2}


def test_nothing_is_ever_deleted(clock: list[str], dynamodb: Any) -> None:
    post(batch(order("o", [item("a"), item("b")]), order("p", [item("z")])))
    post(batch(order("o", [item("c")])))
    post(batch(order("o", [])))
    post([order("p", [])])
    assert [entry["identifier"] for entry in read("o")["items"]] == ["a", "b", "c"]
    assert [entry["identifier"] for entry in read("p")["items"]] == ["z"]
    assert len(scan(dynamodb)) == 2 + 4


# -- validation before any write ---------------------------------------------------------------------


def test_a_batch_with_one_invalid_order_writes_nothing(dynamodb: Any) -> None:
    body = batch(*[order(f"ok-{n}", [item("i")]) for n in range(10)], order("bad", [item("i", quantity=0)]))
    response = post_orders(body)
    assert response.status == 422
    assert problems(response.json()) == [("orders/10/items/0/quantity", "invalid")]
    assert scan(dynamodb) == []
    assert get_order("ok-0").status == 404


def test_an_invalid_batch_changes_nothing_already_stored(clock: list[str], dynamodb: Any) -> None:
    post(batch(FULL_ORDER))
    table_before = scan(dynamodb)
    body = batch(
        order("o-1", [item("a", sku="CHANGED")], concept="CHANGED"), order("new", [item("i", upc="")])
    )
    assert post_orders(body).status == 422
    assert scan(dynamodb) == table_before


def test_a_duplicate_in_the_batch_writes_nothing(dynamodb: Any) -> None:
    assert post_orders(batch(order("a"), order("b"), order("a"))).status == 422
    assert post_orders(batch(order("a", [item("x"), item("x")]))).status == 422
    assert scan(dynamodb) == []


def test_a_batch_over_a_count_limit_writes_nothing(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ITEMS_PER_ORDER", "2")
    assert post_orders(batch(order("a"), order("b", [item("1"), item("2"), item("3")]))).status == 422
    assert scan(dynamodb) == []


# -- numbers in string fields, read back ---------------------------------------------------------------


def test_numbers_in_string_fields_are_read_back_exactly() -> None:
    post(
        [
            {
                "identifier": 12345678901234567890,
                "concept": 7,
                "postal_code": 2134,
                "items": [
                    {
                        "identifier": 1,
                        "upc": 123456789012345678901234567890,
                        "sku": 400000000000000000001,
                        "quantity": "3",
                        "tracking_number": 9400111899223197428490,
                        "reverse_tracking_number": 0,
                        "dropship_identifier": -17,
                        "labels": [{"type": "barcode", "name": 1, "value": 99999999999999999999}],
                    }
                ],
            }
        ]
    )
    stored = read("12345678901234567890")
    assert (stored["identifier"], stored["concept"], stored["postal_code"]) == (
        "12345678901234567890",
        "7",
        "2134",
    )
    entry = stored["items"][0]
    assert entry["identifier"] == "1"
    assert entry["upc"] == "123456789012345678901234567890"
    assert entry["sku"] == "400000000000000000001"
    assert entry["quantity"] == 3
    assert entry["tracking_number"] == "9400111899223197428490"
    assert entry["reverse_tracking_number"] == "0"
    assert entry["dropship_identifier"] == "-17"
    assert entry["labels"] == [{"type": "barcode", "name": "1", "value": "99999999999999999999"}]


def test_strings_are_stored_trimmed_and_read_back_as_stored() -> None:
    post(
        batch(
            order(
                " o ",
                [item(" i ", sku="  s k u  ", labels=[{"type": " text ", "name": " n ", "value": " v "}])],
            )
        )
    )
    stored = read("o")
    assert stored["identifier"] == "o"
    entry = stored["items"][0]
    assert (entry["identifier"], entry["sku"]) == ("i", "s k u")
    assert entry["labels"] == [{"type": "text", "name": "n", "value": "v"}]


# -- a batch shaped like the published v1 sample ---------------------------------------------------------

V1_SAMPLE: dict[str, Any] = {
    "orders": [
        {
            "identifier": 100234567,
            "concept": "Outdoor Brand",
            "postal_code": 20001,
            "created_at": "2019-08-24T14:15:22",
            "items": [
                {
                    "identifier": 1,
                    "upc": 889842283749,
                    "sku": 123456789012,
                    "quantity": 2,
                    "tracking_number": 1234567890123456789012,
                    "reverse_tracking_number": "1Z9999W99999999999",
                    "dropship_identifier": 55501,
                    "shipped_date": "2019-08-25T00:00:00",
                    "return_policy_end_date": "2019-09-24T00:00:00",
                    "labels": [
                        {"type": "barcode", "name": "Return Barcode", "value": 40000123456789},
                        {"type": "text", "name": "Order Note", "value": "Gift"},
                    ],
                },
                {
                    "identifier": "2",
                    "upc": "008884228374",
                    "sku": "SKU-RED-M",
                    "quantity": "1",
                    "shipped_date": "2019-08-25",
                    "return_policy_end_date": "2019-09-24T23:59:59.999Z",
                },
            ],
        },
        {
            "identifier": "W-100234568",
            "postal_code": "02134-1234",
            "created_at": "2019-08-24T14:15:22+02:00",
            "items": [{"identifier": "A1", "upc": 12345678905, "sku": "A1", "quantity": 10}],
        },
    ]
}


def test_a_batch_shaped_like_the_published_v1_sample_is_accepted_and_read_back_exactly() -> None:
    response = post_orders(V1_SAMPLE)
    assert response.status == 200, response.body
    assert response.json()["message"] == "Success"

    def as_stored(value: Any, name: str = "") -> Any:
        """What the contract says is stored: numbers in string fields as their digits."""
        if isinstance(value, dict):
            return {k: as_stored(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [as_stored(v) for v in value]
        if name == "quantity":
            return int(value)
        return str(value)

    for sent in V1_SAMPLE["orders"]:
        stored = read(str(sent["identifier"]))
        without_timestamps = {
            **{k: v for k, v in stored.items() if not k.endswith("_received_at")},
            "items": [
                {k: v for k, v in i.items() if not k.endswith("_received_at")} for i in stored["items"]
            ],
        }
        assert without_timestamps == as_stored(sent)


# -- concurrent requests ------------------------------------------------------------------------------


def test_concurrent_requests_on_one_order_lose_no_item_and_no_field() -> None:
    # Lambda runs one request per process at a time, so concurrency is across processes: here, the
    # upsert of several validated requests at once against the same table.
    from forward_orders import handler  # imported late: Powertools reads its environment on import

    table = handler.orders_table()
    writers = 6
    bodies = [
        batch(
            order(
                "shared",
                [
                    item(f"own-{n}", sku=f"sku-{n}"),
                    item("common", sku=f"common-{n}", tracking_number=f"t{n}"),
                ],
                concept=f"concept-{n}",
            )
        )
        for n in range(writers)
    ]
    validated = [read_batch(copy.deepcopy(body), Limits()) for body in bodies]
    with ThreadPoolExecutor(max_workers=writers) as pool:
        summaries = list(
            pool.map(lambda b: orders.upsert_orders("acme", b.orders, table, deadline_seconds=20), validated)
        )
    assert all(summary.items == 2 for summary in summaries)
    stored = read("shared")
    assert stored["concept"] in {f"concept-{n}" for n in range(writers)}
    found = items_of(stored)
    assert set(found) == {"common"} | {f"own-{n}" for n in range(writers)}
    assert found["common"]["sku"] in {f"common-{n}" for n in range(writers)}
    assert found["common"]["tracking_number"] in {f"t{n}" for n in range(writers)}
