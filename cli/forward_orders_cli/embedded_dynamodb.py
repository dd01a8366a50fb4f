"""DynamoDB for the local run: moto's server embedded in this process, and the service's tables."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from common.tables import API_KEYS_TABLE, ORDERS_TABLE, TableSchema

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)


class EmbeddedDynamoDB:
    """moto's DynamoDB on a free loopback port, served by threads of this process.

    Its data lives in this process's memory and is gone when it stops.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: ThreadedMotoServer | None = None
        self._endpoint: str | None = None

    @property
    def endpoint(self) -> str:
        if self._endpoint is None:
            raise RuntimeError("the embedded DynamoDB is not running")
        return self._endpoint

    def start(self) -> str:
        # Imported here: moto takes a second to import and only this needs it.
        from moto.server import ThreadedMotoServer  # noqa: PLC0415

        # moto's server logs every request at INFO through werkzeug's logger; a DynamoDB call per
        # record would drown the API's own lines.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        server.start()
        self._server = server
        host, port = server.get_host_and_port()
        self._endpoint = f"http://{host}:{port}"
        return self._endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._endpoint = None

    def __enter__(self) -> EmbeddedDynamoDB:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


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
    # Instant on moto; DynamoDB Local and AWS take a moment.
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    logger.info("created table %s", name)
    return True
