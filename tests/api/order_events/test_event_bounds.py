"""The largest change event valid requests can cause, as the events function builds and serializes
it (issue 9): an item update that changes every field, each at its bound in the character JSON
writes widest (U+0001 is six bytes, ``\\u0001``), every label, the longest client and identifiers.
It is within the bound ``common.record_bounds`` computes, far below EventBridge's 256 KB, and
EventBridge (moto's) accepts it."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from common.order_records import ITEM_FIELDS, MAX_CLIENT_ID_LENGTH, MAX_IDENTIFIER_LENGTH
from common.record_bounds import EVENTBRIDGE_ENTRY_LIMIT, MAX_EVENT_BYTES, record_bounds
from forward_orders.settings import Limits
from order_events.changes import change_from_record
from order_events.event_bus import entry_size
from order_events.publishing import event_for
from tests.api.order_events.streams import SOURCE, Consumer, StreamRecorder, failed_sequence_numbers, invoke
from tests.api_calls import post_orders
from tests.factories import WIDEST_IN_JSON, batch, order, worst_case_item

LONGEST_CLIENT = "c" * MAX_CLIENT_ID_LENGTH


def test_the_largest_change_event_is_within_the_bound_far_below_256_kb(
    stream: StreamRecorder, consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")
    limits = Limits()
    order_id = WIDEST_IN_JSON * MAX_IDENTIFIER_LENGTH
    first = worst_case_item("i", limits, WIDEST_IN_JSON)
    # Every field changed, each as long as before: an update naming every field.
    second = {
        name: ("\u0002" + value[1:] if isinstance(value, str) and name != "identifier" else value)
        for name, value in first.items()
    }
    second["quantity"] = first["quantity"] - 1
    second["shipped_date"] = second["return_policy_end_date"] = first["shipped_date"][:-1] + "2"
    second["labels"] = [{**label, "value": "\u0002" + label["value"][1:]} for label in first["labels"]]
    # The same instant in another offset: an equal version (applied), a changed text.
    second["updated_at"] = first["updated_at"].replace("10:20:30", "10:21:30").replace("+05:30", "+05:31")
    for sent in (first, second):
        response = post_orders(batch(order(order_id, [sent])), client_id=LONGEST_CLIENT)
        assert response.status == 200, response.body
    stream.records()  # the creations

    post_orders(batch(order(order_id, [first])), client_id=LONGEST_CLIENT)
    [record] = [r for r in stream.records() if r["dynamodb"]["Keys"]["sk"]["S"].startswith("I#")]
    change = change_from_record(DynamoDBRecord(record))
    assert change is not None and change.changed_fields is not None
    assert len(change.changed_fields) == len(ITEM_FIELDS)  # every item field

    size = entry_size(event_for(change, SOURCE))
    assert size <= record_bounds(limits).event_bytes
    assert record_bounds(limits).event_bytes * 2 <= EVENTBRIDGE_ENTRY_LIMIT
    assert MAX_EVENT_BYTES < EVENTBRIDGE_ENTRY_LIMIT

    # And the function publishes it.
    published = invoke([record])
    assert failed_sequence_numbers(published) == []
    [event] = [e for e in consumer.received() if e["detail-type"] == "OrderItemUpdated"]
    assert event["detail"]["values"]["sku"] == first["sku"]
