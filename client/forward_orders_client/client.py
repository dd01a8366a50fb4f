"""``ForwardOrdersClient``: the Forward Orders API over HTTP, with bounded, jittered retries.

Retried: 429, 502, 503, 504 and transport failures (refused or reset connections, timeouts, a
response cut off), each after ``Retry-After`` when the server sends one, else after full-jitter
exponential backoff; bounded by a number of attempts and by total time. A 429's ``Retry-After``
pauses every request of this client, not only the one refused, so concurrent senders back off
together. Upserts are idempotent, so re-sending a batch whose response was lost is safe.

401 raises ``AuthenticationError`` at once. Answers about the request (400, 413, 422, 207, 500)
are returned as ``UpsertResult``; anything else raises ``UnexpectedResponse``.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict
from urllib.parse import quote

import httpx

from forward_orders_client import jsontext
from forward_orders_client.limits import encode_body

VERSION = "0.1.0"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that say something about the request itself: returned, never raised.
ANSWER_STATUSES = frozenset({200, 207, 400, 413, 422, 500})
MAX_PAGES = 100_000


# -- errors ---------------------------------------------------------------------------------------


class ForwardOrdersError(Exception):
    """Base of the errors this client raises."""


class AuthenticationError(ForwardOrdersError):
    def __init__(self, url: str) -> None:
        super().__init__(
            f"the API at {url} refused the key (401): it is missing, unknown or revoked, or it is an "
            "operations key, which can only look up tracking numbers"
        )


class RetriesExhausted(ForwardOrdersError):
    def __init__(self, reason: str, attempts: int, elapsed: float) -> None:
        super().__init__(f"gave up after {attempts} attempts in {elapsed:.0f} s; last: {reason}")
        self.reason = reason
        self.attempts = attempts


class UnexpectedResponse(ForwardOrdersError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"unexpected answer {status}: {detail}")
        self.status = status


class PushStopped(ForwardOrdersError):
    """The caller's stop event was set while waiting to send or to retry."""


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiError:
    """One problem the API reported: ``field`` is a slash path from the body root."""

    field: str
    code: str
    message: str

    @classmethod
    def parse(cls, raw: Any) -> ApiError:
        if not isinstance(raw, Mapping):
            return cls("", "invalid", str(raw))
        return cls(str(raw.get("field") or ""), str(raw.get("code") or ""), str(raw.get("message") or ""))


OrderStatus = Literal["stored", "stale", "rejected"]


@dataclass(frozen=True)
class OrderResult:
    """One order's outcome in per-order mode (``?partial_success=true``)."""

    index: int
    identifier: str | None
    status: OrderStatus
    errors: tuple[ApiError, ...] = ()


@dataclass(frozen=True)
class StaleRecord:
    """An order or item record a versioned write skipped (older than the stored one)."""

    order_identifier: str
    item_identifier: str | None


@dataclass(frozen=True)
class UpsertResult:
    status_code: int
    message: str | None = None
    request_id: str | None = None
    # Per-order mode: one entry per order sent. None when the server answered for the batch.
    results: tuple[OrderResult, ...] | None = None
    # The batch's own problems (400, 422): every order was refused.
    errors: tuple[ApiError, ...] = ()
    orders_upserted: int | None = None
    items_upserted: int | None = None
    stale: tuple[StaleRecord, ...] = ()

    @property
    def accepted(self) -> bool:
        """The server processed the batch (each order stored, stale, or rejected on its own)."""
        return self.status_code in (200, 207)


class StoredItem(TypedDict, total=False):
    identifier: str
    upc: str
    sku: str
    quantity: int
    tracking_number: str
    reverse_tracking_number: str
    dropship_identifier: str
    shipped_date: str
    return_policy_end_date: str
    labels: list[dict[str, str]]
    first_received_at: str
    last_received_at: str


class StoredOrder(TypedDict, total=False):
    identifier: str
    concept: str
    postal_code: str
    created_at: str
    first_received_at: str
    last_received_at: str
    items: list[StoredItem]


class TrackingMatch(TypedDict, total=False):
    order_identifier: str
    concept: str
    matched: str
    client_id: str
    item: StoredItem


class TrackingLookup(TypedDict, total=False):
    tracking_number: str
    matches: list[TrackingMatch]
    truncated: bool


@dataclass(frozen=True)
class RetryEvent:
    """Reported to ``on_retry`` before each wait: why, which attempt failed, how long the wait is."""

    reason: str
    attempt: int
    delay: float


# -- policy ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    max_elapsed_seconds: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter (a uniform wait up to base * 2^(attempt-1), capped), never earlier than the
        server's Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        jittered = random.uniform(0, ceiling)  # noqa: S311 - spreading retries, not a secret
        return jittered if retry_after is None else max(retry_after, jittered)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait: delta-seconds or an HTTP-date (RFC 9110); None when absent or malformed."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class _Pacer:
    """Requests/s with a burst (GCRA, the token bucket API Gateway applies), and a shared pause
    after a 429. Waits are interruptible by the stop event."""

    def __init__(self, rate: float | None, burst: int, stop: threading.Event) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._tolerance = self._interval * max(burst - 1, 0)
        self._arrival = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._stop = stop

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def wait_turn(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                wait = self._paused_until - now
                if wait <= 0 and self._interval:
                    wait = self._arrival - self._tolerance - now
                if wait <= 0:
                    if self._interval:
                        self._arrival = max(self._arrival, now) + self._interval
                    return
            sleep(self._stop, wait)


def sleep(stop: threading.Event, seconds: float) -> None:
    if stop.wait(seconds):
        raise PushStopped("stopped")


# -- the client -----------------------------------------------------------------------------------


@dataclass
class ClientOptions:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Connect, and read (API Gateway answers within 29 s).
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    # Requests per second across every thread of this client (None: no limit), with this burst.
    rate: float | None = None
    burst: int = 1
    max_connections: int = 16


class ForwardOrdersClient:
    """The Forward Orders API at ``url`` with one client key. Thread-safe: one client can serve
    several sending threads, sharing connections, the rate limit and a 429's pause."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        options: ClientOptions | None = None,
        transport: httpx.BaseTransport | None = None,
        stop: threading.Event | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        if not key:
            raise ValueError("a client key is required")
        self.url = url.rstrip("/")
        self.options = options or ClientOptions()
        self._stop = stop or threading.Event()
        self._on_retry = on_retry
        self._pacer = _Pacer(self.options.rate, self.options.burst, self._stop)
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {key}", "User-Agent": f"forward-orders-client/{VERSION}"},
            timeout=httpx.Timeout(self.options.read_timeout, connect=self.options.connect_timeout),
            limits=httpx.Limits(
                max_connections=self.options.max_connections,
                max_keepalive_connections=self.options.max_connections,
            ),
            transport=transport,
        )

    def __enter__(self) -> ForwardOrdersClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the API ------------------------------------------------------------------------------

    def upsert(self, orders: Iterable[Any], *, partial_success: bool = False) -> UpsertResult:
        """POST the orders (mappings as the contract describes them) as one batch."""
        return self.upsert_body(
            encode_body([jsontext.dumps(order) for order in orders]), partial_success=partial_success
        )

    def upsert_body(self, body: bytes, *, partial_success: bool = False) -> UpsertResult:
        """POST an already encoded JSON body (``{"orders": [...]}``) as one batch."""
        params = {"partial_success": "true"} if partial_success else None
        response = self._request("POST", "/forward_orders", params=params, content=body)
        if response.status_code not in ANSWER_STATUSES and response.status_code < 500:
            raise UnexpectedResponse(response.status_code, _describe(response))
        return _upsert_result(response)

    def get_order(self, identifier: str, *, limit: int | None = None) -> StoredOrder | None:
        """The stored order with all its items (following ``next_cursor`` pages), None if there is none."""
        order = self._joined(f"/forward_orders/{quote(identifier, safe='')}", limit, "items")
        return order  # type: ignore[return-value]

    def lookup(self, tracking_number: str, *, limit: int | None = None) -> TrackingLookup | None:
        """The items with this tracking or reverse tracking number, None if there is none."""
        found = self._joined(f"/tracking/{quote(tracking_number, safe='')}", limit, "matches")
        return found  # type: ignore[return-value]

    def _joined(self, path: str, limit: int | None, listed: str) -> dict[str, Any] | None:
        """Every page of a GET as one answer: the first page's fields (the last one's ``truncated``)
        with the ``listed`` array of all of them."""
        pages = self._pages(path, limit)
        first = next(pages, None)
        if first is None:
            return None
        joined: dict[str, Any] = dict(first)
        joined[listed] = list(first.get(listed) or [])
        for page in pages:
            joined[listed].extend(page.get(listed) or [])
            if "truncated" in page:
                joined["truncated"] = page["truncated"]
        return joined

    # -- plumbing -----------------------------------------------------------------------------

    def _pages(self, path: str, limit: int | None) -> Iterator[dict[str, Any]]:
        """Each page of a GET, without its ``next_cursor``; nothing at all on 404."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params: dict[str, str] = {}
            if limit is not None:
                params["limit"] = str(limit)
            if cursor is not None:
                params["cursor"] = cursor
            response = self._request("GET", path, params=params or None)
            if response.status_code == 404 and cursor is None:
                return
            if response.status_code != 200:
                raise UnexpectedResponse(response.status_code, _describe(response))
            page = _json_object(response)
            next_cursor = page.pop("next_cursor", None)
            yield page
            if not next_cursor:
                return
            if next_cursor in seen:
                raise UnexpectedResponse(200, "the server repeated a page cursor")
            seen.add(next_cursor)
            cursor = str(next_cursor)
        raise UnexpectedResponse(200, f"more than {MAX_PAGES} pages")

    def _request(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, content: bytes | None = None
    ) -> httpx.Response:
        policy = self.options.retry
        started = time.monotonic()
        headers = {"Content-Type": "application/json"} if content is not None else None
        for attempt in range(1, policy.max_attempts + 1):
            self._pacer.wait_turn()
            retry_after: float | None = None
            try:
                response = self._http.request(method, path, params=params, content=content, headers=headers)
            except httpx.TransportError as error:
                reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            else:
                if response.status_code == 401:
                    raise AuthenticationError(self.url)
                if response.status_code not in RETRY_STATUSES:
                    return response
                reason = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if response.status_code == 429 and retry_after is not None:
                    self._pacer.pause(retry_after)
            elapsed = time.monotonic() - started
            delay = policy.backoff(attempt, retry_after)
            if attempt == policy.max_attempts or elapsed + delay > policy.max_elapsed_seconds:
                raise RetriesExhausted(reason, attempt, elapsed)
            if self._on_retry is not None:
                self._on_retry(RetryEvent(reason, attempt, delay))
            sleep(self._stop, delay)
        raise AssertionError("unreachable")  # pragma: no cover


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = jsontext.loads(response.text) if response.content else None
    except jsontext.NotJson as error:
        raise UnexpectedResponse(response.status_code, f"the body is not JSON ({error})") from error
    if not isinstance(body, dict):
        raise UnexpectedResponse(response.status_code, "the body is not a JSON object")
    return _plain(body)


def _plain(value: Any) -> Any:
    """JSON numbers of a response as Python numbers (counts, quantities)."""
    if isinstance(value, jsontext.JsonNumber):
        text = value.text
        return int(text) if text.lstrip("-").isdigit() else float(text)
    if isinstance(value, dict):
        return {key: _plain(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_plain(member) for member in value]
    return value


def _describe(response: httpx.Response) -> str:
    try:
        body = _json_object(response)
    except UnexpectedResponse:
        return f"{response.reason_phrase} (not a Forward Orders API answer)"
    return str(body.get("message") or response.reason_phrase)


def _upsert_result(response: httpx.Response) -> UpsertResult:
    status = response.status_code
    try:
        body = _json_object(response)
    except UnexpectedResponse:
        if status in (200, 207):
            raise
        body = {}
    raw_results = body.get("results")
    results = None
    if isinstance(raw_results, list) and status in (200, 207):
        results = tuple(_order_result(entry) for entry in raw_results)
    return UpsertResult(
        status_code=status,
        message=_str_or_none(body.get("message")),
        request_id=_str_or_none(body.get("request_id")) or response.headers.get("x-request-id"),
        results=results,
        errors=tuple(ApiError.parse(entry) for entry in _list(body.get("errors"))),
        orders_upserted=_int_or_none(body.get("orders_upserted")),
        items_upserted=_int_or_none(body.get("items_upserted")),
        stale=tuple(
            StaleRecord(str(entry.get("order_identifier")), _str_or_none(entry.get("item_identifier")))
            for entry in _list(body.get("stale"))
            if isinstance(entry, Mapping)
        ),
    )


def _order_result(entry: Any) -> OrderResult:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("index"), int):
        raise UnexpectedResponse(207, "a per-order result without an index")
    status = entry.get("status")
    if status not in ("stored", "stale", "rejected"):
        raise UnexpectedResponse(207, f"a per-order result with status {status!r}")
    return OrderResult(
        index=entry["index"],
        identifier=_str_or_none(entry.get("identifier")),
        status=status,
        errors=tuple(ApiError.parse(error) for error in _list(entry.get("errors"))),
    )


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else ()


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
