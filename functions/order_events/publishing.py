"""One batch of stream records in, their events out in PutEvents calls, and which records Lambda
must give back to the function.

Order. A batch comes from one stream shard, in stream order, and DynamoDB Streams keeps the changes
of one item in the order they were made. The events are sent in that order, in calls of at most ten
entries and 256 KB. At the first record that fails (it cannot be read, EventBridge refused its
event, the call failed, or there is not time left for another call), publishing stops: that record
and every record after it are reported as failed. Lambda retries a stream batch from the lowest
failed sequence number whatever else is reported, so sending later records now would only send
them twice, and possibly ahead of the earlier change of the same item.

Within one call EventBridge may accept entries after a refused one; those are sent again on the
retry. EventBridge itself does not promise to deliver in order either. Consumers therefore get
every change at least once, in order most of the time: docs/events.md says how to cope.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from order_events.changes import OrderChange, change_from_record
from order_events.event_bus import (
    CALL_WORST_CASE_SECONDS,
    MAX_ENTRIES_PER_CALL,
    MAX_REQUEST_BYTES,
    Event,
    EventBus,
    entry_size,
)


class ChangeNotPublished(Exception):
    """The record's change (or an earlier one of its batch) was not published: retry it."""


@dataclass(frozen=True)
class BatchOutcome:
    records: int
    published: int
    # Records with nothing to publish: identical re-sends, other records, deletions.
    unchanged: int
    failure: str | None = None
    # Sequence numbers of the records Lambda must retry: the first that failed and every later one.
    retry: frozenset[str] = field(default_factory=frozenset)

    def check(self, record: DynamoDBRecord) -> None:
        """Powertools' record handler: succeeds for a record that needs no retry."""
        stream = record.dynamodb
        if stream is None or stream.sequence_number in self.retry:
            raise ChangeNotPublished(self.failure or "an earlier record of the batch failed")

    def summary(self) -> dict[str, object]:
        return {
            "records": self.records,
            "published": self.published,
            "unchanged": self.unchanged,
            "retried": len(self.retry),
            "failure": self.failure,
        }


@dataclass(frozen=True, slots=True)
class _Pending:
    position: int
    event: Event


def event_for(change: OrderChange, source: str) -> Event:
    return Event(
        source=source,
        detail_type=change.detail_type,
        detail=json.dumps(change.detail(), ensure_ascii=False, separators=(",", ":")),
        time=change.changed_at,
    )


def publish_changes(
    records: Sequence[DynamoDBRecord],
    bus: EventBus,
    *,
    source: str,
    seconds_left: Callable[[], float] = lambda: float("inf"),
) -> BatchOutcome:
    """Publish the changes of ``records`` in order, stopping at the first failure."""
    pending: list[_Pending] = []
    unchanged = 0
    failed_from: int | None = None
    failure: str | None = None
    for position, record in enumerate(records):
        try:
            change = change_from_record(record)
        except Exception as error:
            failed_from, failure = position, f"record {record.event_id} unreadable: {error}"
            break
        if change is None:
            unchanged += 1
        else:
            pending.append(_Pending(position, event_for(change, source)))

    published = 0
    for chunk in _chunks(pending):
        first = chunk[0]
        if entry_size(first.event) > MAX_REQUEST_BYTES:
            failed_from, failure = (
                first.position,
                f"event of {entry_size(first.event)} bytes is over the limit",
            )
            break
        if seconds_left() < CALL_WORST_CASE_SECONDS:
            failed_from, failure = first.position, "not enough time left for another PutEvents call"
            break
        try:
            refusals = bus.put([entry.event for entry in chunk])
        except Exception as error:
            failed_from, failure = first.position, f"PutEvents failed: {error}"
            break
        refused = [(entry, reason) for entry, reason in zip(chunk, refusals, strict=True) if reason]
        if refused:
            entry, reason = refused[0]
            failed_from, failure = entry.position, f"EventBridge refused an event: {reason}"
            published += sum(1 for accepted in refusals if accepted is None)
            break
        published += len(chunk)

    retry: frozenset[str] = frozenset()
    if failed_from is not None:
        retry = frozenset(
            stream.sequence_number
            for record in records[failed_from:]
            if (stream := record.dynamodb) is not None and stream.sequence_number is not None
        )
    return BatchOutcome(
        records=len(records),
        published=published,
        unchanged=unchanged,
        failure=failure,
        retry=retry,
    )


def _chunks(pending: list[_Pending]) -> Iterator[list[_Pending]]:
    """Consecutive runs of at most ten events and ``MAX_REQUEST_BYTES``; an event over the limit
    on its own is a run of one (it is refused before any call)."""
    chunk: list[_Pending] = []
    size = 0
    for entry in pending:
        entry_bytes = entry_size(entry.event)
        if chunk and (len(chunk) == MAX_ENTRIES_PER_CALL or size + entry_bytes > MAX_REQUEST_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_bytes
    if chunk:
        yield chunk
