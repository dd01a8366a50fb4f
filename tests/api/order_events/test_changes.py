"""Order events: which writes publish which events, with what in them (tests/api/order_events/streams.py
says how records and events are produced and read). One event per changed order, carrying its
items' changes (functions/order_events/grouping.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from pydantic import ValidationError

from common.order_records import (
    ITEM_FIELDS,
    ORDER_FIELDS,
    RecordKey,
    parse_key,
    partition_key,
    sort_key,
)
from common.record_bounds import MAX_EVENT_BYTES
from forward_orders.models import Item, Order
from order_events.changes import change_from_record
from order_events.event_bus import MAX_REQUEST_BYTES, EventBus, entry_size
from order_events.grouping import EVENT_FIELDS, order_events
from order_events.publishing import publish_changes
from order_events.settings import get_settings
from tests import REPO
from tests.api.order_events.streams import (
    BUS_NAME,
    SERVER_ATTRIBUTES,
    SOURCE,
    Consumer,
    FlakyEventBridge,
    StreamRecorder,
    by_subject,
    invoke,
    parts,
)
from tests.api_calls import ORDERS_TABLE_NAME, REGION, post_orders
from tests.factories import (
    full_item,
    item,
    order,
)

# -- created, updated, nothing ---------------------------------------------------------------------


def test_a_new_order_publishes_one_created_event_carrying_the_order_and_each_item(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    records = stream.write(
        {
            "orders": [
                order(
                    "order-1",
                    concept="Acme Outdoors",
                    postal_code="10115",
                    items=[full_item("item-1"), item("item-2", quantity="3")],
                )
            ]
        }
    )
    assert [r["eventName"] for r in records] == ["INSERT"] * 3

    assert invoke(records) == {"batchItemFailures": []}

    [event] = consumer.received()
    assert event["detail-type"] == "OrderCreated"
    assert event["source"] == SOURCE
    detail = event["detail"]
    assert (detail["client_id"], detail["order_identifier"]) == ("acme", "order-1")
    assert detail["order"] == {
        "created": True,
        "values": {"concept": "Acme Outdoors", "postal_code": "10115"},
        "changed_fields": ["concept", "postal_code"],
        "change_id": records[0]["eventID"],
        "sequence_number": records[0]["dynamodb"]["SequenceNumber"],
    }
    item_1, item_2 = detail["items"]
    full = {name: value for name, value in full_item().items() if name != "identifier"}
    assert item_1 == {
        "item_identifier": "item-1",
        "created": True,
        "values": full,
        "changed_fields": [name for name in ITEM_FIELDS if name in full],
        "change_id": records[1]["eventID"],
        "sequence_number": records[1]["dynamodb"]["SequenceNumber"],
    }
    assert item_2["values"] == {"upc": "012345678905", "sku": "SKU-1", "quantity": 3}
    # The event's changed_fields: every field the order or an item now holds, order's first.
    assert detail["changed_fields"] == [
        name for name in EVENT_FIELDS if name in {"concept", "postal_code", *full}
    ]
    assert len(detail["change_id"]) == 32
    # The event's time is when the stream recorded the change.
    created = records[-1]["dynamodb"]["ApproximateCreationDateTime"]
    assert event["time"] == datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_only_contract_fields_are_ever_shown(stream: StreamRecorder, consumer: Consumer) -> None:
    records = stream.write({"orders": [order("order-1", concept="C", items=[full_item("item-1")])]})
    # What the table holds beyond the contract is really in the images...
    assert SERVER_ATTRIBUTES - {"order_identifier"} <= set(records[0]["dynamodb"]["NewImage"])
    assert "order_identifier" in records[1]["dynamodb"]["NewImage"]

    invoke(records)

    [event] = consumer.received()
    for part in parts(event):
        names = ITEM_FIELDS if "item_identifier" in part else ORDER_FIELDS
        assert set(part["values"]) <= set(names)
        assert not set(part["values"]) & SERVER_ATTRIBUTES
        assert set(part["changed_fields"]) <= set(names)
    assert set(event["detail"]) == {
        "client_id",
        "order_identifier",
        "changed_fields",
        "order",
        "items",
        "change_id",
    }


def test_an_update_names_the_changed_fields_and_carries_all_new_values(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    invoke(stream.write({"orders": [order("order-1", concept="C", items=[item("item-1"), item("item-2")])]}))
    consumer.received()

    records = stream.write(
        {
            "orders": [
                order(
                    "order-1",
                    postal_code="10115",  # added
                    items=[item("item-1", quantity=2, tracking_number="1Z999")],
                )
            ]
        }
    )
    # The order and item-1 were written; item-2 was not mentioned, so it has no record at all.
    assert [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in records] == [
        ("MODIFY", "ORDER"),
        ("MODIFY", "I#item-1"),
    ]
    assert invoke(records) == {"batchItemFailures": []}

    [event] = consumer.received()
    assert event["detail-type"] == "OrderUpdated"
    assert event["detail"]["changed_fields"] == ["postal_code", "quantity", "tracking_number"]
    keyed = by_subject([event])
    assert set(keyed) == {("order-1", None), ("order-1", "item-1")}
    order_part = keyed[("order-1", None)]
    assert (order_part["created"], order_part["changed_fields"]) == (False, ["postal_code"])
    assert order_part["values"] == {"concept": "C", "postal_code": "10115"}
    item_part = keyed[("order-1", "item-1")]
    assert (item_part["created"], item_part["changed_fields"]) == (False, ["quantity", "tracking_number"])
    assert item_part["values"] == {
        "upc": "012345678905",
        "sku": "SKU-1",
        "quantity": 2,
        "tracking_number": "1Z999",
    }


def test_an_identical_resend_publishes_nothing(stream: StreamRecorder, consumer: Consumer) -> None:
    body = {"orders": [order("order-1", concept="C", items=[full_item("item-1"), item("item-2")])]}
    invoke(stream.write(body))
    assert len(consumer.received()) == 1

    records = stream.write(body)
    # The re-send is a real write (last_received_at moved), so the stream has a record of each...
    assert [r["eventName"] for r in records] == ["MODIFY"] * 3
    old, new = records[0]["dynamodb"]["OldImage"], records[0]["dynamodb"]["NewImage"]
    assert old["last_received_at"] != new["last_received_at"]
    # ... and none of them is an event.
    assert invoke(records) == {"batchItemFailures": []}
    assert consumer.received() == []


def test_an_order_written_only_for_its_items_carries_only_the_items(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    invoke(stream.write({"orders": [order("order-1", concept="C", items=[item("item-1")])]}))
    consumer.received()

    invoke(stream.write({"orders": [order("order-1", items=[item("item-2")])]}))

    [event] = consumer.received()
    assert event["detail-type"] == "OrderUpdated"
    assert "order" not in event["detail"]
    [item_2] = event["detail"]["items"]
    assert (item_2["item_identifier"], item_2["created"]) == ("item-2", True)
    assert event["detail"]["changed_fields"] == ["upc", "sku", "quantity"]


def test_changes_of_one_order_in_one_batch_make_one_event_with_the_latest_values(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    """Two requests for the same order in one batch: the order's changes merge, each order or item
    once, with its latest values and every field either request created or changed."""
    first = stream.write({"orders": [order("order-1", concept="A", items=[item("item-1")])]})
    other = stream.write({"orders": [order("order-2")]})
    second = stream.write(
        {"orders": [order("order-1", concept="B", items=[item("item-1", quantity=4), item("item-2")])]}
    )

    assert invoke(first + other + second) == {"batchItemFailures": []}

    events = consumer.received()
    assert [(e["detail"]["order_identifier"], e["detail-type"]) for e in events] == [
        ("order-1", "OrderCreated"),
        ("order-2", "OrderCreated"),
    ]
    keyed = by_subject(events)
    order_1 = keyed[("order-1", None)]
    assert (order_1["created"], order_1["values"]) == (True, {"concept": "B"})
    assert order_1["change_id"] == second[0]["eventID"]
    assert order_1["sequence_number"] == second[0]["dynamodb"]["SequenceNumber"]
    assert (keyed[("order-1", "item-1")]["created"], keyed[("order-1", "item-1")]["values"]["quantity"]) == (
        True,
        4,
    )
    assert [part["item_identifier"] for part in events[0]["detail"]["items"]] == ["item-1", "item-2"]


def test_a_labels_change_is_detected_and_the_same_labels_again_are_not(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    labels = [
        {"type": "barcode", "name": "RMA", "value": "RMA-1"},
        {"type": "text", "name": "Note", "value": "Gift"},
    ]
    invoke(stream.write({"orders": [order("order-1", items=[item("item-1", labels=labels)])]}))
    consumer.received()

    changes = [
        [labels[0], {"type": "text", "name": "Note", "value": "Fragile"}],  # one value
        [labels[0]],  # one label fewer
        [{**labels[0], "type": "text"}],  # a type
    ]
    for new_labels in changes:
        invoke(stream.write({"orders": [order("order-1", items=[item("item-1", labels=new_labels)])]}))
        [event] = consumer.received()
        [part] = event["detail"]["items"]
        assert event["detail"]["changed_fields"] == part["changed_fields"] == ["labels"]
        assert part["values"]["labels"] == new_labels

    invoke(stream.write({"orders": [order("order-1", items=[item("item-1", labels=changes[-1])])]}))
    assert consumer.received() == []


def test_attributes_other_features_add_are_neither_shown_nor_a_change(
    stream: StreamRecorder, consumer: Consumer, dynamodb: Any
) -> None:
    invoke(stream.write({"orders": [order("order-1", items=[item("item-1", tracking_number=" 1z999 ")])]}))
    consumer.received()

    # Say the lookup feature keeps a normalised copy of the tracking number for its index.
    dynamodb.update_item(
        TableName=ORDERS_TABLE_NAME,
        Key={"pk": {"S": partition_key("acme", "order-1")}, "sk": {"S": sort_key("item-1")}},
        UpdateExpression="SET tracking_number_normalized = :n",
        ExpressionAttributeValues={":n": {"S": "1Z999"}},
    )
    records = stream.records()
    assert [r["eventName"] for r in records] == ["MODIFY"]
    assert invoke(records) == {"batchItemFailures": []}
    assert consumer.received() == []

    invoke(stream.write({"orders": [order("order-1", items=[item("item-1", quantity=5)])]}))
    [event] = consumer.received()
    [part] = event["detail"]["items"]
    assert part["changed_fields"] == ["quantity"]
    assert "tracking_number_normalized" not in part["values"]


def test_identifiers_holding_the_separator_are_read_back_whole(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    invoke(stream.write({"orders": [order("A#1#2", items=[item("I#3"), item("#")])]}))

    keyed = by_subject(consumer.received())
    assert set(keyed) == {("A#1#2", None), ("A#1#2", "I#3"), ("A#1#2", "#")}
    assert {part["client_id"] for part in keyed.values()} == {"acme"}


def test_each_client_sees_its_own_identifiers(stream: StreamRecorder, consumer: Consumer) -> None:
    for client in ("acme", "globex"):
        assert post_orders({"orders": [order("order-1")]}, client_id=client).status == 200
    invoke(stream.records())

    events = consumer.received()
    assert sorted(
        (e["detail"]["client_id"], e["detail-type"], len(e["detail"]["items"])) for e in events
    ) == [
        ("acme", "OrderCreated", 1),
        ("globex", "OrderCreated", 1),
    ]


def test_deletions_and_records_that_are_not_orders_or_items_publish_nothing(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    records = stream.write({"orders": [order("order-1")]})
    invoke(records)
    consumer.received()
    stored_item = records[1]["dynamodb"]["NewImage"]
    other = {"pk": {"S": "acme#order-1"}, "sk": {"S": "TRACKING#1Z999"}, "concept": {"S": "x"}}
    no_client = {**stored_item, "pk": {"S": "order-without-client"}}

    response = invoke(
        [stream.record(None, stored_item), stream.record(other, None), stream.record(no_client, None)]
    )

    assert response == {"batchItemFailures": []}
    assert consumer.received() == []


def test_many_orders_are_sent_in_calls_of_at_most_ten_events_in_stream_order(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    orders = [order(f"order-{n:02d}", items=[item("a"), item("b")]) for n in range(25)]
    records = stream.write({"orders": orders})
    assert len(records) == 75

    assert invoke(records) == {"batchItemFailures": []}

    assert [len(call) for call in eventbridge.calls] == [10, 10, 5]
    sent = [json.loads(entry["Detail"])["order_identifier"] for call in eventbridge.calls for entry in call]
    assert sent == [f"order-{n:02d}" for n in range(25)]
    assert len(consumer.received()) == 25


def test_a_large_order_is_one_event_and_one_too_large_for_one_is_split_within_the_bound(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    records = stream.write(
        {"orders": [order("order-1", concept="C", items=[item(f"i{n:03d}") for n in range(100)])]}
    )
    changes = [
        (position, change)
        for position, r in enumerate(records)
        if (change := change_from_record(DynamoDBRecord(r)))
    ]

    [whole] = order_events(changes, SOURCE)
    assert len(json.loads(whole.event.detail)["items"]) == 100
    assert whole.positions == tuple(range(101))

    budget = entry_size(whole.event) // 3
    split = order_events(changes, SOURCE, budget=budget)
    assert len(split) >= 3
    details = [json.loads(pending.event.detail) for pending in split]
    assert all(entry_size(pending.event) <= budget for pending in split)
    # Each event carries the order's own change; every item is in exactly one, in stream order.
    assert all(detail["order"]["values"] == {"concept": "C"} for detail in details)
    assert [part["item_identifier"] for detail in details for part in detail["items"]] == [
        f"i{n:03d}" for n in range(100)
    ]
    assert len({detail["change_id"] for detail in details}) == len(split)
    assert sorted({p for pending in split for p in pending.positions}) == list(range(101))


def test_calls_stay_under_the_request_size_limit(dynamodb: Any, consumer: Consumer) -> None:
    """Items near 100 KB each (long label values; within DynamoDB's 400 KB item limit): an order of
    five is split into events within MAX_EVENT_BYTES, and those go one or two to a call, since
    PutEvents takes at most 256 KB of entries."""
    stream = StreamRecorder(dynamodb)
    label_value = "x" * 100_000
    calls: list[list[int]] = []

    class Counting:
        def __init__(self, real: Any) -> None:
            self.real = real

        def put_events(self, *, Entries: list[dict[str, Any]]) -> Any:
            calls.append([len(e["Detail"]) + len(e["Source"]) + len(e["DetailType"]) + 14 for e in Entries])
            return self.real.put_events(Entries=Entries)

    records = [
        stream.record(
            {
                "pk": {"S": "acme#order-1"},
                "sk": {"S": f"I#item-{n}"},
                "upc": {"S": "1"},
                "sku": {"S": "2"},
                "quantity": {"N": "1"},
                "labels": {
                    "L": [{"M": {"type": {"S": "text"}, "name": {"S": "n"}, "value": {"S": label_value}}}]
                },
            },
            None,
        )
        for n in range(5)
    ]
    bus = EventBus(Counting(boto3.client("events", region_name=REGION)), BUS_NAME)
    outcome = publish_changes([DynamoDBRecord(r) for r in records], bus, source=SOURCE)

    assert outcome.failure is None and outcome.published == 5
    assert len(calls) >= 3
    assert all(sum(sizes) <= MAX_REQUEST_BYTES for sizes in calls)
    assert all(size <= MAX_EVENT_BYTES for sizes in calls for size in sizes)
    assert sorted(by_subject(consumer.received())) == [("order-1", f"item-{n}") for n in range(5)]


def _documented_tracking_pattern() -> dict[str, Any]:
    text = (REPO / "docs" / "events.md").read_text()
    after = text[text.index("Tracking numbers set or changed") :]
    pattern: dict[str, Any] = json.loads(
        after[after.index("```json") + len("```json") : after.index("```\n\n")]
    )
    return pattern


def test_the_documented_tracking_number_rule_matches_exactly_tracking_number_changes(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    events = boto3.client("events", region_name=REGION)
    queue_url = consumer.sqs.create_queue(QueueName="returns-portal")["QueueUrl"]
    queue_arn = consumer.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    events.put_rule(
        Name="returns-portal", EventBusName=BUS_NAME, EventPattern=json.dumps(_documented_tracking_pattern())
    )
    events.put_targets(
        Rule="returns-portal",
        EventBusName=BUS_NAME,
        Targets=[{"Id": "queue", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )
    returns_portal = Consumer(consumer.sqs, queue_url)

    invoke(stream.write({"orders": [order("order-1", items=[item("a", tracking_number="1Z1"), item("b")])]}))
    invoke(stream.write({"orders": [order("order-1", concept="C", items=[item("b", quantity=2)])]}))
    invoke(stream.write({"orders": [order("order-1", items=[item("b", reverse_tracking_number="1Z2")])]}))
    invoke(stream.write({"orders": [order("order-1", items=[item("a", tracking_number="1Z3")])]}))
    invoke(stream.write({"orders": [order("order-2", items=[item("c")])]}))

    assert len(consumer.received()) == 5  # everything, for the catch-all rule
    matched = returns_portal.received()
    assert [(e["detail-type"], [p["item_identifier"] for p in e["detail"]["items"]]) for e in matched] == [
        ("OrderCreated", ["a", "b"]),
        ("OrderUpdated", ["b"]),
        ("OrderUpdated", ["a"]),
    ]
    # Which item's tracking number it was: the item parts' own changed_fields.
    tracked = [
        p["item_identifier"]
        for e in matched
        for p in e["detail"]["items"]
        if {"tracking_number", "reverse_tracking_number"} & set(p["changed_fields"])
    ]
    assert tracked == ["a", "b", "a"]


# -- settings and the shared record layout -----------------------------------------------------------


def test_settings_need_a_bus_and_refuse_a_reserved_source(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().event_bus_name == BUS_NAME
    assert get_settings().event_source == SOURCE
    for name, value in (("EVENT_BUS_NAME", None), ("EVENT_SOURCE", "aws.orders"), ("EVENT_SOURCE", "")):
        monkeypatch.setenv("EVENT_BUS_NAME", BUS_NAME)
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        with pytest.raises(ValidationError):
            get_settings()
        monkeypatch.setenv("EVENT_SOURCE", SOURCE)


def test_the_allow_lists_are_the_request_models_fields() -> None:
    assert set(ORDER_FIELDS) == set(Order.model_fields) - {"identifier", "items"}
    assert set(ITEM_FIELDS) == set(Item.model_fields) - {"identifier"}


@pytest.mark.parametrize(
    ("client_id", "order_identifier", "item_identifier"),
    [("acme", "order-1", None), ("acme", "o#1", "i#1"), ("c", "#", "#"), ("acme", "ORDER", "ORDER")],
)
def test_record_keys_read_back_what_was_written(
    client_id: str, order_identifier: str, item_identifier: str | None
) -> None:
    key = parse_key(partition_key(client_id, order_identifier), sort_key(item_identifier))
    assert key == RecordKey(client_id, order_identifier, item_identifier)


@pytest.mark.parametrize(
    ("pk", "sk"), [("acme", "ORDER"), ("#o", "ORDER"), ("acme#", "ORDER"), ("a#o", "I#"), ("a#o", "X#1")]
)
def test_keys_no_write_produces_are_no_order_or_item(pk: str, sk: str) -> None:
    assert parse_key(pk, sk) is None
