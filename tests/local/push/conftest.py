"""``forward-orders push`` against ``forward-orders serve``: one server for this package's tests
(each test uses its own order identifiers), the push run as a subprocess, and the stored state read
straight from the server's embedded DynamoDB."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from common.order_records import ITEM_FIELDS, ORDER_FIELDS
from tests.processes import ServeProcess, clean_environment, start_serve, stop_process_group
from tests.reliability.harness import MotoServer, scan_records

CLIENT, KEY = "acme", "push-test-key-1"
TIMESTAMPS = {"first_received_at", "last_received_at"}


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    serve = start_serve(tmp_path_factory.mktemp("push-serve"), {CLIENT: KEY})
    try:
        yield serve
    finally:
        stop_process_group(serve.process)


@dataclass
class PushRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout.strip().splitlines()[-1]))


def push_command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "forward_orders_client", "push", "--json", *argv]


def push_env(**extra: str) -> dict[str, str]:
    return clean_environment(FORWARD_ORDERS_KEY=KEY, **extra)


def run_push(*argv: str, timeout: float = 120) -> PushRun:
    done = subprocess.run(
        push_command(*argv), env=push_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    return PushRun(done.returncode, done.stdout, done.stderr)


def stored_orders(server: ServeProcess, prefix: str) -> dict[str, dict[str, Any]]:
    """Every order of the test's client whose identifier starts with ``prefix``, as
    {identifier: {fields..., "items": {item identifier: {fields...}}}}, server timestamps left out."""
    state = server.state()
    dynamodb = MotoServer(None, state["dynamodb_endpoint"]).client()  # type: ignore[arg-type]
    orders: dict[str, dict[str, Any]] = {}
    for record in scan_records(dynamodb, state["orders_table"]):
        client_id, _, order_id = record["pk"].partition("#")
        if client_id != CLIENT or not order_id.startswith(prefix):
            continue
        order = orders.setdefault(order_id, {"items": {}})
        fields = {k: v for k, v in record.items() if k in CONTRACT_FIELDS}
        if record["sk"] == "ORDER":
            order.update(fields)
        else:
            order["items"][fields["identifier"]] = fields
    return orders


CONTRACT_FIELDS = {"identifier", *ORDER_FIELDS, *ITEM_FIELDS}
