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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.tables import API_KEYS_TABLE, ORDERS_TABLE
from tests.processes import clean_environment, local_dynamodb, stop_process_group

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


def start_moto(*, lock: bool = True) -> MotoServer:
    """tests/reliability/atomic_moto.py in its own process group; stop it with stop_process_group."""
    argv = [sys.executable, str(Path(__file__).with_name("atomic_moto.py"))]
    if not lock:
        argv.append("--no-lock")
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
