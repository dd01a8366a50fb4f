"""The storage adapter's retries: which errors, how many attempts, how long the backoff, the
request deadline."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from forward_orders.errors import StorageUnavailable
from forward_orders.storage import OrdersTable, RetryPolicy, is_retryable
from tests.api_calls import ORDERS_TABLE_NAME
from tests.factories import client_error
from tests.unit.clocks import FakeClock as Clock
from tests.unit.storage.tables import FAR, Script, make_table

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
