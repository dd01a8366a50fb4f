"""The largest record and change event the field bounds allow, computed from the bounds alone.

Every string field the API stores has a maximum length in characters (the API function's
``Limits``), and every character is at most 4 bytes of UTF-8 in DynamoDB, at most 6 bytes once
case-folded (the tracking indexes' copies: U+1FF7 folds to three 2-byte characters) and at most 6
bytes in an event's JSON (a control character is written ``\\u0001``). From those the largest item
record by DynamoDB's size rules and the largest change event by EventBridge's are bounded here,
generously: the bounds are upper bounds, and the tests build the worst cases and measure them
(docs/design.md, "The size arithmetic"). ``Limits`` refuses bounds whose worst case is over
``MAX_RECORD_BYTES`` or ``MAX_EVENT_BYTES``, so no configuration can let a valid request make a
record DynamoDB refuses or an event EventBridge refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from common.api_responses import MAX_PROBLEMS, MAX_STALE_SHOWN
from common.order_records import (
    ITEM_FIELDS,
    MAX_CLIENT_ID_LENGTH,
    MAX_IDENTIFIER_LENGTH,
    ORDER_FIELDS,
)

# DynamoDB refuses items over 400 KB; EventBridge entries over 256 KB. The bounds keep a record and
# an event at most three quarters of that, leaving room for attributes other features add.
DYNAMODB_ITEM_LIMIT = 400 * 1024
EVENTBRIDGE_ENTRY_LIMIT = 256 * 1024
MAX_RECORD_BYTES = 300_000
MAX_EVENT_BYTES = 192_000

UTF8_BYTES = 4  # the most a character takes in UTF-8
FOLDED_BYTES = 6  # the most a character takes once case-folded (str.casefold)
JSON_BYTES = 6  # the most a character takes in JSON without ASCII escaping (\u0001)
# The most a character takes in a response's JSON, which escapes every non-ASCII character
# (an emoji is a surrogate pair: \ud83d\ude00).
ESCAPED_JSON_BYTES = 12
# A generous allowance for each attribute's name, type and framing, and for each JSON member's
# name, quotes and separators; the attributes' names are all shorter than this.
PER_ATTRIBUTE = 64
# Server-kept and layout attributes of a record: keys, timestamps, index copies' names, ...
RECORD_OVERHEAD = 1024
# An event's fixed parts: source, detail type, time, the client, the event's change id, framing.
EVENT_OVERHEAD = 2048
# Each order or item part of an event: ``created``, its change id and sequence number, framing.
EVENT_PART_OVERHEAD = 512
# A response's parts besides its items: the order's own fields (each at most 255 characters,
# escaped), the next cursor, the lookup's framing.
RESPONSE_OVERHEAD = 32 * 1024
# A number attribute (quantity) in DynamoDB: at most 21 bytes; in JSON: at most 10 digits.
NUMBER_BYTES = 21


class FieldBounds(Protocol):
    """What the bounds of the API function's ``Limits`` are made of."""

    @property
    def max_labels_per_item(self) -> int: ...
    @property
    def max_concept_length(self) -> int: ...
    @property
    def max_postal_code_length(self) -> int: ...
    @property
    def max_upc_length(self) -> int: ...
    @property
    def max_sku_length(self) -> int: ...
    @property
    def max_tracking_number_length(self) -> int: ...
    @property
    def max_dropship_identifier_length(self) -> int: ...
    @property
    def max_date_length(self) -> int: ...
    @property
    def max_label_name_length(self) -> int: ...
    @property
    def max_label_value_length(self) -> int: ...


def field_lengths(bounds: FieldBounds) -> dict[str, int]:
    """The longest value of each string field of an order and of an item, in characters (dates
    are ASCII by their format; quantity is a number; labels are counted by ``label_length``)."""
    lengths = {
        "concept": bounds.max_concept_length,
        "postal_code": bounds.max_postal_code_length,
        "created_at": bounds.max_date_length,
        "upc": bounds.max_upc_length,
        "sku": bounds.max_sku_length,
        "tracking_number": bounds.max_tracking_number_length,
        "reverse_tracking_number": bounds.max_tracking_number_length,
        "dropship_identifier": bounds.max_dropship_identifier_length,
        "shipped_date": bounds.max_date_length,
        "return_policy_end_date": bounds.max_date_length,
        "updated_at": bounds.max_date_length,
    }
    missing = set(ORDER_FIELDS + ITEM_FIELDS) - set(lengths) - {"quantity", "labels"}
    if missing:
        raise ValueError(f"no bound for the fields {sorted(missing)}: add them here and to Limits")
    return lengths


@dataclass(frozen=True)
class RecordBounds:
    item_bytes: int  # the largest item record, by DynamoDB's size rules
    # The largest event holding an order's change and one item's, by EventBridge's size rules (an
    # event of an order holds the order's change and as many items as fit MAX_EVENT_BYTES).
    event_bytes: int
    shown_item_bytes: int  # the largest item as a response shows it (JSON, non-ASCII escaped)


def record_bounds(bounds: FieldBounds) -> RecordBounds:
    """Upper bounds of the largest item record, order event with one item, and shown item ``bounds``
    allow. (An item is larger than its order: an order record holds four short fields.)"""
    lengths = field_lengths(bounds)
    item_text = sum(lengths[name] for name in ITEM_FIELDS if name in lengths)
    tracking = 2 * bounds.max_tracking_number_length
    label = bounds.max_label_name_length + bounds.max_label_value_length + len("barcode")
    labels = bounds.max_labels_per_item * (label * UTF8_BYTES + 3 * PER_ATTRIBUTE)
    identifiers = 3 * MAX_IDENTIFIER_LENGTH  # identifier, order identifier, sort key
    item_bytes = (
        RECORD_OVERHEAD
        + MAX_CLIENT_ID_LENGTH * 2  # in the partition key and the index sort key
        + (identifiers + item_text) * UTF8_BYTES
        + tracking * FOLDED_BYTES  # the tracking indexes' case-folded copies
        + NUMBER_BYTES
        + labels
        + len(ITEM_FIELDS) * PER_ATTRIBUTE
    )
    event_labels = bounds.max_labels_per_item * (label * JSON_BYTES + 3 * PER_ATTRIBUTE)
    order_text = sum(lengths[name] for name in ORDER_FIELDS)
    event_bytes = (
        EVENT_OVERHEAD
        + MAX_CLIENT_ID_LENGTH
        + 2 * MAX_IDENTIFIER_LENGTH * JSON_BYTES  # order and item identifiers
        + len(ORDER_FIELDS + ITEM_FIELDS) * PER_ATTRIBUTE  # the event's changed_fields
        + EVENT_PART_OVERHEAD  # the order's part
        + order_text * JSON_BYTES
        + 2 * len(ORDER_FIELDS) * PER_ATTRIBUTE  # its values and changed_fields
        + EVENT_PART_OVERHEAD  # the item's part
        + item_text * JSON_BYTES
        + NUMBER_BYTES
        + event_labels
        + 2 * len(ITEM_FIELDS) * PER_ATTRIBUTE  # its values and changed_fields
    )
    shown_labels = bounds.max_labels_per_item * (label * ESCAPED_JSON_BYTES + 3 * PER_ATTRIBUTE)
    shown_item_bytes = (
        RECORD_OVERHEAD
        + (MAX_IDENTIFIER_LENGTH + item_text) * ESCAPED_JSON_BYTES
        + NUMBER_BYTES
        + shown_labels
        + len(ITEM_FIELDS) * PER_ATTRIBUTE
    )
    return RecordBounds(item_bytes=item_bytes, event_bytes=event_bytes, shown_item_bytes=shown_item_bytes)


# An upsert's answer (a 200, or a 207 with each order's result): a problem's path, code and message
# are the service's own words (no request value), far below this; a result's or a stale record's
# framing is below PER_ATTRIBUTE per member.
PROBLEM_BYTES = 512
_SHOWN_IDENTIFIER = MAX_IDENTIFIER_LENGTH * ESCAPED_JSON_BYTES + 2


def upsert_response_bytes(max_orders: int) -> int:
    """An upper bound of a POST's answer when a request holds at most ``max_orders`` orders: each
    order's result (its identifier, at least one problem), MAX_PROBLEMS problems more, and
    MAX_STALE_SHOWN stale records (an order's and an item's identifier each)."""
    result = 4 * PER_ATTRIBUTE + _SHOWN_IDENTIFIER + PROBLEM_BYTES
    stale = 2 * PER_ATTRIBUTE + 2 * _SHOWN_IDENTIFIER
    return EVENT_OVERHEAD + max_orders * result + MAX_PROBLEMS * PROBLEM_BYTES + MAX_STALE_SHOWN * stale
