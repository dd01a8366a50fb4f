"""Write units of the write path, from DynamoDB's item-size and pricing rules.

Run as its own process (``python -m bench.capacity``): it imports moto, which registers botocore
handlers that would otherwise sit in the path of every timed call.

The batch is posted through ``lambda_handler`` into moto's DynamoDB twice (a create, then the same
batch again: an update), and every stored record is read back. An UpdateItem consumes
ceil(max(size before, size after) / 1 KB) write units (on demand: write request units), so the
units of each write follow from the stored items; moto's ``ReturnConsumedCapacity`` is checked too
and reported, but it is not size-based, so it is not used.
"""

from __future__ import annotations

import json
import math
import os
import sys
from decimal import Decimal
from typing import Any

KB = 1024


def number_size(digits: str) -> int:
    """DynamoDB: about one byte per two significant digits, plus one."""
    numerals = Decimal(digits).normalize().as_tuple().digits
    return (len(numerals) + 1) // 2 + 1


def value_size(value: dict[str, Any]) -> int:
    """Strings and binaries: their bytes; numbers: see number_size; booleans and null: 1 byte;
    lists and maps: 3 bytes plus 1 per element, plus the elements (and a map's key names)."""
    ((kind, data),) = value.items()
    sizes = {
        "S": lambda: len(data.encode()),
        "N": lambda: number_size(data),
        "B": lambda: len(data),
        "BOOL": lambda: 1,
        "NULL": lambda: 1,
        "L": lambda: 3 + sum(value_size(entry) + 1 for entry in data),
        "M": lambda: 3 + sum(len(name.encode()) + value_size(entry) + 1 for name, entry in data.items()),
        "SS": lambda: sum(len(entry.encode()) for entry in data),
        "NS": lambda: sum(number_size(entry) for entry in data),
    }
    return sizes[kind]()


def item_size(item: dict[str, Any]) -> int:
    """The size DynamoDB bills: attribute names plus values, UTF-8."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(before: int, after: int) -> int:
    return max(1, math.ceil(max(before, after) / KB))


def main() -> None:
    body = sys.stdin.buffer.read()
    os.environ.pop("LAMBDA_TASK_ROOT", None)
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    import boto3
    from moto import mock_aws

    from bench.worker import api_event, context
    from common.tables import ORDERS_TABLE

    table = os.environ["ORDERS_TABLE_NAME"]
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(**ORDERS_TABLE.create_table_request(table))
        from forward_orders import handler

        sizes: list[dict[str, int]] = []
        for _ in range(2):  # a create, then an update of every record
            response = handler.lambda_handler(api_event(body), context())
            if response["statusCode"] != 200:
                raise RuntimeError(f"the API answered {response['statusCode']}: {response.get('body')}")
            items = client.get_paginator("scan").paginate(TableName=table).build_full_result()["Items"]
            sizes.append({item["pk"]["S"] + "\0" + item["sk"]["S"]: item_size(item) for item in items})
        created = [write_units(0, size) for size in sizes[0].values()]
        updated = [write_units(sizes[0][key], size) for key, size in sizes[1].items()]

        # What moto reports, for comparison: the largest record, written again.
        largest = max(sizes[1], key=sizes[1].__getitem__)
        pk, sk = largest.split("\0")
        reported = client.update_item(
            TableName=table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="SET #n = :n",
            ExpressionAttributeNames={"#n": "bench"},
            ExpressionAttributeValues={":n": {"S": "x" * 2048}},
            ReturnConsumedCapacity="TOTAL",
        ).get("ConsumedCapacity", {})
    units = created + updated
    print(
        json.dumps(
            {
                "records": len(sizes[0]),
                "write_units_per_record": sum(units) / len(units),
                "write_units_create": sum(created),
                "write_units_update": sum(updated),
                "record_bytes_max": max(sizes[1].values()),
                "record_bytes_mean": sum(sizes[1].values()) / len(sizes[1]),
                "moto_units_for_a_3kb_update": reported.get("CapacityUnits"),
                "moto_units_by_size_rules": write_units(sizes[1][largest], sizes[1][largest] + 2048 + 5),
            }
        )
    )


if __name__ == "__main__":
    main()
