"""An HTTP proxy that misbehaves on purpose, in front of ``forward-orders serve``: it refuses a
share of requests itself (429 or 502, with ``Retry-After``, never forwarded) and, for another
share, forwards the request, lets the server store it, then drops the connection without an answer.
Seeded, so a run can be repeated; it counts what it did."""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FaultProxy:
    def __init__(self, upstream: str, *, refuse: float = 0.3, drop: float = 0.1, seed: int = 7) -> None:
        self.upstream = urlsplit(upstream)
        self.refuse, self.drop = refuse, drop
        self.random = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.handle(self)

            def do_POST(self) -> None:
                proxy.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _draw(self) -> str:
        with self.lock:
            roll = self.random.random()
            fate = (
                "429"
                if roll < self.refuse / 2
                else "502"
                if roll < self.refuse
                else "drop"
                if roll < self.refuse + self.drop
                else "forward"
            )
            self.counts[fate] += 1
            retry_after = "1" if self.random.random() < 0.1 else "0"
            return fate if fate != "429" else f"429:{retry_after}"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        fate = self._draw()
        if fate.startswith("429") or fate == "502":
            status = 429 if fate.startswith("429") else 502
            retry_after = fate.partition(":")[2] or "0"
            payload = json.dumps(
                {"message": "Too Many Requests" if status == 429 else "Bad Gateway"}
            ).encode()
            request.send_response(status)
            request.send_header("Retry-After", retry_after)
            request.send_header("Content-Type", "application/json")
            request.send_header("x-request-id", "fault-proxy")
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection(
            self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=60
        )
        headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
        upstream.request(request.command, request.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        if fate == "drop":
            # Stored upstream, and the client never hears of it.
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        request.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
