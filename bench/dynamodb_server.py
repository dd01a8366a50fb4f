"""The benchmark's DynamoDB: a loopback HTTP server that answers every call after a fixed delay.

``python -m bench.dynamodb_server`` prints its port and serves until stdin closes. HTTP/1.1 with
keep-alive, one thread per connection, as many connections as the clients open: the client's whole
stack runs (serializing, signing, the connection pool, http.client or the client's own transport,
parsing the answer); only DynamoDB's own work is replaced by the delay. It runs on the CPUs the
function does not use (``--cpus``), so its own work is not counted in the function's.

Every DynamoDB call is answered ``{}`` (what an UpdateItem without ReturnValues answers; an empty
GetItem or Query for reads) with DynamoDB's headers (request id, CRC32 of the body). Paths under
``/bench/`` control it: ``POST /bench/delay`` (body: seconds), ``POST /bench/capture`` (start
keeping UpdateItem bodies), ``GET /bench/calls`` (calls since the last ``delay`` and the captured
bodies, JSON). docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EMPTY = b"{}"
EMPTY_CRC = str(zlib.crc32(EMPTY))


class State:
    def __init__(self) -> None:
        self.delay = 0.0
        self.calls = 0
        self.captured: list[Any] | None = None
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as DynamoDB
    # Answers leave at once: with Nagle's algorithm a small write waits for the client's delayed
    # ACK (40 ms on Linux).
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, body: bytes) -> None:
        # Status line, headers and body in one write, so in one segment.
        crc = EMPTY_CRC if body is EMPTY else str(zlib.crc32(body))
        head = (
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/x-amz-json-1.0\r\n"
            "x-amzn-RequestId: BENCH\r\n"
            f"x-amz-crc32: {crc}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.wfile.write(head.encode() + body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state = self.server.state
        if self.path == "/bench/delay":
            with state.lock:
                state.delay, state.calls = float(body), 0
            self._answer(EMPTY)
            return
        if self.path == "/bench/capture":
            with state.lock:
                state.captured = []
            self._answer(EMPTY)
            return
        with state.lock:
            state.calls += 1
            if state.captured is not None and self.headers.get("X-Amz-Target", "").endswith("UpdateItem"):
                state.captured.append(json.loads(body))
            delay = state.delay
        if delay:
            time.sleep(delay)
        self._answer(EMPTY)

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            reply = {"calls": state.calls, "captured": state.captured}
            state.captured = None
        self._answer(json.dumps(reply).encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # Every connection of a 64-thread pool may open at once: the default backlog (5) would drop
    # SYNs and cost a client a one-second retransmit.
    request_queue_size = 256

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = State()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dynamodb_server")
    parser.add_argument("--cpus", default="", help="comma-separated CPUs to run on (default: any)")
    options = parser.parse_args()
    if options.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(cpu) for cpu in options.cpus.split(",")})
    server = Server()
    threading.Thread(target=server.serve_forever, name="dynamodb", daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # until the parent closes it (or dies)
    server.shutdown()


if __name__ == "__main__":
    main()
