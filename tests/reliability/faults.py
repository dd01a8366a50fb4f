"""DynamoDB failing the way AWS fails, at the HTTP boundary: a fault-injecting proxy in front of moto.

``FaultProxy(rate, seed, ...).start(upstream)`` listens on a loopback port; the service is pointed at
it with ``AWS_ENDPOINT_URL_DYNAMODB`` (the same variable that points it at any DynamoDB), so
whatever client the service uses runs its real HTTP, parsing and error paths. For each request the
proxy decides from (seed, operation, record key, how many times that key was tried) whether to fail
it, so a seed gives the same faults for the same sequence of requests whatever the thread
scheduling, and then:

- answers an error DynamoDB sends, without forwarding: ``ProvisionedThroughputExceededException``,
  ``ThrottlingException``, ``RequestLimitExceeded`` (400), ``InternalServerError`` (500),
  ``ServiceUnavailable`` (503);
- ``ConnectionReset``: resets the connection (TCP RST) without forwarding;
- ``ReadTimeout``: forwards nothing and answers nothing until the client's read timeout has
  passed (``hold`` seconds), then closes;
- ``*_after_write``: forwards the request (the write lands in moto) and then loses the answer: a
  500, a reset or a timeout instead of it, as when a response is lost on the way.

A failed call changed nothing, except for the ``*_after_write`` kinds.

UnprocessedItems and TransactionCanceledException are not injected: the write path uses neither
BatchWriteItem nor TransactWriteItems (one UpdateItem per record, docs/design.md). ``seen_operations``
shows which operations the service called, and the tests fail if a new one appears, so a change of
write strategy cannot silently go untested.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

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
DROPPED = ("ReadTimeout", "ConnectionReset")
AFTER_WRITE = ("ReadTimeout_after_write", "InternalServerError_after_write", "ConnectionReset_after_write")
ALL_FAULTS = (*ERROR_RESPONSES, *DROPPED, *AFTER_WRITE)
TIMEOUTS = ("ReadTimeout", "ReadTimeout_after_write")  # each costs the client its read timeout
# Operations the service is known to call; a new one fails the fault tests until looked at here.
KNOWN_OPERATIONS = frozenset({"UpdateItem", "Query", "GetItem"})
# Headers that belong to one hop, not to the request or answer relayed.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


@dataclass
class FaultProxy:
    rate: float
    seed: int
    faults: tuple[str, ...] = ALL_FAULTS
    # Seconds a fault takes before it strikes (0: at once; a 5xx can take its time too).
    delay: float = 0.0
    # How long a ReadTimeout holds the request unanswered: longer than the client's read timeout.
    hold: float = 0.5
    injected: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    seen_operations: set[str] = field(default_factory=set)
    # Answers that could not be relayed although no fault was injected (the client had given up:
    # moto slower than the read timeout), and 5xx that moto answered itself.
    real_errors: int = 0
    _attempts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    upstream: str = ""

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, upstream: str) -> FaultProxy:
        self.upstream = upstream
        self._server = _Server(self)
        threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())

    def decide(self, operation: str, body: bytes) -> str | None:
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

    def count_real_error(self) -> None:
        with self._lock:
            self.real_errors += 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a pool of 64 connections may open at once

    def __init__(self, proxy: FaultProxy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy
        self.resets: set[socket.socket] = set()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that resets a connection (after its own timeout) is expected here: not logged."""

    def shutdown_request(self, request: Any) -> None:
        if request in self.resets:
            # No shutdown first (it would send a FIN): closed with SO_LINGER 0, it sends a RST.
            self.resets.discard(request)
            request.close()
            return
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        fault = proxy.decide(operation, body)
        if fault is not None and proxy.delay:
            time.sleep(proxy.delay)
        if fault is None or fault in AFTER_WRITE:
            try:
                status, headers, answer = self._forward(body)
            except OSError:
                proxy.count_real_error()
                self._reset()
                return
            if fault is None:
                if status >= 500:
                    proxy.count_real_error()
                self._relay(status, headers, answer)
                return
            fault = fault.removesuffix("_after_write")
        if fault == "ReadTimeout":
            time.sleep(proxy.hold)
            self.close_connection = True
        elif fault == "ConnectionReset":
            self._reset()
        else:
            status, error_type = ERROR_RESPONSES[fault]
            error = json.dumps({"__type": error_type, "message": f"injected {fault}"}).encode()
            self._relay(status, [("Content-Type", "application/x-amz-json-1.0")], error)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        if self._upstream is None:
            parts = urlsplit(self.server.proxy.upstream)
            self._upstream = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        try:
            self._upstream.request("POST", self.path, body=body, headers=headers)
            response = self._upstream.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException):
            self._upstream.close()
            self._upstream = None
            raise OSError("upstream failed") from None
        kept = [(name, value) for name, value in response.getheaders() if name.lower() not in _HOP_BY_HOP]
        return response.status, kept, answer

    def _relay(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        head = [f"HTTP/1.1 {status} {http.client.responses.get(status, '')}"]
        head += [f"{name}: {value}" for name, value in headers]
        head += ["x-amzn-RequestId: fault-proxy", f"Content-Length: {len(body)}", "", ""]
        try:
            self.wfile.write("\r\n".join(head).encode() + body)
        except OSError:  # the client gave up on this call (its read timeout): a real timeout
            self.server.proxy.count_real_error()
            self.close_connection = True

    def _reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0): the client sees the connection reset."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.server.resets.add(self.connection)
        self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # a connection reset: nothing left to flush
            super().finish()
        if self._upstream is not None:
            self._upstream.close()


def _record_key(body: bytes) -> str:
    """The record (UpdateItem, GetItem) or partition (Query) a request is about."""
    try:
        request = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
    key = request.get("Key") or request.get("ExpressionAttributeValues") or request
    # Not the table name: the tests use a fresh table per run, and a seed must give the same faults.
    return json.dumps([key, request.get("ExclusiveStartKey")], sort_keys=True)
