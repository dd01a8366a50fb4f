"""One batch of stream records in, its events out in PutEvents calls, and which records Lambda
must give back to the function.

The batch's changes become one event per changed order (``grouping``), published in the order of
each order's first record, in calls of at most ten entries and 256 KB. At the first event that
fails (EventBridge refused it, the call failed, or there is not time left for another call),
publishing stops; so it does at a record that cannot be read, whose changes and those after it are
not published at all. Every record from the earliest one an unpublished event carries (or the
unreadable record) is reported as failed: Lambda retries a stream batch from the lowest failed
sequence number whatever else is reported, so sending later events now would only send them twice,
and possibly ahead of an earlier change of the same order.

Within one call EventBridge may accept entries after a refused one, and records after the retry
point may belong to events already sent; those go out again on the retry. EventBridge itself does
not promise to deliver in order either. Consumers therefore get every change at least once, in
order most of the time: docs/events.md says how to cope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from order_events.changes import OrderChange, change_from_record
from order_events.event_bus import (
    CALL_WORST_CASE_SECONDS,
    MAX_ENTRIES_PER_CALL,
    MAX_REQUEST_BYTES,
    EventBus,
    entry_size,
)
from order_events.grouping import PendingEvent, order_events


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


def publish_changes(
    records: Sequence[DynamoDBRecord],
    bus: EventBus,
    *,
    source: str,
    seconds_left: Callable[[], float] = lambda: float("inf"),
) -> BatchOutcome:
    """Publish the changes of ``records`` in order, stopping at the first failure."""
    changes: list[tuple[int, OrderChange]] = []
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
            changes.append((position, change))

    pending = order_events(changes, source)
    published = 0
    unpublished: int | None = None  # the index in ``pending`` of the first event not published
    start = 0
    for chunk in _chunks(pending):
        sent = _send(chunk, bus, seconds_left)
        published += sent.accepted
        if sent.failure is None:
            start += len(chunk)
            continue
        unpublished, failure = start + sent.first_unpublished, sent.failure
        break
    if unpublished is not None:
        earliest = min(entry.first_position for entry in pending[unpublished:])
        failed_from = earliest if failed_from is None else min(failed_from, earliest)

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


@dataclass(frozen=True, slots=True)
class _Sent:
    accepted: int  # events EventBridge took
    first_unpublished: int = 0  # the chunk's first event not published, when one failed
    failure: str | None = None


def _send(chunk: list[PendingEvent], bus: EventBus, seconds_left: Callable[[], float]) -> _Sent:
    """One PutEvents call with ``chunk``'s events, unless the first is over the limit or there is
    not time left for it."""
    first = chunk[0]
    if entry_size(first.event) > MAX_REQUEST_BYTES:
        return _Sent(0, failure=f"event of {entry_size(first.event)} bytes is over the limit")
    if seconds_left() < CALL_WORST_CASE_SECONDS:
        return _Sent(0, failure="not enough time left for another PutEvents call")
    try:
        refusals = bus.put([entry.event for entry in chunk])
    except Exception as error:
        return _Sent(0, failure=f"PutEvents failed: {error}")
    accepted = sum(1 for reason in refusals if reason is None)
    refused = [index for index, reason in enumerate(refusals) if reason]
    if not refused:
        return _Sent(accepted)
    return _Sent(accepted, refused[0], f"EventBridge refused an event: {refusals[refused[0]]}")


def _chunks(pending: list[PendingEvent]) -> Iterator[list[PendingEvent]]:
    """Consecutive runs of at most ten events and ``MAX_REQUEST_BYTES``; an event over the limit
    on its own is a run of one (it is refused before any call)."""
    chunk: list[PendingEvent] = []
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
