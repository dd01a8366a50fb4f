"""JSON that keeps numbers exactly as they were written.

The API keeps a JSON integer sent in a string field as its exact digits (``12345678901234567890``),
so the client must never round a number or change its spelling on the way. Parsed here, a number
stays the text it was (``JsonNumber``) and is written back verbatim; ``Decimal`` and ``int`` (what
ijson yields) are written with their own digits.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any

_INTEGER = re.compile(r"-?[0-9]+")
# Identifiers longer than this are invalid anyway; the API does not convert such numbers either.
_MAX_INTEGER_DIGITS = 1000


class JsonNumber:
    """A JSON number, kept as the text it was written as."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"JsonNumber({self.text!r})"


class NotJson(ValueError):
    """Text that is not one JSON value as the API's own parser reads it."""


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; they are not JSON and the API refuses the whole body.
    raise NotJson(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=_reject_constant)


def loads(text: str) -> Any:
    """One JSON value (surrounding whitespace allowed), numbers kept as ``JsonNumber``."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise NotJson(f"not valid JSON: {error.msg} at column {error.colno}") from error
    except RecursionError as error:
        raise NotJson("not valid JSON: nested too deeply") from error


# Numbers go through the C encoder as marked strings, unmarked afterwards: a control character
# (always escaped as \u0000 in JSON text) and a per-process nonce, which no string of the input
# can hold by chance.
_NONCE = secrets.token_hex(8)
_MARKED = re.compile(r'"\\u0000' + _NONCE + r':([-+.0-9eE]+)\\u0000"')


def _number(value: Any) -> str:
    if isinstance(value, JsonNumber):
        text = value.text
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        text = str(value)
    else:
        raise TypeError(f"cannot write {type(value).__name__} {value!r} as JSON")
    return f"\x00{_NONCE}:{text}\x00"


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value``; lone surrogates (from ``\\ud800`` escapes) stay escaped."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_number, allow_nan=False)
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=_number, allow_nan=False)
        data = text.encode("ascii")
    if _NONCE.encode() in data:
        data = _MARKED.sub(r"\1", text).encode("utf-8")
    return data


def identity(value: Any) -> str | None:
    """The identifier the API will store an order under, as it reads it: a string trimmed, an
    integer as its digits; None when the API would refuse it."""
    if isinstance(value, JsonNumber):
        text = value.text
        if not _INTEGER.fullmatch(text):
            return None
        return str(int(text)) if len(text) <= _MAX_INTEGER_DIGITS else text
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None
