"""The domain logic of the API: what an upsert writes, and what a read returns."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic_core import PydanticCustomError

from common.api_responses import StoredOrder
from common.order_records import StoredItem, StoredOrderRecord, project
from common.record_bounds import RESPONSE_OVERHEAD
from forward_orders import tracking
from forward_orders.errors import OrderNotFound
from forward_orders.models import ITEM_FIELDS, ORDER_FIELDS, Item, Order, OrdersBatch
from forward_orders.models import identifier as valid_identifier
from forward_orders.paging import PageRequest, decode_cursor, encode_cursor, json_size
from forward_orders.settings import Limits
from forward_orders.storage import OrdersTable, RecordWrite, StoredValue


@dataclass(frozen=True)
class UpsertSummary:
    orders: int
    items: int


def utc_timestamp() -> str:
    """Now, as ISO 8601 UTC with milliseconds: the format of first/last_received_at."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _present(model: Order | Item, names: tuple[str, ...]) -> dict[str, StoredValue]:
    """The fields the client sent with a value; left out or null means "keep the stored value"."""
    fields: dict[str, StoredValue] = {"identifier": model.identifier}
    for name in names:
        value = getattr(model, name)
        if value is None:
            continue
        if name == "labels":
            value = [label.model_dump() for label in value]
        fields[name] = value
    return fields


def record_writes(client_id: str, batch: OrdersBatch) -> list[RecordWrite]:
    """One write per order and per item: each order record is written even when only its items
    changed, so that an order always exists once any of its items does."""
    writes = []
    for order in batch.orders:
        writes.append(RecordWrite(client_id, order.identifier, None, _present(order, ORDER_FIELDS)))
        for item in order.items:
            fields = _present(item, ITEM_FIELDS)
            fields["order_identifier"] = order.identifier
            # The normalised copies the tracking indexes are keyed on, set with the numbers they copy.
            fields.update(tracking.index_attributes(client_id, fields))
            writes.append(RecordWrite(client_id, order.identifier, item.identifier, fields))
    return writes


def upsert_orders(
    client_id: str, batch: OrdersBatch, table: OrdersTable, *, deadline_seconds: float
) -> UpsertSummary:
    """Create or merge every order and item of a validated batch; all of it, or StorageUnavailable."""
    table.upsert(
        record_writes(client_id, batch),
        received_at=utc_timestamp(),
        deadline=time.monotonic() + deadline_seconds,
    )
    return UpsertSummary(orders=len(batch.orders), items=sum(len(order.items) for order in batch.orders))


def get_order(
    client_id: str,
    identifier: str,
    table: OrdersTable,
    *,
    page: PageRequest,
    limits: Limits,
    deadline_seconds: float,
) -> StoredOrder:
    """The stored order with one page of its items, as the GET response shows it: at most
    ``page.limit`` items, within ``limits.max_response_bytes`` once serialized, and ``next_cursor``
    when more follow (paging.py)."""
    try:
        # An identifier no POST could have stored is not looked up: it is simply not found (and a
        # key over DynamoDB's size limit would be an error there, not an empty result).
        identifier = valid_identifier(identifier)
    except PydanticCustomError:
        raise OrderNotFound(identifier) from None
    after = decode_cursor(page.cursor, client_id, identifier) if page.cursor is not None else None
    stored = table.read_order(
        client_id, identifier, after=after, deadline=time.monotonic() + deadline_seconds
    )
    if stored is None:
        raise OrderNotFound(identifier)
    order: StoredOrder = {**project(stored.order, StoredOrderRecord), "items": []}
    # What the body holds besides its items, with room for the longest cursor.
    room = limits.max_response_bytes - json_size(order) - RESPONSE_OVERHEAD
    shown: list[StoredItem] = []
    for record in stored.items:
        item = project(record, StoredItem)
        room -= json_size(item) + 1  # and the comma before it
        # At least one item a page: the bounds guarantee the largest one fits (settings.Limits).
        if len(shown) == page.limit or (room < 0 and shown):
            # One more exists: the next page starts after the last one shown.
            order["next_cursor"] = encode_cursor(client_id, identifier, shown[-1]["identifier"])
            break
        shown.append(item)
    order["items"] = shown
    return order
