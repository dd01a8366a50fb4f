"""How orders and items are laid out as records of the orders table.

The API function writes these records and the order events function reads them back from the
table's stream, so the layout is defined here, once:

- one partition per client and order: ``pk = "<client_id>#<order identifier>"``. Client ids cannot
  contain "#" but order identifiers can, so a partition key splits on its *first* "#";
- the order record has ``sk = "ORDER"``; each item ``sk = "I#<item identifier>"``. The item prefix
  is short on purpose: DynamoDB allows 1,024 bytes of sort key, and an identifier of 255 four-byte
  characters is 1,020;
- besides the keys, a record holds ``identifier``, the contract fields the client sent
  (``ORDER_FIELDS`` or ``ITEM_FIELDS``), the server's ``first_received_at`` and ``last_received_at``,
  and on items ``order_identifier``. Other features may add attributes of their own (copies kept
  for an index, say): code that hands records to the outside names the fields it shows, it never
  passes a record through as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Required, TypeVar, cast

from pydantic import ConfigDict, Field, with_config

# pydantic (which the OpenAPI generator asks for their JSON Schema) needs typing_extensions'
# TypedDict before Python 3.12.
from typing_extensions import TypedDict

ORDER_SORT_KEY = "ORDER"
ITEM_SORT_KEY_PREFIX = "I#"
PARTITION_SEPARATOR = "#"
FIRST_RECEIVED = "first_received_at"
LAST_RECEIVED = "last_received_at"

# Order and item identifiers, in code points (the contract's limit).
MAX_IDENTIFIER_LENGTH = 255
# Client ids (common.api_keys.CLIENT_ID_PATTERN).
MAX_CLIENT_ID_LENGTH = 64
# DynamoDB's limits on key values, in bytes of UTF-8.
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
_MAX_UTF8_BYTES_PER_CODE_POINT = 4

# The longest identifier must fit in both keys whatever its characters: checked as the module loads,
# so raising MAX_IDENTIFIER_LENGTH past what the layout allows fails every function and test at once.
if (
    len(ITEM_SORT_KEY_PREFIX) + _MAX_UTF8_BYTES_PER_CODE_POINT * MAX_IDENTIFIER_LENGTH > MAX_SORT_KEY_BYTES
    or MAX_CLIENT_ID_LENGTH
    + len(PARTITION_SEPARATOR)
    + _MAX_UTF8_BYTES_PER_CODE_POINT * MAX_IDENTIFIER_LENGTH
    > MAX_PARTITION_KEY_BYTES
):
    raise ValueError("MAX_IDENTIFIER_LENGTH does not fit the table's key sizes")

# Quantities are counts of units in one order line; the bound keeps them in every client's int32.
MAX_QUANTITY = 2_147_483_647
LABEL_TYPES = ("barcode", "text")

# -- the stored shapes: what GET, the tracking lookup and the order events show of a record --------
# Static types only (no validation at run time); the OpenAPI document is generated from them.

# The OpenAPI formats of the two kinds of date (cli/forward_orders_cli/openapi.py gives each its
# pattern): a date or date-time, and a date-time with its zone (updated_at).
DATE_FORMAT = "date-or-date-time"
INSTANT_FORMAT = "date-time-with-zone"

Text = Annotated[str, Field(min_length=1, description="Stored as sent, trimmed.")]
StoredDate = Annotated[
    str,
    Field(
        description="An ISO 8601 date or date-time, exactly as sent (trimmed).",
        json_schema_extra={"format": DATE_FORMAT},
    ),
]
Identifier = Annotated[str, Field(min_length=1, max_length=MAX_IDENTIFIER_LENGTH)]
UpdatedAtText = Annotated[
    str,
    Field(
        description="The newest updated_at the record was written with, exactly as sent (trimmed).",
        json_schema_extra={"format": INSTANT_FORMAT},
    ),
]
# Beside updated_at, the instant it stands for (microseconds since 0001-01-01T00:00:00Z): what a
# versioned write's condition compares (docs/design.md, "Versioned writes"). Never shown.
VERSION = "updated_at_us"
ReceivedAt = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


# Responses carry nothing else of a record: the shapes say so (additionalProperties false).
SHOWN_CONFIG = ConfigDict(extra="forbid")


@with_config(SHOWN_CONFIG)
class StoredLabel(TypedDict):
    type: Literal["barcode", "text"]
    name: Text
    value: Text


class OrderValues(TypedDict, total=False):
    """The contract's fields of an order apart from its identifier and items: those a client sent
    (a field never sent is absent). An update may leave any of them out; they keep their value."""

    concept: Annotated[str, Field(min_length=1, description="The brand.")]
    postal_code: Text
    created_at: StoredDate
    updated_at: UpdatedAtText


class ItemValues(TypedDict, total=False):
    """The contract's fields of an item apart from its identifier (every request sends the first
    three)."""

    upc: Required[Text]
    sku: Required[Text]
    quantity: Required[Annotated[int, Field(ge=1, le=MAX_QUANTITY)]]
    tracking_number: Text
    reverse_tracking_number: Text
    dropship_identifier: Text
    shipped_date: StoredDate
    return_policy_end_date: StoredDate
    labels: Annotated[list[StoredLabel], Field(description="As last sent, as a whole.")]
    updated_at: UpdatedAtText


class _Identified(TypedDict):
    identifier: Identifier


class _Received(TypedDict):
    first_received_at: Annotated[
        ReceivedAt, Field(description="When the server first stored this record (UTC, set once).")
    ]
    last_received_at: Annotated[
        ReceivedAt, Field(description="When the server last wrote this record (UTC, every write).")
    ]


# Key order is the order a response shows: identifier, the contract's fields, the timestamps.
@with_config(SHOWN_CONFIG)
class StoredOrderRecord(_Identified, OrderValues, _Received):
    """An order record as shown (GET answers it with its items)."""


@with_config(SHOWN_CONFIG)
class StoredItem(_Identified, ItemValues, _Received):
    """An item as GET and the tracking lookup show it."""


def field_names(shape: type[Any]) -> tuple[str, ...]:
    """The keys of a stored shape, in order."""
    return tuple(shape.__annotations__)


# The contract's fields of an order and of an item, in contract order.
ORDER_FIELDS = field_names(OrderValues)
ITEM_FIELDS = field_names(ItemValues)

Shape = TypeVar("Shape", bound=Mapping[str, Any])


def project(record: Mapping[str, Any], shape: type[Shape]) -> Shape:
    """The part of a stored record that ``shape`` shows, in its order: the one place that decides
    what of a record leaves the service (records also hold keys and copies kept for indexes)."""
    return cast(Shape, {name: record[name] for name in field_names(shape) if name in record})


def partition_key(client_id: str, order_identifier: str) -> str:
    return f"{client_id}{PARTITION_SEPARATOR}{order_identifier}"


def sort_key(item_identifier: str | None) -> str:
    return ORDER_SORT_KEY if item_identifier is None else ITEM_SORT_KEY_PREFIX + item_identifier


@dataclass(frozen=True, slots=True)
class RecordKey:
    """Whose record it is: an order (``item_identifier`` None) or one of its items."""

    client_id: str
    order_identifier: str
    item_identifier: str | None

    @property
    def is_item(self) -> bool:
        return self.item_identifier is not None


def parse_key(pk: str, sk: str) -> RecordKey | None:
    """The order or item a record's keys name; None for keys that are neither (a record some
    other feature keeps in the table) or that no write of the API could have produced."""
    client_id, separator, order_identifier = pk.partition(PARTITION_SEPARATOR)
    if not separator or not client_id or not order_identifier:
        return None
    if sk == ORDER_SORT_KEY:
        return RecordKey(client_id, order_identifier, None)
    if sk.startswith(ITEM_SORT_KEY_PREFIX) and len(sk) > len(ITEM_SORT_KEY_PREFIX):
        return RecordKey(client_id, order_identifier, sk[len(ITEM_SORT_KEY_PREFIX) :])
    return None
