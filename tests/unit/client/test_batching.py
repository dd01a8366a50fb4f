"""Batches within the limits, and each order's outcome from a v1 or a per-order server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forward_orders_client import BatchLimits, ForwardOrdersClient
from forward_orders_client.batching import Batch, plan_batches, settle
from forward_orders_client.client import ClientOptions, RetryPolicy
from forward_orders_client.limits import body_size, encode_body
from forward_orders_client.sources import Location, Position, SourceOrder
from tests.unit.client.fake_api import FakeApi


def order(identifier: str, **fields: object) -> SourceOrder:
    value = {"identifier": identifier, "items": [], **fields}
    body = json.dumps(value, separators=(",", ":")).encode()
    return SourceOrder(Location("f.jsonl", line=1), Position(), identifier=identifier, body=body)


def counter() -> Iterator[int]:
    n = 0
    while True:
        yield n
        n += 1


def batches(orders: list[SourceOrder], limits: BatchLimits) -> list[Batch]:
    seq = counter()
    return list(plan_batches(iter(orders), limits, 0, lambda: next(seq)))


@given(
    st.lists(st.integers(min_value=0, max_value=300), max_size=60), st.integers(min_value=40, max_value=900)
)
def test_batches_never_exceed_the_body_or_count_limit_and_keep_every_order_in_order(
    pads: list[int], max_body: int
) -> None:
    limits = BatchLimits(max_body_bytes=max_body, max_orders_per_request=7)
    orders = [order(f"o{i}", pad="x" * pad) for i, pad in enumerate(pads)]
    planned = batches(orders, limits)
    assert planned[-1].last_of_file
    assert [entry for batch in planned for entry in batch.entries] == orders
    for batch in planned:
        sent = [batch.entries[i].body or b"" for i in batch.to_send()]
        assert len(sent) <= 7
        assert len(encode_body(sent)) == body_size(sum(map(len, sent)), len(sent)) <= max_body
    for entry in orders:
        alone = body_size(len(entry.body or b""), 1)
        assert (entry.problem is None) == (alone <= max_body), (alone, entry.problem)


def test_a_body_of_exactly_the_limit_is_one_batch_and_one_byte_more_is_two() -> None:
    a, b = order("a"), order("b")
    exact = body_size(len(a.body or b"") + len(b.body or b""), 2)
    assert len(batches([a, b], BatchLimits(max_body_bytes=exact))) == 1
    assert len(batches([order("a"), order("b")], BatchLimits(max_body_bytes=exact - 1))) == 2


def test_an_identifier_already_in_the_batch_starts_a_new_one() -> None:
    planned = batches([order("a"), order("b"), order("a"), order("c")], BatchLimits())
    assert [[e.identifier for e in batch.entries] for batch in planned] == [["a", "b"], ["a", "c"]]


def test_orders_over_the_item_or_label_limits_are_rejected_locally() -> None:
    many_items, many_labels = order("i"), order("l")
    many_items.items = 101
    many_labels.most_labels = 21
    planned = batches([many_items, many_labels, order("ok")], BatchLimits())
    assert [e.problem[0] if e.problem else None for e in planned[0].entries] == ["invalid", "invalid", None]
    assert planned[0].sendable == 1


# -- settling a batch -----------------------------------------------------------------------------


def client_for(api: FakeApi) -> ForwardOrdersClient:
    options = ClientOptions(retry=RetryPolicy(max_attempts=3, base_delay=0.001))
    return ForwardOrdersClient("http://api.test", api.key, options=options, transport=api.transport())


def one_batch(orders: list[SourceOrder], limits: BatchLimits | None = None) -> Batch:
    (batch,) = batches(orders, limits or BatchLimits(max_orders_per_request=1000, max_body_bytes=10**7))
    return batch


@pytest.mark.parametrize("per_order", [False, True])
@pytest.mark.parametrize("bad_every", [1, 2, 7, 1000])
def test_every_valid_order_is_stored_once_and_every_invalid_one_rejected_with_its_error(
    per_order: bool, bad_every: int
) -> None:
    api = FakeApi(per_order=per_order, max_orders=1000, max_body_bytes=10**7)
    orders = [order(f"o{i}", **({"bad": 1} if i % bad_every == 0 else {})) for i in range(350)]
    settled = settle(client_for(api), one_batch(orders), partial_success=True)
    statuses = [outcome.status for outcome in settled.outcomes]
    assert statuses == ["rejected" if i % bad_every == 0 else "stored" for i in range(350)]
    assert sorted(api.stored) == sorted(f"o{i}" for i in range(350) if i % bad_every)
    assert all(len(versions) == 1 for versions in api.stored.values())
    for outcome in settled.outcomes:
        if outcome.status == "rejected":
            assert outcome.errors[0]["field"] == "bad"
            assert outcome.errors[0]["request_field"].startswith("orders/")
            assert outcome.refused_by == "api"
    if per_order:
        assert settled.requests == 1
        assert api.requests[0]["params"] == {"partial_success": "true"}
    else:
        # The v1 server names at most 100 problems: one round per 100 bad orders, then the rest.
        bad = len(range(0, 350, bad_every))
        assert settled.requests == -(-bad // 100) + (1 if bad < 350 else 0)


def test_a_refusal_naming_no_order_splits_the_batch_until_the_culprit_is_alone() -> None:
    api = FakeApi(max_orders=1000, max_body_bytes=10**7)
    orders = [order(f"o{i}", **({"boom": 1} if i in (3, 40) else {})) for i in range(64)]
    settled = settle(client_for(api), one_batch(orders), partial_success=True)
    rejected = [i for i, outcome in enumerate(settled.outcomes) if outcome.status == "rejected"]
    assert rejected == [3, 40]
    assert settled.outcomes[3].errors[0]["code"] == "server_error"
    assert len(api.stored) == 62
    assert settled.requests < 64  # split, not one by one


def test_a_server_with_smaller_limits_gets_smaller_batches() -> None:
    api = FakeApi(max_body_bytes=300, max_orders=3)
    orders = [order(f"o{i}") for i in range(20)] + [order("huge", pad="x" * 400)]
    settled = settle(client_for(api), one_batch(orders), partial_success=True)
    assert [outcome.status for outcome in settled.outcomes] == ["stored"] * 20 + ["rejected"]
    assert settled.outcomes[-1].errors[0]["code"] == "too_large"
    assert len(api.stored) == 20
    assert all(len(versions) == 1 for versions in api.stored.values())


def test_stale_orders_are_counted_not_rejected() -> None:
    api = FakeApi(per_order=True)
    settled = settle(client_for(api), one_batch([order("a", stale=True), order("b")]), partial_success=True)
    assert [outcome.status for outcome in settled.outcomes] == ["stale", "stored"]


def test_orders_the_per_order_answer_leaves_out_are_sent_again() -> None:
    api = FakeApi(per_order=True)
    calls = []

    def drop_last_result(request: httpx.Request, orders: list[object]) -> httpx.Response | None:
        calls.append(len(orders))
        if len(calls) > 1:
            return None
        results = [{"index": 0, "identifier": "a", "status": "stored"}]
        return httpx.Response(200, json={"message": "Success", "results": results})

    api.before = drop_last_result
    settled = settle(client_for(api), one_batch([order("a"), order("b")]), partial_success=True)
    assert [outcome.status for outcome in settled.outcomes] == ["stored", "stored"]
    assert calls == [2, 1]


RECORDED_207 = {
    "message": "Multi-Status",
    "results": [
        {"index": 0, "identifier": "A-1", "status": "stored"},
        {
            "index": 1,
            "identifier": "B-2",
            "status": "rejected",
            "errors": [
                {"field": "orders/1/items/0/sku", "code": "missing_field", "message": "sku is required"}
            ],
        },
        {"index": 2, "identifier": "C-3", "status": "stale"},
    ],
    "stale": [
        {"order_identifier": "C-3", "item_identifier": None},
        {"order_identifier": "C-3", "item_identifier": "7"},
    ],
}


def test_a_207_shaped_as_issue_10_specifies_gives_each_order_its_outcome() -> None:
    api = FakeApi()
    api.before = lambda request, orders: httpx.Response(207, json=RECORDED_207)
    settled = settle(
        client_for(api), one_batch([order("A-1"), order("B-2"), order("C-3")]), partial_success=True
    )
    assert [outcome.status for outcome in settled.outcomes] == ["stored", "rejected", "stale"]
    assert settled.outcomes[1].errors == [
        {
            "field": "items/0/sku",
            "request_field": "orders/1/items/0/sku",
            "code": "missing_field",
            "message": "sku is required",
        }
    ]
    assert settled.stale_records == 2
