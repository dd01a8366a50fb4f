"""The storage adapter reading an order back over several Query pages."""

from __future__ import annotations

from typing import Any

import boto3

from forward_orders import storage
from tests.api_calls import REGION
from tests.factories import client_error
from tests.unit.clocks import FakeClock as Clock
from tests.unit.storage.tables import FAR, make_table, read_back, write

# -- reading back over several pages -----------------------------------------------------------------


def test_query_pagination_against_moto(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    real_query = client.query
    pages: list[dict[str, Any]] = []

    def query(**kwargs: Any) -> Any:
        pages.append(kwargs)
        return real_query(**{**kwargs, "Limit": min(3, kwargs["Limit"])})  # force small pages

    client.query = query  # type: ignore[method-assign]
    paged = make_table(client)
    try:
        identifiers = [f"item-{n:02d}" for n in range(10)]
        paged.upsert(
            [write("o", concept="c"), *[write("o", i, upc=i) for i in reversed(identifiers)]],
            "2025-01-01T00:00:00.000Z",
            FAR,
        )
        stored = read_back(paged, "o")
    finally:
        paged._pool.shutdown()
    assert stored is not None
    assert stored.order["concept"] == "c"
    assert [entry["identifier"] for entry in stored.items] == identifiers
    assert len(pages) >= 4
    assert "ExclusiveStartKey" not in pages[0]
    assert all("ExclusiveStartKey" in page for page in pages[1:])
    assert all(page["ConsistentRead"] is True for page in pages)


class PagedClient:
    """A DynamoDB client stub: GetItem answers ``order`` (the order record, or nothing), Query a
    fixed sequence of pages."""

    def __init__(self, pages: list[dict[str, Any]], order: dict[str, Any] | None = None) -> None:
        self.pages = pages
        self.order = order
        self.requests: list[dict[str, Any]] = []
        self.reads: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        return self.pages[len(self.requests) - 1]

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.reads.append(kwargs)
        return {"Item": self.order} if self.order is not None else {}


def raw(sk: str, identifier: str, **fields: str) -> dict[str, Any]:
    return {
        "pk": {"S": "acme#o"},
        "sk": {"S": sk},
        "identifier": {"S": identifier},
        **{name: {"S": value} for name, value in fields.items()},
    }


def test_query_pagination_with_a_stubbed_page_sequence() -> None:
    item_key = storage.ITEM_SORT_KEY_PREFIX
    client = PagedClient(
        [
            {
                "Items": [raw(item_key + "a", "a"), raw(item_key + "b", "b")],
                "LastEvaluatedKey": {"k": {"S": "1"}},
            },
            {"Items": [], "LastEvaluatedKey": {"k": {"S": "2"}}},
            {"Items": [raw(item_key + "c", "c")]},
        ],
        order=raw("ORDER", "o", concept="x"),
    )
    stored = read_back(make_table(client), "o")
    assert stored is not None
    assert stored.order == {"identifier": "o", "concept": "x"}
    assert [entry["identifier"] for entry in stored.items] == ["a", "b", "c"]
    assert [request.get("ExclusiveStartKey") for request in client.requests] == [
        None,
        {"k": {"S": "1"}},
        {"k": {"S": "2"}},
    ]
    assert {request["ExpressionAttributeValues"][":pk"]["S"] for request in client.requests} == {"acme#o"}
    assert all(request["ConsistentRead"] is True for request in client.requests + client.reads)
    assert client.reads[0]["Key"] == {"pk": {"S": "acme#o"}, "sk": {"S": "ORDER"}}
    # Queries grow: a page of large items stops reading early, a page of small ones takes few calls.
    assert [request["Limit"] for request in client.requests] == [16, 32, 64]


def test_items_are_read_only_as_far_as_they_are_consumed() -> None:
    item_key = storage.ITEM_SORT_KEY_PREFIX
    client = PagedClient(
        [
            {"Items": [raw(item_key + name, name) for name in "ab"], "LastEvaluatedKey": {"k": {"S": "1"}}},
            {"Items": [raw(item_key + "c", "c")]},
        ],
        order=raw("ORDER", "o"),
    )
    stored = make_table(client).read_order("acme", "o", after=None, deadline=FAR)
    assert stored is not None
    assert [next(stored.items)["identifier"], next(stored.items)["identifier"]] == ["a", "b"]
    assert len(client.requests) == 1
    assert [entry["identifier"] for entry in stored.items] == ["c"]
    assert len(client.requests) == 2


def test_a_later_page_starts_after_its_item_and_skips_the_order_record() -> None:
    item_key = storage.ITEM_SORT_KEY_PREFIX
    client = PagedClient([{"Items": [raw(item_key + "c", "c"), raw("ORDER", "o")]}], order=raw("ORDER", "o"))
    stored = read_back(make_table(client), "o", after="b")
    assert stored is not None
    assert [entry["identifier"] for entry in stored.items] == ["c"]
    assert client.requests[0]["ExpressionAttributeValues"][":start"] == {"S": item_key + "b"}
    assert "#sk > :start" in client.requests[0]["KeyConditionExpression"]


def test_items_without_an_order_record_are_no_order() -> None:
    client = PagedClient([{"Items": [raw(storage.ITEM_SORT_KEY_PREFIX + "a", "a")]}])
    assert read_back(make_table(client), "o") is None


def test_a_throttled_page_is_retried(clock: Clock) -> None:
    class Flaky(PagedClient):
        def query(self, **kwargs: Any) -> dict[str, Any]:
            if len(self.requests) == 1 and not getattr(self, "failed", False):
                self.failed = True
                raise client_error("ProvisionedThroughputExceededException", "Query")
            return super().query(**kwargs)

    client = Flaky(
        [
            {"Items": [raw(storage.ITEM_SORT_KEY_PREFIX + "a", "a")], "LastEvaluatedKey": {"k": {"S": "1"}}},
            {"Items": [raw(storage.ITEM_SORT_KEY_PREFIX + "b", "b")]},
        ],
        order=raw("ORDER", "o"),
    )
    stored = read_back(make_table(client, sleep=clock.sleep), "o", deadline=clock.now + 10)
    assert stored is not None
    assert [entry["identifier"] for entry in stored.items] == ["a", "b"]
    assert len(clock.sleeps) == 1
