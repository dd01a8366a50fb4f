"""The order events function from the synthesized template, run by ``sam local invoke`` on arm64 and
Python 3.14: the stream records the API function's POST wrote (read from moto's DynamoDB stream,
as Lambda's event source mapping would hand them over) become events on the bus, which a rule
copies into a queue that this test reads."""

from __future__ import annotations

import json
from typing import Any

from tests.sam.conftest import (
    CLIENT_ID,
    EVENT_SOURCE,
    EVENTS_QUEUE_NAME,
    ORDER_IDENTIFIER,
    ORDERS_TABLE_NAME,
    TRACKING_NUMBER,
)
from tests.sam.harness import REGION, Invocation, LocalAws, Sam


def _stream_event(aws: LocalAws) -> dict[str, Any]:
    """The table's stream records, in the shape of the event Lambda's event source mapping sends."""
    streams = aws.client("dynamodbstreams")
    [stream] = streams.list_streams(TableName=ORDERS_TABLE_NAME)["Streams"]
    shards = streams.describe_stream(StreamArn=stream["StreamArn"])["StreamDescription"]["Shards"]
    # moto writes two INSERT records for an item that UpdateItem creates, DynamoDB one: the last one
    # of each key stands for it.
    records: dict[str, dict[str, Any]] = {}
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stream["StreamArn"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            record["dynamodb"].pop("ApproximateCreationDateTime", None)  # a datetime in boto3's answer
            key = json.dumps(record["dynamodb"]["Keys"], sort_keys=True)
            records[key] = {**record, "awsRegion": REGION, "eventSourceARN": stream["StreamArn"]}
    return {"Records": list(records.values())}


def _received(aws: LocalAws) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=EVENTS_QUEUE_NAME)["QueueUrl"]
    events: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return events
        events += [json.loads(message["Body"]) for message in messages]


def test_the_posted_order_is_published_as_events(
    posted_order: Invocation, sam: Sam, function_ids: dict[str, str], local_aws: LocalAws
) -> None:
    assert posted_order.payload["statusCode"] == 200
    event = _stream_event(local_aws)
    assert [record["eventName"] for record in event["Records"]] == ["INSERT"] * 3

    result = sam.invoke(function_ids["events"], event, label="order events: 3 stream records")

    # Every record published: nothing for the event source mapping to retry.
    assert result.payload == {"batchItemFailures": []}
    [published] = _received(local_aws)  # one event for the order, carrying both items
    assert (published["source"], published["detail-type"]) == (EVENT_SOURCE, "OrderCreated")
    detail = published["detail"]
    assert (detail["client_id"], detail["order_identifier"]) == (CLIENT_ID, ORDER_IDENTIFIER)
    assert detail["order"]["values"]["postal_code"] == "02134"
    assert detail["order"]["created"] and detail["order"]["change_id"] and detail["order"]["sequence_number"]
    items = {part["item_identifier"]: part for part in detail["items"]}
    assert sorted(items) == ["1", "2"]
    assert items["1"]["values"]["tracking_number"] == TRACKING_NUMBER
    assert items["1"]["values"]["quantity"] == 2
    assert "tracking_number" in detail["changed_fields"]
