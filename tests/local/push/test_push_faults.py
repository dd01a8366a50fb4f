"""Through a proxy that refuses 30 % of requests (429/502) and drops 10 % of answers after the
server stored the batch: every valid order ends stored, in the same state as sent, each counted
once, and the invalid ones rejected exactly once."""

from __future__ import annotations

import json
from pathlib import Path

from tests.local.push.conftest import run_push, stored_orders
from tests.local.push.fault_proxy import FaultProxy
from tests.local.push.orders import write_feed
from tests.processes import ServeProcess


def test_faults_and_lost_answers_change_nothing_in_the_outcome(server: ServeProcess, tmp_path: Path) -> None:
    feed = write_feed(tmp_path / "feed.jsonl", "FLT", 600, invalid_every=61, updates_every=40, seed=5)

    with FaultProxy(server.url, refuse=0.3, drop=0.1) as proxy:
        done = run_push(
            str(feed.path),
            "--url",
            proxy.url,
            "--max-orders-per-request",
            "25",
            "--rate",
            "0",
            "--concurrency",
            "4",
            "--max-attempts",
            "15",
            "--max-backoff",
            "2",
        )

    assert done.returncode == 1, done.stderr
    assert proxy.counts["429"] and proxy.counts["502"] and proxy.counts["drop"], proxy.counts
    summary = done.summary
    assert summary["retries"] >= proxy.counts["429"] + proxy.counts["502"] + proxy.counts["drop"]
    assert summary["totals"]["stored"] == feed.lines - len(feed.invalid)
    assert summary["totals"]["rejected"] == len(feed.invalid)
    rejects = [json.loads(line) for line in (tmp_path / "feed.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [record["line"] for record in rejects] == feed.invalid_lines
    assert stored_orders(server, "FLT-") == feed.valid
