"""The local gateway's token buckets (forward_orders_cli/throttling.py), attacked directly: never
more than burst + rate x elapsed admitted, a Retry-After that is never a lie, one bucket per metering
key, and no request counted twice under concurrency."""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from common.usage_plans import UsagePlan
from forward_orders_cli.throttling import UsageMeter
from tests.factories import single_tier


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def meter_of(rate: float, burst: int, clock: Clock, daily_quota: int | None = None) -> UsageMeter:
    plans = single_tier(rate, burst, daily_quota)
    return UsageMeter(plans, clock=clock, wall_clock=lambda: 1_000_000.0 + clock.now)


def result(key: str = "metering-key-a", plan: str = "tier", client: str = "acme") -> dict[str, Any]:
    return {"usageIdentifierKey": key, "context": {"kind": "client", "client_id": client, "plan": plan}}


rates = st.floats(min_value=0.05, max_value=200, allow_nan=False, allow_infinity=False)
bursts = st.integers(min_value=1, max_value=50)
gaps = st.lists(st.floats(min_value=0, max_value=2, allow_nan=False), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(rate=rates, burst=bursts, gaps=gaps)
def test_never_more_than_the_burst_plus_what_the_rate_earned(
    rate: float, burst: int, gaps: list[float]
) -> None:
    clock = Clock()
    meter = meter_of(rate, burst, clock)
    admitted = 0
    for gap in gaps:
        clock.now += gap
        if meter.admit(result()) is None:
            admitted += 1
        assert admitted <= burst + rate * clock.now + 1e-6


@settings(max_examples=200, deadline=None)
@given(rate=rates, burst=bursts, gaps=gaps)
def test_a_request_sent_after_its_retry_after_is_admitted(rate: float, burst: int, gaps: list[float]) -> None:
    clock = Clock()
    meter = meter_of(rate, burst, clock)
    for gap in gaps:
        clock.now += gap
        refusal = meter.admit(result())
        if refusal is not None:
            assert refusal.response_type == "THROTTLED"
            assert refusal.retry_after is not None and refusal.retry_after >= 1
            clock.now += refusal.retry_after
            assert meter.admit(result()) is None


@settings(max_examples=100, deadline=None)
@given(rate=rates, burst=bursts)
def test_a_full_bucket_admits_exactly_the_burst_at_one_instant(rate: float, burst: int) -> None:
    clock = Clock()
    meter = meter_of(rate, burst, clock)
    outcomes = [meter.admit(result()) for _ in range(burst + 5)]
    assert outcomes[:burst] == [None] * burst
    assert all(refusal is not None and refusal.response_type == "THROTTLED" for refusal in outcomes[burst:])


def test_each_metering_key_has_its_own_bucket() -> None:
    clock = Clock()
    meter = meter_of(1, 1, clock)
    assert meter.admit(result("key-a")) is None
    assert meter.admit(result("key-a")) is not None
    assert meter.admit(result("key-b")) is None


def test_concurrent_requests_take_exactly_the_tokens_there_are() -> None:
    clock = Clock()  # frozen: no refill while the threads run
    meter = meter_of(10, 40, clock)
    admitted: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        for _ in range(25):
            outcome = meter.admit(result())
            with lock:
                admitted.append(outcome is None)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 200
    assert sum(admitted) == 40


def test_no_metering_key_or_an_unknown_tier_is_invalid_api_key() -> None:
    meter = meter_of(1, 1, Clock())
    for authorization in (
        {"context": {"plan": "tier"}},
        {"usageIdentifierKey": "", "context": {"plan": "tier"}},
        {"usageIdentifierKey": 7, "context": {"plan": "tier"}},
        result(plan="gold"),
    ):
        refusal = meter.admit(authorization)
        assert refusal is not None and (refusal.response_type, refusal.retry_after) == (
            "INVALID_API_KEY",
            None,
        )


def test_the_quota_counts_admitted_requests_only() -> None:
    clock = Clock()
    meter = meter_of(1, 1, clock, daily_quota=2)
    assert meter.admit(result()) is None
    for _ in range(5):  # throttled: not counted
        refusal = meter.admit(result())
        assert refusal is not None and refusal.response_type == "THROTTLED"
    clock.now += 1
    assert meter.admit(result()) is None
    clock.now += 1
    refusal = meter.admit(result())
    assert refusal is not None and refusal.response_type == "QUOTA_EXCEEDED"


def test_a_client_rate_names_a_client_never_an_operations_key() -> None:
    clock = Clock()
    plans = single_tier(1, 1)
    meter = UsageMeter(plans, {"None": UsagePlan(rate=100, burst=100)}, clock=clock, wall_clock=clock)
    operations = {"usageIdentifierKey": "ops-key", "context": {"kind": "operations", "key_name": "dock"}}
    assert meter.admit(operations) is None
    assert meter.admit(operations) is not None  # its tier's burst of 1, not the override's 100
