"""Per-order results, ``POST /forward_orders?partial_success=true`` (issue 10): each order is
validated on its own, the valid ones stored, 200 when none was rejected and 207 when any was;
the body's own limits still refuse the whole request; storage failure is still a 502."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.api_responses import MAX_PROBLEMS, MAX_STALE_SHOWN
from common.order_records import MAX_IDENTIFIER_LENGTH
from common.record_bounds import upsert_response_bytes
from forward_orders.settings import Limits
from tests.api_calls import ApiResponse, assert_json_error, call_api, get_order, post_event, post_orders
from tests.factories import WIDEST, batch, break_storage, item, order, problems, scan

pytestmark = pytest.mark.usefixtures("dynamodb")

PER_ORDER = {"partial_success": "true"}
LIMITS = Limits()


def post(body: Any, **query: str) -> ApiResponse:
    return post_orders(body, query=query or PER_ORDER)


def stored_orders(dynamodb: Any) -> set[str]:
    return {raw["identifier"]["S"] for raw in scan(dynamodb) if raw["sk"]["S"] == "ORDER"}


def test_when_every_order_is_valid_the_answer_is_200_with_each_ones_result() -> None:
    response = post(batch(order("A-1", [item("1"), item("2")]), order("B-2")))
    assert response.status == 200
    assert response.json() == {
        "message": "Success",
        "orders_upserted": 2,
        "items_upserted": 3,
        "results": [
            {"index": 0, "identifier": "A-1", "status": "stored"},
            {"index": 1, "identifier": "B-2", "status": "stored"},
        ],
    }


def test_an_invalid_order_is_rejected_alone_and_the_others_are_stored(dynamodb: Any) -> None:
    bad_item = item("0")
    del bad_item["sku"]
    body = batch(order("A-1"), order("B-2", [bad_item, item("1", quantity=0)]), order(" C-3 "))
    response = post(body)
    assert response.status == 207
    answer = response.json()
    assert answer["orders_upserted"] == 2 and answer["items_upserted"] == 2
    assert [(r["index"], r["identifier"], r["status"]) for r in answer["results"]] == [
        (0, "A-1", "stored"),
        (1, "B-2", "rejected"),
        (2, "C-3", "stored"),
    ]
    # Field paths stay relative to the body's root.
    assert problems(answer["results"][1]) == [
        ("orders/1/items/0/sku", "missing_field"),
        ("orders/1/items/1/quantity", "invalid"),
    ]
    assert all(error["message"] for error in answer["results"][1]["errors"])
    assert "errors" not in answer["results"][0]
    assert stored_orders(dynamodb) == {"A-1", "C-3"}
    assert get_order("B-2").status == 404


def test_an_order_without_a_valid_identifier_is_rejected_with_a_null_identifier() -> None:
    response = post([order("ok"), {"items": []}, order("x" * 300), "not an order"])
    assert response.status == 207
    results = response.json()["results"]
    assert [(r["identifier"], r["status"]) for r in results] == [
        ("ok", "stored"),
        (None, "rejected"),
        (None, "rejected"),
        (None, "rejected"),
    ]
    assert problems(results[1]) == [("orders/1/identifier", "missing_field")]
    assert problems(results[2]) == [("orders/2/identifier", "invalid")]
    assert problems(results[3]) == [("orders/3", "invalid_type")]


def test_a_duplicate_order_is_rejected_and_the_first_one_stored() -> None:
    response = post(batch(order("A-1", [item("1", sku="first")]), order(" A-1", [item("1", sku="second")])))
    assert response.status == 207
    results = response.json()["results"]
    assert results[0] == {"index": 0, "identifier": "A-1", "status": "stored"}
    assert (results[1]["identifier"], results[1]["status"]) == ("A-1", "rejected")
    assert problems(results[1]) == [("orders/1/identifier", "duplicate")]
    assert get_order("A-1").json()["items"][0]["sku"] == "first"


def test_duplicate_items_reject_their_order_only() -> None:
    response = post(batch(order("A-1", [item("1"), item("1")]), order("B-2")))
    assert response.status == 207
    results = response.json()["results"]
    assert problems(results[0]) == [("orders/0/items/1/identifier", "duplicate")]
    assert results[1]["status"] == "stored"


def test_every_order_rejected_is_still_a_207_that_stores_nothing(dynamodb: Any) -> None:
    response = post([{"identifier": "a"}, {"identifier": "b", "items": "none"}])
    assert response.status == 207
    answer = response.json()
    assert (answer["orders_upserted"], answer["items_upserted"]) == (0, 0)
    assert [result["status"] for result in answer["results"]] == ["rejected", "rejected"]
    assert scan(dynamodb) == []


def test_an_order_whose_every_record_is_older_than_the_stored_one_is_stale() -> None:
    post(batch(order("A-1", [item("1")], updated_at="2025-01-31T10:00:00Z")))
    body = batch(
        order("A-1", [item("1")], updated_at="2025-01-31T09:00:00Z"),
        order("B-2", [item("1")], updated_at="2025-01-31T09:00:00Z"),
    )
    response = post(body)
    assert response.status == 200
    answer = response.json()
    assert [(r["identifier"], r["status"]) for r in answer["results"]] == [
        ("A-1", "stale"),
        ("B-2", "stored"),
    ]
    assert answer["stale_count"] == 2 and (answer["orders_upserted"], answer["items_upserted"]) == (1, 1)
    # Partly stale: stored, with its stale records listed.
    post(batch(order("C-3", [item("1", updated_at="2025-01-31T10:00:00Z")])))
    answer = post(batch(order("C-3", [item("1"), item("2")], updated_at="2025-01-31T09:00:00Z"))).json()
    assert answer["results"] == [{"index": 0, "identifier": "C-3", "status": "stored"}]
    assert answer["stale"] == [{"order_identifier": "C-3", "item_identifier": "1"}]


@pytest.mark.parametrize(
    "body",
    [
        batch(*(order(f"o{n}") for n in range(LIMITS.max_orders_per_request + 1))),
        batch(order("o", [item(f"{n}") for n in range(LIMITS.max_items_per_order + 1)])),
        batch(
            order(
                "o",
                [
                    item(
                        "1",
                        labels=[{"type": "text", "name": "n", "value": "v"}]
                        * (LIMITS.max_labels_per_item + 1),
                    )
                ],
            )
        ),
    ],
    ids=["orders", "items", "labels"],
)
def test_the_count_limits_still_refuse_the_whole_request(dynamodb: Any, body: Any) -> None:
    event = post_event(body, query=PER_ORDER)
    assert_json_error(call_api(event), 422, "Validation Failed", event)
    assert scan(dynamodb) == []


def test_the_body_size_limit_still_refuses_the_whole_request(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "1000")
    body = batch(order("a"), order("b", [item("1", sku="s" * 1000)]))
    event = post_event(body, query=PER_ORDER)
    assert_json_error(call_api(event), 413, "Payload Too Large", event)
    assert scan(dynamodb) == []


@pytest.mark.parametrize("body", [{"orders": []}, {"orders": "x"}, {}, "text", 7], ids=repr)
def test_a_body_that_is_not_orders_is_still_the_whole_requests_422(body: Any) -> None:
    event = post_event(body, query=PER_ORDER)
    assert_json_error(call_api(event), 422, "Validation Failed", event)


def test_malformed_json_is_still_a_400() -> None:
    event = post_event(query=PER_ORDER)
    event["body"] = None
    event["isBase64Encoded"] = False
    event["body"] = "{not json"
    assert_json_error(call_api(event), 400, "Bad Request", event)


@pytest.mark.parametrize("value", ["false", "FALSE", " false "])
def test_without_the_parameter_or_false_it_is_v1s_all_or_nothing_422(dynamodb: Any, value: str) -> None:
    body = batch(order("A-1"), order("B-2", [item("1", quantity=0)]))
    for query in ({}, {"partial_success": value}):
        event = post_event(body, query=query)
        answer = assert_json_error(call_api(event), 422, "Validation Failed", event)
        assert problems(answer) == [("orders/1/items/0/quantity", "invalid")]
    assert scan(dynamodb) == []
    # And a valid batch answers exactly v1's body.
    assert post(batch(order("A-1")), partial_success=value).json() == {
        "message": "Success",
        "orders_upserted": 1,
        "items_upserted": 1,
    }


@pytest.mark.parametrize("value", ["yes", "1", "", "true,false"])
def test_any_other_value_is_a_422_on_the_parameter(dynamodb: Any, value: str) -> None:
    event = post_event(batch(order("A-1")), query={"partial_success": value})
    answer = assert_json_error(call_api(event), 422, "Validation Failed", event)
    assert problems(answer) == [("partial_success", "invalid")]
    assert scan(dynamodb) == []


def test_true_is_read_as_a_word_whatever_its_case() -> None:
    assert post(batch(order("A-1")), partial_success=" True").json()["results"][0]["status"] == "stored"


def test_a_storage_failure_is_a_502_never_a_207(monkeypatch: pytest.MonkeyPatch) -> None:
    break_storage(monkeypatch, "ProvisionedThroughputExceededException")
    event = post_event(batch(order("A-1"), order("B-2", [item("1", quantity=0)])), query=PER_ORDER)
    response = call_api(event)
    assert_json_error(response, 502, "Bad Gateway", event)
    assert response.headers["retry-after"] == "1"


def test_a_retry_after_a_502_converges(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> None:
    # Every UpdateItem fails (every attempt): the request is a 502; once storage is back, its
    # re-send stores everything valid.
    flaky, _ = break_storage(monkeypatch, "InternalServerError", status=500)
    body = batch(order("A-1", [item("1"), item("2")]), order("B-2", [item("1", quantity=0)]), order("C-3"))
    assert post(body).status == 502
    monkeypatch.setattr(flaky, "_failures", flaky.calls)
    response = post(body)
    assert response.status == 207
    assert stored_orders(dynamodb) == {"A-1", "C-3"}
    assert len(scan(dynamodb)) == 5
    assert json.loads(response.body)["orders_upserted"] == 2


def test_the_largest_answer_is_within_its_computed_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # The widest identifiers everywhere: one order of 100 items all stale (MAX_STALE_SHOWN shown),
    # every other order rejected, the first with more problems than the whole budget.
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")
    limits = Limits()

    def widest(n: int) -> str:
        return WIDEST * (MAX_IDENTIFIER_LENGTH - 3) + f"{n:03d}"

    items = [item(widest(n)) for n in range(limits.max_items_per_order)]
    assert post(batch(order(widest(0), items, updated_at="2025-01-31T11:00:00Z"))).status == 200
    rejected = [
        order(widest(n), [{}] * (limits.max_items_per_order if n == 1 else 1), concept=[])
        for n in range(1, limits.max_orders_per_request)
    ]
    response = post(batch(order(widest(0), items, updated_at="2025-01-31T10:00:00Z"), *rejected))
    assert response.status == 207
    answer = response.json()
    assert len(answer["stale"]) == MAX_STALE_SHOWN and answer["stale_count"] == limits.max_items_per_order + 1
    errors = [len(result.get("errors", [])) for result in answer["results"]]
    assert errors[1] == MAX_PROBLEMS and errors[2:] == [1] * (limits.max_orders_per_request - 2)
    size = len(response.body.encode())
    assert size <= upsert_response_bytes(limits.max_orders_per_request) <= limits.max_response_bytes
    assert size > upsert_response_bytes(limits.max_orders_per_request) // 2  # the bound is not slack
