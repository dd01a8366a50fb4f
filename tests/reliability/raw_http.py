"""Raw bytes to the local server over a socket, and its answer read by a strict HTTP/1.1 parser
(h11): what a test checks is what a client on the wire would get, never what a lenient client
library makes of it."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any

import h11

# Nothing the local server answers may take longer: a refusal is immediate, a request is small.
ANSWER_TIMEOUT = 10.0


class NoAnswer(AssertionError):
    """The server closed without a well-formed response, or kept the connection silent."""


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]  # lower-cased names, the last value of each
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def exchange(port: int, data: bytes, *, method: str = "GET", timeout: float = ANSWER_TIMEOUT) -> RawAnswer:
    """Send ``data``, close our side, read until the server closes: its first answer, parsed
    strictly. ``method`` is the request's (a HEAD answer has no body)."""
    started = time.monotonic()
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        try:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before everything was sent: the answer is still there to read
        deadline = started + timeout
        while True:
            connection.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                part = connection.recv(65536)
            except TimeoutError as error:
                raise NoAnswer(
                    f"no end of the answer after {timeout} s: {bytes(received[:300])!r}"
                ) from error
            except ConnectionResetError:
                break
            if not part:
                break
            received += part
    return parse(bytes(received), method, time.monotonic() - started)


def parse(received: bytes, method: str, seconds: float = 0.0) -> RawAnswer:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/", headers=[("Host", "local")]))
    client.send(h11.EndOfMessage())
    client.receive_data(received)
    client.receive_data(b"")
    response: h11.Response | None = None
    body = bytearray()
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError as error:
            raise NoAnswer(f"not well-formed HTTP ({error}): {received[:300]!r}") from error
        if isinstance(event, h11.InformationalResponse):
            continue  # 100 Continue
        if isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        elif event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
            raise NoAnswer(f"the answer ended early: {received[:300]!r}")
    assert response is not None
    headers = {name.decode().lower(): value.decode("latin-1") for name, value in response.headers}
    return RawAnswer(response.status_code, headers, bytes(body), seconds)


def assert_gateway_answer(answer: RawAnswer, method: str = "GET") -> None:
    """Every answer of the local server: an ``x-request-id``, never a traceback; the 401 empty;
    every other error JSON with its ``message`` and the same ``request_id``, never an HTML page.
    (A 2xx is the route's own: JSON, or the console's page and assets.)"""
    request_id = answer.headers.get("x-request-id")
    assert request_id, answer
    assert b"traceback" not in answer.body.lower(), answer
    if answer.status == 401 or method == "HEAD":
        assert answer.body == b"", answer
        return
    if answer.status < 400:
        return
    assert answer.headers.get("content-type", "").startswith("application/json"), answer
    body = answer.json()
    assert isinstance(body["message"], str) and body["message"], answer
    assert body["request_id"] == request_id, answer
