"""Fault injection at the storage boundary: DynamoDB failing as AWS fails, while a client posts random
valid batches and retries each until it gets a 200.

The API function runs in this process (as in Lambda: one request at a time, its storage adapter and
client built once) against the shared moto server over HTTP, through ``faults.FaultProxy``: the
function's ``AWS_ENDPOINT_URL_DYNAMODB`` points at the proxy, which fails ``RATE`` of all storage
calls, whatever the operation, with answers, resets and silences, so the client's real HTTP and
error paths run. A timeout is real: the client's own timer ends the call, so each costs its read
timeout; the long convergence runs leave timeouts out (moto serializes calls, and on a loaded
machine a batch's queue of calls outlasts any read timeout short enough for ``make test``); the
"real sleeps" run has them all, with the read timeout shortened to ``READ_TIMEOUT``. Checked for every
request:

- a 200 means every record of the batch is stored: the touched orders read straight from the table
  equal the reference model (``model.py``) exactly;
- anything else is a 502 ``{"message": "Bad Gateway", "request_id"}`` with ``Retry-After``, and
  what it left is, record by record, either the state before the request or the state after it
  (each UpdateItem is atomic; a failed batch may be partly stored, never half a record);
- no request runs past the request deadline (let alone the Lambda timeout): wall time is measured;
- ``first_received_at`` never changes once set and is never after ``last_received_at``;
- GETs interleaved under the same faults answer 200 with exactly the model's order, 404 for an
  order never stored, or 502.

The batches carry ``updated_at`` now and then (versioned writes): a 200 names exactly the records
the model finds stale, whatever an earlier attempt of the same request stored. At the end the
whole table equals the model. To keep ``make test`` fast, the main run replaces the
adapter's backoff ``sleep`` (a constructor argument of ``OrdersTable``) with a recorder; the
"real sleeps" run keeps ``time.sleep``. ``make soak`` runs both with many more requests.
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError
from infra.config import ServiceConfig

from common.tables import API_KEYS_TABLE
from tests.api_calls import api_event, call_api
from tests.reliability import figures
from tests.reliability.faults import ALL_FAULTS, KNOWN_OPERATIONS, TIMEOUTS, FaultProxy
from tests.reliability.harness import MotoServer, partition, scan_records
from tests.reliability.model import (
    BatchGenerator,
    ReferenceModel,
    body_text,
    orders_of,
    record_fields,
    text,
    without_timestamps,
)

RATE = 0.30
# The function's client waits this long for an answer in these runs (deployed: 2 s); the proxy's
# ReadTimeout holds a call a little longer.
READ_TIMEOUT = 0.5
# Every fault but the timeouts: answers and resets cost no time, whatever the read timeout.
QUICK_FAULTS = tuple(fault for fault in ALL_FAULTS if fault not in TIMEOUTS)
CLIENT = "acme"
MAX_CLIENT_ATTEMPTS = 40
# The stack's defaults (infra/config.py): the API function's timeout and the request deadline.
LAMBDA_TIMEOUT_SECONDS = ServiceConfig().api_timeout_seconds
DEADLINE_SECONDS = ServiceConfig().request_deadline_seconds


@dataclass
class Service:
    """The API function of this process, pointed at one fresh table of the moto server."""

    table: str
    reader: Any  # a boto3 client of the same table with no faults, for the checks
    upstream: str  # the moto server, behind any fault proxy
    proxies: list[FaultProxy]
    sleeps: list[float] = field(default_factory=list)

    def post(self, body: str) -> Any:
        event = api_event("POST", "/forward_orders", raw_body=body, base64_body=True, client_id=CLIENT)
        return call_api(event)

    def get(self, identifier: str) -> Any:
        event = api_event(
            "GET",
            f"/forward_orders/{quote(identifier, safe='')}",
            resource="/forward_orders/{identifier}",
            path_parameters={"identifier": identifier},
            client_id=CLIENT,
        )
        return call_api(event)

    def stored(self, order_id: str) -> dict[str, dict[str, Any]]:
        """The order's records straight from the table, by sort key."""
        return {record["sk"]: record for record in partition(self.reader, self.table, f"{CLIENT}#{order_id}")}


@pytest.fixture
def service(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, proxies: list[FaultProxy]
) -> Iterator[Service]:
    table = f"faults-{uuid.uuid4().hex[:12]}"
    moto_server.create_tables(table)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.endpoint)
    monkeypatch.setenv("ORDERS_TABLE_NAME", table)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "ERROR")
    yield Service(table, moto_server.client(), moto_server.endpoint, proxies)


@pytest.fixture
def proxies(moto_server: MotoServer) -> Iterator[list[FaultProxy]]:
    """Fault proxies in front of the moto server, stopped after the test."""
    started: list[FaultProxy] = []
    yield started
    for proxy in started:
        proxy.stop()


def inject(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    injector: FaultProxy,
    *,
    real_sleep: bool,
    read_timeout: float | None = None,
) -> None:
    """Put the proxy between the function and moto; ``read_timeout``: the function's client's
    (None: the deployed one)."""
    from forward_orders import handler

    injector.start(service.upstream)
    service.proxies.append(injector)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", injector.endpoint)
    if read_timeout is not None:
        injector.hold = max(injector.hold, read_timeout + 0.1)
        monkeypatch.setattr(
            handler, "dynamodb_client", partial(handler.dynamodb_client, read_timeout=read_timeout)
        )
    table = handler.orders_table()  # built as in Lambda, from the settings (and the proxy's address)
    if real_sleep:

        def record_and_sleep(seconds: float) -> None:
            service.sleeps.append(seconds)
            time.sleep(seconds)

        # Backoff waits recorded, and slept.
        monkeypatch.setattr(table, "_sleep", record_and_sleep)
    else:
        # Backoff waits recorded instead of slept (OrdersTable takes ``sleep`` as an argument).
        monkeypatch.setattr(table, "_sleep", service.sleeps.append)


# -- the checks ---------------------------------------------------------------------------------------


class TimestampLedger:
    """first_received_at of every record ever seen: it must never change."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], str] = {}

    def check(self, order_id: str, records: dict[str, dict[str, Any]]) -> None:
        for sk, record in records.items():
            first, last = record["first_received_at"], record["last_received_at"]
            assert first <= last, (order_id, sk, first, last)
            seen = self.first.setdefault((order_id, sk), first)
            assert seen == first, f"first_received_at of {order_id}/{sk} changed: {seen} -> {first}"


def assert_fully_stored(
    service: Service, model: ReferenceModel, order_id: str, ledger: TimestampLedger
) -> None:
    stored = service.stored(order_id)
    ledger.check(order_id, stored)
    actual = {sk: record_fields(record) for sk, record in stored.items()}
    expected = model.order_records(order_id)
    assert actual == expected, f"order {order_id!r} differs from the model: {_differences(actual, expected)}"


def _differences(actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Record by record, field by field: what the table holds against what the model says."""
    found = []
    for sk in sorted({*actual, *expected}):
        got, want = actual.get(sk), expected.get(sk)
        if got is None or want is None:
            found.append(f"{sk}: stored={got} expected={want}")
            continue
        for name in sorted({*got, *want}):
            if got.get(name) != want.get(name):
                found.append(f"{sk}.{name}: stored={got.get(name)!r} expected={want.get(name)!r}")
    return found


def assert_each_record_before_or_after(
    service: Service, before: ReferenceModel, after: ReferenceModel, order_id: str, ledger: TimestampLedger
) -> None:
    stored = service.stored(order_id)
    ledger.check(order_id, stored)
    old, new = before.order_records(order_id), after.order_records(order_id)
    for sk in {*stored, *old, *new}:
        actual = record_fields(stored[sk]) if sk in stored else None
        assert actual in (old.get(sk), new.get(sk)), f"{order_id}/{sk} is neither before nor after: {actual}"


def assert_bad_gateway(response: Any) -> None:
    assert response.status == 502, (response.status, response.body)
    assert response.json() == {"message": "Bad Gateway", "request_id": response.headers["x-request-id"]}
    assert response.headers["retry-after"].isdigit()


# -- the run ------------------------------------------------------------------------------------------


@dataclass
class RunFigures:
    requests: int = 0
    attempts: int = 0
    bad_gateways: int = 0
    stale: int = 0
    gets: int = 0
    get_bad_gateways: int = 0
    max_wall_seconds: float = 0.0
    max_attempts_for_one_request: int = 0
    walls: list[float] = field(default_factory=list)


def run_under_faults(service: Service, injector: FaultProxy, *, requests: int, seed: int) -> RunFigures:
    generator = BatchGenerator(seed, versioned=True)
    chooser = random.Random(seed + 1)
    model = ReferenceModel()
    ledger = TimestampLedger()
    run = RunFigures()
    for _ in range(requests):
        body = generator.batch()
        payload = body_text(body)
        before = model.copy()
        stale = model.apply(body)
        touched = sorted({text(order["identifier"]) for order in orders_of(body)})
        for attempt in range(1, MAX_CLIENT_ATTEMPTS + 1):
            started = time.monotonic()
            response = service.post(payload)
            wall = time.monotonic() - started
            run.walls.append(wall)
            run.max_wall_seconds = max(run.max_wall_seconds, wall)
            run.attempts += 1
            if response.status == 200:
                answer = response.json()
                assert answer["message"] == "Success"
                # Stale records are the model's, whatever attempts before this one stored.
                assert answer.get("stale_count", 0) == len(stale), (answer, stale)
                assert [
                    (record["order_identifier"], record["item_identifier"])
                    for record in answer.get("stale", [])
                ] == stale
                run.stale += len(stale)
                for order_id in touched:
                    assert_fully_stored(service, model, order_id, ledger)
                run.max_attempts_for_one_request = max(run.max_attempts_for_one_request, attempt)
                break
            assert_bad_gateway(response)
            run.bad_gateways += 1
            for order_id in touched:
                assert_each_record_before_or_after(service, before, model, order_id, ledger)
        else:
            pytest.fail(
                f"no 200 after {MAX_CLIENT_ATTEMPTS} attempts ({injector.real_errors} real errors): {payload}"
            )
        run.requests += 1

        if chooser.random() < 0.3:  # a read under the same faults
            order_id = text(generator.order_identifier(chooser.randrange(generator.order_pool + 2)))
            started = time.monotonic()
            got = service.get(order_id)
            run.max_wall_seconds = max(run.max_wall_seconds, time.monotonic() - started)
            run.gets += 1
            expected = model.read_back(order_id)
            if got.status == 502:
                assert_bad_gateway(got)
                run.get_bad_gateways += 1
            elif expected is None:
                assert got.status == 404, got.body
            else:
                assert got.status == 200, got.body
                assert without_timestamps(got.json()) == expected

    # The whole table, read back at the end, is exactly the model.
    everything: dict[str, dict[str, Any]] = {}
    for record in scan_records(service.reader, service.table):
        client, _, order_id = record["pk"].partition("#")
        assert client == CLIENT
        everything.setdefault(order_id, {})[record["sk"]] = record_fields(record)
    assert everything == {order_id: model.order_records(order_id) for order_id in model.orders}
    assert injector.seen_operations <= KNOWN_OPERATIONS, injector.seen_operations
    return run


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def _report(name: str, run: RunFigures, injector: FaultProxy, seconds: float, **extra: Any) -> None:
    figures.record(
        name,
        requests=run.requests,
        attempts=run.attempts,
        status_502=run.bad_gateways,
        stale_records=run.stale,
        gets=run.gets,
        get_502=run.get_bad_gateways,
        storage_calls=injector.total_calls,
        faults_injected=injector.total_injected,
        real_errors=injector.real_errors,
        fault_rate=injector.total_injected / max(1, injector.total_calls),
        max_attempts_one_request=run.max_attempts_for_one_request,
        p50_wall_s=_percentile(run.walls, 0.5),
        p99_wall_s=_percentile(run.walls, 0.99),
        max_wall_s=run.max_wall_seconds,
        run_s=seconds,
        **extra,
    )


@pytest.mark.parametrize(
    ("attempts", "requests"),
    [(4, figures.scale(60, 2000)), (2, figures.scale(40, 1000))],
    ids=["4 attempts per call (default)", "2 attempts per call (many partial failures)"],
)
def test_under_30_percent_storage_faults_every_200_is_stored_and_retries_converge_to_the_model(
    service: Service, monkeypatch: pytest.MonkeyPatch, attempts: int, requests: int
) -> None:
    monkeypatch.setenv("STORAGE_MAX_ATTEMPTS", str(attempts))
    injector = FaultProxy(rate=RATE, seed=4, faults=QUICK_FAULTS)
    inject(service, monkeypatch, injector, real_sleep=False)
    started = time.monotonic()
    run = run_under_faults(service, injector, requests=requests, seed=4)
    _report(
        f"faults 30%, {attempts} attempts per call (sleep recorded)",
        run,
        injector,
        time.monotonic() - started,
    )

    assert set(injector.injected) == set(QUICK_FAULTS), "every kind of fault was exercised"
    assert 0.25 <= injector.total_injected / injector.total_calls <= 0.35
    assert run.bad_gateways > (0 if attempts == 4 else requests // 4)
    assert run.stale > 0, "some writes were stale"
    # The recorded backoff never exceeds the policy: uniform(0, min(1 s, 50 ms * 2**(n-1))), n < attempts.
    assert service.sleeps and max(service.sleeps) <= 0.05 * 2 ** (attempts - 2)
    assert run.max_wall_seconds < DEADLINE_SECONDS < LAMBDA_TIMEOUT_SECONDS


def test_under_30_percent_storage_faults_with_real_backoff_sleeps(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    injector = FaultProxy(rate=RATE, seed=11)
    inject(service, monkeypatch, injector, real_sleep=True, read_timeout=READ_TIMEOUT)
    started = time.monotonic()
    run = run_under_faults(service, injector, requests=figures.scale(25, 500), seed=11)
    _report("faults 30% (real sleeps, timeouts too)", run, injector, time.monotonic() - started)

    assert set(TIMEOUTS) <= set(injector.injected), "the client's read timeout ended calls"
    # Each wait within the policy: uniform(0, min(1 s, 50 ms * 2**(n-1))) before attempt n + 1 <= 4.
    assert service.sleeps and max(service.sleeps) <= 0.2
    # No request past its deadline. (The calls themselves take what moto takes on a shared machine:
    # a moto answer slower than the read timeout is a real timeout, retried; see real_errors.)
    assert run.max_wall_seconds < DEADLINE_SECONDS < LAMBDA_TIMEOUT_SECONDS


def test_slow_failures_end_at_the_request_deadline(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call fails after 250 ms (a slow timeout): each request stops retrying at its deadline."""
    deadline = 0.6
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", str(deadline))
    injector = FaultProxy(rate=1.0, seed=1, faults=("ReadTimeout", "ServiceUnavailable"), delay=0.25)
    inject(service, monkeypatch, injector, real_sleep=True, read_timeout=0.25)
    walls = []
    for number in range(3):
        order = {
            "identifier": f"slow-{number}",
            "items": [{"identifier": "1", "upc": "1", "sku": "S", "quantity": 1}],
        }
        started = time.monotonic()
        response = service.post(body_text({"orders": [order]}))
        walls.append(time.monotonic() - started)
        assert_bad_gateway(response)
        started = time.monotonic()
        assert_bad_gateway(service.get(f"slow-{number}"))
        walls.append(time.monotonic() - started)
    figures.record("slow faults vs deadline", deadline_s=deadline, fault_delay_s=0.25, max_wall_s=max(walls))
    # No call starts after the deadline, so a request ends at most one call after it.
    assert max(walls) < deadline + 0.25 + 0.25


def test_each_storage_attempt_is_one_http_request(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter's retries are the only ones: the client adds none of its own (botocore's backoff,
    up to 1 s per throttled call, would be spent outside the request's deadline). Counted by the
    proxy: HTTP requests, not calls."""
    injector = FaultProxy(rate=1.0, seed=3, faults=("ThrottlingException",))
    inject(service, monkeypatch, injector, real_sleep=False)
    order = {"identifier": "o-1", "items": [{"identifier": "1", "upc": "1", "sku": "S", "quantity": 1}]}
    started = time.monotonic()
    assert_bad_gateway(service.post(body_text([order])))
    assert_bad_gateway(service.get("o-1"))
    wall = time.monotonic() - started

    attempts = 4  # STORAGE_MAX_ATTEMPTS's default
    # 2 records; a read is the order record and its items, in parallel.
    assert injector.calls == {"UpdateItem": 2 * attempts, "GetItem": attempts, "Query": attempts}
    assert len(service.sleeps) == 4 * (attempts - 1)
    assert wall < 0.5  # the adapter's backoff is recorded, not slept; nothing else waits


def test_the_authorizer_makes_at_most_two_attempts(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, proxies: list[FaultProxy]
) -> None:
    """Its client is built for two attempts of at most 1.5 s inside a 5 s timeout (authorizer.handler)."""
    from authorizer import handler as authorizer

    table = f"keys-{uuid.uuid4().hex[:12]}"
    moto_server.client().create_table(**API_KEYS_TABLE.create_table_request(table))
    injector = FaultProxy(rate=1.0, seed=5, faults=("ThrottlingException",)).start(moto_server.endpoint)
    proxies.append(injector)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", injector.endpoint)
    monkeypatch.setenv("API_KEYS_TABLE_NAME", table)
    started = time.monotonic()
    with pytest.raises(ClientError):
        authorizer.key_store().find_active("fo_some-key")
    assert injector.calls == {"GetItem": 2}
    assert time.monotonic() - started < 1.5


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP endpoint on 127.0.0.1 that accepts connections and never answers: a hung DynamoDB."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_a_hung_dynamodb_is_cut_by_the_read_timeout_and_the_deadline(
    service: Service, monkeypatch: pytest.MonkeyPatch, black_hole: str
) -> None:
    """No fake: real sockets that never answer. The client's 2 s read timeout ends each call, the
    deadline ends the retries, and the request answers 502 long before the Lambda timeout."""
    deadline = 1.5
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", black_hole)
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", str(deadline))
    order = {"identifier": "hung", "items": [{"identifier": "1", "upc": "1", "sku": "S", "quantity": 1}]}
    started = time.monotonic()
    response = service.post(body_text([order]))
    wall = time.monotonic() - started
    figures.record("hung DynamoDB (black hole)", deadline_s=deadline, wall_s=wall)
    assert_bad_gateway(response)
    # The deadline plus one call's worst case (1 s connect + 2 s read, infra/config.py).
    assert wall < deadline + 3.0 + 0.5 < LAMBDA_TIMEOUT_SECONDS
    assert wall >= 1.9  # it did hang: the 2 s read timeout ended the call
