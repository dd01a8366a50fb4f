"""The feed the cost model replays (``python -m bench cost``): what a retailer's order system sends
over an order's life, with its shares and sizes in one place (docs/deployment.md, "What it costs").

Each order is sent whole every time, as order systems send their order documents:

1. **created**: the order and its items (UPC, SKU, quantity, return policy end date, a label on
   half of them, a dropship identifier on a fifth), no tracking number yet;
2. **shipped**: the same order with ``tracking_number`` and ``shipped_date`` on every item: one
   parcel per order, or (``SPLIT_SHIPMENT_SHARE`` of the orders with several items) one per item;
3. **re-sent unchanged**: the shipped document once more (a retry, a nightly reconciliation);
4. **returned**, for ``RETURNED_ORDER_SHARE`` of the orders: the order again with a
   ``reverse_tracking_number`` (one return label) on the returned items: one item, or
   (``WHOLE_RETURN_SHARE``) all of them;
5. **late**, for ``LATE_RESEND_SHARE`` of the orders: the created document once more, after the
   others (a retry that arrived out of order). Every document carries its ``updated_at`` (the
   sender's time of that version: created, shipped a day later, returned a week later), so a
   service with versioned writes keeps the newer record (a stale write: its UpdateItem's
   condition fails, which still costs write units) where one without them rewrites it.

Requests carry as many whole orders as fit in ``REQUEST_BYTES`` (the v1 specification recommends
batches of at most 10 KB), each phase in feed order. Tracking lookups, each one request with an
operations key (the returns desk): every return parcel scanned once at the dock and
``RESCAN_SHARE`` of them twice; the outbound number of ``UNDELIVERABLE_SHARE`` of the orders (a
parcel sent back undelivered); and ``UNKNOWN_SCANS_PER_ORDER`` scans of a number nobody sent (404).

Seeded: every run replays the same feed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.workload import BRANDS, encode

SEED = 20_261_201
REQUEST_BYTES = 10_000
CLIENTS = ("acme", "globex", "initech")
ITEMS_PER_ORDER_WEIGHTS = {1: 0.45, 2: 0.30, 3: 0.15, 4: 0.10}
LABEL_SHARE = 0.5
DROPSHIP_SHARE = 0.2
SPLIT_SHIPMENT_SHARE = 0.1
RETURNED_ORDER_SHARE = 0.12
WHOLE_RETURN_SHARE = 0.3
RESCAN_SHARE = 0.05
UNDELIVERABLE_SHARE = 0.02
UNKNOWN_SCANS_PER_ORDER = 0.01
LATE_RESEND_SHARE = 0.05

CREATE, SHIP, RESEND, RETURN, LATE, LOOKUP = "create", "ship", "resend", "return", "late", "lookup"
WRITE_PHASES = (CREATE, SHIP, RESEND, RETURN, LATE)


@dataclass(frozen=True)
class Post:
    """One POST /forward_orders: whose orders, and the body."""

    phase: str
    client_id: str
    orders: tuple[dict[str, Any], ...]

    @property
    def body(self) -> bytes:
        return encode({"orders": list(self.orders)})


@dataclass(frozen=True)
class Lookup:
    """One GET /tracking/{number} by the returns desk, and how many items it should find."""

    number: str
    expected_matches: int


@dataclass
class Feed:
    orders: int
    posts: list[Post] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)

    def requests(self) -> Iterator[Post | Lookup]:
        """In feed order: every write phase, then the scans (which find what the returns sent)."""
        yield from self.posts
        yield from self.lookups


def _number(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(16))


def _created(rng: random.Random, number: int) -> dict[str, Any]:
    count = rng.choices(list(ITEMS_PER_ORDER_WEIGHTS), weights=list(ITEMS_PER_ORDER_WEIGHTS.values()))[0]
    items = []
    for line in range(1, count + 1):
        item: dict[str, Any] = {
            "identifier": str(line),
            "upc": f"{rng.randint(10**11, 10**12 - 1)}",
            "sku": f"SKU-{rng.randint(1000, 9999)}-{rng.choice('SMLX')}",
            "quantity": rng.choice((1, 1, 1, 2, 3)),
            "return_policy_end_date": f"2027-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        }
        if rng.random() < DROPSHIP_SHARE:
            item["dropship_identifier"] = f"DS-{rng.randint(100, 999)}"
        if rng.random() < LABEL_SHARE:
            item["labels"] = [
                {"type": "barcode", "name": "RMA", "value": f"RMA-{rng.randint(10**7, 10**8 - 1)}"}
            ]
        items.append(item)
    day, hour, minute = rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)
    created_at = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00Z"
    order = {
        "identifier": f"PO-2026-{number:07d}",
        "concept": rng.choice(BRANDS),
        "postal_code": f"{rng.randint(10000, 99999)}",
        "created_at": created_at,
        "items": items,
    }
    return _versioned(order, created_at)


def _versioned(order: dict[str, Any], updated_at: str) -> dict[str, Any]:
    """The document as its sender's system stamps it: this version's time on the order and items."""
    return {
        **order,
        "updated_at": updated_at,
        "items": [{**item, "updated_at": updated_at} for item in order["items"]],
    }


def _later(order: dict[str, Any], days: int) -> str:
    created = datetime.fromisoformat(order["created_at"])
    return (created + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shipped(rng: random.Random, order: dict[str, Any]) -> dict[str, Any]:
    split = len(order["items"]) > 1 and rng.random() < SPLIT_SHIPMENT_SHARE
    parcel = _number(rng, "1Z")
    shipped_date = order["created_at"][:10]
    items = [
        {**item, "tracking_number": _number(rng, "1Z") if split else parcel, "shipped_date": shipped_date}
        for item in order["items"]
    ]
    return _versioned({**order, "items": items}, _later(order, 1))


def _returned(rng: random.Random, order: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The order with a return label on its returned items, and which items those are."""
    whole = rng.random() < WHOLE_RETURN_SHARE
    returned = list(range(len(order["items"]))) if whole else [rng.randrange(len(order["items"]))]
    label = _number(rng, "9R")
    items = [
        {**item, "reverse_tracking_number": label} if position in returned else item
        for position, item in enumerate(order["items"])
    ]
    return _versioned({**order, "items": items}, _later(order, 7)), returned


def _packed(phase: str, client_id: str, orders: list[dict[str, Any]]) -> Iterator[Post]:
    """Whole orders, as many a request as fit in REQUEST_BYTES."""
    batch: list[dict[str, Any]] = []
    for order in orders:
        if batch and len(encode({"orders": [*batch, order]})) > REQUEST_BYTES:
            yield Post(phase, client_id, tuple(batch))
            batch = []
        batch.append(order)
    if batch:
        yield Post(phase, client_id, tuple(batch))


def build(orders: int, seed: int = SEED) -> Feed:
    """The feed of ``orders`` orders, spread over ``CLIENTS``."""
    rng = random.Random(seed)
    feed = Feed(orders=orders)
    by_client: dict[str, dict[str, list[dict[str, Any]]]] = {
        client: {phase: [] for phase in WRITE_PHASES} for client in CLIENTS
    }
    for number in range(1, orders + 1):
        client = CLIENTS[number % len(CLIENTS)]
        phases = by_client[client]
        created = _created(rng, number)
        shipped = _shipped(rng, created)
        phases[CREATE].append(created)
        phases[SHIP].append(shipped)
        phases[RESEND].append(shipped)
        if rng.random() < RETURNED_ORDER_SHARE:
            returned, items = _returned(rng, shipped)
            phases[RETURN].append(returned)
            label = returned["items"][items[0]]["reverse_tracking_number"]
            feed.lookups.append(Lookup(label, len(items)))
            if rng.random() < RESCAN_SHARE:
                feed.lookups.append(Lookup(label, len(items)))
        if rng.random() < LATE_RESEND_SHARE:
            phases[LATE].append(created)
        if rng.random() < UNDELIVERABLE_SHARE:
            number_sent = shipped["items"][0]["tracking_number"]
            found = sum(1 for item in shipped["items"] if item["tracking_number"] == number_sent)
            feed.lookups.append(Lookup(number_sent.lower(), found))  # scanners often send lower case
        if rng.random() < UNKNOWN_SCANS_PER_ORDER:
            feed.lookups.append(Lookup(_number(rng, "TBA"), 0))
    for phase in WRITE_PHASES:
        for client in CLIENTS:
            feed.posts.extend(_packed(phase, client, by_client[client][phase]))
    rng.shuffle(feed.lookups)
    return feed
