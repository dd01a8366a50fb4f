"""What one stream record of the orders table tells a consumer: an order or item was created, or
some of its fields changed, or nothing they can see happened.

Only the contract's fields count, by name (``OrderValues`` and ``ItemValues``, an allow-list):
keys, ``identifier``, ``order_identifier``, the server's timestamps and any attribute another
feature keeps in a record are neither shown nor compared. So an identical re-send, which changes
nothing but ``last_received_at``, is no change, and neither is a write of some internal copy.

Records that are not an order or an item (other sort keys) and deletions (the API deletes nothing)
are no change either. A record that cannot be read (no new image, no old image on a modification:
the stream is not NEW_AND_OLD_IMAGES) raises ``UnreadableRecord``: retrying will not help, but
failing keeps it visible, and after the retries it lands in the dead-letter queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from common.order_records import ItemValues, OrderValues, RecordKey, field_names, parse_key, project
from common.tables import ORDERS_PARTITION_KEY, ORDERS_SORT_KEY

# What the table's stream must carry: both images, to tell which fields changed.
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


class UnreadableRecord(Exception):
    """A stream record this function cannot turn into a change."""


@dataclass(frozen=True, slots=True)
class OrderChange:
    key: RecordKey
    # The record's contract fields after the write (all of them, not only the changed ones).
    values: dict[str, Any]
    # None for a creation; else the contract fields whose value changed, in contract order.
    changed_fields: tuple[str, ...] | None
    # The stream record's id: the same change redelivered carries the same id.
    change_id: str
    sequence_number: str
    changed_at: datetime | None

    @property
    def created(self) -> bool:
        return self.changed_fields is None

    def fields(self) -> tuple[str, ...]:
        """What a consumer learns changed: every field it holds for a creation, else the changed ones."""
        if self.changed_fields is not None:
            return self.changed_fields
        return tuple(name for name in field_names(values_shape(self.key)) if name in self.values)


def values_shape(key: RecordKey) -> type[OrderValues] | type[ItemValues]:
    """What an event shows of the record: the contract's fields of an item, or of an order."""
    return ItemValues if key.is_item else OrderValues


def contract_values(image: dict[str, Any], shape: type[OrderValues] | type[ItemValues]) -> dict[str, Any]:
    """The contract fields present in a (deserialized) image, as JSON-ready values."""
    return {name: _json_value(value) for name, value in project(image, shape).items()}


def changed_fields(
    old: dict[str, Any], new: dict[str, Any], shape: type[OrderValues] | type[ItemValues]
) -> tuple[str, ...]:
    """The contract fields whose value differs between two contract value maps, in contract order."""
    return tuple(name for name in field_names(shape) if old.get(name) != new.get(name))


def change_from_record(record: DynamoDBRecord) -> OrderChange | None:
    """The change ``record`` describes, or None when a consumer has nothing to learn from it."""
    stream = record.dynamodb
    if stream is None:
        raise UnreadableRecord("the record has no dynamodb section")
    event_name = record.event_name
    if event_name not in (DynamoDBRecordEventName.INSERT, DynamoDBRecordEventName.MODIFY):
        return None  # REMOVE: nothing is deleted through the API, and a deletion is no event here
    view_type = stream.stream_view_type
    if view_type is not None and view_type.name != STREAM_VIEW_TYPE:
        raise UnreadableRecord(f"the stream carries {view_type.name}, this function needs {STREAM_VIEW_TYPE}")
    keys = stream.keys
    pk, sk = keys.get(ORDERS_PARTITION_KEY.name), keys.get(ORDERS_SORT_KEY.name)
    key = parse_key(pk, sk) if isinstance(pk, str) and isinstance(sk, str) else None
    if key is None:
        return None  # not an order or an item
    if stream.sequence_number is None or record.event_id is None:
        raise UnreadableRecord("the record has no sequence number or event id")
    new_image = stream.new_image
    if not new_image:
        raise UnreadableRecord(f"{event_name.name} record without a new image")
    shape = values_shape(key)
    values = contract_values(new_image, shape)
    changed: tuple[str, ...] | None = None
    if event_name is DynamoDBRecordEventName.MODIFY:
        old_image = stream.old_image
        if not old_image:
            raise UnreadableRecord("MODIFY record without an old image")
        changed = changed_fields(contract_values(old_image, shape), values, shape)
        if not changed:
            return None  # an identical re-send: only the server's timestamps moved
    created_at = stream.approximate_creation_date_time
    return OrderChange(
        key=key,
        values=values,
        changed_fields=changed,
        change_id=record.event_id,
        sequence_number=stream.sequence_number,
        changed_at=datetime.fromtimestamp(created_at, UTC) if created_at is not None else None,
    )


def _json_value(value: Any) -> Any:
    """A deserialized DynamoDB value as JSON can carry it (the API stores only strings, integers
    and lists of string maps; numbers come back from the stream as Decimal)."""
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, list):
        return [_json_value(entry) for entry in value]
    if isinstance(value, dict):
        return {str(name): _json_value(entry) for name, entry in value.items()}
    raise UnreadableRecord(f"a stored value of type {type(value).__name__} has no JSON form here")
