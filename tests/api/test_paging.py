"""GET /forward_orders/{identifier} pages its items and every response has a byte bound (issue 9;
docs/design.md, "Response bounds"): ``?limit=`` (a default and a maximum), an opaque
``next_cursor`` bound to the client and the order, absent on the last page; a tampered cursor, or
another order's or client's, is a 422 and never data; and the tracking lookup is bounded the same
way. The worst case: an order of 1,000+ items of the largest size, read page by page."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest

from forward_orders.settings import Limits
from tests.api.tracking_calls import context_of
from tests.api_calls import ORDERS_TABLE_NAME, ApiResponse, api_event, call_api, get_order, post_orders
from tests.factories import WIDEST, batch, item, order, problems, scan, worst_case_item

pytestmark = pytest.mark.usefixtures("dynamodb")


def page(identifier: str, client_id: str = "acme", **query: Any) -> ApiResponse:
    return call_api(
        api_event("GET", f"/forward_orders/{quote(identifier, safe='')}", client_id=client_id, query=query)
    )


def read_all(identifier: str, **query: Any) -> tuple[list[dict[str, Any]], list[ApiResponse]]:
    items: list[dict[str, Any]] = []
    responses = []
    cursor: str | None = None
    while True:
        response = page(identifier, **query, **({"cursor": cursor} if cursor else {}))
        assert response.status == 200, response.body
        responses.append(response)
        body = response.json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if cursor is None:
            return items, responses
        assert body["items"], "a page that says more follow holds at least one item"


def post(body: dict[str, Any], client_id: str = "acme") -> None:
    # As UTF-8 rather than escaped: worst-case items are large enough for the difference to count.
    response = post_orders(raw_body=json.dumps(body, ensure_ascii=False), client_id=client_id)
    assert response.status == 200, response.body


def test_an_order_of_up_to_the_default_page_has_one_page_and_no_cursor_as_in_v1() -> None:
    post(batch(order("o", [item(f"{n:03d}") for n in range(Limits().default_page_items)])))
    body = get_order("o").json()
    assert len(body["items"]) == Limits().default_page_items
    assert "next_cursor" not in body


def test_a_larger_order_is_read_page_by_page_each_item_once_in_order() -> None:
    identifiers = [f"{n:04d}" for n in range(250)]
    for start in range(0, 250, 100):
        post(batch(order("big", [item(identifier) for identifier in identifiers[start : start + 100]])))
    items, responses = read_all("big")
    assert [entry["identifier"] for entry in items] == identifiers
    assert [len(r.json()["items"]) for r in responses] == [100, 100, 50]
    first = responses[0].json()
    assert first["identifier"] == "big" and "first_received_at" in first
    assert all(r.json()["identifier"] == "big" for r in responses)  # the order's fields on every page


@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_limit_sets_the_page_size(limit: int) -> None:
    post(batch(order("o", [item(f"{n:02d}") for n in range(20)])))
    items, responses = read_all("o", limit=limit)
    assert [entry["identifier"] for entry in items] == [f"{n:02d}" for n in range(20)]
    assert all(len(r.json()["items"]) <= limit for r in responses)
    assert len(responses) == -(-20 // limit)


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", " ", "\u0661"])
def test_a_limit_outside_one_to_the_maximum_is_invalid(limit: str) -> None:
    post(batch(order("o")))
    response = page("o", limit=limit)
    assert response.status == 422
    assert problems(response.json()) == [("limit", "invalid")]


def test_a_cursor_of_another_order_or_client_or_a_tampered_one_is_422_and_never_data() -> None:
    post(batch(order("a", [item(f"{n}") for n in range(5)]), order("b", [item(f"{n}") for n in range(5)])))
    post(batch(order("a", [item(f"{n}") for n in range(5)])), client_id="globex")
    cursor = page("a", limit=2).json()["next_cursor"]
    assert page("a", limit=2, cursor=cursor).json()["items"][0]["identifier"] == "2"

    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    tampered = base64.urlsafe_b64encode(raw[:-1] + b"0").decode().rstrip("=")
    for identifier, client, bad in [
        ("b", "acme", cursor),  # another order's
        ("a", "globex", cursor),  # another client's, for its own order of the same identifier
        ("a", "acme", tampered),
        ("a", "acme", "not a cursor"),
        ("a", "acme", ""),
        ("a", "acme", cursor[:-3]),
        ("a", "acme", base64.urlsafe_b64encode(b"\x02" + raw[1:]).decode()),
    ]:
        response = page(identifier, client_id=client, cursor=bad)
        assert response.status == 422, (identifier, client, bad)
        assert problems(response.json()) == [("cursor", "invalid")]
        assert "items" not in response.json()


def test_a_cursor_for_an_order_that_does_not_exist_is_refused_before_anything_is_read() -> None:
    post(batch(order("a", [item(f"{n}") for n in range(3)])))
    cursor = page("a", limit=1).json()["next_cursor"]
    assert page("missing", cursor=cursor).status == 422


@pytest.mark.timeout(300)
def test_the_worst_case_order_of_1000_items_reads_page_by_page_each_page_under_the_bound(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")
    limits = Limits()
    post(batch(order("worst", [worst_case_item("0000", limits)], concept=WIDEST * limits.max_concept_length)))
    # 1,000 more of that record as the API stored it (batch writes: moto's UpdateItem of a record
    # this size takes a tenth of a second, and the write path has its own tests).
    [record] = [r for r in scan(dynamodb) if r["sk"]["S"].startswith("I#")]
    tail = record["identifier"]["S"][4:]
    copies = [
        {**record, "sk": {"S": f"I#{n:04d}{tail}"}, "identifier": {"S": f"{n:04d}{tail}"}}
        for n in range(1, 1001)
    ]
    for start in range(0, len(copies), 25):
        requests = [{"PutRequest": {"Item": copy}} for copy in copies[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={ORDERS_TABLE_NAME: requests})

    items, responses = read_all("worst", limit=limits.max_page_items)
    assert [entry["identifier"] for entry in items] == [f"{n:04d}{tail}" for n in range(1001)]
    assert all(entry["labels"] == items[0]["labels"] for entry in items)
    assert len(items[0]["labels"]) == limits.max_labels_per_item
    sizes = [len(r.body.encode()) for r in responses]
    assert max(sizes) <= limits.max_response_bytes
    # Far below Lambda's 6 MB for a synchronous response.
    assert limits.max_response_bytes * 5 <= 6 * 1024 * 1024
    # The byte bound, not the count, made the pages: several items a page, many pages.
    assert len(responses) > 100
    assert min(len(r.json()["items"]) for r in responses[:-1]) >= 2


def test_the_tracking_lookup_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")
    limits = Limits()
    shared = "1Z" + "9" * 16
    worst = [{**worst_case_item(f"{n:03d}", limits), "tracking_number": shared} for n in range(40)]
    post(batch(order("t", worst)))
    event = api_event("GET", f"/tracking/{shared}", resource="/tracking/{tracking_number}")
    event["pathParameters"] = {"tracking_number": shared}
    event["requestContext"]["authorizer"] = context_of("acme")
    response = call_api(event)
    assert response.status == 200, response.body
    body = response.json()
    assert len(response.body.encode()) <= limits.max_response_bytes
    assert body["truncated"] is True
    assert 1 <= len(body["matches"]) < 40
    assert json.loads(response.body)["matches"][0]["item"]["identifier"] == worst[0]["identifier"]
