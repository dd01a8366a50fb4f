"""The local server's HTTP front end (``http_front.py``) over a real socket, in this process: what
API Gateway would never pass on is refused with the stage's JSON and ``x-request-id``, and what it
passes on reaches the function as API Gateway hands it over (path, path parameters, header fields,
the complete body). The functions are stand-ins that record their events; docs/local.md has the
table of choices these tests pin down."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from forward_orders_cli.server import GatewayConfig, LocalApiGateway, serve
from tests.reliability.raw_http import assert_gateway_answer, exchange, parse

READ_TIMEOUT = 0.5


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


def allow_all(event: dict[str, Any], context: Any) -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}
    return {
        "principalId": "acme",
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": {"client_id": "acme", "kind": "client"},
    }


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def port(recorder: Recorder) -> Iterator[int]:
    gateway = LocalApiGateway(
        authorizer=allow_all, api=recorder, config=GatewayConfig(read_timeout_seconds=READ_TIMEOUT)
    )
    server = serve(gateway, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def request(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode("latin-1") + body


GET = "GET /forward_orders/x HTTP/1.1\nHost: local\n"
POST = "POST /forward_orders HTTP/1.1\nHost: local\n"

REFUSED = [
    ("a body shorter than its Content-Length", request(POST + "Content-Length: 10\n\n", b"abc"), 400),
    ("a request line that is not HTTP", b"HELLO\r\n\r\n", 400),
    ("two spaces in the request line", request("GET  /forward_orders/x HTTP/1.1\nHost: local\n\n"), 400),
    ("a lowercase protocol name", request("GET /forward_orders/x http/1.1\nHost: local\n\n"), 400),
    ("HTTP/0.9's request line", b"GET /forward_orders/x\r\n\r\n", 400),
    ("HTTP/2 in plain text", request("GET /forward_orders/x HTTP/2.0\nHost: local\n\n"), 505),
    ("a space in the target", request("GET /forward_orders/a b HTTP/1.1\nHost: local\n\n"), 400),
    ("a control character in the target", request("GET /forward_orders/\x01 HTTP/1.1\nHost: local\n\n"), 400),
    ("a target that is neither a path nor a URL", request("OPTIONS * HTTP/1.1\nHost: local\n\n"), 400),
    ("an invalid absolute URL", request("GET http://[::1/x HTTP/1.1\nHost: local\n\n"), 400),
    ("a folded header line", request(GET + "X-A: 1\n  2\n\n"), 400),
    ("a header line without a colon", request(GET + "X-A 1\n\n"), 400),
    ("a space before the colon", request(GET + "X-A : 1\n\n"), 400),
    ("a NUL in a header value", request(GET + "X-A: a\x00b\n\n"), 400),
    ("a bare CR in a header value", request(GET + "X-A: a\rb\n\n"), 400),
    ("no Host", b"GET /forward_orders/x HTTP/1.1\r\n\r\n", 400),
    ("two Host headers", request(GET + "Host: other\n\n"), 400),
    ("a header section that ends early", request(GET + "X-A: 1\n"), 400),
    ("a Content-Length that is not digits", request(POST + "Content-Length: 0x10\n\n"), 400),
    ("a negative Content-Length", request(POST + "Content-Length: -1\n\n"), 400),
    ("two different Content-Lengths", request(POST + "Content-Length: 1\nContent-Length: 2\n\n", b"ab"), 400),
    ("a Content-Length over the quota", request(POST + "Content-Length: 99999999999999999999\n\n"), 413),
    ("Transfer-Encoding gzip, chunked", request(POST + "Transfer-Encoding: gzip, chunked\n\n0\n\n"), 400),
    ("Transfer-Encoding chunked twice", request(POST + "Transfer-Encoding: chunked, chunked\n\n0\n\n"), 400),
    ("Transfer-Encoding identity", request(POST + "Transfer-Encoding: identity\n\n"), 400),
    (
        "both Transfer-Encoding and Content-Length",
        request(POST + "Transfer-Encoding: chunked\nContent-Length: 5\n\n0\n\n"),
        400,
    ),
    (
        "Transfer-Encoding in HTTP/1.0",
        request("POST /forward_orders HTTP/1.0\nHost: local\nTransfer-Encoding: chunked\n\n0\n\n"),
        400,
    ),
    ("a chunk size that is not hex", request(POST + "Transfer-Encoding: chunked\n\nzz\n\n"), 400),
    ("a chunk size with a sign", request(POST + "Transfer-Encoding: chunked\n\n+3\nabc\n0\n\n"), 400),
    ("a chunk longer than its size", request(POST + "Transfer-Encoding: chunked\n\n2\nabc\n0\n\n"), 400),
    ("a chunked body without its last chunk", request(POST + "Transfer-Encoding: chunked\n\n3\nabc\n"), 400),
    ("a URL over 10,240 bytes", request(f"GET /{'a' * 10_240} HTTP/1.1\nHost: local\n\n"), 414),
    ("a request line over http.server's 64 KiB", request(f"GET /{'a' * 70_000} HTTP/1.1\n\n"), 414),
    ("header values over 10,240 bytes", request(GET + f"X-A: {'a' * 5_000}\nX-B: {'b' * 5_300}\n\n"), 431),
    ("too many header fields", request(GET + "X-A: 1\n" * 101 + "\n"), 431),
]


@pytest.mark.parametrize(("data", "status"), [row[1:] for row in REFUSED], ids=[row[0] for row in REFUSED])
def test_what_api_gateway_would_not_pass_on_is_refused_with_the_stages_json(
    port: int, recorder: Recorder, data: bytes, status: int
) -> None:
    answer = exchange(port, data)
    assert answer.status == status
    assert_gateway_answer(answer)
    assert answer.headers["connection"] == "close"
    assert answer.json()["message"]
    assert recorder.events == []  # the function never saw it


def test_the_messages_come_from_the_contracts_table(port: int) -> None:
    assert exchange(port, b"HELLO\r\n\r\n").json()["message"] == "Bad Request"
    too_large = exchange(port, request(POST + "Content-Length: 99999999999\n\n"))
    assert too_large.json()["message"] == "Payload Too Large"
    # A status the contract does not list: the HTTP reason phrase, as API Gateway's own message.
    assert exchange(port, request(f"GET /{'a' * 10_240} HTTP/1.1\nHost: local\n\n")).json()["message"] == (
        "Request-URI Too Long"
    )


def test_a_stalled_body_is_400_after_the_read_timeout_not_a_hang(port: int, recorder: Recorder) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request(POST + "Content-Length: 10\n\n", b"abc"))  # and nothing more
        received = b""
        while part := connection.recv(65536):
            received += part
    answer = parse(received, "POST")
    assert answer.status == 400
    assert_gateway_answer(answer)
    assert READ_TIMEOUT <= time.monotonic() - started < READ_TIMEOUT + 5
    assert recorder.events == []


def test_a_stall_in_the_header_section_is_400_after_the_read_timeout(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request(GET + "X-Partial: 1\n"))  # no empty line, nothing more
        received = b""
        while part := connection.recv(65536):
            received += part
    assert parse(received, "GET").status == 400


ACCEPTED = [
    ("bare LF line endings", b"GET /forward_orders/x HTTP/1.1\nHost: local\n\n"),
    ("one empty line before the request", request("\n" + GET + "\n")),
    ("HTTP/1.0 without Host", b"GET /forward_orders/x HTTP/1.0\r\n\r\n"),
    ("a later HTTP/1 minor version", request("GET /forward_orders/x HTTP/1.2\nHost: local\n\n")),
    ("any method token", request("FETCH-ALL /forward_orders/x HTTP/1.1\nHost: local\n\n")),
    ("an empty header value", request(GET + "X-Empty:\n\n")),
    ("obs-text in a header value", request(GET + "X-Latin: caf\xe9\n\n")),
]


@pytest.mark.parametrize("data", [row[1] for row in ACCEPTED], ids=[row[0] for row in ACCEPTED])
def test_what_http_1_1_allows_reaches_the_function(port: int, recorder: Recorder, data: bytes) -> None:
    assert exchange(port, data).status == 200
    assert len(recorder.events) == 1


def test_a_head_refusal_has_no_body(port: int) -> None:
    answer = exchange(
        port, request("HEAD /forward_orders/x HTTP/1.1\nHost: local\nX-A: \x01\n\n"), method="HEAD"
    )
    assert answer.status == 400
    assert answer.body == b""
    assert answer.headers["x-request-id"]


# -- what reaches the function -------------------------------------------------------------------

PATHS = [
    # (target as sent, the event's path, its resource, its pathParameters)
    ("/forward_orders/a%2Fb", "/forward_orders/a%2Fb", "/forward_orders/{identifier}", {"identifier": "a/b"}),
    (
        "/forward_orders/100%25",
        "/forward_orders/100%25",
        "/forward_orders/{identifier}",
        {"identifier": "100%"},
    ),
    ("/forward_orders/a+b", "/forward_orders/a+b", "/forward_orders/{identifier}", {"identifier": "a+b"}),
    ("/forward_orders/a%20b", "/forward_orders/a%20b", "/forward_orders/{identifier}", {"identifier": "a b"}),
    (
        "/forward_orders/\xc3\xa9",
        "/forward_orders/%C3%A9",
        "/forward_orders/{identifier}",
        {"identifier": "é"},
    ),
    ("/forward_orders/%C3%A9", "/forward_orders/%C3%A9", "/forward_orders/{identifier}", {"identifier": "é"}),
    (
        "/forward_orders/a;b=c",
        "/forward_orders/a;b=c",
        "/forward_orders/{identifier}",
        {"identifier": "a;b=c"},
    ),
    ("/forward_orders/..", "/forward_orders/..", "/forward_orders/{identifier}", {"identifier": ".."}),
    (
        "/forward_orders/%2E%2E",
        "/forward_orders/%2E%2E",
        "/forward_orders/{identifier}",
        {"identifier": ".."},
    ),
    ("/forward_orders/%zz", "/forward_orders/%zz", "/forward_orders/{identifier}", {"identifier": "%zz"}),
    ("/forward_orders/%FF", "/forward_orders/%FF", "/forward_orders/{identifier}", {"identifier": "\ufffd"}),
    ("/forward_orders/x?limit=1", "/forward_orders/x", "/forward_orders/{identifier}", {"identifier": "x"}),
    ("//forward_orders/x", "/forward_orders/x", "/forward_orders/{identifier}", {"identifier": "x"}),
    (
        "http://local/forward_orders/x",
        "/forward_orders/x",
        "/forward_orders/{identifier}",
        {"identifier": "x"},
    ),
    # Not normalized: a trailing slash, an inner //, a dot segment are their own (unknown) paths.
    ("/forward_orders/x/", "/forward_orders/x/", "/{proxy+}", {"proxy": "forward_orders/x/"}),
    ("/forward_orders//x", "/forward_orders//x", "/{proxy+}", {"proxy": "forward_orders//x"}),
    ("/tracking/../forward_orders/x", "/tracking/../forward_orders/x", "/{proxy+}", None),
    ("/forward_orders/", "/forward_orders/", "/{proxy+}", {"proxy": "forward_orders/"}),
]


@pytest.mark.parametrize("row", PATHS, ids=[row[0] for row in PATHS])
def test_a_path_reaches_the_function_as_api_gateway_hands_it_over(
    port: int, recorder: Recorder, row: tuple[str, str, str, dict[str, str] | None]
) -> None:
    target, path, resource, parameters = row
    answer = exchange(port, request(f"GET {target} HTTP/1.1\nHost: local\n\n"))
    assert answer.status == 200, answer
    (event,) = recorder.events
    assert (event["path"], event["resource"]) == (path, resource)
    if parameters is not None or resource != "/{proxy+}":
        assert event["pathParameters"] == parameters


def test_header_fields_reach_the_function_as_sent(port: int, recorder: Recorder) -> None:
    head = (
        GET + "authorization: Bearer first\nAuthorization: Bearer second\nX_Under_Score: 1\n"
        "X-Padded: \t  spaced value \t\nX-Empty:\nX-Forwarded-For: 192.0.2.1\n\n"
    )
    assert exchange(port, request(head)).status == 200
    (event,) = recorder.events
    multi = event["multiValueHeaders"]
    # One field whatever the case of its name: under its first spelling, every value in order;
    # headers holds the last one, as API Gateway's does.
    assert multi["authorization"] == ["Bearer first", "Bearer second"]
    assert event["headers"]["authorization"] == "Bearer second"
    assert "Authorization" not in multi
    assert multi["X_Under_Score"] == ["1"]  # werkzeug would drop it; API Gateway passes it
    assert multi["X-Padded"] == ["spaced value"]  # optional whitespace is not part of the value
    assert multi["X-Empty"] == [""]
    assert multi["X-Forwarded-For"] == ["192.0.2.1, 127.0.0.1"]


def test_a_chunked_body_reaches_the_function_whole(port: int, recorder: Recorder) -> None:
    body = b'{"orders": []}'
    chunked = (
        b"5;name=value\r\n"
        + body[:5]
        + b"\r\n"
        + b"%x\r\n" % len(body[5:])
        + body[5:]
        + b"\r\n0\r\nX-T: 1\r\n\r\n"
    )
    answer = exchange(port, request(POST + "Transfer-Encoding: chunked\n\n", chunked), method="POST")
    assert answer.status == 200
    (event,) = recorder.events
    assert base64.b64decode(event["body"]) == body


def test_expect_100_continue_is_answered_before_the_body(port: int, recorder: Recorder) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request(POST + "Content-Length: 2\nExpect: 100-continue\n\n"))
        assert connection.recv(100).startswith(b"HTTP/1.1 100")
        connection.sendall(b"{}")
        connection.shutdown(socket.SHUT_WR)
        received = b""
        while part := connection.recv(65536):
            received += part
    assert parse(received, "POST").status == 200
    assert base64.b64decode(recorder.events[0]["body"]) == b"{}"


def test_each_answer_closes_its_connection_and_a_pipelined_request_is_not_read(
    port: int, recorder: Recorder
) -> None:
    # werkzeug closes every connection after one answer (http.server cannot drain a body safely);
    # a client must open a new one, which every HTTP client does on "Connection: close".
    answer = exchange(port, request(GET + "\n") + request(GET + "\n"))
    assert answer.status == 200
    assert answer.headers["connection"] == "close"
    assert len(recorder.events) == 1


def test_an_answer_to_a_valid_request_is_still_the_functions(port: int, recorder: Recorder) -> None:
    answer = exchange(port, request(POST + "Content-Length: 2\n\n", b"{}"), method="POST")
    assert answer.status == 200
    assert json.loads(answer.body) == {}
    assert answer.headers["x-request-id"] == recorder.events[0]["requestContext"]["requestId"]
