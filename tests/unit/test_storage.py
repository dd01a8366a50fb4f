"""The storage adapter: retries (which errors, how many attempts, how long the backoff, the
request deadline), concurrent upserts, and reading an order back over several Query pages."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from forward_orders import storage
from forward_orders.errors import StorageUnavailable
from forward_orders.storage import OrdersTable, RecordWrite, RetryPolicy, is_retryable
from tests.api_calls import ORDERS_TABLE_NAME, REGION
from tests.factories import (
    client_error,
    scan,
)
from tests.unit.clocks import FakeClock as Clock

# DynamoDB's answers worth another attempt, by cause: it throttled the call, or failed itself.
THROTTLING_CODES = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
]
SERVER_ERROR_CODES = ["InternalServerError", "ServiceUnavailable"]
RETRYABLE_CODES = THROTTLING_CODES + SERVER_ERROR_CODES
NOT_RETRYABLE_CODES = [
    "ValidationException",
    "ConditionalCheckFailedException",
    "ResourceNotFoundException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "ItemCollectionSizeLimitExceededException",
    "SerializationException",
]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A fake ``time`` module for storage.py."""
    fake = Clock()
    monkeypatch.setattr(storage, "time", fake)
    return fake


def make_table(
    client: Any = None,
    *,
    retry: RetryPolicy | None = None,
    sleep: Any = None,
    jitter: Any = None,
    concurrency: int = 8,
) -> OrdersTable:
    return OrdersTable(
        client,
        ORDERS_TABLE_NAME,
        concurrency=concurrency,
        retry=retry or RetryPolicy(),
        sleep=sleep or (lambda _: None),
        jitter=jitter or (lambda: 1.0),
    )


class Script:
    """A storage call that raises the given errors in turn, then returns ``result``."""

    def __init__(self, *errors: BaseException, result: Any = "stored") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


FAR = float("inf")  # a deadline that never matters


# -- which errors are retried ------------------------------------------------------------------------


@pytest.mark.parametrize("code", RETRYABLE_CODES)
def test_throttling_and_server_errors_are_retryable(code: str) -> None:
    assert is_retryable(client_error(code))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_any_5xx_answer_is_retryable(status: int) -> None:
    assert is_retryable(client_error("SomethingNew", status=status))


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        ConnectionClosedError(endpoint_url="https://dynamodb"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_connection_errors_and_timeouts_are_retryable(error: Exception) -> None:
    assert is_retryable(error)


@pytest.mark.parametrize("code", NOT_RETRYABLE_CODES)
def test_client_errors_are_not_retryable(code: str) -> None:
    assert not is_retryable(client_error(code))


@pytest.mark.parametrize("error", [ValueError("x"), KeyError("x"), RuntimeError("x"), TypeError("x")])
def test_bugs_are_not_retryable(error: Exception) -> None:
    assert not is_retryable(error)


@pytest.mark.parametrize("code", RETRYABLE_CODES)
def test_a_retryable_error_is_retried_until_the_call_succeeds(code: str) -> None:
    sleeps: list[float] = []
    table = make_table(sleep=sleeps.append)
    call = Script(client_error(code), client_error(code), result={"ok": 1})
    assert table._call(call, FAR) == {"ok": 1}
    assert call.calls == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("code", NOT_RETRYABLE_CODES)
def test_an_error_that_is_not_retryable_is_raised_at_once(code: str) -> None:
    sleeps: list[float] = []
    table = make_table(sleep=sleeps.append)
    error = client_error(code)
    call = Script(error)
    with pytest.raises(ClientError) as raised:
        table._call(call, FAR)
    assert raised.value is error
    assert call.calls == 1
    assert sleeps == []


def test_a_bug_in_the_call_is_raised_at_once() -> None:
    table = make_table()
    call = Script(KeyError("boom"))
    with pytest.raises(KeyError):
        table._call(call, FAR)
    assert call.calls == 1


# -- attempts and backoff ----------------------------------------------------------------------------


@pytest.mark.parametrize("attempts", [1, 2, 4, 7])
def test_attempts_are_bounded_and_then_storage_is_unavailable(attempts: int) -> None:
    sleeps: list[float] = []
    table = make_table(retry=RetryPolicy(max_attempts=attempts), sleep=sleeps.append)
    errors = [client_error("ProvisionedThroughputExceededException") for _ in range(20)]
    call = Script(*errors)
    with pytest.raises(StorageUnavailable) as raised:
        table._call(call, FAR)
    assert call.calls == attempts
    assert len(sleeps) == attempts - 1
    assert raised.value.__cause__ is errors[attempts - 1]


def test_backoff_doubles_from_the_base_delay_up_to_the_ceiling() -> None:
    sleeps: list[float] = []
    table = make_table(
        retry=RetryPolicy(max_attempts=9, base_delay=0.05, max_delay=1.0),
        sleep=sleeps.append,
        jitter=lambda: 1.0,
    )
    with pytest.raises(StorageUnavailable):
        table._call(Script(*[client_error("ThrottlingException")] * 9), FAR)
    assert sleeps == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 0.999])
def test_full_jitter_scales_each_ceiling(jitter: float) -> None:
    sleeps: list[float] = []
    table = make_table(
        retry=RetryPolicy(max_attempts=6, base_delay=0.1, max_delay=0.5),
        sleep=sleeps.append,
        jitter=lambda: jitter,
    )
    with pytest.raises(StorageUnavailable):
        table._call(Script(*[client_error("ThrottlingException")] * 6), FAR)
    assert sleeps == pytest.approx([jitter * ceiling for ceiling in (0.1, 0.2, 0.4, 0.5, 0.5)])


def test_the_default_policy_waits_at_most_a_second_between_attempts() -> None:
    policy = RetryPolicy()
    sleeps: list[float] = []
    table = make_table(retry=RetryPolicy(max_attempts=10), sleep=sleeps.append, jitter=lambda: 1.0)
    with pytest.raises(StorageUnavailable):
        table._call(Script(*[client_error("ThrottlingException")] * 10), FAR)
    assert max(sleeps) == policy.max_delay == 1.0
    assert sleeps[0] == policy.base_delay


def test_the_real_jitter_stays_under_each_ceiling() -> None:
    sleeps: list[float] = []
    table = OrdersTable(
        None,  # type: ignore[arg-type]
        ORDERS_TABLE_NAME,
        concurrency=1,
        retry=RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=1.0),
        sleep=sleeps.append,
    )
    for _ in range(20):
        sleeps.clear()
        with pytest.raises(StorageUnavailable):
            table._call(Script(*[client_error("ThrottlingException")] * 8), FAR)
        ceilings = [min(1.0, 0.05 * 2**n) for n in range(7)]
        assert all(0 <= delay <= ceiling for delay, ceiling in zip(sleeps, ceilings, strict=True))


# -- the request deadline ----------------------------------------------------------------------------


def test_no_call_starts_after_the_deadline(clock: Clock) -> None:
    table = make_table(sleep=clock.sleep)
    call = Script()
    with pytest.raises(StorageUnavailable):
        table._call(call, deadline=clock.now)
    with pytest.raises(StorageUnavailable):
        table._call(call, deadline=clock.now - 5)
    assert call.calls == 0


def test_no_backoff_sleeps_past_the_deadline(clock: Clock) -> None:
    table = make_table(
        retry=RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=8.0),
        sleep=clock.sleep,
        jitter=lambda: 1.0,
    )
    start = clock.now
    call = Script(*[client_error("ThrottlingException")] * 10)
    with pytest.raises(StorageUnavailable) as raised:
        table._call(call, deadline=start + 10)
    # Sleeps of 1, 2 and 4 s fit before the deadline (7 s); the next one (8 s) would cross it.
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert call.calls == 4
    assert clock.now <= start + 10
    assert isinstance(raised.value.__cause__, ClientError)


def test_a_slow_call_that_ends_after_the_deadline_is_not_retried(clock: Clock) -> None:
    table = make_table(retry=RetryPolicy(max_attempts=10), sleep=clock.sleep, jitter=lambda: 0.0)
    deadline = clock.now + 3

    def slow_throttled() -> Any:
        clock.now += 2  # each attempt takes two seconds and is throttled
        raise client_error("ThrottlingException")

    calls = []

    def call() -> Any:
        calls.append(clock.now)
        return slow_throttled()

    with pytest.raises(StorageUnavailable):
        table._call(call, deadline)
    assert all(started < deadline for started in calls)
    assert len(calls) == 2


def test_a_call_within_the_deadline_succeeds(clock: Clock) -> None:
    table = make_table(sleep=clock.sleep, jitter=lambda: 0.5)
    assert table._call(Script(client_error("InternalServerError", status=500), result=7), clock.now + 1) == 7


# -- upserts against moto ----------------------------------------------------------------------------


@pytest.fixture
def table(dynamodb: Any) -> Iterator[OrdersTable]:
    orders_table = make_table(boto3.client("dynamodb", region_name=REGION), concurrency=16)
    yield orders_table
    orders_table._pool.shutdown()


def read_back(table: OrdersTable, order_id: str, *, after: str | None = None, deadline: float = FAR) -> Any:
    """The order and every item after ``after``, as lists (the adapter reads items as consumed)."""
    stored = table.read_order("acme", order_id, after=after, deadline=deadline)
    if stored is None:
        return None
    return SimpleNamespace(order=stored.order, items=list(stored.items))


def write(order_id: str, item_id: str | None = None, client: str = "acme", **fields: Any) -> RecordWrite:
    return RecordWrite(client, order_id, item_id, {"identifier": item_id or order_id, **fields})


def test_many_records_are_upserted_concurrently(table: OrdersTable, dynamodb: Any) -> None:
    writes = [write(f"o{i}", None, concept=f"c{i}") for i in range(12)]
    writes += [write(f"o{i}", f"i{j}", upc=f"u{i}-{j}", quantity=j + 1) for i in range(12) for j in range(15)]
    started = time.monotonic()
    table.upsert(writes, received_at="2025-01-01T00:00:00.000Z", deadline=time.monotonic() + 60)
    assert time.monotonic() - started < 30
    stored = scan(dynamodb)
    assert len(stored) == 12 + 12 * 15
    for i in (0, 7, 11):
        order = read_back(table, f"o{i}")
        assert order is not None
        assert order.order["concept"] == f"c{i}"
        assert [entry["upc"] for entry in order.items] == sorted(f"u{i}-{j}" for j in range(15))
        assert {entry["quantity"] for entry in order.items} == set(range(1, 16))


def test_an_upsert_runs_its_writes_in_parallel(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    in_flight = 0
    most = 0
    lock = threading.Lock()
    real_update = client.update_item

    def update_item(**kwargs: Any) -> Any:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            time.sleep(0.02)
            return real_update(**kwargs)
        finally:
            with lock:
                in_flight -= 1

    client.update_item = update_item  # type: ignore[method-assign]
    parallel = make_table(client, concurrency=8)
    try:
        parallel.upsert([write("o", str(i)) for i in range(32)], "2025-01-01T00:00:00.000Z", FAR)
    finally:
        parallel._pool.shutdown()
    assert most > 1
    assert most <= 8


def test_concurrent_writers_of_one_order_lose_no_item_and_no_field(table: OrdersTable) -> None:
    writers = 8

    def writer(n: int) -> None:
        writes = [
            write("shared", None, concept=f"concept-{n}", **({"postal_code": f"p{n}"} if n % 2 else {}))
        ]
        writes += [write("shared", f"item-{n}-{j}", sku=f"sku-{n}") for j in range(5)]
        writes += [write("shared", "common", upc=f"upc-{n}", **{f"field_{n}": f"v{n}"})]
        table.upsert(writes, f"2025-01-01T00:00:0{n}.000Z", FAR)

    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(writer, range(writers)))
    order = read_back(table, "shared")
    assert order is not None
    assert order.order["concept"] in {f"concept-{n}" for n in range(writers)}
    assert order.order["postal_code"] in {f"p{n}" for n in range(1, writers, 2)}
    items = {entry["identifier"]: entry for entry in order.items}
    assert set(items) == {"common"} | {f"item-{n}-{j}" for n in range(writers) for j in range(5)}
    common = items["common"]
    assert common["upc"] in {f"upc-{n}" for n in range(writers)}
    # Every writer's own field survived the others' writes of the same record.
    assert all(common[f"field_{n}"] == f"v{n}" for n in range(writers))
    assert common["first_received_at"] in {f"2025-01-01T00:00:0{n}.000Z" for n in range(writers)}


def test_an_upsert_sets_only_the_fields_it_carries(table: OrdersTable) -> None:
    table.upsert([write("o", "i", upc="u1", sku="s1", quantity=2)], "2025-01-01T00:00:00.000Z", FAR)
    table.upsert([write("o", "i", sku="s2")], "2025-01-02T00:00:00.000Z", FAR)
    table.upsert([write("o")], "2025-01-03T00:00:00.000Z", FAR)
    order = read_back(table, "o")
    assert order is not None
    assert order.items == [
        {
            "identifier": "i",
            "upc": "u1",
            "sku": "s2",
            "quantity": 2,
            "first_received_at": "2025-01-01T00:00:00.000Z",
            "last_received_at": "2025-01-02T00:00:00.000Z",
        }
    ]
    assert order.order["first_received_at"] == order.order["last_received_at"] == "2025-01-03T00:00:00.000Z"


def test_values_round_trip_with_their_types(table: OrdersTable) -> None:
    labels = [
        {"type": "barcode", "name": "RMA", "value": "0012"},
        {"type": "text", "name": "n", "value": "v"},
    ]
    table.upsert(
        [write("o", "i", upc="12345678901234567890", quantity=2_147_483_647, labels=labels, empty=[])],
        "2025-01-01T00:00:00.000Z",
        FAR,
    )
    order_items = read_back(table, "o")
    assert order_items is None  # no order record was written, so there is no order
    table.upsert([write("o")], "2025-01-01T00:00:00.000Z", FAR)
    stored = read_back(table, "o")
    assert stored is not None
    entry = stored.items[0]
    assert entry["upc"] == "12345678901234567890"
    assert entry["quantity"] == 2_147_483_647
    assert type(entry["quantity"]) is int
    assert entry["labels"] == labels
    assert entry["empty"] == []


def test_a_failing_write_makes_the_whole_upsert_fail(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    real_update = client.update_item

    def update_item(**kwargs: Any) -> Any:
        if kwargs["Key"]["sk"]["S"].endswith("bad"):
            raise client_error("ProvisionedThroughputExceededException")
        return real_update(**kwargs)

    client.update_item = update_item  # type: ignore[method-assign]
    flaky = make_table(client)
    try:
        with pytest.raises(StorageUnavailable):
            flaky.upsert([write("o"), write("o", "good"), write("o", "bad")], "2025-01-01T00:00:00.000Z", FAR)
    finally:
        flaky._pool.shutdown()
    # The other writes were still applied (a retry of the request converges, see docs/design.md).
    assert len(scan(dynamodb)) == 2


def test_a_bug_in_one_write_wins_over_unavailable_storage_in_another(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)

    def update_item(**kwargs: Any) -> Any:
        if kwargs["Key"]["sk"]["S"] == "ORDER":
            raise client_error("ProvisionedThroughputExceededException")
        raise client_error("ValidationException")

    client.update_item = update_item  # type: ignore[method-assign]
    broken = make_table(client)
    try:
        with pytest.raises(ClientError) as raised:
            broken.upsert([write("o"), write("o", "i")], "2025-01-01T00:00:00.000Z", FAR)
    finally:
        broken._pool.shutdown()
    assert raised.value.response["Error"]["Code"] == "ValidationException"


# -- reading back over several pages -----------------------------------------------------------------


def test_query_pagination_against_moto(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    real_query = client.query
    pages: list[dict[str, Any]] = []

    def query(**kwargs: Any) -> Any:
        pages.append(kwargs)
        return real_query(**{**kwargs, "Limit": min(3, kwargs["Limit"])})  # force small pages

    client.query = query  # type: ignore[method-assign]
    paged = make_table(client)
    try:
        identifiers = [f"item-{n:02d}" for n in range(10)]
        paged.upsert(
            [write("o", concept="c"), *[write("o", i, upc=i) for i in reversed(identifiers)]],
            "2025-01-01T00:00:00.000Z",
            FAR,
        )
        stored = read_back(paged, "o")
    finally:
        paged._pool.shutdown()
    assert stored is not None
    assert stored.order["concept"] == "c"
    assert [entry["identifier"] for entry in stored.items] == identifiers
    assert len(pages) >= 4
    assert "ExclusiveStartKey" not in pages[0]
    assert all("ExclusiveStartKey" in page for page in pages[1:])
    assert all(page["ConsistentRead"] is True for page in pages)


class PagedClient:
    """A DynamoDB client stub: GetItem answers ``order`` (the order record, or nothing), Query a
    fixed sequence of pages."""

    def __init__(self, pages: list[dict[str, Any]], order: dict[str, Any] | None = None) -> None:
        self.pages = pages
        self.order = order
        self.requests: list[dict[str, Any]] = []
        self.reads: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        return self.pages[len(self.requests) - 1]

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.reads.append(kwargs)
        return {"Item": self.order} if self.order is not None else {}


def raw(sk: str, identifier: str, **fields: str) -> dict[str, Any]:
    return {
        "pk": {"S": "acme#o"},
        "sk": {"S": sk},
        "identifier": {"S": identifier},
        **{name: {"S": value} for name, value in fields.items()},
    }


def test_query_pagination_with_a_stubbed_page_sequence() -> None:
    item_key = storage.ITEM_SORT_KEY_PREFIX
    client = PagedClient(
        [
            {
                "Items": [raw(item_key + "a", "a"), raw(item_key + "b", "b")],
                "LastEvaluatedKey": {"k": {"S": "1"}},
            },
            {"Items": [], "LastEvaluatedKey": {"k": {"S": "2"}}},
            {"Items": [raw(item_key + "c", "c")]},
        ],
        order=raw("ORDER", "o", concept="x"),
    )
    stored = read_back(make_table(client), "o")
    assert stored is not None
    assert stored.order == {"identifier": "o", "concept": "x"}
    assert [entry["identifier"] for entry in stored.items] == ["a", "b", "c"]
    assert [request.get("ExclusiveStartKey") for request in client.requests] == [
        None,
        {"k": {"S": "1"}},
        {"k": {"S": "2"}},
    ]
    assert {request["ExpressionAttributeValues"][":pk"]["S"] for request in client.requests} == {"acme#o"}
    assert all(request["ConsistentRead"] is True for request in client.requests + client.reads)
    assert client.reads[0]["Key"] == {"pk": {"S": "acme#o"}, "sk": {"S": "ORDER"}}
    # Queries grow: a page of large items stops reading early, a page of small ones takes few calls.
    assert [request["Limit"] for request in client.requests] == [16, 32, 64]


def test_items_are_read_only_as_far_as_they_are_consumed() -> None:
    item_key = storage.ITEM_SORT_KEY_PREFIX
    client = PagedClient(
        [
            {"Items": [raw(item_key + name, name) for name in "ab"], "LastEvaluatedKey": {"k": {"S": "1"}}},
            {"Items": [raw(item_key + "c", "c")]},
        ],
        order=raw("ORDER", "o"),
    )
    stored = make_table(client).read_order("acme", "o", after=None, deadline=FAR)
    assert stored is not None
    assert [next(stored.items)["identifier"], next(stored.items)["identifier"]] == ["a", "b"]
    assert len(client.requests) == 1
    assert [entry["identifier"] for entry in stored.items] == ["c"]
    assert len(client.requests) == 2


def test_a_later_page_starts_after_its_item_and_skips_the_order_record() -> None:
    item_key = storage.ITEM_SORT_KEY_PREFIX
    client = PagedClient([{"Items": [raw(item_key + "c", "c"), raw("ORDER", "o")]}], order=raw("ORDER", "o"))
    stored = read_back(make_table(client), "o", after="b")
    assert stored is not None
    assert [entry["identifier"] for entry in stored.items] == ["c"]
    assert client.requests[0]["ExpressionAttributeValues"][":start"] == {"S": item_key + "b"}
    assert "#sk > :start" in client.requests[0]["KeyConditionExpression"]


def test_items_without_an_order_record_are_no_order() -> None:
    client = PagedClient([{"Items": [raw(storage.ITEM_SORT_KEY_PREFIX + "a", "a")]}])
    assert read_back(make_table(client), "o") is None


def test_a_throttled_page_is_retried(clock: Clock) -> None:
    class Flaky(PagedClient):
        def query(self, **kwargs: Any) -> dict[str, Any]:
            if len(self.requests) == 1 and not getattr(self, "failed", False):
                self.failed = True
                raise client_error("ProvisionedThroughputExceededException", "Query")
            return super().query(**kwargs)

    client = Flaky(
        [
            {"Items": [raw(storage.ITEM_SORT_KEY_PREFIX + "a", "a")], "LastEvaluatedKey": {"k": {"S": "1"}}},
            {"Items": [raw(storage.ITEM_SORT_KEY_PREFIX + "b", "b")]},
        ],
        order=raw("ORDER", "o"),
    )
    stored = read_back(make_table(client, sleep=clock.sleep), "o", deadline=clock.now + 10)
    assert stored is not None
    assert [entry["identifier"] for entry in stored.items] == ["a", "b"]
    assert len(clock.sleeps) == 1


# -- keys --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("character", ["x", "é", "✓", "😀"])
def test_keys_of_the_longest_identifiers_fit_dynamodb_limits(character: str) -> None:
    identifier = character * 255
    client_id = "c" * 64  # the longest client id
    assert len(storage.partition_key(client_id, identifier).encode()) <= 2048
    assert len(storage.sort_key(identifier).encode()) <= 1024


def test_an_item_key_never_equals_the_order_key() -> None:
    assert storage.sort_key(None) == storage.ORDER_SORT_KEY
    for identifier in ["ORDER", "", storage.ORDER_SORT_KEY, "#ORDER"]:
        assert storage.sort_key(identifier) != storage.sort_key(None)
