"""ForwardOrdersClient: bounded, jittered retries that honour Retry-After, 401 at once, typed
results, and GETs that follow next_cursor pages."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from forward_orders_client import client as client_module
from forward_orders_client.client import (
    AuthenticationError,
    ClientOptions,
    ForwardOrdersClient,
    PushStopped,
    RetriesExhausted,
    RetryPolicy,
    UnexpectedResponse,
    parse_retry_after,
)
from tests.unit import clocks


class FakeClock(clocks.FakeClock):
    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    def sleep_unless_stopped(self, stop: threading.Event, seconds: float) -> None:
        if stop.is_set():
            raise PushStopped("stopped")
        self.sleep(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(client_module, "time", fake)
    monkeypatch.setattr(client_module, "sleep", fake.sleep_unless_stopped)
    return fake


def scripted(*answers: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue: Iterator[httpx.Response | Exception] = iter(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = next(queue)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


def make(transport: httpx.MockTransport, **policy: float) -> ForwardOrdersClient:
    options = ClientOptions(retry=RetryPolicy(**policy))  # type: ignore[arg-type]
    return ForwardOrdersClient("http://api.test/v1/", "k-1", options=options, transport=transport)


OK = httpx.Response(200, json={"message": "Success", "orders_upserted": 1, "items_upserted": 0})


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried_after_the_servers_retry_after(clock: FakeClock, status: int) -> None:
    transport, seen = scripted(httpx.Response(status, headers={"Retry-After": "3"}), OK)
    result = make(transport).upsert([{"identifier": "a", "items": []}])
    assert result.accepted and result.orders_upserted == 1
    assert len(seen) == 2 and seen[0].content == seen[1].content
    assert clock.sleeps[0] >= 3


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")],
)
def test_transport_failures_are_retried(clock: FakeClock, failure: Exception) -> None:
    transport, seen = scripted(failure, failure, OK)
    assert make(transport).upsert([]).accepted
    assert len(seen) == 3


def test_backoff_is_jittered_exponential_and_capped(clock: FakeClock) -> None:
    transport, _ = scripted(*[httpx.Response(502)] * 30)
    with pytest.raises(RetriesExhausted):
        make(transport, max_attempts=30, base_delay=1, max_delay=8, max_elapsed_seconds=10**6).upsert([])
    ceilings = [min(8, 2**i) for i in range(29)]
    assert all(0 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))
    assert len(set(clock.sleeps)) > 20  # jittered, not a fixed schedule


def test_attempts_are_bounded(clock: FakeClock) -> None:
    transport, seen = scripted(*[httpx.Response(503)] * 10)
    with pytest.raises(RetriesExhausted) as raised:
        make(transport, max_attempts=4).upsert([])
    assert len(seen) == 4 and raised.value.attempts == 4


def test_total_time_is_bounded_and_a_too_long_retry_after_gives_up_at_once(clock: FakeClock) -> None:
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "120"}), OK)
    with pytest.raises(RetriesExhausted):
        make(transport, max_elapsed_seconds=60).upsert([])
    assert len(seen) == 1 and clock.sleeps == []


def test_a_401_raises_at_once_with_a_clear_message(clock: FakeClock) -> None:
    transport, seen = scripted(httpx.Response(401), OK)
    with pytest.raises(AuthenticationError, match="refused the key"):
        make(transport).upsert([])
    assert len(seen) == 1


def test_the_key_goes_in_the_authorization_header_and_never_in_the_url(clock: FakeClock) -> None:
    transport, seen = scripted(OK)
    make(transport).upsert([], partial_success=True)
    assert seen[0].headers["authorization"] == "Bearer k-1"
    assert str(seen[0].url) == "http://api.test/v1/forward_orders?partial_success=true"
    assert "k-1" not in str(seen[0].url)


def test_a_429_pauses_every_sender_of_the_client(clock: FakeClock) -> None:
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": "5"}), OK)
    client = make(transport)
    client.upsert([])
    # Another sender of the same client, asking to send during the pause, waits for its end.
    client._pacer.pause(5)
    clock.sleeps.clear()
    client._pacer.wait_turn()
    assert clock.sleeps == [5]


def test_requests_are_paced_at_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    transport, _seen = scripted(*[OK] * 6)
    options = ClientOptions(rate=20.0, burst=2)
    client = ForwardOrdersClient("http://api.test", "k", options=options, transport=transport)
    started = time.monotonic()
    for _ in range(6):
        client.upsert([])
    # A burst of 2 at once, then one every 50 ms.
    assert time.monotonic() - started >= 0.19


def test_a_stop_interrupts_a_wait(clock: FakeClock) -> None:
    stop = threading.Event()
    stop.set()
    transport, _ = scripted(httpx.Response(502), OK)
    client = ForwardOrdersClient("http://api.test", "k", transport=transport, stop=stop)
    with pytest.raises(PushStopped):
        client.upsert([])


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (parse_retry_after(when) or 0) <= 31
    assert parse_retry_after(email.utils.formatdate(time.time() - 30, usegmt=True)) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("status", [403, 404, 405])
def test_an_answer_that_is_not_the_apis_raises(clock: FakeClock, status: int) -> None:
    transport, _ = scripted(httpx.Response(status, text="<html>"))
    with pytest.raises(UnexpectedResponse):
        make(transport).upsert([])


def test_a_422_is_a_result_with_its_errors(clock: FakeClock) -> None:
    body = {
        "message": "Validation Failed",
        "request_id": "r1",
        "errors": [{"field": "orders/0/items/0/sku", "code": "missing_field", "message": "sku is required"}],
    }
    transport, _ = scripted(httpx.Response(422, json=body))
    result = make(transport).upsert([{}])
    assert not result.accepted and result.results is None
    assert result.errors[0].field == "orders/0/items/0/sku" and result.request_id == "r1"


# -- reads ----------------------------------------------------------------------------------------


def pages(*bodies: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    answers = iter(bodies)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    return handle


def test_get_order_follows_next_cursor_pages_and_joins_the_items() -> None:
    seen: list[httpx.Request] = []
    bodies = iter(
        [
            {"identifier": "A/1", "items": [{"identifier": "1"}], "next_cursor": "c1"},
            {"identifier": "A/1", "items": [{"identifier": "2"}], "next_cursor": "c2"},
            {"identifier": "A/1", "items": [{"identifier": "3"}]},
        ]
    )

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=next(bodies))

    client = ForwardOrdersClient("http://api.test", "k", transport=httpx.MockTransport(handle))
    order = client.get_order("A/1", limit=1)
    assert order is not None
    assert [item["identifier"] for item in order["items"]] == ["1", "2", "3"]
    assert "next_cursor" not in order
    assert seen[0].url.raw_path == b"/forward_orders/A%2F1?limit=1"
    assert [r.url.params.get("cursor") for r in seen] == [None, "c1", "c2"]


def test_a_v1_server_sends_one_page() -> None:
    handle = pages({"identifier": "A", "quantity_like": 12345678901234567890, "items": []})
    client = ForwardOrdersClient("http://api.test", "k", transport=httpx.MockTransport(handle))
    assert client.get_order("A") == {"identifier": "A", "quantity_like": 12345678901234567890, "items": []}


def test_a_repeated_cursor_is_an_error_not_a_loop() -> None:
    handle = pages(*[{"identifier": "A", "items": [], "next_cursor": "same"}] * 3)
    client = ForwardOrdersClient("http://api.test", "k", transport=httpx.MockTransport(handle))
    with pytest.raises(UnexpectedResponse):
        client.get_order("A")


def test_missing_orders_and_numbers_are_none() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(404, json={"message": "Not Found"}))
    client = ForwardOrdersClient("http://api.test", "k", transport=transport)
    assert client.get_order("nope") is None
    assert client.lookup("1Z") is None


def test_lookup_joins_the_matches_of_every_page() -> None:
    handle = pages(
        {
            "tracking_number": "1Z",
            "matches": [{"order_identifier": "A"}],
            "truncated": False,
            "next_cursor": "n",
        },
        {"tracking_number": "1Z", "matches": [{"order_identifier": "B"}], "truncated": False},
    )
    client = ForwardOrdersClient("http://api.test", "k", transport=httpx.MockTransport(handle))
    found = client.lookup("1Z")
    assert found is not None and [m["order_identifier"] for m in found["matches"]] == ["A", "B"]


def test_an_empty_key_is_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="key"):
        ForwardOrdersClient("http://api.test", "")


def test_orders_are_sent_as_compact_json() -> None:
    transport, seen = scripted(OK)
    ForwardOrdersClient("http://api.test", "k", transport=transport).upsert(
        [{"identifier": "é", "items": []}]
    )
    assert json.loads(seen[0].content) == {"orders": [{"identifier": "é", "items": []}]}
    assert seen[0].headers["content-type"] == "application/json"
