"""Every DynamoDB call of the API function: the orders table.

Layout (keys defined in ``common.tables.ORDERS_TABLE``): one partition per client and order,
``pk = "<client_id>#<order identifier>"`` (client ids cannot contain "#"); the order record has
``sk = "ORDER"`` and each item ``sk = "I#<item identifier>"``. The item prefix is short on purpose:
DynamoDB allows 1,024 bytes of sort key, and an identifier of 255 four-byte characters is 1,020.

Writes are one UpdateItem per record, all records of a request in flight at once on a shared
thread pool. ``SET`` of only the fields a request carries is what makes an update a merge: absent
fields keep their stored value, and two concurrent writers never erase each other's fields or items.
Failed calls that may succeed later (throttling, 5xx, timeouts, connection errors) are retried here
with exponential backoff and full jitter, bounded by attempts and by the request's deadline; what
still fails becomes ``StorageUnavailable`` (502 with Retry-After). See docs/design.md.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

# The record layout (key prefixes, the partition key's separator, the timestamps) is shared with the
# order events function.
from common.order_records import (
    FIRST_RECEIVED,
    ITEM_SORT_KEY_PREFIX,
    LAST_RECEIVED,
    ORDER_SORT_KEY,
    PARTITION_SEPARATOR,
    VERSION,
    partition_key,
    sort_key,
)
from common.tables import ORDERS_PARTITION_KEY, ORDERS_SORT_KEY, TRACKING_CLIENT_KEY, TRACKING_INDEXES
from forward_orders.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

T = TypeVar("T")

PK = ORDERS_PARTITION_KEY.name
SK = ORDERS_SORT_KEY.name
# Attributes that are storage layout, not order or item fields.
_LAYOUT_ATTRIBUTES = frozenset({PK, SK})

# Error codes DynamoDB answers when a later attempt may succeed.
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)

StoredValue = str | int | list[dict[str, str]]
# What DynamoDB answers when a write's condition does not hold: here, a stale versioned write.
STALE_CODE = "ConditionalCheckFailedException"
# An order's items are read in Queries of this many, doubling up to the most (see read_order).
_FIRST_ITEMS = 16
_MOST_ITEMS = 256
# BatchGetItem reads at most this many keys per call.
_BATCH_GET_LIMIT = 100
_SYSTEM_RANDOM = random.SystemRandom()


@dataclass(frozen=True, slots=True)
class RecordWrite:
    """The fields one request sends for one order or item record (absent fields are not here)."""

    client_id: str
    order_identifier: str
    item_identifier: str | None
    fields: dict[str, StoredValue]
    # The instant of the write's updated_at (microseconds since 0001-01-01T00:00:00Z); None for a
    # write without one, applied unconditionally as in v1.
    version: int | None = None


@dataclass(frozen=True)
class OrderPage:
    """An order record and its items, read from storage as they are consumed."""

    order: dict[str, Any]
    items: Iterator[dict[str, Any]]


@dataclass(frozen=True)
class TrackedItem:
    """An item record found through a tracking index: whose it is, which field matched, and (once
    read from the table) its fields."""

    client_id: str
    order_identifier: str
    item_identifier: str
    field: str
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts (the first one included)."""

    max_attempts: int = 4
    base_delay: float = 0.05
    max_delay: float = 1.0

    def delay(self, attempt: int, jitter: float) -> float:
        """The wait after failed attempt ``attempt`` (1-based), for ``jitter`` uniform in [0, 1):
        uniform(0, min(max_delay, base_delay * 2**(attempt - 1))) seconds."""
        return jitter * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        response: Any = error.response
        code = response.get("Error", {}).get("Code", "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in _RETRYABLE_CODES or status >= 500
    return False


class OrdersTable:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        concurrency: int,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        # SystemRandom reads the OS: a SnapStart snapshot would otherwise restore every
        # environment with the same generator state, and they would all back off in lockstep.
        jitter: Callable[[], float] = _SYSTEM_RANDOM.random,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._retry = retry
        self._sleep = sleep
        self._jitter = jitter
        # Created once per process and reused by every request, like the client.
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="orders-write")

    # -- writes ---------------------------------------------------------------------------------

    def upsert(self, writes: list[RecordWrite], received_at: str, deadline: float) -> list[RecordWrite]:
        """Apply every write; the writes skipped as stale (their record holds a newer updated_at);
        raises StorageUnavailable unless every other write was stored.

        ``deadline`` is a ``time.monotonic()`` instant after which no call or retry starts.
        """
        futures = [self._pool.submit(self._upsert_one, write, received_at, deadline) for write in writes]
        failure: BaseException | None = None
        stale: list[RecordWrite] = []
        for write, future in zip(writes, futures, strict=True):
            error = future.exception()
            if error is not None and (failure is None or isinstance(failure, StorageUnavailable)):
                # A bug (any error but StorageUnavailable) wins, so it surfaces as a 500.
                failure = error
            elif error is None and not future.result():
                stale.append(write)
        if failure is not None:
            raise failure
        return stale

    def _upsert_one(self, write: RecordWrite, received_at: str, deadline: float) -> bool:
        """Whether the write was applied (False: its record is newer, and nothing changed)."""
        request = update_request(self._table_name, write, received_at)
        try:
            self._call(lambda: self._client.update_item(**request), deadline)
        except ClientError as error:
            response: Any = error.response
            if write.version is not None and response.get("Error", {}).get("Code") == STALE_CODE:
                return False
            raise
        return True

    # -- reads ----------------------------------------------------------------------------------

    def read_order(
        self, client_id: str, order_identifier: str, *, after: str | None, deadline: float
    ) -> OrderPage | None:
        """The order record and its items in identifier order, from the first (``after`` None) or
        from the one after the item ``after``; None when no order record exists. Strongly
        consistent (read-your-writes: a client reading back what it just posted sees it): a GetItem
        of the order record, in parallel with the first Query of the items. The items are read as
        they are consumed, in Queries that grow from ``_FIRST_ITEMS`` items (a page of large items
        fills its byte budget early: nothing more is read) to ``_MOST_ITEMS``."""
        record = self._pool.submit(self._order_record, client_id, order_identifier, deadline)
        query = self._items_query(client_id, order_identifier, after)
        first = self._pool.submit(self._items_page, query, None, _FIRST_ITEMS, deadline)
        try:
            order = record.result()
        except BaseException:
            first.exception()  # waits for it: no call of a request outlives the request
            raise
        if order is None:
            first.exception()
            return None
        return OrderPage(order=order, items=self._items(query, first, deadline))

    def _order_record(self, client_id: str, order_identifier: str, deadline: float) -> dict[str, Any] | None:
        key = _key(client_id, order_identifier, None)
        response = self._call(
            partial(self._client.get_item, TableName=self._table_name, Key=key, ConsistentRead=True),
            deadline,
        )
        raw = response.get("Item")
        return _record(raw) if raw else None

    def _items_query(self, client_id: str, order_identifier: str, after: str | None) -> dict[str, Any]:
        values: dict[str, Any] = {":pk": {"S": partition_key(client_id, order_identifier)}}
        if after is None:
            condition = "#pk = :pk AND begins_with(#sk, :start)"
            values[":start"] = {"S": ITEM_SORT_KEY_PREFIX}
        else:
            # After that item; the order record ("ORDER") sorts after every item and is skipped.
            condition = "#pk = :pk AND #sk > :start"
            values[":start"] = {"S": sort_key(after)}
        return {
            "TableName": self._table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#pk": PK, "#sk": SK},
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }

    def _items(
        self, query: dict[str, Any], first: Future[dict[str, Any]], deadline: float
    ) -> Iterator[dict[str, Any]]:
        page, size = first.result(), _FIRST_ITEMS
        while True:
            yield from (_record(raw) for raw in page.get("Items", []) if raw[SK]["S"] != ORDER_SORT_KEY)
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return
            size = min(size * 2, _MOST_ITEMS)
            page = self._items_page(query, start_key, size, deadline)

    def _items_page(
        self, query: dict[str, Any], start_key: dict[str, Any] | None, size: int, deadline: float
    ) -> dict[str, Any]:
        request = {**query, "Limit": size}
        if start_key is not None:
            request["ExclusiveStartKey"] = start_key
        page: Any = self._call(partial(self._client.query, **request), deadline)
        return dict(page)

    # -- tracking lookup (docs/tracking.md) ------------------------------------------------------

    def find_by_tracking_key(
        self, key: str, *, client_id: str | None, limit: int, deadline: float
    ) -> list[TrackedItem]:
        """The items whose indexed tracking number or reverse tracking number is ``key``, by their
        keys (the indexes project nothing else): one Query on each index, in parallel, up to
        ``limit`` items from each. ``client_id`` None reads every client's items (an operations
        key); otherwise only that client's. Eventually consistent: an index cannot be read strongly."""
        futures = [
            self._pool.submit(self._query_tracking_index, field, key, client_id, limit, deadline)
            for field in TRACKING_INDEXES
        ]
        return [item for future in futures for item in future.result()]

    def _query_tracking_index(
        self, field: str, key: str, client_id: str | None, limit: int, deadline: float
    ) -> list[TrackedItem]:
        index = TRACKING_INDEXES[field]
        names = {"#k": index.partition_key.name}
        values: dict[str, Any] = {":k": {"S": key}}
        condition = "#k = :k"
        if client_id is not None:
            names["#c"] = TRACKING_CLIENT_KEY.name
            values[":c"] = {"S": client_id}
            condition += " AND #c = :c"
        found: list[TrackedItem] = []
        start_key: dict[str, Any] | None = None
        while len(found) < limit:
            request: dict[str, Any] = {
                "TableName": self._table_name,
                "IndexName": index.name,
                "KeyConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "Limit": limit - len(found),
            }
            if start_key is not None:
                request["ExclusiveStartKey"] = start_key
            page = self._call(partial(self._client.query, **request), deadline)
            for raw in page.get("Items", []):
                owner, separator, order_identifier = raw[PK]["S"].partition(PARTITION_SEPARATOR)
                item_key = raw[SK]["S"]
                # The key condition already scopes a client's lookup; this keeps it so whatever
                # the index holds.
                if (
                    not separator
                    or not item_key.startswith(ITEM_SORT_KEY_PREFIX)
                    or (client_id is not None and owner != client_id)
                ):
                    continue
                item_identifier = item_key[len(ITEM_SORT_KEY_PREFIX) :]
                found.append(TrackedItem(owner, order_identifier, item_identifier, field))
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                break
        return found

    def read_tracked(
        self, items: list[TrackedItem], deadline: float
    ) -> tuple[list[TrackedItem], dict[tuple[str, str], str]]:
        """The records of ``items`` (found through an index) and the ``concept`` of each of their
        orders that has one, in BatchGetItems of the item and order records together (100 keys a
        call, unprocessed keys retried), strongly consistent: the item as it is now, whatever the
        index still says. An item whose record is gone is left out."""
        orders = sorted({(item.client_id, item.order_identifier) for item in items})
        keys = [_key(client, order, None) for client, order in orders]
        keys += [_key(item.client_id, item.order_identifier, item.item_identifier) for item in items]
        records: dict[tuple[str, str], dict[str, Any]] = {}
        unique = list({(key[PK]["S"], key[SK]["S"]): key for key in keys}.values())
        for start in range(0, len(unique), _BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._table_name: {"Keys": unique[start : start + _BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            attempt = 0
            while request:
                attempt += 1
                response = self._call(partial(self._client.batch_get_item, RequestItems=request), deadline)
                for raw in response.get("Responses", {}).get(self._table_name, []):
                    records[(raw[PK]["S"], raw[SK]["S"])] = _record(raw)
                request = dict(response.get("UnprocessedKeys") or {})
                if request:
                    self._back_off(attempt, deadline, "records still unprocessed")
        concepts: dict[tuple[str, str], str] = {}
        for client, order in orders:
            concept = records.get((partition_key(client, order), ORDER_SORT_KEY), {}).get("concept")
            if isinstance(concept, str):
                concepts[(client, order)] = concept
        read = []
        for item in items:
            record = records.get(
                (partition_key(item.client_id, item.order_identifier), sort_key(item.item_identifier))
            )
            if record is not None:
                read.append(replace(item, record=record))
        return read, concepts

    # -- retries --------------------------------------------------------------------------------

    def _back_off(self, attempt: int, deadline: float, what: str) -> None:
        """Wait before attempt ``attempt + 1``, or give up: StorageUnavailable when the attempts
        are used up or the wait would end past the request's deadline."""
        if attempt >= self._retry.max_attempts:
            raise StorageUnavailable(f"{what} after {attempt} attempts")
        delay = self._retry.delay(attempt, self._jitter())
        if time.monotonic() + delay >= deadline:
            raise StorageUnavailable(f"request deadline reached while retrying: {what}")
        self._sleep(delay)

    def _call(self, call: Callable[[], T], deadline: float) -> T:
        attempt = 0
        while True:
            attempt += 1
            if time.monotonic() >= deadline:
                raise StorageUnavailable("request deadline reached before the storage call")
            try:
                return call()
            except Exception as error:
                if not is_retryable(error):
                    raise
                try:
                    self._back_off(attempt, deadline, "storage call failed")
                except StorageUnavailable as unavailable:
                    raise unavailable from error


def _key(client_id: str, order_identifier: str, item_identifier: str | None) -> dict[str, Any]:
    return {PK: {"S": partition_key(client_id, order_identifier)}, SK: {"S": sort_key(item_identifier)}}


def update_request(table_name: str, write: RecordWrite, received_at: str) -> dict[str, Any]:
    """The UpdateItem of one write: a ``SET`` of exactly the fields it sends, the server's
    timestamps (``first_received_at`` only if not set yet), on the record's keys; with a version,
    on condition that the record holds no newer one (the same call: no read, no race)."""
    names: dict[str, str] = {"#first": FIRST_RECEIVED, "#last": LAST_RECEIVED}
    values: dict[str, Any] = {":now": {"S": received_at}}
    assignments = ["#first = if_not_exists(#first, :now)", "#last = :now"]
    for position, (name, value) in enumerate(write.fields.items()):
        names[f"#f{position}"] = name
        values[f":v{position}"] = _attribute_value(value)
        assignments.append(f"#f{position} = :v{position}")
    request: dict[str, Any] = {
        "TableName": table_name,
        "Key": _key(write.client_id, write.order_identifier, write.item_identifier),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if write.version is not None:
        names["#version"] = VERSION
        values[":version"] = {"N": str(write.version)}
        assignments.append("#version = :version")
        # Older is skipped, equal applied (an idempotent re-send), a record without one is v1's.
        request["ConditionExpression"] = "attribute_not_exists(#version) OR #version <= :version"
    request["UpdateExpression"] = "SET " + ", ".join(assignments)
    return request


def _attribute_value(value: StoredValue) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"L": [{"M": {k: {"S": v} for k, v in entry.items()}} for entry in value]}


def _plain(value: dict[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        return int(value["N"])
    if "L" in value:
        return [_plain(entry) for entry in value["L"]]
    if "M" in value:
        return {k: _plain(v) for k, v in value["M"].items()}
    raise ValueError(f"unexpected attribute type {sorted(value)}")


def _record(raw: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in raw.items() if name not in _LAYOUT_ATTRIBUTES}
