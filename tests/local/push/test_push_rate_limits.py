"""``forward-orders push`` against a rate-limited ``serve``: over its client's tier it gets the
gateway's 429s, backs off as Retry-After says, and still stores every order exactly once; with its
defaults it stays inside the default tier and is never throttled."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.usage_plans import UsagePlans
from forward_orders_cli.metering import checkout_usage_plans
from forward_orders_client.push import DEFAULT_CONCURRENCY, DEFAULT_RATE
from tests.local.push.conftest import CLIENT, KEY, PushRun, push_command, stored_orders
from tests.local.push.orders import write_feed
from tests.processes import ServeProcess, clean_environment, serving
from tests.reliability.harness import scan_records

DEFAULT_TIER_CLIENT, DEFAULT_TIER_KEY = "initech", "push-default-tier-key"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """acme: 4 requests/s, burst 1, so that 4 senders are throttled however slowly this machine
    runs the authorizer (far under 250 ms a request); initech: cdk.json's default tier."""
    with serving(
        tmp_path_factory.mktemp("push-limited"),
        {CLIENT: KEY, DEFAULT_TIER_CLIENT: DEFAULT_TIER_KEY},
        rate_limits=True,
        client_rates={CLIENT: "4/1"},
    ) as server:
        yield server


def push(server: ServeProcess, key: str, *argv: str) -> PushRun:
    done = subprocess.run(
        push_command(*argv, "--url", server.url),
        env=clean_environment(FORWARD_ORDERS_KEY=key),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return PushRun(done.returncode, done.stdout, done.stderr)


def answers(server: ServeProcess, client: str) -> dict[int, int]:
    """How many POSTs of this client the server answered with each status."""
    counts: dict[int, int] = {}
    for status in re.findall(rf"POST /forward_orders -> (\d+) .* client={client} ", server.output()):
        counts[int(status)] = counts.get(int(status), 0) + 1
    return counts


def test_over_its_rate_a_push_is_throttled_backs_off_and_stores_every_order_exactly_once(
    limited: ServeProcess, tmp_path: Path
) -> None:
    feed = write_feed(tmp_path / "feed.jsonl", "RATE", 6, seed=3)

    # No client-side rate, four senders; backoff capped at the Retry-After (1 s) to keep this short.
    done = push(
        limited,
        KEY,
        str(feed.path),
        *("--max-orders-per-request", "1", "--rate", "0", "--concurrency", "4", "--max-backoff", "1"),
    )

    assert done.returncode == 0, done.stderr
    assert done.summary["totals"]["stored"] == 6
    served = answers(limited, CLIENT)
    assert served.get(429, 0) >= 1, served  # the tier refused some
    assert done.summary["retries"] >= served[429]
    assert served[200] == 6, served  # and each batch was stored by exactly one request
    assert set(served) == {200, 429}, served
    assert stored_orders(limited, "RATE-") == feed.valid
    # Written once: no order was stored by a second request that came later.
    orders = [
        record
        for record in scan_records(limited.dynamodb(), limited.state()["orders_table"])
        if record["pk"].startswith(f"{CLIENT}#RATE-") and record["sk"] == "ORDER"
    ]
    assert len(orders) == 6
    assert all(record["first_received_at"] == record["last_received_at"] for record in orders)


def test_the_push_defaults_stay_inside_the_default_tier(limited: ServeProcess, tmp_path: Path) -> None:
    tiers: UsagePlans = checkout_usage_plans()
    default = tiers.plan(tiers.default_plan)
    # The client's pacer: DEFAULT_RATE per second, a burst of one request per sender.
    assert default.rate >= DEFAULT_RATE
    assert default.burst >= DEFAULT_CONCURRENCY
    # More requests than the tier's burst, so that its rate is what matters.
    count = default.burst + 10
    feed = write_feed(tmp_path / "feed.jsonl", "DEFAULTS", count, seed=4)

    done = push(limited, DEFAULT_TIER_KEY, str(feed.path), "--max-orders-per-request", "1")

    assert done.returncode == 0, done.stderr
    assert done.summary["totals"]["stored"] == count
    assert answers(limited, DEFAULT_TIER_CLIENT) == {200: count}  # not one 429
    assert done.summary["retries"] == 0
