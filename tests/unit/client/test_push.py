"""The push pipeline against the in-process fake API: rejects exactly once, the order of an
order's updates kept with several senders, the checkpoint's prefix, resume, and the exit codes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from forward_orders_client import BatchLimits
from forward_orders_client.checkpoint import load
from forward_orders_client.client import ClientOptions, ForwardOrdersClient, RetryPolicy
from forward_orders_client.push import PushError, PushOptions, PushSummary, push
from tests.unit.client.fake_api import FakeApi


def write_jsonl(path: Path, orders: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(order) + "\n" for order in orders))
    return path


def run(
    api: FakeApi,
    options: PushOptions,
    stop: threading.Event | None = None,
    key: str | None = None,
    **policy: Any,
) -> PushSummary:
    client_options = ClientOptions(retry=RetryPolicy(base_delay=0.001, **policy), max_connections=8)

    def factory(on_retry: Any, stop_event: threading.Event) -> ForwardOrdersClient:
        return ForwardOrdersClient(
            "http://api.test",
            key or api.key,
            options=client_options,
            transport=api.transport(),
            stop=stop_event,
            on_retry=on_retry,
        )

    return push(options, factory, stop=stop)


def rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def orders_file(tmp_path: Path, count: int = 500, bad: set[int] | None = None) -> Path:
    bad = bad if bad is not None else {i for i in range(count) if i % 37 == 3}
    orders = [
        {"identifier": f"o{i}", "items": [], **({"bad": True} if i in bad else {})} for i in range(count)
    ]
    return write_jsonl(tmp_path / "orders.jsonl", orders)


@pytest.mark.parametrize("per_order", [False, True])
def test_every_invalid_order_is_rejected_once_and_every_valid_one_stored(
    tmp_path: Path, per_order: bool
) -> None:
    api = FakeApi(per_order=per_order)
    path = orders_file(tmp_path)
    summary = run(api, PushOptions([path], concurrency=4, limits=BatchLimits(max_orders_per_request=20)))
    bad = [f"o{i}" for i in range(500) if i % 37 == 3]
    assert summary.exit_code == 1 and summary.stopped is None
    assert (summary.totals.stored, summary.totals.rejected) == (500 - len(bad), len(bad))
    found = rejects(tmp_path / "orders.jsonl.rejects.jsonl")
    assert [r["identifier"] for r in found] == bad
    assert [r["line"] for r in found] == [int(name[1:]) + 1 for name in bad]
    assert all(r["errors"][0]["field"] == "bad" and r["refused_by"] == "api" for r in found)
    assert sorted(api.stored) == sorted(f"o{i}" for i in range(500) if f"o{i}" not in bad)
    assert not (tmp_path / "orders.jsonl.checkpoint.json").exists()


def test_the_rejects_file_fixed_is_pushed_again(tmp_path: Path) -> None:
    api = FakeApi(per_order=True)
    path = orders_file(tmp_path, 50)
    run(api, PushOptions([path]))
    rejected = tmp_path / "orders.jsonl.rejects.jsonl"
    fixed = tmp_path / "fixed.jsonl"
    lines = []
    for record in rejects(rejected):
        record["order"].pop("bad")
        lines.append(json.dumps(record))
    fixed.write_text("\n".join(lines) + "\n")
    summary = run(api, PushOptions([fixed]))
    assert summary.exit_code == 0 and summary.totals.stored == len(lines)
    assert len(api.stored) == 50


def test_an_orders_updates_are_never_in_flight_together_and_the_last_one_wins(tmp_path: Path) -> None:
    api = FakeApi()
    in_flight: set[str] = set()
    overlaps: list[str] = []
    lock = threading.Lock()

    def slow(request: httpx.Request, orders: list[Any]) -> None:
        names = {order["identifier"] for order in orders}
        with lock:
            overlaps.extend(names & in_flight)
            in_flight.update(names)
        time.sleep(0.01)
        with lock:
            in_flight.difference_update(names)

    api.before = slow
    orders = [{"identifier": f"o{i % 7}", "version": i, "items": []} for i in range(200)]
    path = write_jsonl(tmp_path / "orders.jsonl", orders)
    summary = run(api, PushOptions([path], concurrency=6, limits=BatchLimits(max_orders_per_request=5)))
    assert summary.exit_code == 0 and overlaps == []
    for name in range(7):
        versions = [order["version"] for order in api.stored[f"o{name}"]]
        assert versions == sorted(versions) and versions[-1] == max(i for i in range(200) if i % 7 == name)


def test_a_stopped_push_checkpoints_the_acknowledged_prefix_and_resumes_without_duplicates(
    tmp_path: Path,
) -> None:
    api = FakeApi(per_order=True)
    path = orders_file(tmp_path, 400)
    stop = threading.Event()
    sent = []

    def hold_the_third_batch(request: httpx.Request, orders: list[Any]) -> None:
        sent.append(orders[0]["identifier"])
        if orders[0]["identifier"] == "o40":
            stop.set()  # Ctrl-C while batches after it are in flight
            time.sleep(0.05)

    api.before = hold_the_third_batch
    options = PushOptions([path], concurrency=4, limits=BatchLimits(max_orders_per_request=20))
    first = run(api, options, stop=stop)
    assert first.exit_code == 2 and first.checkpoint
    saved = load(tmp_path / "orders.jsonl.checkpoint.json")
    assert saved is not None
    done = saved.totals.stored + saved.totals.rejected
    assert done % 20 == 0 and 40 <= done < 400
    assert saved.position.ordinal == done
    assert len(rejects(tmp_path / "orders.jsonl.rejects.jsonl")) == saved.totals.rejected

    api.before = None
    requests_before = len(api.requests)
    second = run(
        api, PushOptions([path], resume=True, concurrency=4, limits=BatchLimits(max_orders_per_request=20))
    )
    assert second.exit_code == 1
    assert second.totals.stored + second.totals.rejected == 400
    assert len(api.requests) - requests_before == (400 - done) // 20
    found = rejects(tmp_path / "orders.jsonl.rejects.jsonl")
    assert [r["identifier"] for r in found] == [f"o{i}" for i in range(400) if i % 37 == 3]


def test_resume_refuses_a_checkpoint_of_another_file(tmp_path: Path) -> None:
    api = FakeApi()
    path = orders_file(tmp_path, 30)
    stop = threading.Event()
    stop.set()
    run(api, PushOptions([path]), stop=stop)
    path.write_text(path.read_text() + '{"identifier": "new", "items": []}\n')
    with pytest.raises(PushError, match="changed"):
        run(api, PushOptions([path], resume=True))


def test_a_bad_key_stops_the_push(tmp_path: Path) -> None:
    api = FakeApi()
    summary = run(api, PushOptions([orders_file(tmp_path, 30)]), key="revoked")
    assert summary.exit_code == 2 and summary.stopped and "401" in summary.stopped
    assert summary.checkpoint


def test_exhausted_retries_stop_the_push(tmp_path: Path) -> None:
    api = FakeApi()
    api.before = lambda request, orders: httpx.Response(503)
    summary = run(api, PushOptions([orders_file(tmp_path, 30)]), max_attempts=3)
    assert summary.exit_code == 2 and summary.stopped and "503" in summary.stopped
    assert summary.totals.stored == 0


def test_a_json_file_broken_half_way_pushes_what_came_before_and_stops(tmp_path: Path) -> None:
    api = FakeApi()
    path = tmp_path / "orders.json"
    good = ", ".join(json.dumps({"identifier": f"o{i}", "items": []}) for i in range(10))
    path.write_text(f'{{"orders": [{good}, {{"identifier": "x", ')
    summary = run(api, PushOptions([path]))
    assert summary.exit_code == 2 and summary.stopped and "unreadable input" in summary.stopped
    assert summary.totals.stored == 10 and len(api.stored) == 10


def test_several_inputs_one_rejects_file_and_local_rejects(tmp_path: Path) -> None:
    api = FakeApi(per_order=True)
    first = write_jsonl(
        tmp_path / "a.jsonl", [{"identifier": "a1", "items": []}, {"identifier": "a2", "bad": 1}]
    )
    second = tmp_path / "b.csv"
    second.write_text("order_identifier,item_identifier,upc,sku,quantity\nb1,1,007,S,1\nb2,1,1,S,1\n")
    third = tmp_path / "c.jsonl"
    third.write_text('{"identifier": "c1", "items": []}\n{broken\n')
    summary = run(api, PushOptions([first, second, third], rejects=tmp_path / "all.rejects.jsonl"))
    assert summary.exit_code == 1
    assert (summary.totals.stored, summary.totals.rejected, summary.totals.rejected_locally) == (4, 2, 1)
    found = rejects(tmp_path / "all.rejects.jsonl")
    assert [(r["source"], r.get("line")) for r in found] == [(str(first), 2), (str(third), 2)]
    assert found[1]["order"] is None and found[1]["text"] == "{broken"
    assert api.stored["b1"][0]["items"][0]["upc"] == "007"


def test_an_empty_input_is_a_success(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    summary = run(FakeApi(), PushOptions([path]))
    assert summary.exit_code == 0 and summary.totals.orders == 0


def test_without_partial_success_a_per_order_server_is_used_all_or_nothing(tmp_path: Path) -> None:
    api = FakeApi(per_order=True)
    summary = run(api, PushOptions([orders_file(tmp_path, 100)], partial_success=False))
    assert summary.exit_code == 1 and summary.totals.rejected == 3
    assert all(request["params"] == {} for request in api.requests)
    assert len(api.requests) == 2  # the 422, then the rest
