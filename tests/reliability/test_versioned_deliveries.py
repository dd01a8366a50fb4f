"""Versioned updates delivered out of order, duplicated and concurrently, through the local HTTP
server (issue 10): each record ends with the values of the newest ``updated_at`` sent, whatever
the arrival order, and no stale write reaches the table's stream.

Hypothesis draws a set of versioned updates of a few orders and items: each update is one order as
the sender's system had it at some version, with some of its items (each at the order's version or
its own). A record's values are a function of its version, so the newest version sent decides the
final state alone. The updates, some of them several times, are shuffled and sent at once by many
threads over ``SERVERS`` servers sharing one moto table, as Lambda environments share DynamoDB.

The stream: moto here journals every UpdateItem that succeeded, in the order it applied them
(atomic_moto.py, ``--journal``): exactly the writes a DynamoDB stream has a record of, so exactly
the writes that can become an event. For every record, the journal's versions never go down (no
older write was applied after a newer one), and it has one entry per write the 200s reported as
written: every write a response called stale left the table, and the stream, untouched.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.order_records import partition_key, sort_key
from tests.processes import stop_process_group
from tests.reliability import figures
from tests.reliability.harness import Cluster, MotoServer, serve_cluster, start_moto
from tests.reliability.model import ZONES, instant, spelled

SERVERS = 3
THREADS = 8
KEY = "acme-versioned-key"
ORDERS = ("A", "B")
ITEMS = ("1", "2", "3")
VERSIONS = range(1, 7)
BASE = datetime.fromisoformat("2025-06-01T12:00:00+00:00")
Record = tuple[str, str | None]  # (order, item or None for the order record)
VERSIONED = "versioned deliveries (concurrent, out of order, duplicated)"


@dataclass(frozen=True)
class Update:
    """One order at ``version`` (its own updated_at), with items each at the order's version
    (None) or their own, written in the sender's time zone."""

    order: str
    version: int
    items: tuple[tuple[str, int | None], ...]
    zone: timedelta

    def records(self) -> dict[Record, int]:
        """Each record it writes, and the version it writes it at."""
        written: dict[Record, int] = {(self.order, None): self.version}
        for item, own in self.items:
            written[(self.order, item)] = own if own is not None else self.version
        return written

    def body(self, prefix: str) -> dict[str, Any]:
        items = []
        for item, own in self.items:
            entry = values((self.order, item), own or self.version) | {"identifier": item}
            if own is not None:
                entry["updated_at"] = updated_at(own, self.zone)
            items.append(entry)
        order = values((self.order, None), self.version)
        return {
            "orders": [
                {
                    "identifier": prefix + self.order,
                    **order,
                    "updated_at": updated_at(self.version, self.zone),
                    "items": items,
                }
            ]
        }


def values(record: Record, version: int) -> dict[str, Any]:
    """What the sender's system held for ``record`` at ``version``: every field, a function of it."""
    order, item = record
    if item is None:
        return {"concept": f"{order}@{version}", "postal_code": f"{version:05d}"}
    return {
        "upc": f"{order}{item}",
        "sku": f"{order}/{item}@{version}",
        "quantity": version,
        "tracking_number": f"T-{order}{item}-{version}",
    }


def updated_at(version: int, zone: timedelta) -> str:
    # Ten minutes apart, so that in another zone a newer version's text can sort before an older one.
    return spelled(BASE + timedelta(minutes=10 * version), zone)


def version_of(text: str) -> int:
    return (instant(text) - BASE) // timedelta(minutes=10)


updates = st.builds(
    Update,
    order=st.sampled_from(ORDERS),
    version=st.sampled_from(VERSIONS),
    items=st.lists(
        st.tuples(st.sampled_from(ITEMS), st.none() | st.sampled_from(VERSIONS)),
        max_size=len(ITEMS),
        unique_by=lambda pair: pair[0],
    ).map(tuple),
    zone=st.sampled_from(ZONES),
)


@st.composite
def deliveries(draw: Any) -> list[Update]:
    """A set of updates, some delivered more than once, in any order."""
    sent = draw(st.lists(updates, min_size=1, max_size=10))
    again = draw(st.lists(st.sampled_from(sent), max_size=6))
    return list(draw(st.permutations(sent + again)))


# -- the run -------------------------------------------------------------------------------------------


@dataclass
class Journal:
    path: Path
    read_to: int = 0

    def entries(self, table: str) -> list[dict[str, Any]]:
        """The writes applied since the last call, of ``table``."""
        with self.path.open(encoding="utf-8") as journal:
            journal.seek(self.read_to)
            text = journal.read()
            self.read_to = journal.tell()
        return [entry for line in text.splitlines() if (entry := json.loads(line))["table"] == table]


@pytest.fixture(scope="module")
def journaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Journal]]:
    path = tmp_path_factory.mktemp("journal") / "writes.jsonl"
    path.touch()
    moto: MotoServer = start_moto(journal=path)
    try:
        with serve_cluster(moto, tmp_path_factory, size=SERVERS, key=KEY) as cluster:
            yield cluster, Journal(path)
    finally:
        stop_process_group(moto.process)


@settings(
    max_examples=figures.scale(10, 150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sent=deliveries())
def test_out_of_order_duplicated_concurrent_updates_end_at_the_newest_and_stale_writes_leave_no_trace(
    journaled: tuple[Cluster, Journal], sent: list[Update]
) -> None:
    cluster, journal = journaled
    prefix = f"{uuid.uuid4().hex[:8]}-"
    journal.entries(cluster.orders_table)  # skip what earlier examples wrote

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        replies = list(pool.map(cluster.post, range(len(sent)), [update.body(prefix) for update in sent]))
    assert [reply.status for reply in replies] == [200] * len(replies), [r.body for r in replies]

    # The model: every record at the newest version sent for it.
    newest: dict[Record, int] = {}
    for update in sent:
        for record, version in update.records().items():
            newest[record] = max(newest.get(record, 0), version)
    for order in sorted({order for order, _ in newest}):
        stored = cluster.get(prefix + order)
        version = newest[(order, None)]
        assert {name: stored.get(name) for name in ("concept", "postal_code")} == values(
            (order, None), version
        )
        assert version_of(stored["updated_at"]) == version
        items = {entry["identifier"]: entry for entry in stored["items"]}
        assert set(items) == {item for o, item in newest if o == order and item is not None}
        for item, entry in items.items():
            version = newest[(order, item)]
            assert {name: entry.get(name) for name in values((order, item), version)} == values(
                (order, item), version
            )
            assert version_of(entry["updated_at"]) == version

    # The stream: each record's applied writes in order, never going down, one per reported write.
    applied: dict[Record, list[int]] = {}
    for entry in journal.entries(cluster.orders_table):
        record = _record(entry["key"], prefix)
        applied.setdefault(record, []).append(version_of_us(int(entry["version"])))
    reported_stale = Counter(
        (stale["order_identifier"].removeprefix(prefix), stale["item_identifier"])
        for reply in replies
        for stale in reply.json().get("stale", [])
    )
    sent_records = Counter(record for update in sent for record in update.records())
    for record, versions in applied.items():
        assert versions == sorted(versions), (
            f"{record}: an older write was applied after a newer one: {versions}"
        )
        assert versions[-1] == newest[record]
    assert {record: len(versions) for record, versions in applied.items()} == {
        record: count - reported_stale[record]
        for record, count in sent_records.items()
        if count > reported_stale[record]
    }
    assert sum(reply.json()["orders_upserted"] + reply.json()["items_upserted"] for reply in replies) == sum(
        len(versions) for versions in applied.values()
    )
    so_far = figures.FIGURES.get(VERSIONED, {})
    figures.record(
        VERSIONED,
        examples=so_far.get("examples", 0) + 1,
        deliveries=so_far.get("deliveries", 0) + len(sent),
        writes_applied=so_far.get("writes_applied", 0) + sum(len(versions) for versions in applied.values()),
        writes_stale=so_far.get("writes_stale", 0) + sum(reported_stale.values()),
    )


def _record(key: dict[str, Any], prefix: str) -> Record:
    pk, sk = key["pk"]["S"], key["sk"]["S"]
    for order in ORDERS:
        if pk == partition_key("acme", prefix + order):
            for item in (None, *ITEMS):
                if sk == sort_key(item):
                    return order, item
    raise AssertionError(f"a write of a record no update sent: {key}")


def version_of_us(microseconds: int) -> int:
    """The version of a stored version attribute (microseconds since 0001-01-01T00:00:00Z)."""
    origin = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
    return version_of((origin + timedelta(microseconds=microseconds)).isoformat())
