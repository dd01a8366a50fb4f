"""Generated order files with known invalid orders, and the state the API must end in."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Each breaks one rule of the contract; the API names the field (so the v1 422 can be attributed).
API_INVALID = (
    lambda order: order["items"].append({"identifier": "x", "upc": "1", "quantity": 1}),  # no sku
    lambda order: order["items"].append({"identifier": "x", "upc": "1", "sku": "S", "quantity": 0}),
    lambda order: order.update(created_at="2024-13-01"),
    lambda order: order.update(identifier=order["identifier"] + "-" + "x" * 300),
)


@dataclass
class Feed:
    path: Path
    valid: dict[str, dict[str, Any]] = field(default_factory=dict)  # the expected stored state
    # identifiers, in file order (None for a line that is not even JSON)
    invalid: list[str | None] = field(default_factory=list)
    invalid_lines: list[int] = field(default_factory=list)
    lines: int = 0


def write_feed(
    path: Path, prefix: str, count: int, *, invalid_every: int = 0, updates_every: int = 0, seed: int = 12
) -> Feed:
    """``count`` orders (some with an item), every ``invalid_every``-th one invalid (a few of them
    not even JSON), and every ``updates_every``-th one sent again later with a change."""
    rng = random.Random(seed)
    feed = Feed(path)
    later: list[dict[str, Any]] = []
    with path.open("w") as handle:

        def emit(order: dict[str, Any] | str, *, bad: bool) -> None:
            feed.lines += 1
            handle.write((order if isinstance(order, str) else json.dumps(order)) + "\n")
            if bad:
                feed.invalid.append(order["identifier"] if isinstance(order, dict) else None)
                feed.invalid_lines.append(feed.lines)
            elif isinstance(order, dict):
                merge(feed.valid, order)

        for i in range(count):
            order: dict[str, Any] = {
                "identifier": f"{prefix}-{i:05d}",
                "postal_code": f"{rng.randrange(100000):05d}",
                "items": [],
            }
            if rng.random() < 0.2:
                order["items"].append(
                    {
                        "identifier": "1",
                        "upc": f"{rng.randrange(10**12):012d}",
                        "sku": f"SKU-{i}",
                        "quantity": rng.randrange(1, 5),
                    }
                )
            if invalid_every and i % invalid_every == invalid_every - 1:
                if (i // invalid_every) % 5 == 4:
                    emit("{" + json.dumps(order)[1:-1], bad=True)  # cut: not JSON at all
                else:
                    rng.choice(API_INVALID)(order)
                    emit(order, bad=True)
                continue
            emit(order, bad=False)
            if updates_every and i % updates_every == 0:
                later.append(
                    {
                        "identifier": order["identifier"],
                        "concept": f"update-{i}",
                        "items": [{"identifier": "2", "upc": "000123", "sku": "U", "quantity": "2"}],
                    }
                )
            if later and rng.random() < 0.05:
                emit(later.pop(0), bad=False)
        for update in later:
            emit(update, bad=False)
    return feed


def merge(state: dict[str, dict[str, Any]], order: dict[str, Any]) -> None:
    """The API's merge rules for what these feeds send: fields sent overwrite, items merge by identifier."""
    stored = state.setdefault(order["identifier"], {"identifier": order["identifier"], "items": {}})
    for name, value in order.items():
        if name != "items":
            stored[name] = value
    for item in order["items"]:
        target = stored["items"].setdefault(item["identifier"], {})
        target.update({k: int(v) if k == "quantity" else v for k, v in item.items()})
