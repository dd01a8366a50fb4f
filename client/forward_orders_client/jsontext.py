"""JSON that keeps numbers exactly as they were written.

The API keeps a JSON integer sent in a string field as its exact digits (``12345678901234567890``),
so the client must never round a number or change its spelling on the way. Parsed here, a number
stays the text it was (``JsonNumber``) and is written back verbatim; ``Decimal`` and ``int`` (what
ijson yields) are written with their own digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_INTEGER = re.compile(r"-?[0-9]+")
# Identifiers longer than this are invalid anyway; the API does not convert such numbers either.
_MAX_INTEGER_DIGITS = 1000


class JsonNumber(str):
    """A JSON number, kept as the text it was written as."""

    __slots__ = ()


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


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value``; lone surrogates (from ``\\ud800`` escapes) stay escaped."""
    try:
        return _write(value, ascii_only=False).encode("utf-8")
    except UnicodeEncodeError:
        return _write(value, ascii_only=True).encode("ascii")


def _write(value: Any, *, ascii_only: bool) -> str:
    parts: list[str] = []
    _emit(value, parts, ascii_only)
    return "".join(parts)


def _emit(value: Any, parts: list[str], ascii_only: bool) -> None:
    if isinstance(value, Mapping):
        parts.append("{")
        for position, (key, member) in enumerate(value.items()):
            if position:
                parts.append(",")
            parts.append(json.dumps(str(key), ensure_ascii=ascii_only))
            parts.append(":")
            _emit(member, parts, ascii_only)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for position, member in enumerate(value):
            if position:
                parts.append(",")
            _emit(member, parts, ascii_only)
        parts.append("]")
    else:
        parts.append(_scalar(value, ascii_only))


def _scalar(value: Any, ascii_only: bool) -> str:
    if isinstance(value, JsonNumber):
        return str.__str__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def identity(value: Any) -> str | None:
    """The identifier the API will store an order under, as it reads it: a string trimmed, an
    integer as its digits; None when the API would refuse it."""
    if isinstance(value, JsonNumber):
        text = str.__str__(value)
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
