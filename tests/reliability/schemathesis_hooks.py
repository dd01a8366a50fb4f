"""schemathesis hooks for the fuzzing run (loaded through SCHEMATHESIS_HOOKS by test_fuzz_contract.py).

Rules of the contract that JSON Schema cannot state, so that data schemathesis generates as
valid really is valid:

- ``date-or-date-time``, the format of the document's dates: the pattern says everything except
  that February 29 exists only in leap years; this strategy draws real dates only. The same for
  ``date-time-with-zone`` (updated_at), with a zone always.
- integers written as integers: JSON Schema's "integer" includes 7.0, which the API reads as a
  number with a fraction (invalid_type in a string field); in a positive case it is sent as 7.
- identifiers unique per request (orders) and per order (items): in a positive case, a repeated
  identifier is renamed. Negative cases are left alone (they are invalid anyway).
- per-order mode (``?partial_success=true``) answers a body with invalid orders 207, each one's
  problems in its result: by design, and no schema check can tell that from accepting invalid
  data, so a negative case is sent without it (v1's mode, where invalid is a 422); positive cases
  use both modes, and tests/api/test_partial_success.py tests the 207s.
- a GET's ``cursor`` is opaque: only a ``next_cursor`` the API gave is one, which no schema can
  describe, so a positive case sends none (tests/api/test_paging.py tests cursors).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode

from common.api_routes import PARTIAL_SUCCESS_PARAMETER
from common.order_records import DATE_FORMAT, INSTANT_FORMAT

_PADDING = st.sampled_from(["", "", " ", "\t", "\n", "\u3000"])
_TIMESPEC = st.sampled_from(["seconds", "milliseconds", "microseconds"])


_ZONES = ["Z", "+00:00", "-08:00", "+05:30", "+23:59"]


def _dates(*, time: bool | None, zones: list[str]) -> st.SearchStrategy[str]:
    """Real dates, padded: with a time when ``time`` (or when drawn, for None), in one of ``zones``."""

    @st.composite
    def draw_date(draw: Any) -> str:
        text = draw(st.dates()).isoformat()
        if time or (time is None and draw(st.booleans())):
            clock = draw(st.times()).isoformat(timespec=draw(_TIMESPEC))
            text = f"{text}T{clock}{draw(st.sampled_from(zones))}"
        return draw(_PADDING) + text + draw(_PADDING)

    return draw_date()


schemathesis.openapi.format(DATE_FORMAT, _dates(time=None, zones=["", *_ZONES]))
schemathesis.openapi.format(INSTANT_FORMAT, _dates(time=True, zones=_ZONES))


def _identity(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _unique(entries: Any) -> None:
    if not isinstance(entries, list):
        return
    seen: set[str] = set()
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        identity = _identity(entry.get("identifier"))
        if identity is None:
            continue
        if identity in seen:
            identity = f"{identity[:240]}~{number}"
            entry["identifier"] = identity
        seen.add(identity)


def _integers_as_integers(value: Any) -> Any:
    """JSON Schema counts 7.0 as an integer; the document's integers are written without a
    fraction or exponent (a string field stores an integer's digits: "7", never "7.0")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integers_as_integers(entry) for entry in value]
    if isinstance(value, dict):
        return {key: _integers_as_integers(entry) for key, entry in value.items()}
    return value


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = case.meta
    positive = meta is not None and meta.generation.mode == GenerationMode.POSITIVE
    if positive and case.method == "POST" and isinstance(case.body, dict | list):
        case.body = _integers_as_integers(case.body)
        orders = case.body if isinstance(case.body, list) else case.body.get("orders")
        _unique(orders)
        for order in orders if isinstance(orders, list) else []:
            if isinstance(order, dict):
                _unique(order.get("items"))
    if not positive and case.method == "POST" and isinstance(case.query, dict):
        case.query.pop(PARTIAL_SUCCESS_PARAMETER, None)
    if positive and case.method == "GET" and isinstance(case.query, dict):
        case.query.pop("cursor", None)
    return case
