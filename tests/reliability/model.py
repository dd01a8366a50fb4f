"""A reference model of the contract's merge rules, and a seeded generator of valid batches.

The rules are written from CONTRACT.md, not from the service's code, so that the two can disagree
(only the names of the contract's fields come from ``common.order_records``, whose shapes the API
tests pin field by field):

- an order or item not yet stored is created;
- every field present (and not null) in the request overwrites the stored value; fields left out,
  null, or (optional strings) empty once trimmed keep their stored value;
- items not mentioned stay exactly as they were; nothing is ever deleted;
- ``labels`` is one field: when given it replaces the item's labels as a whole;
- strings are trimmed, a JSON integer in a string field is stored as its exact digits, a quantity
  may be a digit string; unknown fields are ignored;
- versioned writes (README, "Contract additions"): a record written with an ``updated_at`` (an
  item without its own takes its order's) older than the one it holds is left as it is, an equal
  or newer one is applied; instants are compared, to the microsecond; a write without one is
  applied and keeps the stored ``updated_at``.

``first_received_at`` (set once) and ``last_received_at`` are checked by the tests against what
they saw before, not predicted here.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from common.order_records import ITEM_FIELDS, ORDER_FIELDS

TIMESTAMPS = ("first_received_at", "last_received_at")


def text(value: Any) -> str:
    """A string field's stored form: trimmed, or an integer's exact digits."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"not a valid string field value: {value!r}")
    return str(value) if isinstance(value, int) else value.strip()


def stored_value(name: str, value: Any) -> Any:
    """What a present, non-null field stores; None when it counts as not sent."""
    if name == "quantity":
        return int(text(value))
    if name == "labels":
        return [{key: text(label[key]) for key in ("type", "name", "value")} for label in value]
    return text(value) or None


def orders_of(body: Any) -> list[dict[str, Any]]:
    return list(body if isinstance(body, list) else body["orders"])


def instant(updated_at: str) -> datetime:
    """The instant an ``updated_at`` names (Python reads at most 6 fraction digits: the service
    compares to the microsecond too)."""
    text = updated_at.strip()
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class StoredOrder:
    fields: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The instant of each record's stored updated_at (None: the order record; else item ids).
    versions: dict[str | None, datetime] = field(default_factory=dict)


class ReferenceModel:
    """The state the contract predicts, per order identifier (one client)."""

    def __init__(self) -> None:
        self.orders: dict[str, StoredOrder] = {}

    def copy(self) -> ReferenceModel:
        clone = ReferenceModel()
        clone.orders = copy.deepcopy(self.orders)
        return clone

    def apply(self, body: Any) -> list[tuple[str, str | None]]:
        """Merge ``body`` in; the records it leaves alone because they hold a newer updated_at
        (order identifier, item identifier or None for the order record), in body order."""
        stale: list[tuple[str, str | None]] = []
        for order in orders_of(body):
            order_id = text(order["identifier"])
            stored = self.orders.setdefault(order_id, StoredOrder())
            order_version = _sent(order, "updated_at")
            if self._applies(stored, None, order_version):
                _merge(stored.fields, order, ORDER_FIELDS)
            else:
                stale.append((order_id, None))
            for item in order["items"]:
                item_id = text(item["identifier"])
                version = _sent(item, "updated_at") or order_version
                if not self._applies(stored, item_id, version):
                    stale.append((order_id, item_id))
                    continue
                fields = stored.items.setdefault(item_id, {})
                _merge(fields, item, ITEM_FIELDS)
                if version is not None:
                    fields["updated_at"] = version
        return stale

    @staticmethod
    def _applies(stored: StoredOrder, record: str | None, updated_at: str | None) -> bool:
        if updated_at is None:
            return True
        sent = instant(updated_at)
        held = stored.versions.get(record)
        if held is not None and sent < held:
            return False
        stored.versions[record] = sent
        return True

    def order_records(self, order_id: str) -> dict[str, dict[str, Any]]:
        """The expected records of one order by sort key ("ORDER", "I#<id>"), without timestamps."""
        stored = self.orders.get(order_id)
        if stored is None:
            return {}
        records = {"ORDER": {"identifier": order_id, **stored.fields}}
        for item_id, fields in stored.items.items():
            records[f"I#{item_id}"] = {"identifier": item_id, "order_identifier": order_id, **fields}
        return records

    def read_back(self, order_id: str) -> dict[str, Any] | None:
        """What GET /forward_orders/{order_id} answers, without timestamps."""
        stored = self.orders.get(order_id)
        if stored is None:
            return None
        items = [{"identifier": item_id, **stored.items[item_id]} for item_id in sorted(stored.items)]
        return {"identifier": order_id, **stored.fields, "items": items}


def _sent(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    return stored_value(name, value) if value is not None else None


def _merge(target: dict[str, Any], source: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if source.get(name) is None:
            continue
        value = stored_value(name, source[name])
        if value is not None:
            target[name] = value


CONTRACT_ATTRIBUTES = frozenset({"identifier", "order_identifier", *ORDER_FIELDS, *ITEM_FIELDS})


def record_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record's contract fields: without its keys, the server's timestamps, and any
    attribute that is storage layout (index keys and the like), which the contract does not see."""
    return {name: value for name, value in record.items() if name in CONTRACT_ATTRIBUTES}


def without_timestamps(order: dict[str, Any]) -> dict[str, Any]:
    """A GET body without the server's timestamps (order and items)."""
    result = {name: value for name, value in order.items() if name not in TIMESTAMPS}
    if "items" in result:
        result["items"] = [without_timestamps(item) for item in result["items"]]
    return result


# -- random valid batches ---------------------------------------------------------------------------

PADDING = ("", "", "", " ", "  ", "\t", "\n ", " \u00a0")
DATES = (
    "2024-02-29",
    "2025-01-31",
    "2025-12-01T08:30:00",
    "2025-06-15T23:59:59.123Z",
    "2026-03-01T00:00:00+05:30",
    "1999-12-31T12:00:00.5-08:00",
)
CONCEPTS = ("Acme Outdoors", "Acme Kids", "Outlet", "Ünïcödé ✓", "🏕️ Camp")


# updated_at: a few instants close together (so that older, equal and newer writes all happen),
# each written in any of several zones.
UPDATED_AT_BASE = datetime.fromisoformat("2025-06-01T12:00:00+00:00")
UPDATED_AT_MINUTES = (0, 30, 60, 60.5, 90, 120)
ZONES = (timedelta(0), timedelta(hours=2), timedelta(hours=-5), timedelta(hours=5, minutes=30))


def spelled(moment: datetime, zone: timedelta, *, zulu: bool = False) -> str:
    """``moment`` as an updated_at in ``zone`` (``zulu``: Z rather than +00:00 for UTC)."""
    local = moment.astimezone(timezone(zone))
    written = local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")
    return written[: -len("+00:00")] + "Z" if zulu and not zone else written


class BatchGenerator:
    """Random valid POST bodies from a seed: 1 to ``max_orders`` orders of 1 to 4 items, drawn from
    small identifier pools so that requests overlap and merges happen; every optional field is
    sometimes sent, sometimes null, blank or left out; numbers stand in string fields as real
    clients send them; unknown fields appear now and then. ``versioned``: orders and items carry an
    ``updated_at`` now and then (older, equal or newer than what they hold)."""

    def __init__(
        self,
        seed: int,
        *,
        order_pool: int = 12,
        item_pool: int = 6,
        max_orders: int = 3,
        versioned: bool = False,
    ) -> None:
        self.random = random.Random(seed)
        self.order_pool = order_pool
        self.item_pool = item_pool
        self.max_orders = max_orders
        self.versioned = versioned

    def updated_at(self) -> str:
        r = self.random
        moment = UPDATED_AT_BASE + timedelta(minutes=r.choice(UPDATED_AT_MINUTES))
        return self._padded(spelled(moment, r.choice(ZONES), zulu=r.random() < 0.5))

    # identifiers: the logical id and a random valid way of writing it
    def order_identifier(self, number: int) -> Any:
        if number % 3 == 0:
            return self._digits(900_000 + number)
        return self._padded(f"ord-{number}")

    def item_identifier(self, number: int) -> Any:
        if number % 2 == 0:
            return self._digits(number + 1)
        return self._padded(f"line {number}")

    def _digits(self, number: int) -> Any:
        return number if self.random.random() < 0.5 else self._padded(str(number))

    def _padded(self, value: str) -> str:
        return self.random.choice(PADDING) + value + self.random.choice(PADDING)

    def _optional(self, value: Any) -> Any:
        """A present value, or one of the ways of not sending one; _ABSENT means leave it out."""
        roll = self.random.random()
        if roll < 0.45:
            return _ABSENT
        if roll < 0.52:
            return None
        if roll < 0.57:
            return self.random.choice(("", "   "))
        return value

    def label(self) -> dict[str, Any]:
        r = self.random
        value: Any = r.choice((r.randint(10**11, 10**12), f"RMA-{r.randint(1, 999)}", "  Happy birthday  "))
        return {
            "type": self._padded(r.choice(("barcode", "text"))),
            "name": r.choice(("RMA", "Gift")),
            "value": value,
        }

    def item(self, number: int) -> dict[str, Any]:
        r = self.random
        item: dict[str, Any] = {
            "identifier": self.item_identifier(number),
            "upc": r.choice(
                (r.randint(10**11, 10**12 - 1), self._padded(f"0{r.randint(10**10, 10**11 - 1)}"))
            ),
            "sku": self._padded(f"SKU-{r.randint(1, 50)}"),
            "quantity": r.choice(
                (r.randint(1, 9), str(r.randint(1, 99)), f" {r.randint(1, 9)} ", 2_147_483_647)
            ),
        }
        optional = {
            "tracking_number": r.choice((r.randint(10**21, 10**22), f"1Z{r.randint(10**9, 10**10)}")),
            "reverse_tracking_number": self._padded(f"94001{r.randint(10**16, 10**17)}"),
            "dropship_identifier": r.choice((f"DS-{r.randint(1, 999)}", r.randint(1, 999))),
            "shipped_date": self._padded(r.choice(DATES)),
            "return_policy_end_date": r.choice(DATES),
        }
        for name, value in optional.items():
            chosen = self._optional(value)
            if chosen is not _ABSENT:
                item[name] = chosen
        roll = r.random()
        if roll < 0.2:
            item["labels"] = []
        elif roll < 0.5:
            item["labels"] = [self.label() for _ in range(r.randint(1, 3))]
        elif roll < 0.55:
            item["labels"] = None
        if r.random() < 0.1:
            item["gift_wrap"] = {"unknown": ["fields", "are", "ignored"]}
        if self.versioned and r.random() < 0.25:
            item["updated_at"] = self.updated_at()
        return item

    def order(self, number: int) -> dict[str, Any]:
        r = self.random
        order: dict[str, Any] = {"identifier": self.order_identifier(number)}
        optional = {
            "concept": r.choice(CONCEPTS),
            "postal_code": r.choice((r.randint(10000, 99999), f"0{r.randint(1000, 9999)}", "SW1A 1AA")),
            "created_at": r.choice(DATES),
        }
        for name, value in optional.items():
            chosen = self._optional(value)
            if chosen is not _ABSENT:
                order[name] = chosen
        items = r.sample(range(self.item_pool), r.randint(1, 4))
        order["items"] = [self.item(number) for number in items]
        if r.random() < 0.1:
            order["channel"] = "not in the contract"
        if self.versioned and r.random() < 0.6:
            order["updated_at"] = self.updated_at()
        return order

    def batch(self) -> Any:
        numbers = self.random.sample(range(self.order_pool), self.random.randint(1, self.max_orders))
        orders = [self.order(number) for number in numbers]
        return orders if self.random.random() < 0.2 else {"orders": orders}


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def body_text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)
