"""DynamoDB failing the way AWS fails, injected with botocore's event hooks: no service code changes.

``FaultInjector.install(client)`` registers a ``before-send`` handler first on a boto3 client's
event system (the service's own: ``forward_orders.handler.orders_table()._client``). For each HTTP
request the client is about to send, the handler decides from (seed, operation, record key, how many
times that key was tried) whether to fail it, so a seed gives the same faults for the same sequence
of requests whatever the thread scheduling, and then:

- answers with an error response DynamoDB sends, which botocore parses into its usual ClientError:
  ``ProvisionedThroughputExceededException`` (400), ``ThrottlingException`` (400),
  ``RequestLimitExceeded`` (400), ``InternalServerError`` (500), ``ServiceUnavailable`` (503);
- or raises what the HTTP layer raises: ``ReadTimeoutError``, ``ConnectionClosedError`` (a reset),
  ``EndpointConnectionError`` (connection refused);
- or, for the ambiguous failures, lets the request reach DynamoDB and *then* loses the answer
  (``ReadTimeoutError`` or a 500 after the write was applied), as when a response is lost on the way.

Returning a response from ``before-send`` means the request is never sent: a failed call changed
nothing, except for the ``*_after_write`` kinds, which send it first.

UnprocessedItems and TransactionCanceledException are not injected: the write path uses neither
BatchWriteItem nor TransactWriteItems (one UpdateItem per record, docs/design.md). ``seen_operations``
shows which operations the service called, and the tests fail if a new one appears, so a change of
write strategy cannot silently go untested.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

ERROR_RESPONSES = {
    # name: (HTTP status, __type)
    "ProvisionedThroughputExceededException": (
        400,
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    ),
    "ThrottlingException": (400, "com.amazon.coral.availability#ThrottlingException"),
    "RequestLimitExceeded": (400, "com.amazonaws.dynamodb.v20120810#RequestLimitExceeded"),
    "InternalServerError": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError"),
    "ServiceUnavailable": (503, "com.amazon.coral.availability#ServiceUnavailableException"),
}
RAISED = ("ReadTimeoutError", "ConnectionClosedError", "EndpointConnectionError")
AFTER_WRITE = ("ReadTimeoutError_after_write", "InternalServerError_after_write")
ALL_FAULTS = (*ERROR_RESPONSES, *RAISED, *AFTER_WRITE)
# Operations the service is known to call; a new one fails the fault tests until looked at here.
KNOWN_OPERATIONS = frozenset({"UpdateItem", "Query", "GetItem"})


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def error_response(url: str, name: str) -> AWSResponse:
    status, error_type = ERROR_RESPONSES[name]
    body = json.dumps({"__type": error_type, "message": f"injected {name}"}).encode()
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = "injected"
    return AWSResponse(url, status, headers, _RawBody(body))


@dataclass
class FaultInjector:
    rate: float
    seed: int
    faults: tuple[str, ...] = ALL_FAULTS
    # Seconds a fault takes before it strikes (0: at once; a timeout in real life takes its time).
    delay: float = 0.0
    injected: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    seen_operations: set[str] = field(default_factory=set)
    # Exceptions the client saw, injected or real (a real one: moto too slow for the read timeout).
    observed: Counter[str] = field(default_factory=Counter)
    _attempts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _session: Any = None

    def install(self, client: Any) -> FaultInjector:
        """Register on this client's own event system, ahead of every other handler."""
        self._session = client._endpoint.http_session
        client.meta.events.register_first("before-send.dynamodb", self.before_send)
        client.meta.events.register("needs-retry.dynamodb", self._observe)
        return self

    def _observe(self, caught_exception: BaseException | None = None, **_: Any) -> None:
        if caught_exception is not None:
            with self._lock:
                self.observed[type(caught_exception).__name__] += 1

    @property
    def real_errors(self) -> int:
        """Exceptions the client saw that were not injected."""
        raised = sum(self.injected[name] for name in (*RAISED, "ReadTimeoutError_after_write"))
        return sum(self.observed.values()) - raised

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())

    def _decide(self, operation: str, body: bytes) -> str | None:
        key = _record_key(body)
        with self._lock:
            self.calls[operation] += 1
            self.seen_operations.add(operation)
            attempt = self._attempts[key]
            self._attempts[key] += 1
        digest = hashlib.sha256(f"{self.seed}|{operation}|{key}|{attempt}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.rate:
            return None
        fault = self.faults[int.from_bytes(digest[8:16], "big") % len(self.faults)]
        with self._lock:
            self.injected[fault] += 1
        return fault

    def before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]  # before-send.dynamodb.UpdateItem
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        fault = self._decide(operation, body)
        if fault is None:
            return None
        if self.delay:
            time.sleep(self.delay)
        url = request.url
        if fault in AFTER_WRITE:
            self._session.send(request)  # the write happens; its answer is lost
            fault = fault.removesuffix("_after_write")
            if fault == "InternalServerError":
                return error_response(url, fault)
        if fault == "ReadTimeoutError":
            raise ReadTimeoutError(endpoint_url=url)
        if fault == "ConnectionClosedError":
            raise ConnectionClosedError(endpoint_url=url)
        if fault == "EndpointConnectionError":
            raise EndpointConnectionError(endpoint_url=url)
        return error_response(url, fault)


def _record_key(body: bytes) -> str:
    """The record (UpdateItem, GetItem) or partition (Query) a request is about."""
    try:
        request = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
    key = request.get("Key") or request.get("ExpressionAttributeValues") or request
    # Not the table name: the tests use a fresh table per run, and a seed must give the same faults.
    return json.dumps([key, request.get("ExclusiveStartKey")], sort_keys=True)
