"""Pages of a response: how many items a GET answers, its cursor, and the byte bound of a body.

``GET /forward_orders/{identifier}`` answers the order and a page of its items: at most ``?limit=``
of them (a default and a maximum in ``Limits``), and never more than fit in ``max_response_bytes``
once serialized as the response is. When more follow, the body has a ``next_cursor`` to pass back as
``?cursor=``. The tracking lookup is bounded the same way (docs/design.md, "Response bounds").

A cursor is opaque to clients. It holds the identifier of the last item of its page and a digest
of that identifier, the client and the order, so a cursor altered, or used for another order or by
another client, is refused (422 ``invalid`` on ``cursor``) before anything is read, and never
yields data: reads are always within the caller's own order anyway. The digest is not keyed: a
client who works out the scheme could only make cursors into its own orders, which it can read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.api_responses import Problem, ProblemCode
from common.api_routes import CURSOR_PARAMETER, LIMIT_PARAMETER
from forward_orders.errors import ValidationFailed
from forward_orders.settings import Limits

_CURSOR_VERSION = b"\x01"
_DIGEST_BYTES = 12
# What a response adds to its items: the order's fields, the cursor, the framing.
_SEPARATOR = 1  # the comma between two items


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None


def page_request(query: Mapping[str, str] | None, limits: Limits) -> PageRequest:
    """The page a GET asks for (``?limit=``, ``?cursor=``); 422 ``invalid`` on a bad parameter."""
    query = query or {}
    problems: list[Problem] = []
    limit = limits.default_page_items
    text = query.get(LIMIT_PARAMETER)
    if text is not None:
        value = text.strip()
        if value.isascii() and value.isdigit() and 1 <= int(value) <= limits.max_page_items:
            limit = int(value)
        else:
            problems.append(
                Problem(
                    field=LIMIT_PARAMETER,
                    code=ProblemCode.INVALID,
                    message=f"limit must be an integer from 1 to {limits.max_page_items}",
                )
            )
    if problems:
        raise ValidationFailed(problems)
    # Present, even empty, it is checked (an empty one is no cursor the API gave).
    return PageRequest(limit=limit, cursor=query.get(CURSOR_PARAMETER))


def _digest(client_id: str, order_identifier: str, after: bytes) -> bytes:
    parts = [b"forward-orders cursor", client_id.encode(), order_identifier.encode("utf-8"), after]
    return hashlib.sha256(b"\0".join(parts)).digest()[:_DIGEST_BYTES]


def encode_cursor(client_id: str, order_identifier: str, after: str) -> str:
    """The cursor of the page that starts after the item ``after`` of this client's order."""
    raw = after.encode("utf-8")
    token = _CURSOR_VERSION + _digest(client_id, order_identifier, raw) + raw
    return base64.urlsafe_b64encode(token).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, client_id: str, order_identifier: str) -> str:
    """The item a cursor starts after, if it is one of this client's order; else 422."""
    try:
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, digest, raw = token[:1], token[1 : 1 + _DIGEST_BYTES], token[1 + _DIGEST_BYTES :]
        valid = (
            version == _CURSOR_VERSION
            and bool(raw)
            and hmac.compare_digest(digest, _digest(client_id, order_identifier, raw))
        )
        after = raw.decode("utf-8") if valid else None
    except (binascii.Error, ValueError, UnicodeDecodeError):
        after = None
    if after is None:
        raise ValidationFailed(
            [
                Problem(
                    field=CURSOR_PARAMETER,
                    code=ProblemCode.INVALID,
                    message="cursor is not a next_cursor this order's pages gave",
                )
            ]
        )
    return after


def json_size(value: Any) -> int:
    """Bytes of ``value`` in a response body: compact JSON, every non-ASCII character escaped, as
    the API's responses are serialized."""
    return len(json.dumps(value, separators=(",", ":")))


def fitting(entries: list[Any], budget: int) -> int:
    """How many of ``entries``, from the first, fit in ``budget`` bytes of a JSON array's members."""
    used = 0
    for count, entry in enumerate(entries):
        used += json_size(entry) + (_SEPARATOR if count else 0)
        if used > budget:
            return count
    return len(entries)
