"""Thousands of orders, some invalid, through the local server, in per-order mode (push's
default: each request's valid orders stored, the invalid ones named in its 207) and in v1's
all-or-nothing mode (``--no-partial-success``: a refused batch is split until the invalid orders
stand alone): either way exactly the invalid ones are rejected, each once and located, and every
valid one is stored as sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.local.push.conftest import run_push, stored_orders
from tests.local.push.orders import write_feed
from tests.processes import ServeProcess


@pytest.mark.parametrize("mode", [[], ["--no-partial-success"]], ids=["per-order", "all-or-nothing"])
def test_exactly_the_invalid_orders_are_rejected_and_the_rest_stored(
    server: ServeProcess, tmp_path: Path, mode: list[str]
) -> None:
    prefix = "REJ" if not mode else "REJV1"
    feed = write_feed(tmp_path / "history.jsonl", prefix, 2000, invalid_every=151, updates_every=50)
    rejects = tmp_path / "history.rejects.jsonl"

    done = run_push(
        str(feed.path),
        "--url",
        server.url,
        "--rejects",
        str(rejects),
        "--max-orders-per-request",
        "25",
        "--concurrency",
        "4",
        "--rate",
        "0",
        *mode,
    )

    assert done.returncode == 1, done.stderr
    summary = done.summary
    assert summary["totals"]["rejected"] == len(feed.invalid)
    assert summary["totals"]["stored"] == feed.lines - len(feed.invalid)
    assert summary["totals"]["rejected_locally"] == feed.invalid.count(None)
    records = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [record["line"] for record in records] == feed.invalid_lines
    assert [record["identifier"] for record in records] == feed.invalid
    for record in records:
        assert record["errors"], record
        if record["refused_by"] == "api":
            assert record["order"]["identifier"] == record["identifier"]
            assert all(error["request_field"].startswith("orders/") for error in record["errors"])
        else:
            assert record["order"] is None and record["text"]
    assert stored_orders(server, f"{prefix}-") == feed.valid
