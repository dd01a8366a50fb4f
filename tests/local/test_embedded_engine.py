"""The embedded DynamoDB keeps the service's promises (docs/local.md, "The embedded DynamoDB"): the
largest requests the default limits allow answer 200 through ``forward-orders serve`` inside API
Gateway's 29 s, a re-send converges and every record is stored once; the engine applies an
UpdateItem whole or not at all, counts the final item's size (a re-send of a large record is not a
second copy of it), and never outlives the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench import workload

from forward_orders.settings import Limits
from forward_orders.storage import RecordWrite, update_request
from forward_orders_cli.embedded_dynamodb import EmbeddedDynamoDB, ensure_tables
from forward_orders_cli.errors import CliError
from tests.processes import REGION, ServeProcess, local_dynamodb, serving
from tests.reliability.harness import scan_records

# API Gateway's integration timeout: the client sees a 504 after it, whatever the function does.
GATEWAY_TIMEOUT_SECONDS = 29.0
CLIENT, KEY = "acme", "engine-test-key-1"
# DynamoDB's item size limit (400 KB, counted as 409,600 bytes).
MAX_ITEM_BYTES = 400 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serving(tmp_path_factory.mktemp("engine"), {CLIENT: KEY}) as serve:
        yield serve


def stored_records(server: ServeProcess) -> list[dict[str, Any]]:
    records = scan_records(server.dynamodb(), server.state()["orders_table"])
    return [record for record in records if record["pk"].startswith(f"{CLIENT}#")]


def largest_requests() -> dict[str, dict[str, Any]]:
    limits = Limits()
    return {
        "most_records": workload.most_records(
            limits.max_body_bytes, limits.max_orders_per_request, limits.max_items_per_order
        ),
        "most_labels": workload.richest_records(
            limits.max_body_bytes,
            limits.max_orders_per_request,
            limits.max_items_per_order,
            limits.max_labels_per_item,
        ),
    }


def test_the_largest_requests_answer_inside_the_gateway_timeout_and_a_resend_converges(
    server: ServeProcess,
) -> None:
    limits = Limits()
    expected = 0
    for name, body in largest_requests().items():
        data = workload.encode(body)
        assert limits.max_body_bytes - 2048 < len(data) <= limits.max_body_bytes, name
        records = workload.records_of(body)
        expected += records
        # The first send creates every record (cold: the function's first storage calls), the
        # second updates every one of them: both whole, both in time.
        for attempt in ("first", "re-send"):
            reply = server.call("POST", "/forward_orders", key=KEY, raw=data, timeout=60)
            assert reply.status == 200, (name, attempt, reply.status, reply.body[:300])
            assert reply.seconds < GATEWAY_TIMEOUT_SECONDS, (name, attempt, reply.seconds)
            rate = records / reply.seconds
            print(f"{name} ({records} records) {attempt}: {reply.seconds:.1f} s, {rate:.0f} records/s")
        stored = stored_records(server)
        assert len(stored) == expected, name
    # Each record once, with the fields the request sent (the smallest items: identifier digits).
    keys = [(record["pk"], record["sk"]) for record in stored]
    assert len(set(keys)) == len(keys)
    most = largest_requests()["most_records"]
    last_order = most["orders"][-1]
    item = next(
        record
        for record in stored
        if record["pk"] == f"{CLIENT}#{last_order['identifier']}" and record["sk"] != "ORDER"
    )
    assert {item["upc"], item["sku"], item["quantity"]} == {"0", 1}


# -- the engine itself ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    with EmbeddedDynamoDB() as dynamodb:
        client = local_dynamodb(dynamodb.endpoint, REGION)
        ensure_tables(client, orders_table="engine-orders", api_keys_table="engine-keys")
        yield client


def write(engine: Any, write: RecordWrite, received_at: str) -> None:
    """The UpdateItem the API function sends for ``write``."""
    engine.update_item(**update_request("engine-orders", write, received_at))


def stored(engine: Any, order: str, item: str) -> dict[str, Any]:
    key = {"pk": {"S": f"{CLIENT}#{order}"}, "sk": {"S": f"I#{item}"}}
    return dict(engine.get_item(TableName="engine-orders", Key=key, ConsistentRead=True)["Item"])


def test_a_resend_of_a_large_record_converges(engine: Any) -> None:
    # 300 KB in one field: moto counted the old value and the new one together (600 KB) and refused
    # the re-send, after applying the assignments before it.
    large = RecordWrite(CLIENT, "resend", "1", {"identifier": "1", "sku": "x" * 300_000, "quantity": 1})
    write(engine, large, "2025-01-01T00:00:00Z")
    write(engine, large, "2025-01-02T00:00:00Z")
    record = stored(engine, "resend", "1")
    assert record["last_received_at"] == {"S": "2025-01-02T00:00:00Z"}
    assert record["first_received_at"] == {"S": "2025-01-01T00:00:00Z"}
    assert len(record["sku"]["S"]) == 300_000


def test_an_update_past_the_item_size_limit_is_refused_and_changes_nothing(engine: Any) -> None:
    first = RecordWrite(CLIENT, "toolarge", "1", {"identifier": "1", "sku": "a" * 210_000, "quantity": 1})
    write(engine, first, "2025-01-01T00:00:00Z")
    before = stored(engine, "toolarge", "1")
    # The quantity and the timestamps come before the large field in the SET: moto applied them.
    second = RecordWrite(CLIENT, "toolarge", "1", {"quantity": 2, "dropship_identifier": "b" * 210_000})
    with pytest.raises(engine.exceptions.ClientError) as refused:
        write(engine, second, "2025-01-02T00:00:00Z")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "maximum allowed size" in refused.value.response["Error"]["Message"]
    assert stored(engine, "toolarge", "1") == before


def test_an_item_just_under_the_limit_is_stored(engine: Any) -> None:
    # Attribute names count, as in DynamoDB: pk, sk, the timestamps and the fields.
    overhead = len("pk") + len(f"{CLIENT}#edge") + len("sk") + len("I#1") + len("identifier") + 1
    overhead += len("first_received_at") + len("last_received_at") + 2 * len("2025-01-01T00:00:00Z")
    overhead += len("sku")
    exact = RecordWrite(CLIENT, "edge", "1", {"identifier": "1", "sku": "e" * (MAX_ITEM_BYTES - overhead)})
    write(engine, exact, "2025-01-01T00:00:00Z")
    write(engine, exact, "2025-01-01T00:00:00Z")
    longer = "e" * (MAX_ITEM_BYTES - overhead + 1)
    over = RecordWrite(CLIENT, "edge2", "1", {"identifier": "1", "sku": longer})
    with pytest.raises(engine.exceptions.ClientError):
        write(engine, over, "2025-01-01T00:00:00Z")


def test_the_engine_ends_with_the_process_that_started_it(tmp_path: Path) -> None:
    # SIGKILL leaves no chance to clean up: the engine sees its standard input close and exits.
    script = (
        "from forward_orders_cli.embedded_dynamodb import EmbeddedDynamoDB\n"
        "import time\n"
        "engine = EmbeddedDynamoDB()\n"
        "engine.start()\n"
        "print(engine.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        engine_pid = int(parent.stdout.readline())
        os.kill(engine_pid, 0)  # running
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _running(engine_pid):
            time.sleep(0.05)
        assert not _running(engine_pid)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its new parent) is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_missing_installation_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="make install"):
        EmbeddedDynamoDB(root=tmp_path).start()
