"""Processes and HTTP for the reliability tests: a shared moto DynamoDB, ``forward-orders serve``
instances on free loopback ports, raw HTTP calls, and readers of the stored records.

Every process runs in its own process group and is killed (SIGKILL to the group) by the fixture
that started it, whatever the test did: no process is left behind. Nothing here can reach AWS: the
credentials are fake and every endpoint is on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from common.tables import API_KEYS_TABLE, ORDERS_TABLE
from tests.processes import forward_orders_command, free_port, stop_process_group

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without anything that could point at a real AWS account."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    for name in ("ORDERS_TABLE_NAME", "API_KEYS_TABLE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        env.pop(name, None)
    env.update({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "PYTHONUNBUFFERED": "1", **extra})
    return env


# -- DynamoDB -------------------------------------------------------------------------------------


@dataclass
class MotoServer:
    process: subprocess.Popen[str]
    endpoint: str

    def client(self, **config: Any) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 3}, **config),
        )

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


# -- HTTP -----------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)


def http_call(
    url: str,
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request with the path sent exactly as given (no normalization, no proxy)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    data = body.encode() if isinstance(body, str) else body
    started = time.monotonic()
    try:
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return Reply(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            payload,
            time.monotonic() - started,
        )
    finally:
        connection.close()


def auth(key: str | None, scheme: str = "bearer") -> dict[str, str]:
    if key is None:
        return {}
    return {"Authorization": f"Bearer {key}"} if scheme == "bearer" else {"x-api-key": key}


# -- forward-orders serve -------------------------------------------------------------------------


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    state_file: Path
    env: dict[str, str]
    clients: dict[str, str] = field(default_factory=dict)  # client id -> key

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_file.read_text()))

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        body: Any = None,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        all_headers = {"Content-Type": "application/json", **auth(key), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return http_call(self.url, method, path, body=data, headers=all_headers, timeout=timeout)

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*forward_orders_command(), *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def start_serve(
    directory: Path,
    clients: dict[str, str],
    *,
    dynamodb_endpoint: str | None = None,
    extra_env: dict[str, str] | None = None,
    verbose: bool = False,
) -> ServeProcess:
    """``forward-orders serve`` on a free port; the caller must stop it (stop_process_group)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = directory / "serve.log"
    state_file = directory / "state" / "local.json"
    env = clean_environment(FORWARD_ORDERS_STATE_FILE=str(state_file), **(extra_env or {}))
    argv = [*forward_orders_command(), "serve", "--port", str(port)]
    for client_id, key in clients.items():
        argv += ["--client", f"{client_id}={key}"]
    if dynamodb_endpoint:
        argv += ["--dynamodb-endpoint", dynamodb_endpoint]
    if verbose:
        argv.append("-v")
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, cwd=directory, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = ServeProcess(process, f"http://127.0.0.1:{port}", log, state_file, env, dict(clients))
    try:
        _wait_until_ready(server)
    except BaseException:
        stop_process_group(process)
        raise
    return server


def _wait_until_ready(server: ServeProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"serve exited with {server.process.returncode}:\n{server.output()}")
        try:
            if server.call("GET", "/forward_orders/ready", timeout=2).status == 401:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"serve was not ready after {START_TIMEOUT} s:\n{server.output()}")


@contextlib.contextmanager
def serving(directory: Path, clients: dict[str, str], **options: Any) -> Iterator[ServeProcess]:
    server = start_serve(directory, clients, **options)
    try:
        yield server
    finally:
        stop_process_group(server.process)


# -- stored records ---------------------------------------------------------------------------------


def plain(value: dict[str, Any]) -> Any:
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
