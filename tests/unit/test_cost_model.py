"""The cost model's rules (bench/replay.py, bench/cost.py, bench/feed.py) and the docs section it
writes (bench/cost_docs.py), on hand-made counts: DynamoDB's write and read units, the stream's
batches, sampling, billing, and the feed's versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench import cost, cost_docs, feed
from bench.replay import index_entry, index_writes, read_units, stream_batches
from hypothesis import given
from hypothesis import strategies as st

from common.tables import TRACKING_CLIENT_KEY, TRACKING_NUMBER_INDEX, GlobalIndex

ALL = GlobalIndex(
    name="all",
    partition_key=TRACKING_NUMBER_INDEX.partition_key,
    sort_key=TRACKING_NUMBER_INDEX.sort_key,
    projected_attributes=None,
)
KEY = TRACKING_NUMBER_INDEX.partition_key.name
OWNER = TRACKING_CLIENT_KEY.name


def _item(**fields: str) -> dict[str, dict[str, Any]]:
    return {
        "pk": {"S": "acme#o"},
        "sk": {"S": "I#1"},
        OWNER: {"S": "acme"},  # the indexes' sort key
        **{name: {"S": value} for name, value in fields.items()},
    }


def test_a_keys_only_entry_is_not_rewritten_when_only_other_attributes_change() -> None:
    before = _item(**{KEY: "1z", "last_received_at": "a"})
    after = _item(**{KEY: "1z", "last_received_at": "b"})
    assert index_writes(TRACKING_NUMBER_INDEX, before, after) == 0
    assert index_writes(ALL, before, after) == 1  # ALL projects last_received_at: rewritten


def test_an_entry_is_put_when_the_item_enters_and_replaced_when_its_key_changes() -> None:
    unshipped, shipped = _item(sku="s"), _item(sku="s", **{KEY: "1z"})
    assert index_entry(TRACKING_NUMBER_INDEX, unshipped) is None  # sparse
    assert index_writes(TRACKING_NUMBER_INDEX, unshipped, shipped) == 1
    assert index_writes(TRACKING_NUMBER_INDEX, shipped, _item(sku="s", **{KEY: "2z"})) == 2
    assert index_writes(TRACKING_NUMBER_INDEX, shipped, unshipped) == 1


def test_read_units_round_each_item_or_the_query_total_and_halve_eventual_reads() -> None:
    assert read_units([100, 100], consistent=True, each=True) == 2
    assert read_units([100, 100], consistent=False, each=False) == 0.5
    assert read_units([4097], consistent=True, each=True) == 2


@given(
    st.lists(st.lists(st.integers(0, 10_000), max_size=6), max_size=40),
    st.floats(0.01, 50),
    st.integers(1, 8),
    st.sampled_from([0.0, 1.0, 5.0]),
    st.integers(1, 100),
)
def test_every_stream_record_is_in_exactly_one_batch_of_at_most_the_batch_size(
    posts: list[list[int]], rate: float, shards: int, window: float, size: int
) -> None:
    numbered, position = [], 0
    for post in posts:
        numbered.append(list(range(position, position + len(post))))
        position += len(post)
    batches = stream_batches(
        numbered,
        lambda record: record * 7919,
        posts_per_second=rate,
        shards=shards,
        polls_per_second=4,
        batching_window_seconds=window,
        batch_size=size,
    )
    assert sorted(record for batch in batches for record in batch) == list(range(position))
    assert all(0 < len(batch) <= size for batch in batches)


def test_sampling_takes_the_reservoir_then_the_rate() -> None:
    sampling = cost.Sampling(1.0, 0.05)
    assert sampling.traces_per_second(0.5) == 0.5
    assert sampling.traces_per_second(21.0) == pytest.approx(2.0)
    assert cost.Sampling(0.0, 0.05).traces_per_second(20.0) == pytest.approx(1.0)


def _counts() -> dict[str, Any]:
    """The counts of a replay of ten orders: a few invocations of each function."""
    invocation = {
        "sampled": False,
        "wall": 0.01,
        "log_lines": [200],
        "rounds": {"dynamodb": 1},
        "calls": {"dynamodb.UpdateItem": 3},
        "stream": {},
    }
    invocations = [
        {**invocation, "function": "authorizer", "kind": "create", "cpu": 0.002},
        {**invocation, "function": "api", "kind": "create", "cpu": 0.02},
        *(
            {
                **invocation,
                "function": "order_events",
                "kind": f"events@{level}",
                "cpu": 0.01,
                "stream": {"records": 30, "entries": 20, "chunks": 20},
            }
            for level in cost.LEVELS
        ),
    ]
    return {
        "feed": {"orders": 10, "items": 20, "posts": 1, "lookups": 0, "request_bytes": 5000},
        "requests": {"create": 1},
        "statuses": {"create 200": 1},
        "lookup_mismatches": 0,
        "write_units": {"table": 30.0, "by_tracking_number": 10.0},
        "write_units_by_phase": {"create": 40.0},
        "read_units": {"keys_table": 0.5, "table": 1.0},
        "stream_records": 30,
        "access_log_lines": [600],
        "invocations": invocations,
        "init": {name: {"init_cpu": 1.0} for name in cost.PACKAGES},
        "events": {level: {"batches": 4, "posts_per_second": 1.0} for level in cost.LEVELS},
        "records": 30,
        "stored_bytes": {"table": 9000.0, "by_tracking_number": 1000.0},
    }


def test_each_line_prices_its_count() -> None:
    deployment = cost.current_deployment()
    lines = cost.price(_counts(), deployment, "10m")
    # Per order: 0.1 request, 4 write units, 2 events (chunks).
    assert lines["api_gateway"] == pytest.approx(0.1 * 3.50)
    assert lines["dynamodb_writes"] == pytest.approx(4 * 0.625)
    assert lines["eventbridge"] == pytest.approx(2 * 1.00)
    fixed = sum(cost.fixed_monthly(deployment).values())
    assert lines["fixed_monthly"] == pytest.approx(fixed / 10)  # 10 million orders a month
    assert cost.price(_counts(), deployment, "1m")["fixed_monthly"] == pytest.approx(fixed)


def test_provisioned_capacity_costs_less_at_its_utilisation_and_more_when_idle() -> None:
    counts = _counts()
    on_demand = cost.price(counts, cost.current_deployment(), "10m")["dynamodb_writes"]
    provisioned = cost.current_deployment({"ordersTableBilling": "provisioned"})
    assert cost.price(counts, provisioned, "10m")["dynamodb_writes"] < on_demand
    idle = provisioned.with_context(dynamodb_utilisation=0.2)
    assert cost.price(counts, idle, "10m")["dynamodb_writes"] > on_demand


def test_start_and_report_lines_are_priced_only_at_system_log_level_info() -> None:
    counts = _counts()
    quiet = cost.price(counts, cost.current_deployment(), "10m")["cloudwatch_logs"]
    loud = cost.price(counts, cost.current_deployment({"systemLogLevel": "INFO"}), "10m")["cloudwatch_logs"]
    assert loud > quiet


def test_the_authorizer_cache_leaves_at_most_one_call_per_key_and_ttl() -> None:
    counts = _counts()
    deployment = cost.current_deployment({"authorizerCacheTtlSeconds": 300})
    used = cost.usage(counts, deployment, "100m")
    assert used.invocations["authorizer"] < used.invocations["api"]


def test_the_docs_section_carries_every_line_and_replaces_only_itself(tmp_path: Path) -> None:
    counts = _counts()
    current = cost.model(counts, cost.current_deployment())
    current["variants"] = {"snapStart=false": {level: 1.0 for level in cost.LEVELS}}
    keys = cost.results_keys(current, cost.model(counts, cost.BASELINE_DEPLOYMENT), quick=True)
    text = cost_docs.section(keys, cost.LINES, cost.LEVELS, cost.HEADLINE)
    for line in cost.LINES:
        assert f"| {line} | " in text
        assert f"{current['levels']['100m'][line]:.2f}" in text
    assert f"**{keys['usd_per_million_orders']:.2f} USD per million orders**" in text
    assert "`snapStart=false`" in text
    # The events line's figures: 4 stream batches for 10 orders.
    chunks = current["details"]["event_chunks_per_order"]
    assert f"holds about {chunks / 0.4:.1f} changed orders" in text
    assert "to about 0.40 USD" in text
    page = tmp_path / "deployment.md"
    page.write_text("# Page\n\n## Before\n\nkept\n\n## What it costs\n\nstale text\n\n## After\n\nkept too\n")
    cost_docs.write(page, text)
    written = page.read_text()
    assert "stale text" not in written and text in written
    assert written.startswith("# Page\n\n## Before\n\nkept\n") and written.endswith("## After\n\nkept too\n")


def test_the_feed_versions_every_document_and_its_late_re_sends_are_stale() -> None:
    built = feed.build(200)
    shipped = {
        order["identifier"]: order["updated_at"]
        for post in built.posts
        if post.phase == feed.SHIP
        for order in post.orders
    }
    late = [order for post in built.posts if post.phase == feed.LATE for order in post.orders]
    assert late
    for order in late:
        assert order["updated_at"] < shipped[order["identifier"]]
        assert all(item["updated_at"] == order["updated_at"] for item in order["items"])
