"""The local server's HTTP/1.1 front end: each request is read whole and strictly, the way API
Gateway's front end takes it, before the gateway (``server.py``) sees it. What API Gateway would
never pass on (malformed syntax or framing, an incomplete body, over its quotas) is answered here
with the stage's JSON error body and ``x-request-id``, never werkzeug's HTML pages. What is passed
on: the request target as sent (``RAW_URI``), the header fields as sent (``RAW_HEADERS``), the
complete body. The table of what is refused and why: docs/local.md, "What the local server refuses".
"""

from __future__ import annotations

import io
import logging
import re
import socket
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.client import HTTPMessage
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from forward_orders_cli.server import HttpResponse

logger = logging.getLogger(__name__)

# The environ key of the header fields as sent: a list of (name, value), latin-1 text as in WSGI.
RAW_HEADERS = "forward_orders.raw_headers"
# API Gateway's quotas for a regional REST API: URL length, and request line plus header values.
MAX_URL_BYTES = 10_240
MAX_LINE_AND_HEADER_VALUE_BYTES = 10_240
# Bounds of our own, so a stream of empty header fields cannot be read for ever.
MAX_HEADER_FIELDS = 100
MAX_HEADER_SECTION_BYTES = 64 * 1024
MAX_CHUNK_LINE_BYTES = 4096
# After a refusal: how much of the rest of the request is read and dropped before closing.
DRAIN_BYTES = 16 * 1024 * 1024
DRAIN_SECONDS = 5.0

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# RFC 9112: method SP request-target SP HTTP-version; a bare LF ends a line too (section 2.2).
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e\x80-\xff]+) HTTP/([0-9])\.([0-9])\r?\n")
# field-name ":" OWS field-value OWS; no obs-fold, no control character but HTAB.
_HEADER_LINE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*\r?\n")
_END_OF_SECTION = (b"\r\n", b"\n")
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?\r?\n")


class Reader(Protocol):
    def readline(self, size: int | None = -1, /) -> bytes: ...

    def read(self, size: int | None = -1, /) -> bytes: ...


class Refusal(Exception):
    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str  # latin-1 text of the raw bytes, as WSGI carries them
    version: tuple[int, int]
    headers: list[tuple[str, str]]

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


def read_head(request_line: bytes, rfile: Reader) -> RequestHead:
    """The request line and the header section, or Refusal."""
    method, target, minor = _request_line(request_line)
    counted = len(request_line.rstrip(b"\r\n"))
    section = len(request_line)
    headers: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(MAX_HEADER_SECTION_BYTES + 1)
        section += len(line)
        if line in _END_OF_SECTION:
            break
        if not line:
            raise Refusal(HTTPStatus.BAD_REQUEST, "the header section ended early")
        if section > MAX_HEADER_SECTION_BYTES or len(headers) >= MAX_HEADER_FIELDS:
            raise Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too many header fields")
        field = _HEADER_LINE.fullmatch(line)
        if field is None:
            reason = "folded header line" if line[:1] in (b" ", b"\t") else "malformed header line"
            raise Refusal(HTTPStatus.BAD_REQUEST, reason)
        name, value = field.groups()
        counted += len(value)
        if counted > MAX_LINE_AND_HEADER_VALUE_BYTES:
            reason = "request line and header values over 10,240 bytes"
            raise Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, reason)
        headers.append((name.decode("ascii"), value.decode("latin-1")))
    head = RequestHead(method, target, (1, minor), headers)
    if len(head.values("host")) != 1 and (head.version >= (1, 1) or head.values("host")):
        raise Refusal(HTTPStatus.BAD_REQUEST, "not exactly one Host header")
    return head


def _request_line(line: bytes) -> tuple[str, str, int]:
    """The method, the target (latin-1 text of its bytes, as WSGI carries it) and the minor
    version of an HTTP/1 request line, or Refusal."""
    matched = _REQUEST_LINE.fullmatch(line)
    if matched is None:
        raise Refusal(HTTPStatus.BAD_REQUEST, "malformed request line")
    method, target, major, minor = matched.groups()
    if len(target) > MAX_URL_BYTES:
        raise Refusal(HTTPStatus.REQUEST_URI_TOO_LONG, "URL over 10,240 bytes")
    if not _origin_or_absolute_form(target):
        raise Refusal(HTTPStatus.BAD_REQUEST, "the request target is not a path or an http(s) URL")
    if major == b"0":
        raise Refusal(HTTPStatus.BAD_REQUEST, "HTTP/0.x")
    if major != b"1":
        raise Refusal(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "HTTP/2 or later over plain HTTP/1")
    if target.startswith(b"//"):
        # As http.server did before this front end: "//x" is "/x", never a URL without a scheme.
        target = b"/" + target.lstrip(b"/")
    return method.decode("ascii"), target.decode("latin-1"), int(minor)


def _origin_or_absolute_form(target: bytes) -> bool:
    if target.startswith(b"/"):
        return True
    if not target.lower().startswith((b"http://", b"https://")):
        return False
    try:
        urlsplit(target.decode("latin-1"))
    except ValueError:  # an invalid authority ("http://[::1")
        return False
    return True


def framing(head: RequestHead) -> int | None:
    """The body's length from Content-Length (0 without one), or None for a chunked body."""
    encodings = _tokens(head.values("transfer-encoding"))
    lengths = head.values("content-length")
    if encodings:
        if encodings != ["chunked"]:
            raise Refusal(HTTPStatus.BAD_REQUEST, "unsupported Transfer-Encoding")
        if lengths:
            raise Refusal(HTTPStatus.BAD_REQUEST, "both Transfer-Encoding and Content-Length")
        if head.version < (1, 1):
            raise Refusal(HTTPStatus.BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 request")
        return None
    if not lengths:
        return 0
    if any(not (value.isascii() and value.isdigit()) for value in lengths) or len(set(map(int, lengths))) > 1:
        raise Refusal(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
    return int(lengths[0])


def read_body(head: RequestHead, rfile: Reader, max_bytes: int) -> bytes:
    """The whole body, or Refusal: 413 over ``max_bytes``, 400 when it ends before its framing says."""
    length = framing(head)
    if length is None:
        return _read_chunked(rfile, max_bytes)
    if length > max_bytes:
        raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body over the quota")
    body = _read_exactly(rfile, length)
    if len(body) < length:
        raise Refusal(HTTPStatus.BAD_REQUEST, "the body is shorter than its Content-Length")
    return body


def _read_exactly(rfile: Reader, length: int) -> bytes:
    parts: list[bytes] = []
    left = length
    while left:
        part = rfile.read(min(left, 1 << 16))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _read_chunked(rfile: Reader, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(MAX_CHUNK_LINE_BYTES + 1)
        if not line:
            raise Refusal(HTTPStatus.BAD_REQUEST, "the chunked body ended early")
        matched = _CHUNK_LINE.fullmatch(line)
        if matched is None:
            raise Refusal(HTTPStatus.BAD_REQUEST, "malformed chunk size line")
        size = int(matched.group(1), 16)
        if size == 0:
            break
        total += size
        if total > max_bytes:
            raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body over the quota")
        data = _read_exactly(rfile, size)
        if len(data) < size:
            raise Refusal(HTTPStatus.BAD_REQUEST, "the chunked body ended early")
        if rfile.readline(3) not in _END_OF_SECTION:
            raise Refusal(HTTPStatus.BAD_REQUEST, "a chunk without its line ending")
        parts.append(data)
    # Trailer fields: read and dropped, as API Gateway does not pass them on.
    for _ in range(MAX_HEADER_FIELDS + 1):
        line = rfile.readline(MAX_CHUNK_LINE_BYTES + 1)
        if line in _END_OF_SECTION:
            return b"".join(parts)
        if not line:
            raise Refusal(HTTPStatus.BAD_REQUEST, "the chunked body ended early")
        if _HEADER_LINE.fullmatch(line) is None:
            raise Refusal(HTTPStatus.BAD_REQUEST, "malformed trailer line")
    raise Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too many trailer fields")


class Refuser(Protocol):
    """The gateway's answer to a request it cannot take (``LocalApiGateway.refusal``)."""

    max_body_bytes: int

    def refusal(self, status: HTTPStatus, request_id: str) -> HttpResponse: ...


class FrontEndHandler(WSGIRequestHandler):
    """werkzeug's request handler with this module's reading of the request, and every answer it
    gives on its own (a refusal) in the gateway's JSON. ``timeout`` (seconds) bounds each read."""

    timeout = 30.0
    server: Any  # werkzeug's BaseWSGIServer: .app is the gateway
    raw_requestline: bytes

    def parse_request(self) -> bool:
        # Until a request line is read, an answer must still be a well-formed HTTP/1.1 response.
        # Every connection closes after one answer (werkzeug sends "Connection: close" anyway).
        self.command, self.request_version, self.close_connection = "", "HTTP/1.1", True
        gateway: Refuser = self.server.app
        try:
            if self.raw_requestline in _END_OF_SECTION:  # one empty line before a request is ignored
                self.raw_requestline = self.rfile.readline(MAX_URL_BYTES + 1024)
            head = read_head(self.raw_requestline, self.rfile)
            self.command, self.path = head.method, head.target
            self.request_version = f"HTTP/{head.version[0]}.{head.version[1]}"
            self.headers = _message(head.headers)
            length = framing(head)
            if length is not None and length > gateway.max_body_bytes:
                # Refused before any 100 Continue: the client need not send the body at all.
                raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body over the quota")
            expect = [value.lower() for value in head.values("expect")]
            if expect == ["100-continue"] and head.version >= (1, 1) and length != 0:
                self.handle_expect_100()
            self._body = read_body(head, self.rfile, gateway.max_body_bytes)
            self._head = head
        except Refusal as refusal:
            self.refuse(refusal.status, refusal.reason)
            return False
        except TimeoutError:
            self.refuse(HTTPStatus.BAD_REQUEST, "the request stalled past the read timeout")
            return False
        except ConnectionError:
            return False  # nobody left to answer
        return True

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ["wsgi.input"] = io.BytesIO(self._body)
        environ["wsgi.input_terminated"] = True  # read to its end, whatever the framing was
        environ["CONTENT_LENGTH"] = str(len(self._body))
        environ["RAW_URI"] = environ["REQUEST_URI"] = self._head.target
        environ[RAW_HEADERS] = list(self._head.headers)
        return environ

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line over 64 KiB) in the gateway's JSON."""
        self.request_version = self.request_version or "HTTP/1.1"
        self.refuse(HTTPStatus(code), explain or message or HTTPStatus(code).phrase)

    def refuse(self, status: HTTPStatus, reason: str) -> None:
        request_id = str(uuid.uuid4())
        gateway: Refuser = self.server.app
        response = gateway.refusal(status, request_id)
        logger.info("refused -> %d (%s) request_id=%s", response.status, reason, request_id)
        self.close_connection = True
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
            self._drain()
        except OSError:
            pass  # the client is gone

    def _drain(self) -> None:
        """Read and drop what the client still sends (the rest of a refused body), for a while, so
        that closing does not reset the connection before the client has read the answer."""
        self.connection.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + DRAIN_SECONDS
        drained = 0
        while drained < DRAIN_BYTES and time.monotonic() < deadline:
            self.connection.settimeout(max(0.01, deadline - time.monotonic()))
            part = self.rfile.read1(1 << 16)
            if not part:
                return
            drained += len(part)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The gateway logs each request itself, with its client and request id."""


def _tokens(values: list[str]) -> list[str]:
    """The comma-separated list of one field, lowercased: all its lines in order."""
    return [part.strip().lower() for value in values for part in value.split(",")]


def _message(headers: list[tuple[str, str]]) -> HTTPMessage:
    message = HTTPMessage()
    for name, value in headers:
        message[name] = value  # appends: repeated fields stay
    return message
