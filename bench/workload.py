"""The requests the benchmark sends: a seeded ~10 KB batch like real traffic, and the largest
request the default limits allow."""

from __future__ import annotations

import json
import random
from typing import Any

TARGET_BYTES = 10_000
SEED = 20_250_101
BRANDS = ("Northwind", "Contoso Outdoor", "Fabrikam Home", "Tailspin Toys", "Wide World Apparel")
LABEL_NAMES = ("RMA", "Gift message", "Return reason", "Carrier", "Warehouse")


def encode(body: Any) -> bytes:
    """JSON as a client library sends it: compact, UTF-8 (the worst case for records per byte)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _date(rng: random.Random, with_time: bool) -> str:
    day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if not with_time:
        return day
    return f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def _tracking(rng: random.Random) -> str:
    return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(16))


def _label(rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.5:
        return {"type": "barcode", "name": "RMA", "value": f"RMA-{rng.randint(10**7, 10**8 - 1)}"}
    return {"type": "text", "name": rng.choice(LABEL_NAMES), "value": f"note {rng.randint(1, 10**6)}"}


def _item(rng: random.Random, number: int) -> dict[str, Any]:
    return {
        "identifier": f"LN-{number:03d}",
        "upc": f"{rng.randint(10**11, 10**12 - 1)}",
        "sku": f"SKU-{rng.randint(1000, 9999)}-{rng.choice('SMLX')}",
        "quantity": rng.randint(1, 5),
        "tracking_number": _tracking(rng),
        "reverse_tracking_number": _tracking(rng),
        "dropship_identifier": f"DS-{rng.randint(100, 999)}",
        "shipped_date": _date(rng, with_time=False),
        "return_policy_end_date": _date(rng, with_time=True),
        "labels": [_label(rng) for _ in range(rng.randint(1, 2))],
    }


def _order(rng: random.Random, number: int) -> dict[str, Any]:
    return {
        "identifier": f"PO-2025-{number:06d}",
        "concept": rng.choice(BRANDS),
        "postal_code": f"{rng.randint(10000, 99999)}",
        "created_at": _date(rng, with_time=True),
        "items": [_item(rng, line) for line in range(1, rng.randint(1, 4) + 1)],
    }


def typical_batch(target_bytes: int = TARGET_BYTES, seed: int = SEED) -> dict[str, Any]:
    """Orders of 1 to 4 items, every optional field filled, as many as fit in ``target_bytes``."""
    rng = random.Random(seed)
    orders: list[dict[str, Any]] = []
    while True:
        candidate = _order(rng, len(orders) + 1)
        if len(encode({"orders": [*orders, candidate]})) > target_bytes:
            return {"orders": orders}
        orders.append(candidate)


def records_of(body: dict[str, Any]) -> int:
    """Records a batch writes: one per order and one per item."""
    return sum(1 + len(order["items"]) for order in body["orders"])


# -- the largest request the limits allow ------------------------------------------------------


def most_records(max_body_bytes: int, max_orders: int, max_items: int) -> dict[str, Any]:
    """As many records as the body limit holds: the smallest valid items (integer identifiers,
    which are accepted and stored as their digits), spread over as many orders as allowed."""

    def build(per_order: int, orders: int) -> dict[str, Any]:
        return {
            "orders": [
                {
                    "identifier": o,
                    "items": [{"identifier": i, "upc": 0, "sku": 0, "quantity": 1} for i in range(per_order)],
                }
                for o in range(orders)
            ]
        }

    # Items first (an item is a record, like an order, but shorter in JSON), then fill the rest.
    best: dict[str, Any] = {"orders": [{"identifier": 0, "items": []}]}
    low, high = 0, max_items
    while low <= high:  # the largest even spread that fits
        mid = (low + high) // 2
        body = build(mid, max_orders)
        if len(encode(body)) <= max_body_bytes:
            best, low = body, mid + 1
        else:
            high = mid - 1
    # Top up: one more item per order while it still fits.
    per_order = len(best["orders"][0]["items"])
    for order in best["orders"]:
        if per_order >= max_items:
            break
        extra = {"identifier": per_order, "upc": 0, "sku": 0, "quantity": 1}
        order["items"].append(extra)
        if len(encode(best)) > max_body_bytes:
            order["items"].pop()
            break
    return best


def richest_records(max_body_bytes: int, max_orders: int, max_items: int, max_labels: int) -> dict[str, Any]:
    """The other extreme: full items with every label allowed, as many as fit (more bytes per
    record: more validation and serialization per call)."""
    rng = random.Random(SEED + 1)
    orders: list[dict[str, Any]] = []
    size = len(encode({"orders": []}))
    number = 0
    while len(orders) < max_orders:
        order = _order(rng, len(orders) + 1)
        order["items"] = []
        orders.append(order)
        size += len(encode(order)) + 1
        while len(order["items"]) < max_items:
            number += 1
            item = _item(rng, number)
            item["labels"] = [_label(rng) for _ in range(max_labels)]
            added = len(encode(item)) + (1 if order["items"] else 0)
            if size + added > max_body_bytes:
                if not order["items"]:
                    orders.pop()
                return {"orders": orders}
            order["items"].append(item)
            size += added
    return {"orders": orders}
