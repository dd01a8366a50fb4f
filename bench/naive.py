"""The naive reference writer: the same validation, then one UpdateItem per record, in order.

What a first implementation would do: correct (the same merge expression as the service), but
every storage call waits for the one before it, so a batch costs one round trip per record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from forward_orders import batch_reader, orders
from forward_orders.settings import Limits


class NaiveWriter:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name
        self.limits = Limits()

    def post(self, tenant: str, body: bytes) -> int:
        data = batch_reader.decode_body(body.decode(), is_base64=False, limits=self.limits)
        batch = batch_reader.read_batch(data, self.limits)
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        writes = orders.record_writes(tenant, batch)
        for write in writes:
            names = {"#first": "first_received_at", "#last": "last_received_at"}
            values: dict[str, Any] = {":now": {"S": now}}
            sets = ["#first = if_not_exists(#first, :now)", "#last = :now"]
            for n, (name, value) in enumerate(write.fields.items()):
                names[f"#f{n}"] = name
                values[f":v{n}"] = _attribute(value)
                sets.append(f"#f{n} = :v{n}")
            sort_key = "ORDER" if write.item_identifier is None else f"I#{write.item_identifier}"
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"{tenant}#{write.order_identifier}"}, "sk": {"S": sort_key}},
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        return len(writes)


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"L": [{"M": {k: {"S": v} for k, v in entry.items()}} for entry in value]}
