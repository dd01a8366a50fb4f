"""The one place that calls EventBridge: PutEvents on the service's bus, and what it answered.

PutEvents takes at most ``MAX_ENTRIES_PER_CALL`` entries whose total size (EventBridge's own
formula, ``entry_size``) is at most ``MAX_REQUEST_BYTES``. A call can succeed as a whole and still
refuse some entries (``FailedEntryCount``): each entry's result is read, never the status alone.
Throttling, 5xx and connection errors of the call itself are retried by botocore ("standard"
mode: exponential backoff with jitter, ``MAX_ATTEMPTS`` attempts in all); refused entries are not
retried here, the caller reports their records as failed and Lambda retries those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import boto3
from botocore.config import Config

MAX_ENTRIES_PER_CALL = 10
MAX_REQUEST_BYTES = 256 * 1024
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 3.0
# The longest one ``put`` can take: every attempt timing out, plus botocore's backoff between
# attempts (at most 1 s, then 2 s, in standard mode).
CALL_WORST_CASE_SECONDS = MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + 3.0
_TIME_BYTES = 14  # how EventBridge counts a Time parameter


class EventsClient(Protocol):
    # "Entries" is boto3's parameter name.
    def put_events(self, *, Entries: list[dict[str, Any]]) -> Any: ...


@dataclass(frozen=True, slots=True)
class Event:
    source: str
    detail_type: str
    detail: str  # JSON text
    time: datetime | None = None


def entry_size(event: Event) -> int:
    """The size EventBridge counts for one PutEvents entry (its documented formula)."""
    size = len(event.source.encode()) + len(event.detail_type.encode()) + len(event.detail.encode())
    return size + (_TIME_BYTES if event.time is not None else 0)


def events_client() -> EventsClient:
    config = Config(
        # total_max_attempts counts the first attempt; botocore's "max_attempts" counts retries only.
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        tcp_keepalive=True,
    )
    client: EventsClient = boto3.client("events", config=config)
    return client


class EventBus:
    def __init__(self, client: EventsClient, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def put(self, events: Sequence[Event]) -> list[str | None]:
        """Send ``events`` in one PutEvents call; for each, None when EventBridge accepted it,
        else why not. Raises when the call itself failed (after botocore's retries)."""
        if not 0 < len(events) <= MAX_ENTRIES_PER_CALL:
            raise ValueError(f"PutEvents takes 1 to {MAX_ENTRIES_PER_CALL} entries, not {len(events)}")
        entries = []
        for event in events:
            entry: dict[str, Any] = {
                "EventBusName": self._bus_name,
                "Source": event.source,
                "DetailType": event.detail_type,
                "Detail": event.detail,
            }
            if event.time is not None:
                entry["Time"] = event.time
            entries.append(entry)
        response = self._client.put_events(Entries=entries)
        results = response.get("Entries") or []
        if len(results) != len(entries):
            raise RuntimeError(f"PutEvents answered {len(results)} results for {len(entries)} entries")
        if not response.get("FailedEntryCount"):
            return [None] * len(entries)
        return [_refusal(result) for result in results]


def _refusal(result: dict[str, Any]) -> str | None:
    if result.get("EventId") and not result.get("ErrorCode"):
        return None
    return f"{result.get('ErrorCode') or 'Unknown'}: {result.get('ErrorMessage') or 'no message'}"
