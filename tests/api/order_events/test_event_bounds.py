"""The largest change events valid requests can cause, as the events function builds and
serializes them (issue 9, and one event per order since issue 16): an update that changes every
field of the order and of an item, each at its bound in the character JSON writes widest (U+0001
is six bytes, ``\\u0001``), every label, the longest client and identifiers. That event is within
the bound ``common.record_bounds`` computes, far below EventBridge's 256 KB, and EventBridge
(moto's) accepts it. An order of many such items is split into events each within
``MAX_EVENT_BYTES``, and every item is published."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from common.order_records import ITEM_FIELDS, MAX_CLIENT_ID_LENGTH, MAX_IDENTIFIER_LENGTH, ORDER_FIELDS
from common.record_bounds import EVENTBRIDGE_ENTRY_LIMIT, MAX_EVENT_BYTES, record_bounds
from forward_orders.settings import Limits
from order_events.changes import change_from_record
from order_events.event_bus import entry_size
from order_events.grouping import order_events
from tests.api.order_events.streams import (
    SOURCE,
    Consumer,
    StreamRecorder,
    by_subject,
    failed_sequence_numbers,
    invoke,
)
from tests.api_calls import post_orders
from tests.factories import WIDEST_IN_JSON, batch, longest_date, order, worst_case_item

LONGEST_CLIENT = "c" * MAX_CLIENT_ID_LENGTH


def _worst_case_order_fields(limits: Limits, char: str) -> dict[str, Any]:
    return {
        "concept": char * limits.max_concept_length,
        "postal_code": char * limits.max_postal_code_length,
        "created_at": longest_date(limits),
        "updated_at": longest_date(limits, "+05:30"),
    }


def _changed(value: Any) -> Any:
    """Every character of a value's text changed, its length kept."""
    return "\u0002" + value[1:] if isinstance(value, str) else value


def _every_field_changed(first: dict[str, Any]) -> dict[str, Any]:
    second = {name: (_changed(value) if name != "identifier" else value) for name, value in first.items()}
    second["quantity"] = first["quantity"] - 1
    second["shipped_date"] = second["return_policy_end_date"] = first["shipped_date"][:-1] + "2"
    second["labels"] = [{**label, "value": _changed(label["value"])} for label in first["labels"]]
    return second


def _versions(first: dict[str, Any]) -> dict[str, str]:
    # The same instant in another offset: an equal version (applied), a changed text.
    return {"updated_at": first["updated_at"].replace("10:20:30", "10:21:30").replace("+05:30", "+05:31")}


def test_the_largest_change_event_is_within_the_bound_far_below_256_kb(
    stream: StreamRecorder, consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")
    limits = Limits()
    order_id = WIDEST_IN_JSON * MAX_IDENTIFIER_LENGTH
    first_item = worst_case_item("i", limits, WIDEST_IN_JSON)
    second_item = {**_every_field_changed(first_item), **_versions(first_item)}
    first_order = _worst_case_order_fields(limits, WIDEST_IN_JSON)
    second_order = {
        **{name: _changed(value) for name, value in first_order.items()},
        "created_at": first_order["created_at"][:-1] + "2",
        **_versions(first_order),
    }
    for fields, sent in ((first_order, first_item), (second_order, second_item)):
        response = post_orders(batch(order(order_id, [sent], **fields)), client_id=LONGEST_CLIENT)
        assert response.status == 200, response.body
    stream.records()  # the creations and the first update

    post_orders(batch(order(order_id, [first_item], **first_order)), client_id=LONGEST_CLIENT)
    records = stream.records()
    changes = [
        (n, change) for n, r in enumerate(records) if (change := change_from_record(DynamoDBRecord(r)))
    ]
    assert [len(change.fields()) for _, change in changes] == [len(ORDER_FIELDS), len(ITEM_FIELDS)]

    [pending] = order_events(changes, SOURCE)
    size = entry_size(pending.event)
    assert size <= record_bounds(limits).event_bytes <= MAX_EVENT_BYTES
    assert size > 0.75 * record_bounds(limits).event_bytes  # the bound is not loose
    assert MAX_EVENT_BYTES < EVENTBRIDGE_ENTRY_LIMIT

    # And the function publishes it.
    published = invoke(records)
    assert failed_sequence_numbers(published) == []
    [event] = consumer.received()
    assert event["detail"]["items"][0]["values"]["sku"] == first_item["sku"]
    assert event["detail"]["order"]["values"]["concept"] == first_order["concept"]


def test_an_order_of_many_of_the_largest_items_is_split_into_events_within_the_bound(
    stream: StreamRecorder, consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")
    limits = Limits()
    items = [worst_case_item(f"i{n}", limits, WIDEST_IN_JSON) for n in range(7)]
    order_id = WIDEST_IN_JSON * MAX_IDENTIFIER_LENGTH
    fields = _worst_case_order_fields(limits, WIDEST_IN_JSON)
    response = post_orders(batch(order(order_id, items, **fields)), client_id=LONGEST_CLIENT)
    assert response.status == 200, response.body
    records = stream.records()

    changes = [
        (n, change) for n, r in enumerate(records) if (change := change_from_record(DynamoDBRecord(r)))
    ]
    pending = order_events(changes, SOURCE)
    assert len(pending) >= 4  # at most two of the largest items fit one event
    assert all(entry_size(entry.event) <= MAX_EVENT_BYTES for entry in pending)
    assert all(json.loads(entry.event.detail)["order"]["created"] for entry in pending)

    assert failed_sequence_numbers(invoke(records)) == []
    received = by_subject(consumer.received())
    assert sorted(item_id for _, item_id in received if item_id) == sorted(i["identifier"] for i in items)
