"""The adversarial pass over the local server's HTTP (docs/local.md, "What the local server
refuses"), through ``forward-orders serve`` with the real authorizer and API function:

- raw request bytes (request line variations, header folding, bare LF and CR, NUL bytes, absurd
  Content-Length values, chunked bodies, random bytes): every answer is well-formed HTTP read by a
  strict parser, with ``x-request-id``, JSON (or the empty 401), within 10 s: never a hang, never
  HTML, never a traceback;
- credential header combinations (``Authorization`` and ``x-api-key``: presence, case of the names,
  empty values, whitespace, schemes, repeats): each is allowed or refused exactly as the README's
  "Choices where the contract is silent" says, API Gateway's ``headers`` map holding the last
  value of a repeated field.

A few hundred examples in ``make test``, thousands under FORWARD_ORDERS_SOAK=1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.processes import ServeProcess, start_serve, stop_process_group
from tests.reliability import figures
from tests.reliability.raw_http import assert_gateway_answer, exchange

KEY, OTHER_KEY = "raw-http-acme-key", "raw-http-globex-key"
ORDER = "raw-http-order"
BATCH = json.dumps(
    {"orders": [{"identifier": ORDER, "items": [{"identifier": "1", "upc": "1", "sku": "S", "quantity": 1}]}]}
).encode()

RAW_EXAMPLES = figures.scale(300, 3000)
HEADER_EXAMPLES = figures.scale(150, 1500)
STATUSES: dict[int, int] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    serve = start_serve(tmp_path_factory.mktemp("raw-http"), {"acme": KEY, "globex": OTHER_KEY})
    try:
        assert serve.call("POST", "/forward_orders", key=KEY, raw=BATCH).status == 200
        yield serve
    finally:
        stop_process_group(serve.process)


def port_of(server: ServeProcess) -> int:
    return int(urlsplit(server.url).port or 0)


# -- raw requests -------------------------------------------------------------------------------

METHODS = st.sampled_from(
    ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "get", "FOO", "G@T", ""]
)
TARGETS = st.one_of(
    st.sampled_from(
        [
            "/forward_orders",
            f"/forward_orders/{ORDER}",
            "/forward_orders/a%2Fb",
            "/forward_orders/%",
            "/forward_orders/%zz",
            "/forward_orders/%FF%FE",
            "/forward_orders/\xc3\xa9",
            "/forward_orders/\xff",
            "/tracking/1Z999",
            "/console",
            "/console/../forward_orders",
            "//forward_orders",
            "/",
            "*",
            "http://local/forward_orders",
            "http://[::1",
            "forward_orders",
            "/" + "a" * 11_000,
        ]
    ),
    st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=40).map(lambda t: "/" + t),
)
VERSIONS = st.sampled_from(
    ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "http/1.1", "HTTP/11", ""]
)
ENDINGS = st.sampled_from(["\r\n", "\n", "\r", "\r\r\n"])
NAMES = st.sampled_from(
    ["Host", "Content-Length", "Transfer-Encoding", "Authorization", "x-api-key", "Connection", "Expect"]
)
VALUES = st.sampled_from(
    [
        *("local", f"Bearer {KEY}", KEY, "chunked", "gzip, chunked", "chunked, chunked", "identity"),
        *("close", "100-continue", "0", "5", "-1", "1e3", "0x10", " 7", "5, 6", "99999999999999999999"),
        "",
    ]
)
HOSTILE_FIELDS = st.one_of(
    st.tuples(st.sampled_from(["X_Under", "Bad Name", "", "X-\x00", " Host", "X-Á"]), st.just("1")),
    st.tuples(st.just("X-Value"), st.sampled_from(["a\x00b", "a\rb", "\x7f", "é"])),
    st.tuples(st.just("X-Any"), st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=20)),
)
BODIES = st.one_of(
    st.just(b""),
    st.just(BATCH),
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"0\r\n\r\n",
            b"5\r\n{}{}{\r\n0\r\n\r\n",
            b"zz\r\n",
            b"3;x=y\r\n{}\n\r\n0\r\nT: 1\r\n\r\n",
            b"5\r\nab",
        ]
    ),
)


@st.composite
def raw_requests(draw: st.DrawFn) -> tuple[str, bytes]:
    """A request made of parts, each sometimes broken; or random bytes."""
    if draw(st.integers(0, 9)) == 0:
        # Nothing at all is no request and gets no answer; anything else does.
        return "GET", draw(st.binary(min_size=1, max_size=200))
    method = draw(METHODS)
    ending = draw(st.one_of(st.just("\r\n"), st.just("\r\n"), ENDINGS))
    version = draw(st.one_of(st.just("HTTP/1.1"), st.just("HTTP/1.1"), VERSIONS))
    line = f"{method} {draw(TARGETS)} {version}"
    if draw(st.integers(0, 7)) == 0:
        line = draw(st.sampled_from([line.replace(" ", "  ", 1), line.replace(" ", "\t"), " " + line]))
    fields = [("Host", "local")] if draw(st.booleans()) or draw(st.booleans()) else []
    body = draw(BODIES)
    if draw(st.booleans()):
        fields.append(("Authorization", f"Bearer {KEY}"))
    if draw(st.booleans()):
        fields.append(("Content-Length", str(len(body))))
    fields += draw(st.lists(st.tuples(NAMES, VALUES), max_size=3))
    if draw(st.integers(0, 2)) == 0:
        fields.insert(draw(st.integers(0, len(fields))), draw(HOSTILE_FIELDS))
    head = line + ending + "".join(f"{name}: {value}{ending}" for name, value in fields)
    if draw(st.integers(0, 9)) == 0:
        head += " folded continuation" + ending
    data = (head + ending).encode("latin-1") + body
    return method, data


@settings(
    max_examples=RAW_EXAMPLES,
    deadline=None,
    derandomize=not figures.SOAK,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=raw_requests())
@example(request=("POST", b"POST /forward_orders HTTP/1.1\r\nHost: local\r\nContent-Length: 10\r\n\r\nabc"))
@example(request=("GET", b"GET / HTTP/1.1\nHost: local\n\n"))
@example(request=("GET", b"\x00\x01\x02 garbage"))
@example(
    request=(
        "POST",
        b"POST /forward_orders HTTP/1.1\r\nHost: local\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    )
)
def test_every_answer_to_raw_bytes_is_well_formed_json_with_a_request_id(
    server: ServeProcess, request: tuple[str, bytes]
) -> None:
    method, data = request
    answer = exchange(port_of(server), data, method=method if method in ("HEAD", "GET", "POST") else "GET")
    assert_gateway_answer(answer, method if method == "HEAD" else "GET")
    assert answer.status < 500 or answer.status == 505, answer
    STATUSES[answer.status] = STATUSES.get(answer.status, 0) + 1
    figures.record("raw http", examples=sum(STATUSES.values()), statuses=dict(sorted(STATUSES.items())))


# -- credential header combinations ---------------------------------------------------------------

CREDENTIAL_NAMES = st.sampled_from(
    ["Authorization", "authorization", "AUTHORIZATION", "x-api-key", "X-Api-Key"]
)
CREDENTIAL_VALUES = st.sampled_from(
    [
        f"Bearer {KEY}",
        f"bearer {KEY}",
        f"BEARER {KEY}",
        f"Bearer   {KEY}  ",
        f"  Bearer {KEY}",
        f"Bearer\t{KEY}",
        f"Basic {KEY}",
        f"Token {KEY}",
        f"Bearer {OTHER_KEY}",
        "Bearer not-a-key",
        "Bearer",
        "Bearer ",
        KEY,
        OTHER_KEY,
        f"{KEY} ",
        "not-a-key",
        "",
        "   ",
    ]
)


def expected_client(fields: list[tuple[str, str]]) -> str | None:
    """The README's rule, on what API Gateway's ``headers`` map holds (the last value of each
    field, names compared without case, optional whitespace stripped): ``Authorization`` decides
    when it is there, even empty (a malformed or blank one is 401, even with a valid
    ``x-api-key``); then ``x-api-key``."""
    last = {name.lower(): value.strip(" \t") for name, value in fields}
    keys = {KEY: "acme", OTHER_KEY: "globex"}
    if "authorization" in last:
        authorization = last["authorization"]
        scheme, _, credential = authorization.partition(" ")
        return keys.get(credential.strip()) if scheme.lower() == "bearer" else None
    return keys.get(last.get("x-api-key", ""))


@settings(
    max_examples=HEADER_EXAMPLES,
    deadline=None,
    derandomize=not figures.SOAK,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=st.lists(st.tuples(CREDENTIAL_NAMES, CREDENTIAL_VALUES), max_size=4))
@example(fields=[("Authorization", f"Basic {KEY}"), ("x-api-key", KEY)])  # malformed decides: 401
@example(fields=[("Authorization", ""), ("x-api-key", KEY)])  # present, even empty, decides: 401
@example(fields=[("Authorization", f"Bearer {OTHER_KEY}"), ("authorization", f"Bearer {KEY}")])  # the last
@example(fields=[("x-api-key", KEY), ("X-Api-Key", "not-a-key")])
def test_credential_headers_are_judged_as_the_readme_says(
    server: ServeProcess, fields: list[tuple[str, str]]
) -> None:
    head = f"GET /forward_orders/{ORDER} HTTP/1.1\r\nHost: local\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in fields)
    answer = exchange(port_of(server), (head + "\r\n").encode())
    assert_gateway_answer(answer)
    client = expected_client(fields)
    if client is None:
        assert answer.status == 401, (fields, answer.status)
    else:
        # globex has no such order: a valid key of another client reads 404, never acme's order.
        assert answer.status == (200 if client == "acme" else 404), (fields, answer.status)
        if client == "acme":
            assert answer.json()["identifier"] == ORDER
