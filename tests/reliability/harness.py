"""Processes and HTTP for the reliability tests: a shared moto DynamoDB, ``forward-orders serve``
instances on free loopback ports, raw HTTP calls, and readers of the stored records.

Every process runs in its own process group and is killed (SIGKILL to the group) by the fixture
that started it, whatever the test did: no process is left behind. Nothing here can reach AWS: the
credentials are fake and every endpoint is on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from common.tables import API_KEYS_TABLE, ORDERS_TABLE
from tests.processes import (
    Reply,
    ServeProcess,
    clean_environment,
    local_dynamodb,
    start_serve,
    stop_process_group,
)

REGION = "us-east-1"


# -- DynamoDB -------------------------------------------------------------------------------------


@dataclass
class MotoServer:
    process: subprocess.Popen[str]
    endpoint: str

    def client(self, **config: Any) -> Any:
        return local_dynamodb(self.endpoint, **config)

    def create_tables(self, orders_table: str, api_keys_table: str | None = None) -> None:
        client = self.client()
        client.create_table(**ORDERS_TABLE.create_table_request(orders_table))
        if api_keys_table:
            client.create_table(**API_KEYS_TABLE.create_table_request(api_keys_table))


def start_moto(*, lock: bool = True, journal: Path | None = None) -> MotoServer:
    """tests/reliability/atomic_moto.py in its own process group; stop it with stop_process_group.
    ``journal``: the file it appends each UpdateItem that succeeded to (see atomic_moto.py)."""
    argv = [sys.executable, str(Path(__file__).with_name("atomic_moto.py"))]
    if not lock:
        argv.append("--no-lock")
    if journal is not None:
        argv += ["--journal", str(journal)]
    process = subprocess.Popen(
        argv,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
    except Exception:
        stop_process_group(process)
        raise
    # Anything moto prints later is read and dropped, so that a full pipe can never block it.
    threading.Thread(target=process.stdout.read, name="moto-stdout", daemon=True).start()
    return MotoServer(process, f"http://127.0.0.1:{port}")


# -- several local servers on one table --------------------------------------------------------------


@dataclass
class Cluster:
    """``forward-orders serve`` processes sharing one table, as Lambda execution environments
    share it; request ``number`` goes to server ``number % len(servers)``."""

    servers: list[ServeProcess]
    key: str
    orders_table: str

    def post(self, number: int, body: Any, query: str = "") -> Reply:
        server = self.servers[number % len(self.servers)]
        return server.call("POST", f"/forward_orders{query}", key=self.key, body=body, timeout=60)

    def get(self, identifier: str) -> dict[str, Any]:
        return self.servers[0].read_order(identifier, key=self.key)


@contextmanager
def serve_cluster(
    moto: MotoServer, directories: pytest.TempPathFactory, *, size: int, key: str
) -> Iterator[Cluster]:
    """``size`` servers of the client acme (``key``) on fresh tables of ``moto``; all stopped after."""
    suffix = uuid.uuid4().hex[:8]
    tables = {"ORDERS_TABLE_NAME": f"orders-{suffix}", "API_KEYS_TABLE_NAME": f"keys-{suffix}"}
    moto.create_tables(tables["ORDERS_TABLE_NAME"], tables["API_KEYS_TABLE_NAME"])
    servers: list[ServeProcess] = []

    def start(number: int) -> None:
        directory = directories.mktemp(f"serve-{number}")
        servers.append(
            start_serve(directory, {"acme": key}, dynamodb_endpoint=moto.endpoint, extra_env=tables)
        )

    try:
        # The first registers the key; the others find it registered to the same client.
        start(0)
        with ThreadPoolExecutor(max_workers=max(1, size - 1)) as pool:
            list(pool.map(start, range(1, size)))
        yield Cluster(servers, key, tables["ORDERS_TABLE_NAME"])
    finally:
        for server in servers:
            stop_process_group(server.process)


# -- stored records ---------------------------------------------------------------------------------


def plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as plain Python (S, N, L, M: what the service stores)."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        return int(value["N"])
    if "L" in value:
        return [plain(entry) for entry in value["L"]]
    if "M" in value:
        return {name: plain(entry) for name, entry in value["M"].items()}
    raise AssertionError(f"unexpected attribute type {sorted(value)}")


def scan_records(client: Any, table: str) -> list[dict[str, Any]]:
    """Every record of a table, as plain dicts (pk and sk included)."""
    records: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        records += [{name: plain(value) for name, value in item.items()} for item in page["Items"]]
    return records


def partition(client: Any, table: str, pk: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for page in client.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    ):
        records += [{name: plain(value) for name, value in item.items()} for item in page["Items"]]
    return records
