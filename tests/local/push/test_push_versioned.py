"""A history replayed out of order through ``forward-orders push`` and the local server (issue 10
with issue 12): every order's versions sent newest first, then older ones, and an invalid order
among them. Per-order mode (push's default) stores the valid orders of each request and reports
the invalid one; versioned writes keep every order at its newest version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.local.push.conftest import run_push, stored_orders
from tests.processes import ServeProcess

ORDERS = 40


def version(order: int, number: int) -> dict[str, Any]:
    return {
        "identifier": f"VER-{order:03d}",
        "concept": f"version {number}",
        "updated_at": f"2025-06-01T1{number}:00:00+02:00",
        "items": [{"identifier": "1", "upc": "1", "sku": f"SKU-{number}", "quantity": number}],
    }


def test_a_history_sent_newest_first_ends_at_the_newest_version(server: ServeProcess, tmp_path: Path) -> None:
    lines = [version(n, 3) for n in range(ORDERS)]
    lines += [version(n, number) for number in (1, 2) for n in range(ORDERS)]
    invalid = {**version(999, 1), "items": [{"identifier": "1", "upc": "1", "quantity": 1}]}  # no sku
    lines.insert(ORDERS + 5, invalid)
    feed = tmp_path / "history.jsonl"
    feed.write_text("".join(json.dumps(line) + "\n" for line in lines))

    done = run_push(
        str(feed), "--url", server.url, "--rejects", str(tmp_path / "rejects.jsonl"), "--rate", "0"
    )

    assert done.returncode == 1, done.stderr  # one order rejected
    totals = done.summary["totals"]
    assert totals["rejected"] == 1
    # Each older version's order and item records were stale: the orders are reported stale.
    assert totals["stale"] == 2 * ORDERS
    assert totals["stored"] == ORDERS
    stored = stored_orders(server, "VER-")
    assert set(stored) == {f"VER-{n:03d}" for n in range(ORDERS)}
    for order in stored.values():
        assert order["concept"] == "version 3" and order["updated_at"] == "2025-06-01T13:00:00+02:00"
        assert order["items"]["1"]["sku"] == "SKU-3" and order["items"]["1"]["quantity"] == 3
    [reject] = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert reject["identifier"] == "VER-999"
    assert [error["request_field"].rsplit("/", 1)[-1] for error in reject["errors"]] == ["sku"]
