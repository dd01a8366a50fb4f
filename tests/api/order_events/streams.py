"""The orders table's stream and a consumer of the events, for the order events tests.

Order events: stream records of real writes in, events out through moto's EventBridge.

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
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from order_events import handler
from order_events.changes import STREAM_VIEW_TYPE
from tests.api_calls import ORDERS_TABLE_NAME, REGION, lambda_context, post_orders
from tests.factories import (
    client_error,
    scan,
)

BUS_NAME = "test-order-events"
SOURCE = "forward-orders"
ACCOUNT = "123456789012"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{ORDERS_TABLE_NAME}/stream/2026-01-01T00:00:00.000"
SERVER_ATTRIBUTES = {"pk", "sk", "identifier", "order_identifier", "first_received_at", "last_received_at"}


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


def invoke(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The function, invoked as the event source mapping does."""
    response: dict[str, Any] = handler.lambda_handler(
        {"Records": records}, lambda_context("forward-orders-order-events")
    )
    return response


def failed_sequence_numbers(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def parts(event: dict[str, Any]) -> list[dict[str, Any]]:
    """An event's order part (when it has one) and item parts."""
    detail = event["detail"]
    return ([detail["order"]] if "order" in detail else []) + detail["items"]


def by_subject(events: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """Every order's and item's part of ``events``, keyed by (order identifier, item identifier or
    None), with its event's detail-type, client and time added. An item is in one event at most;
    an order's part is repeated only in the events an order too large for one is split into."""
    keyed: dict[tuple[str, str | None], dict[str, Any]] = {}
    for event in events:
        detail = event["detail"]
        for part in parts(event):
            subject = (detail["order_identifier"], part.get("item_identifier"))
            shown = {
                **part,
                "detail-type": event["detail-type"],
                "client_id": detail["client_id"],
                "time": event["time"],
            }
            if subject in keyed:
                assert subject[1] is None and keyed[subject] == shown, f"{subject} in two events"
            keyed[subject] = shown
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


def about_item(identifier: str, order_identifier: str = "order-1") -> Callable[[dict[str, Any]], bool]:
    """Matches the event that carries the item's change."""

    def matches(entry: dict[str, Any]) -> bool:
        detail = json.loads(entry["Detail"])
        return detail["order_identifier"] == order_identifier and any(
            part["item_identifier"] == identifier for part in detail["items"]
        )

    return matches


def about_order(order_identifier: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the events of the order."""

    def matches(entry: dict[str, Any]) -> bool:
        return bool(json.loads(entry["Detail"])["order_identifier"] == order_identifier)

    return matches
