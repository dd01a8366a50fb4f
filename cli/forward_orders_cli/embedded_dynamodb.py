"""DynamoDB for the local run: dynalite in a child process, and the service's tables.

Why dynalite rather than moto, with the measurements: docs/local.md ("The embedded DynamoDB").
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

from common.tables import API_KEYS_TABLE, ORDERS_TABLE, TableSchema
from forward_orders_cli.errors import CliError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

LAUNCHER = Path(__file__).with_name("dynalite.js")
# package.json (and node_modules) are at the repository's root.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 5.0


class EmbeddedDynamoDB:
    """dynalite (DynamoDB on Node.js, in memory) on a free loopback port, in a child process.

    Its data lives in that process's memory and is gone when it stops. The child exits when its
    standard input closes, so it ends with this process even when this one is killed.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, root: Path = REPOSITORY_ROOT) -> None:
        self._host = host
        self._port = port
        self._root = root
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint: str | None = None

    @property
    def endpoint(self) -> str:
        if self._endpoint is None:
            raise RuntimeError("the embedded DynamoDB is not running")
        return self._endpoint

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> str:
        node = shutil.which("node")
        if node is None:
            raise CliError("the embedded DynamoDB needs Node.js (node not found on PATH)")
        if not (self._root / "node_modules" / "dynalite").is_dir():
            raise CliError(f"dynalite is not installed in {self._root}: run `make install`")
        # Our own launcher and arguments, node from PATH as a developer's shell would run it.
        process = subprocess.Popen(  # noqa: S603
            [node, str(LAUNCHER), str(self._root), self._host, str(self._port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._process = process
        try:
            port = _read_port(process, START_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        self._endpoint = f"http://{self._host}:{port}"
        # dynalite writes nothing more, except a crash's stack: pass that on to this log.
        threading.Thread(target=_relay, args=(process.stderr,), name="dynalite-stderr", daemon=True).start()
        return self._endpoint

    def stop(self) -> None:
        process, self._process, self._endpoint = self._process, None, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the launcher exits on end of input
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> EmbeddedDynamoDB:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _read_port(process: subprocess.Popen[bytes], timeout: float) -> int:
    """The port from the launcher's first line, or CliError with what it wrote instead."""
    lines: list[bytes] = []
    stdout = process.stdout
    if stdout is not None:
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
    line = lines[0] if lines else b""
    try:
        return int(json.loads(line)["port"])
    except (ValueError, KeyError, TypeError):
        if process.poll() is None:
            process.kill()
        _, errors = process.communicate(timeout=STOP_TIMEOUT_SECONDS)
        detail = errors.decode(errors="replace").strip() or line.decode(errors="replace").strip()
        raise CliError(f"the embedded DynamoDB (dynalite) did not start: {detail or 'no output'}") from None


def _relay(stream: IO[bytes] | None) -> None:
    if stream is None:
        return
    for line in stream:
        logger.warning("dynalite: %s", line.decode(errors="replace").rstrip())


def ensure_tables(client: DynamoDBClient, *, orders_table: str, api_keys_table: str) -> list[str]:
    """Create the service's tables from their schemas where missing; returns the names created."""
    created = []
    for schema, name in ((ORDERS_TABLE, orders_table), (API_KEYS_TABLE, api_keys_table)):
        if _ensure_table(client, schema, name):
            created.append(name)
    return created


def _ensure_table(client: DynamoDBClient, schema: TableSchema, name: str) -> bool:
    try:
        client.describe_table(TableName=name)
        return False
    except client.exceptions.ResourceNotFoundException:
        pass
    try:
        client.create_table(**schema.create_table_request(name))
    except client.exceptions.ResourceInUseException:
        return False  # created meanwhile by someone else
    # Instant on the embedded dynalite (createTableMs 0); DynamoDB Local and AWS take a moment.
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    logger.info("created table %s", name)
    return True
