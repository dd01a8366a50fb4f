"""The domain logic of the API: what an upsert writes, and what a read returns."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic_core import PydanticCustomError

from common.api_responses import MAX_PROBLEMS, MAX_STALE_SHOWN, OrderResult, StoredOrder, UpsertResult
from common.order_records import StoredItem, StoredOrderRecord, project
from common.record_bounds import RESPONSE_OVERHEAD
from forward_orders import batch_reader, tracking
from forward_orders.batch_reader import OrdersReading
from forward_orders.eligibility import last_instant
from forward_orders.errors import OrderNotFound
from forward_orders.models import ITEM_FIELDS, ORDER_FIELDS, Item, Order
from forward_orders.models import identifier as valid_identifier
from forward_orders.paging import PageRequest, decode_cursor, encode_cursor, json_size
from forward_orders.settings import Limits
from forward_orders.storage import OrdersTable, RecordWrite, StoredValue


@dataclass(frozen=True)
class UpsertOutcome:
    """What an upsert did: the order and item records it wrote, and the writes it skipped because
    their record already holds a newer ``updated_at``."""

    orders: int
    items: int
    stale: list[RecordWrite]


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


def record_writes(client_id: str, orders: Sequence[Order]) -> list[RecordWrite]:
    """One write per order and per item: each order record is written even when only its items
    changed, so that an order always exists once any of its items does. An item without its own
    ``updated_at`` takes its order's; a write with one is versioned by its instant."""
    writes = []
    for order in orders:
        writes.append(
            RecordWrite(
                client_id, order.identifier, None, _present(order, ORDER_FIELDS), _version(order.updated_at)
            )
        )
        for item in order.items:
            fields = _present(item, ITEM_FIELDS)
            updated_at = item.updated_at or order.updated_at
            if updated_at is not None:
                fields["updated_at"] = updated_at
            fields["order_identifier"] = order.identifier
            # The normalised copies the tracking indexes are keyed on, set with the numbers they copy.
            fields.update(tracking.index_attributes(client_id, fields))
            writes.append(
                RecordWrite(client_id, order.identifier, item.identifier, fields, _version(updated_at))
            )
    return writes


def _version(updated_at: str | None) -> int | None:
    """The instant an ``updated_at`` stands for (validated: a date-time with an offset), in
    microseconds: what a versioned write compares, so 12:00:00+02:00 is older than 11:00:00Z."""
    return last_instant(updated_at) if updated_at is not None else None


def upsert_orders(
    client_id: str, orders: Sequence[Order], table: OrdersTable, *, deadline_seconds: float
) -> UpsertOutcome:
    """Create or merge every order and item of validated orders, each record unless it holds a
    newer ``updated_at``; all of that, or StorageUnavailable."""
    writes = record_writes(client_id, orders)
    stale = table.upsert(writes, received_at=utc_timestamp(), deadline=time.monotonic() + deadline_seconds)
    skipped_orders = sum(1 for write in stale if write.item_identifier is None)
    return UpsertOutcome(
        orders=len(orders) - skipped_orders,
        items=len(writes) - len(orders) - (len(stale) - skipped_orders),
        stale=stale,
    )


@dataclass(frozen=True)
class UpsertReply:
    """What a POST answers: its body, and how many orders it refused (per-order mode only)."""

    outcome: UpsertOutcome
    body: UpsertResult
    rejected: int


def upsert_body(
    client_id: str,
    data: Any,
    table: OrdersTable,
    *,
    per_order: bool,
    limits: Limits,
    deadline_seconds: float,
) -> UpsertReply:
    """Validate parsed JSON and store it: all of it or a 422 (v1), or, ``per_order``, each valid
    order (the invalid ones named in the body's results)."""
    if not per_order:
        batch = batch_reader.read_batch(data, limits)
        outcome = upsert_orders(client_id, batch.orders, table, deadline_seconds=deadline_seconds)
        return UpsertReply(outcome, upsert_result(outcome), rejected=0)
    reading = batch_reader.read_orders(data, limits)
    valid = [order for _, order in reading.accepted]
    outcome = upsert_orders(client_id, valid, table, deadline_seconds=deadline_seconds)
    return UpsertReply(
        outcome, upsert_result(outcome, order_results(reading, outcome)), rejected=len(reading.rejected)
    )


def upsert_result(outcome: UpsertOutcome, results: list[OrderResult] | None = None) -> UpsertResult:
    """The 200 (or 207) body of an upsert: the records written, the stale ones (when any), and
    each order's result in per-order mode."""
    result: UpsertResult = {
        "message": "Success",
        "orders_upserted": outcome.orders,
        "items_upserted": outcome.items,
    }
    if outcome.stale:
        result["stale"] = [
            {"order_identifier": write.order_identifier, "item_identifier": write.item_identifier}
            for write in outcome.stale[:MAX_STALE_SHOWN]
        ]
        result["stale_count"] = len(outcome.stale)
    if results is not None:
        result["results"] = results
    return result


def order_results(reading: OrdersReading, outcome: UpsertOutcome) -> list[OrderResult]:
    """Each order's result, in body order: stored, rejected (with its problems), or stale (every
    record of it older than what is stored). The rejected orders' problems share one budget of
    MAX_PROBLEMS, as a 422's do, but each shows at least its first: the body stays bounded
    (common.record_bounds.upsert_response_bytes) and every rejection says why."""
    records: dict[str, int] = {}
    for write in outcome.stale:
        records[write.order_identifier] = records.get(write.order_identifier, 0) + 1
    results: dict[int, OrderResult] = {}
    for index, order in reading.accepted:
        stale = records.get(order.identifier, 0) == 1 + len(order.items)
        results[index] = {
            "index": index,
            "identifier": order.identifier,
            "status": "stale" if stale else "stored",
        }
    budget = MAX_PROBLEMS
    for rejected in sorted(reading.rejected, key=lambda entry: entry.index):
        shown = rejected.problems[: max(1, budget)]
        budget -= len(shown)
        results[rejected.index] = {
            "index": rejected.index,
            "identifier": rejected.identifier,
            "status": "rejected",
            "errors": shown,
        }
    return [results[index] for index in sorted(results)]


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
