"""Order events when publishing fails: reported per record, retried from the first failure, and after
the retries sent to the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from forward_orders_cli.lambda_events import LocalLambdaContext
from order_events import handler
from order_events.event_bus import MAX_REQUEST_BYTES, EventBus
from order_events.publishing import publish_changes
from tests.api.order_events.streams import (
    ACCOUNT,
    BUS_NAME,
    SOURCE,
    STREAM_ARN,
    Consumer,
    FlakyEventBridge,
    StreamRecorder,
    about_item,
    about_order,
    failed_sequence_numbers,
    invoke,
)
from tests.api_calls import REGION
from tests.factories import (
    item,
    order,
)

# The retry settings of the stack's event source mapping (importing the CDK: keep jsii quiet).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
from infra.events import BATCH_SIZE, RETRY_ATTEMPTS

# -- failures: reported per record, retried from the first one --------------------------------------


def test_a_refused_event_fails_its_records_and_every_later_one_and_nothing_later_is_sent(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    orders = [order(f"order-{n:02d}", items=[item("a"), item("b")]) for n in range(15)]
    records = stream.write({"orders": orders})
    eventbridge.refuse, eventbridge.refusals = about_order("order-03"), 1

    response = invoke(records)

    # Three records per order: order-03's first record is records[9]; it and every later record
    # are to be retried.
    sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert failed_sequence_numbers(response) == sequence_numbers[9:]
    # The first call's other nine entries were accepted; the second call never happened.
    assert [len(call) for call in eventbridge.calls] == [10]
    published = [e["detail"]["order_identifier"] for e in consumer.received()]
    assert published == [f"order-{n:02d}" for n in (0, 1, 2, 4, 5, 6, 7, 8, 9)]

    # Lambda retries from the lowest failed sequence number: the rest goes out, some twice.
    assert invoke(records[9:]) == {"batchItemFailures": []}
    published = [e["detail"]["order_identifier"] for e in consumer.received()]
    assert published == [f"order-{n:02d}" for n in range(3, 15)]


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
    [event] = consumer.received()
    assert len(event["detail"]["items"]) == 1


def test_records_after_an_unchanged_one_still_fail_after_a_failure(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    """A record with nothing to publish after the failed one is retried too: Lambda cannot skip it."""
    body = {"orders": [order("order-1", items=[item("item-1"), item("item-2")])]}
    first = stream.write(body)
    second = stream.write({"orders": [order("order-2")]})
    resend = stream.write(body)  # three records, no events
    eventbridge.refuse, eventbridge.refusals = about_order("order-2"), 1

    response = invoke(first + second + resend)

    assert failed_sequence_numbers(response) == [r["dynamodb"]["SequenceNumber"] for r in second + resend]


def test_an_event_carrying_a_record_before_the_failure_point_moves_the_point_back(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    """order-1's records come before and after order-2's: its one event carries both, so when it is
    refused the batch is retried from order-1's first record, not from where order-2 failed."""
    first = stream.write({"orders": [order("order-1", concept="A")]})
    other = stream.write({"orders": [order("order-2")]})
    again = stream.write({"orders": [order("order-1", concept="B")]})
    eventbridge.refuse, eventbridge.refusals = about_order("order-1"), 1

    response = invoke(first + other + again)

    everything = [r["dynamodb"]["SequenceNumber"] for r in first + other + again]
    assert failed_sequence_numbers(response) == everything
    assert [e["detail"]["order_identifier"] for e in consumer.received()] == ["order-2"]
    assert invoke(first + other + again) == {"batchItemFailures": []}
    latest = {e["detail"]["order_identifier"]: e["detail"]["order"]["values"] for e in consumer.received()}
    assert latest["order-1"] == {"concept": "B"}


def test_no_call_starts_without_time_for_it(
    stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    records = stream.write({"orders": [order("order-1")]})

    almost_out = LocalLambdaContext(function_name="forward-orders-order-events", timeout_seconds=2.0)
    response = handler.lambda_handler({"Records": records}, almost_out)

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


@dataclass
class RefusedItem:
    """order-1's records (the order, item-1, item-2), EventBridge refusing the event carrying
    item-1 (order-1's: every time unless the test sets ``eventbridge.refusals``), and the mapping
    that delivers them."""

    records: list[dict[str, Any]]
    harness: StreamMappingHarness
    dead_letters: Consumer


@pytest.fixture
def refused_item(stream: StreamRecorder, consumer: Consumer, eventbridge: FlakyEventBridge) -> RefusedItem:
    url = consumer.sqs.create_queue(QueueName="order-events-dead-letters")["QueueUrl"]
    eventbridge.refuse = about_item("item-1")
    records = stream.write({"orders": [order("order-1", items=[item("item-1"), item("item-2")])]})
    return RefusedItem(records, StreamMappingHarness(consumer.sqs, url), Consumer(consumer.sqs, url))


def test_a_put_that_fails_for_a_while_is_retried_and_delivered(
    refused_item: RefusedItem, consumer: Consumer, eventbridge: FlakyEventBridge
) -> None:
    records, harness, dead_letters = refused_item.records, refused_item.harness, refused_item.dead_letters
    eventbridge.refusals = 3

    harness.deliver(records)

    # The batch, refused three times (the order's event carries its first record), then accepted.
    assert harness.invocations == [[r["dynamodb"]["SequenceNumber"] for r in records]] * 4
    [event] = consumer.received()
    assert event["detail-type"] == "OrderCreated"
    assert [part["item_identifier"] for part in event["detail"]["items"]] == ["item-1", "item-2"]
    assert dead_letters.received() == []


def test_a_put_that_keeps_failing_lands_in_the_dead_letter_queue_after_the_retries(
    refused_item: RefusedItem, stream: StreamRecorder, consumer: Consumer
) -> None:
    harness, dead_letters = refused_item.harness, refused_item.dead_letters
    records = refused_item.records  # order-1's event refused every time
    later = stream.write({"orders": [order("order-2")]})

    harness.deliver(records + later)

    sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records + later]
    # The first invocation and RETRY_ATTEMPTS retries, all of the batch.
    assert harness.invocations == [sequence_numbers] * (RETRY_ATTEMPTS + 1)
    [dead_letter] = dead_letters.received()
    info = dead_letter["DDBStreamBatchInfo"]
    assert dead_letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (
        sequence_numbers[0],
        sequence_numbers[-1],
    )
    assert info["batchSize"] == len(sequence_numbers)
    assert info["streamArn"] == STREAM_ARN
    # order-1 never went out; order-2 shared its call, so EventBridge took it on every attempt,
    # each copy the same event with the same change_id.
    events = consumer.received()
    assert [e["detail"]["order_identifier"] for e in events] == ["order-2"] * (RETRY_ATTEMPTS + 1)
    assert len({json.dumps(e["detail"], sort_keys=True) for e in events}) == 1
