"""The naive reference writer: the same validation, then one UpdateItem per record, in order.

What a first implementation would do: correct (the same merge expression as the service), but
every storage call waits for the one before it, so a batch costs one round trip per record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from forward_orders import batch_reader, orders
from forward_orders.settings import Limits
from forward_orders.storage import update_request


class NaiveWriter:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name
        self.limits = Limits()

    def post(self, tenant: str, body: bytes) -> int:
        data = batch_reader.decode_body(body.decode(), is_base64=False, limits=self.limits)
        batch = batch_reader.read_batch(data, self.limits)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        writes = orders.record_writes(tenant, batch.orders)
        for write in writes:
            self.client.update_item(**update_request(self.table_name, write, now))
        return len(writes)
