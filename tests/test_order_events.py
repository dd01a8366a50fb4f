"""Order events: stream records of real writes in, events out through moto's EventBridge.

Records. Every test writes through the API handler (``post_orders``) into moto's table and turns
what the writes changed into the DynamoDB Streams records Lambda would hand the function: the
table is scanned before and after, and each record whose stored item changed becomes one INSERT
(new) or MODIFY (changed) record with its NewImage and OldImage in DynamoDB JSON, exactly as
stored. (moto's own stream is not used: it reports an UpdateItem that creates an item as two
INSERT records, the first with the keys only, which DynamoDB never does.)

Events. The function publishes to a moto event bus with a rule matching the service's source and
an SQS queue as its target; the tests read that queue, as a consumer's queue would receive them.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
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
from forward_orders.models import Item, Order
from order_events import handler
from order_events.changes import STREAM_VIEW_TYPE
from order_events.event_bus import MAX_REQUEST_BYTES, EventBus
from order_events.publishing import publish_changes
from order_events.settings import get_settings
from tests.conftest import ORDERS_TABLE_NAME, REGION, LambdaContext, post_orders
from tests.factories import (
    client_error,
    full_item,
    item,
    order,
    reuse_boto3_session,  # noqa: F401  (autouse: faster moto set-up)
    scan,
)

# The retry settings of the stack's event source mapping (importing the CDK: keep jsii quiet).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
from infra.events import BATCH_SIZE, RETRY_ATTEMPTS

BUS_NAME = "test-order-events"
SOURCE = "forward-orders"
ACCOUNT = "123456789012"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{ORDERS_TABLE_NAME}/stream/2026-01-01T00:00:00.000"
SERVER_ATTRIBUTES = {"pk", "sk", "identifier", "order_identifier", "first_received_at", "last_received_at"}


@pytest.fixture(autouse=True)
def events_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EVENT_BUS_NAME", BUS_NAME)
    monkeypatch.setenv("EVENT_SOURCE", SOURCE)
    get_settings.cache_clear()
    handler.event_bus.cache_clear()
    yield
    get_settings.cache_clear()
    handler.event_bus.cache_clear()


# -- stream records from real writes ---------------------------------------------------------------


def _key(raw: dict[str, Any]) -> tuple[str, str]:
    return raw["pk"]["S"], raw["sk"]["S"]


class StreamRecorder:
    """The stream of the orders table, derived from what each write changed in moto's table."""

    def __init__(self, dynamodb: Any) -> None:
        self._dynamodb = dynamodb
        self._sequence = 10**20
        self._seen = self._snapshot()

    def _snapshot(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {_key(raw): raw for raw in scan(self._dynamodb)}

    def records(self) -> list[dict[str, Any]]:
        """The records of every change since the last call: the order record first, then items."""
        now = self._snapshot()
        changed = sorted(
            (key for key, raw in now.items() if self._seen.get(key) != raw),
            key=lambda key: (key[0], key[1] != "ORDER", key[1]),
        )
        records = [self.record(now[key], self._seen.get(key)) for key in changed]
        self._seen = now
        return records

    def record(self, new: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, Any]:
        """One record as Lambda delivers it from a NEW_AND_OLD_IMAGES stream."""
        self._sequence += 1
        image = new if new is not None else old
        assert image is not None
        stream: dict[str, Any] = {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "SequenceNumber": str(self._sequence),
            "SizeBytes": len(json.dumps([new, old])),
            "StreamViewType": STREAM_VIEW_TYPE,
        }
        if new is not None:
            stream["NewImage"] = new
        if old is not None:
            stream["OldImage"] = old
        return {
            "eventID": uuid.uuid4().hex,
            "eventName": "MODIFY" if new is not None and old is not None else "INSERT" if new else "REMOVE",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": stream,
            "eventSourceARN": STREAM_ARN,
        }

    def write(self, body: Any) -> list[dict[str, Any]]:
        """POST ``body`` through the API handler; the stream records of what it changed."""
        response = post_orders(body)
        assert response.status == 200, response.body
        return self.records()


@dataclass
class Consumer:
    """A consumer's queue, subscribed to the bus with a rule on the service's source."""

    sqs: Any
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def stream(dynamodb: Any) -> StreamRecorder:
    return StreamRecorder(dynamodb)


@pytest.fixture
def consumer(dynamodb: Any) -> Consumer:
    """Call with moto active (inside the ``dynamodb`` fixture)."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=BUS_NAME)
    queue_url = sqs.create_queue(QueueName="order-events-consumer")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all-order-events", EventBusName=BUS_NAME, EventPattern=json.dumps({"source": [SOURCE]})
    )
    events.put_targets(
        Rule="all-order-events", EventBusName=BUS_NAME, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    return Consumer(sqs, queue_url)


def invoke(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The function, invoked as the event source mapping does."""
    response: dict[str, Any] = handler.lambda_handler(
        {"Records": records}, LambdaContext(function_name="forward-orders-order-events")
    )
    return response


def failed_sequence_numbers(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def by_subject(events: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """Events keyed by (order identifier, item identifier or None); each subject at most once."""
    keyed = {(e["detail"]["order_identifier"], e["detail"].get("item_identifier")): e for e in events}
    assert len(keyed) == len(events), "more than one event for one order or item"
    return keyed


# -- a controllable events client -------------------------------------------------------------------


@dataclass
class FlakyEventBridge:
    """moto's EventBridge client, but entries ``refuse`` matches are refused (not sent), as
    PutEvents does with FailedEntryCount, ``refusals`` times in all (None: always); and
    ``call_failures`` whole calls raise before anything is sent. Every call's entries are kept."""

    real: Any
    refuse: Callable[[dict[str, Any]], bool] = lambda entry: False
    refusals: int | None = None
    call_failures: int = 0
    calls: list[list[dict[str, Any]]] = field(default_factory=list)

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self.call_failures:
            self.call_failures -= 1
            raise client_error("ThrottlingException", "PutEvents")
        refused = []
        for entry in Entries:
            take = self.refuse(entry) and (self.refusals is None or self.refusals > 0)
            if take and self.refusals is not None:
                self.refusals -= 1
            refused.append(take)
        accepted = [entry for entry, no in zip(Entries, refused, strict=True) if not no]
        sent = iter(self.real.put_events(Entries=accepted)["Entries"] if accepted else [])
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "simulated"} if no else next(sent)
            for no in refused
        ]
        return {"FailedEntryCount": sum(refused), "Entries": results}


@pytest.fixture
def eventbridge(consumer: Consumer, monkeypatch: pytest.MonkeyPatch) -> FlakyEventBridge:
    """The client the function uses from now on (refuses nothing until told to)."""
    flaky = FlakyEventBridge(boto3.client("events", region_name=REGION))
    monkeypatch.setattr(handler, "events_client", lambda: flaky)
    return flaky


def about_item(identifier: str, order_identifier: str = "order-1") -> Callable[[dict[str, Any]], bool]:
    def matches(entry: dict[str, Any]) -> bool:
        detail = json.loads(entry["Detail"])
        return bool(
            detail.get("item_identifier") == identifier and detail["order_identifier"] == order_identifier
        )

    return matches


# -- created, updated, nothing ---------------------------------------------------------------------


def test_a_new_order_publishes_one_created_event_for_the_order_and_each_item(
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

    events = consumer.received()
    assert [e["detail-type"] for e in events] == ["OrderCreated", "OrderItemCreated", "OrderItemCreated"]
    assert {e["source"] for e in events} == {SOURCE}
    keyed = by_subject(events)
    assert keyed[("order-1", None)]["detail"] == {
        "client_id": "acme",
        "order_identifier": "order-1",
        "values": {"concept": "Acme Outdoors", "postal_code": "10115"},
        "change_id": records[0]["eventID"],
        "sequence_number": records[0]["dynamodb"]["SequenceNumber"],
    }
    item_1 = keyed[("order-1", "item-1")]["detail"]
    assert item_1["client_id"] == "acme"
    assert item_1["item_identifier"] == "item-1"
    assert item_1["values"] == {name: value for name, value in full_item().items() if name != "identifier"}
    assert "changed_fields" not in item_1
    assert keyed[("order-1", "item-2")]["detail"]["values"] == {
        "upc": "012345678905",
        "sku": "SKU-1",
        "quantity": 3,
    }
    # The event's time is when the stream recorded the change.
    created = records[0]["dynamodb"]["ApproximateCreationDateTime"]
    assert keyed[("order-1", None)]["time"] == datetime.fromtimestamp(created, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_only_contract_fields_are_ever_shown(stream: StreamRecorder, consumer: Consumer) -> None:
    records = stream.write({"orders": [order("order-1", concept="C", items=[full_item("item-1")])]})
    # What the table holds beyond the contract is really in the images...
    assert SERVER_ATTRIBUTES - {"order_identifier"} <= set(records[0]["dynamodb"]["NewImage"])
    assert "order_identifier" in records[1]["dynamodb"]["NewImage"]

    invoke(records)

    for event in consumer.received():
        names = ITEM_FIELDS if "item_identifier" in event["detail"] else ORDER_FIELDS
        assert set(event["detail"]["values"]) <= set(names)
        assert not set(event["detail"]["values"]) & SERVER_ATTRIBUTES


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

    keyed = by_subject(consumer.received())
    assert set(keyed) == {("order-1", None), ("order-1", "item-1")}
    order_event = keyed[("order-1", None)]
    assert order_event["detail-type"] == "OrderUpdated"
    assert order_event["detail"]["changed_fields"] == ["postal_code"]
    assert order_event["detail"]["values"] == {"concept": "C", "postal_code": "10115"}
    item_event = keyed[("order-1", "item-1")]
    assert item_event["detail-type"] == "OrderItemUpdated"
    assert item_event["detail"]["changed_fields"] == ["quantity", "tracking_number"]
    assert item_event["detail"]["values"] == {
        "upc": "012345678905",
        "sku": "SKU-1",
        "quantity": 2,
        "tracking_number": "1Z999",
    }


def test_an_identical_resend_publishes_nothing(stream: StreamRecorder, consumer: Consumer) -> None:
    body = {"orders": [order("order-1", concept="C", items=[full_item("item-1"), item("item-2")])]}
    invoke(stream.write(body))
    assert len(consumer.received()) == 3

    records = stream.write(body)
    # The re-send is a real write (last_received_at moved), so the stream has a record of each...
    assert [r["eventName"] for r in records] == ["MODIFY"] * 3
    old, new = records[0]["dynamodb"]["OldImage"], records[0]["dynamodb"]["NewImage"]
    assert old["last_received_at"] != new["last_received_at"]
    # ... and none of them is an event.
    assert invoke(records) == {"batchItemFailures": []}
    assert consumer.received() == []


def test_an_order_written_only_for_its_items_publishes_only_item_events(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    invoke(stream.write({"orders": [order("order-1", concept="C", items=[item("item-1")])]}))
    consumer.received()

    invoke(stream.write({"orders": [order("order-1", items=[item("item-2")])]}))

    events = consumer.received()
    assert [(e["detail-type"], e["detail"].get("item_identifier")) for e in events] == [
        ("OrderItemCreated", "item-2")
    ]


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
        assert event["detail-type"] == "OrderItemUpdated"
        assert event["detail"]["changed_fields"] == ["labels"]
        assert event["detail"]["values"]["labels"] == new_labels

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
    assert event["detail"]["changed_fields"] == ["quantity"]
    assert "tracking_number_normalized" not in event["detail"]["values"]


def test_identifiers_holding_the_separator_are_read_back_whole(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    invoke(stream.write({"orders": [order("A#1#2", items=[item("I#3"), item("#")])]}))

    keyed = by_subject(consumer.received())
    assert set(keyed) == {("A#1#2", None), ("A#1#2", "I#3"), ("A#1#2", "#")}
    assert {event["detail"]["client_id"] for event in keyed.values()} == {"acme"}


def test_each_client_sees_its_own_identifiers(stream: StreamRecorder, consumer: Consumer) -> None:
    for client in ("acme", "globex"):
        assert post_orders({"orders": [order("order-1")]}, client_id=client).status == 200
    invoke(stream.records())

    events = consumer.received()
    assert sorted((e["detail"]["client_id"], e["detail-type"]) for e in events) == [
        ("acme", "OrderCreated"),
        ("acme", "OrderItemCreated"),
        ("globex", "OrderCreated"),
        ("globex", "OrderItemCreated"),
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


def test_a_large_order_is_sent_in_calls_of_at_most_ten_events_in_stream_order(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    items = [item(f"item-{n:02d}") for n in range(25)]
    records = stream.write({"orders": [order("order-1", concept="C", items=items)]})

    assert invoke(records) == {"batchItemFailures": []}

    assert [len(call) for call in eventbridge.calls] == [10, 10, 6]
    sent = [json.loads(entry["Detail"])["sequence_number"] for call in eventbridge.calls for entry in call]
    assert sent == [r["dynamodb"]["SequenceNumber"] for r in records]
    assert len(consumer.received()) == 26


def test_calls_stay_under_the_request_size_limit(dynamodb: Any, consumer: Consumer) -> None:
    """Events near 100 KB (long label values; within DynamoDB's 400 KB item limit) go two or three
    to a call, since PutEvents takes at most 256 KB of entries."""
    stream = StreamRecorder(dynamodb)
    label_value = "x" * 100_000
    calls: list[int] = []

    class Counting:
        def __init__(self, real: Any) -> None:
            self.real = real

        def put_events(self, *, Entries: list[dict[str, Any]]) -> Any:
            calls.append(
                sum(len(e["Detail"]) + len(e["Source"]) + len(e["DetailType"]) + 14 for e in Entries)
            )
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
    assert all(size <= MAX_REQUEST_BYTES for size in calls)
    assert len(consumer.received()) == 5


def _documented_tracking_pattern() -> dict[str, Any]:
    text = (Path(__file__).resolve().parents[1] / "docs" / "events.md").read_text()
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

    assert len(consumer.received()) == 7  # everything, for the catch-all rule
    assert [(e["detail-type"], e["detail"]["item_identifier"]) for e in returns_portal.received()] == [
        ("OrderItemCreated", "a"),
        ("OrderItemUpdated", "b"),
        ("OrderItemUpdated", "a"),
    ]


# -- failures: reported per record, retried from the first one --------------------------------------


def test_a_refused_event_fails_its_record_and_every_later_one_and_nothing_later_is_sent(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    items = [item(f"item-{n:02d}") for n in range(15)]
    records = stream.write({"orders": [order("order-1", items=items)]})
    eventbridge.refuse, eventbridge.refusals = about_item("item-03"), 1

    response = invoke(records)

    # records[0] is the order, records[4] item-03: it and every later record are to be retried.
    sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert failed_sequence_numbers(response) == sequence_numbers[4:]
    # The first call's other nine entries were accepted; the second call never happened.
    assert [len(call) for call in eventbridge.calls] == [10]
    published = [e["detail"].get("item_identifier") for e in consumer.received()]
    assert published == [
        None,
        "item-00",
        "item-01",
        "item-02",
        "item-04",
        "item-05",
        "item-06",
        "item-07",
        "item-08",
    ]

    # Lambda retries from the lowest failed sequence number: the rest goes out, some twice.
    assert invoke(records[4:]) == {"batchItemFailures": []}
    published = [e["detail"].get("item_identifier") for e in consumer.received()]
    assert published == [f"item-{n:02d}" for n in range(3, 15)]


def test_a_failed_call_fails_the_batch_from_the_first_record_of_that_call(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    records = stream.write({"orders": [order("order-1", items=[item("item-1")])]})
    eventbridge.call_failures = 1

    response = invoke(records)

    # Every record failed: reported as such (not raised), so Lambda retries the whole batch.
    assert failed_sequence_numbers(response) == [r["dynamodb"]["SequenceNumber"] for r in records]
    assert consumer.received() == []
    assert invoke(records) == {"batchItemFailures": []}
    assert len(consumer.received()) == 2


def test_records_after_an_unchanged_one_still_fail_after_a_failure(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    """A record with nothing to publish after the failed one is retried too: Lambda cannot skip it."""
    body = {"orders": [order("order-1", items=[item("item-1"), item("item-2")])]}
    first = stream.write(body)
    resend = stream.write(body)  # three records, no events
    eventbridge.refuse, eventbridge.refusals = about_item("item-2"), 1

    response = invoke(first + resend)

    assert failed_sequence_numbers(response) == [
        r["dynamodb"]["SequenceNumber"] for r in (first + resend)[2:]
    ]


def test_no_call_starts_without_time_for_it(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    records = stream.write({"orders": [order("order-1")]})

    @dataclass
    class AlmostOut(LambdaContext):
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 2_000

    response = handler.lambda_handler({"Records": records}, AlmostOut())

    assert failed_sequence_numbers(response) == [r["dynamodb"]["SequenceNumber"] for r in records]
    assert eventbridge.calls == []


def test_an_event_over_the_size_limit_fails_without_a_call(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    huge = {
        "pk": {"S": "acme#order-1"},
        "sk": {"S": "I#item-1"},
        "labels": {
            "L": [{"M": {"type": {"S": "text"}, "name": {"S": "n"}, "value": {"S": "x" * MAX_REQUEST_BYTES}}}]
        },
    }
    fine = {**huge, "sk": {"S": "I#item-2"}, "labels": {"L": []}}
    records = [stream.record(fine, None), stream.record(huge, None), stream.record(fine, None)]

    response = invoke(records)

    assert failed_sequence_numbers(response) == [r["dynamodb"]["SequenceNumber"] for r in records[1:]]
    assert [len(call) for call in eventbridge.calls] == [1]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda r: r["dynamodb"].pop("OldImage"), "without an old image"),
        (lambda r: r["dynamodb"].update(StreamViewType="KEYS_ONLY"), "KEYS_ONLY"),
        (lambda r: r["dynamodb"].pop("NewImage"), "without a new image"),
    ],
)
def test_a_record_that_cannot_be_read_is_a_failure_not_a_silent_skip(
    stream: StreamRecorder, consumer: Consumer, mutate: Callable[[dict[str, Any]], Any], reason: str
) -> None:
    invoke(stream.write({"orders": [order("order-1", concept="A")]}))
    consumer.received()
    records = stream.write({"orders": [order("order-1", concept="B")]})
    mutate(records[0])

    response = invoke(records)

    assert failed_sequence_numbers(response) == [r["dynamodb"]["SequenceNumber"] for r in records]
    assert consumer.received() == []
    bus = EventBus(boto3.client("events", region_name=REGION), BUS_NAME)
    outcome = publish_changes([DynamoDBRecord(r) for r in records], bus, source=SOURCE)
    assert outcome.failure is not None and reason in outcome.failure


# -- retried, then the dead-letter queue -------------------------------------------------------------


@dataclass
class StreamMappingHarness:
    """A stand-in for Lambda's event source mapping of a DynamoDB stream, which moto does not
    emulate. It mimics the documented behaviour the function relies on, with the stack's settings
    (infra/events.py), and nothing more:

    - records of one shard are handed over in order, up to ``batch_size`` per invocation;
    - with ReportBatchItemFailures, the lowest sequence number in ``batchItemFailures`` is the
      checkpoint: everything before it is done, and the next invocation starts there; an
      invocation that raises fails the whole batch;
    - a batch is retried up to ``max_retry_attempts`` times; then the on-failure destination (an
      SQS queue) gets the invocation record with ``DDBStreamBatchInfo`` (shard, first and last
      sequence number, batch size, stream ARN; never the records themselves), and the mapping
      moves past that batch.

    Not mimicked: bisecting a failed batch, the maximum record age, the parallelization factor,
    batching windows and the timing of retries.
    """

    sqs: Any
    dead_letter_queue_url: str
    batch_size: int = BATCH_SIZE
    max_retry_attempts: int = RETRY_ATTEMPTS
    invocations: list[list[str]] = field(default_factory=list)

    def deliver(self, records: list[dict[str, Any]]) -> None:
        position, retries = 0, 0
        while position < len(records):
            batch = records[position : position + self.batch_size]
            sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
            self.invocations.append(sequence_numbers)
            try:
                failed = failed_sequence_numbers(invoke(batch))
            except Exception:
                failed = sequence_numbers
            if not failed:
                position, retries = position + len(batch), 0
                continue
            checkpoint = sequence_numbers.index(min(failed, key=int))
            if checkpoint > 0:  # progress: the retries start again from the new checkpoint
                position, retries = position + checkpoint, 0
                continue
            if retries < self.max_retry_attempts:
                retries += 1
                continue
            self._send_to_dead_letter_queue(batch, retries + 1)
            position, retries = position + len(batch), 0

    def _send_to_dead_letter_queue(self, batch: list[dict[str, Any]], invocations: int) -> None:
        def arrival(record: dict[str, Any]) -> str:
            seconds = record["dynamodb"]["ApproximateCreationDateTime"]
            return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")

        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:order-events:live",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "1", "functionError": None},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000001700000000000-00000000",
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(batch[0]),
                "approximateArrivalOfLastRecord": arrival(batch[-1]),
                "batchSize": len(batch),
                "streamArn": batch[0]["eventSourceARN"],
            },
        }
        self.sqs.send_message(QueueUrl=self.dead_letter_queue_url, MessageBody=json.dumps(message))


@pytest.fixture
def mapping(consumer: Consumer) -> tuple[StreamMappingHarness, Consumer]:
    url = consumer.sqs.create_queue(QueueName="order-events-dead-letters")["QueueUrl"]
    return StreamMappingHarness(consumer.sqs, url), Consumer(consumer.sqs, url)


def test_a_put_that_fails_for_a_while_is_retried_and_delivered(
    stream: StreamRecorder,
    consumer: Consumer,
    eventbridge: FlakyEventBridge,
    mapping: tuple[StreamMappingHarness, Consumer],
) -> None:
    harness, dead_letters = mapping
    records = stream.write({"orders": [order("order-1", items=[item("item-1"), item("item-2")])]})
    eventbridge.refuse, eventbridge.refusals = about_item("item-1"), 3

    harness.deliver(records)

    # The batch; from item-1 on, refused twice more; then accepted.
    assert harness.invocations == [
        [r["dynamodb"]["SequenceNumber"] for r in records[n:]] for n in (0, 1, 1, 1)
    ]
    events = consumer.received()
    assert sorted({(e["detail-type"], e["detail"].get("item_identifier")) for e in events}) == [
        ("OrderCreated", None),
        ("OrderItemCreated", "item-1"),
        ("OrderItemCreated", "item-2"),
    ]
    # item-2 shared a call with the refused item-1 every time, so it went out each time: the
    # copies are the same change, with the same change_id.
    copies = [e["detail"] for e in events if e["detail"].get("item_identifier") == "item-2"]
    assert len(copies) == 4
    assert len({json.dumps(detail, sort_keys=True) for detail in copies}) == 1
    assert dead_letters.received() == []


def test_a_put_that_keeps_failing_lands_in_the_dead_letter_queue_after_the_retries(
    stream: StreamRecorder,
    consumer: Consumer,
    eventbridge: FlakyEventBridge,
    mapping: tuple[StreamMappingHarness, Consumer],
) -> None:
    harness, dead_letters = mapping
    records = stream.write({"orders": [order("order-1", items=[item("item-1"), item("item-2")])]})
    later = stream.write({"orders": [order("order-2")]})
    eventbridge.refuse = about_item("item-1")  # every time

    harness.deliver(records + later)

    sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records + later]
    # The first invocation, then the batch from item-1 on: once and RETRY_ATTEMPTS retries.
    assert harness.invocations == [sequence_numbers] + [sequence_numbers[1:]] * (RETRY_ATTEMPTS + 1)
    [dead_letter] = dead_letters.received()
    info = dead_letter["DDBStreamBatchInfo"]
    assert dead_letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (
        sequence_numbers[1],
        sequence_numbers[-1],
    )
    assert info["batchSize"] == len(sequence_numbers) - 1
    assert info["streamArn"] == STREAM_ARN
    # item-1 never went out; the order before it once; the records after it shared its call, so
    # EventBridge took them on every attempt (the same change_id each time).
    events = consumer.received()
    subjects = [(e["detail"]["order_identifier"], e["detail"].get("item_identifier")) for e in events]
    assert ("order-1", "item-1") not in subjects
    assert subjects.count(("order-1", None)) == 1
    assert set(subjects) == {
        ("order-1", None),
        ("order-1", "item-2"),
        ("order-2", None),
        ("order-2", "item-1"),
    }
    change_ids: dict[tuple[str, str | None], set[str]] = {}
    for subject, event in zip(subjects, events, strict=True):
        change_ids.setdefault(subject, set()).add(event["detail"]["change_id"])
    assert all(len(ids) == 1 for ids in change_ids.values())


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
