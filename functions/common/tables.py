"""The key schemas of the service's DynamoDB tables.

This is the single definition of each table's keys: the Lambda code builds its keys from it, the
CDK stack creates the tables from it, and the tests and the local server create their moto tables
from it, so the three cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AttributeType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: AttributeType = "S"


@dataclass(frozen=True)
class GlobalIndex:
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    # None projects all attributes (ALL); () only the keys (KEYS_ONLY: the table's and the
    # index's); otherwise these non-key attributes too (INCLUDE).
    projected_attributes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TableSchema:
    """Keys and indexes of one table; billing is always on demand."""

    logical_name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    global_indexes: tuple[GlobalIndex, ...] = field(default=())

    def key_attributes(self) -> list[KeyAttribute]:
        keys = [self.partition_key, self.sort_key]
        for index in self.global_indexes:
            keys += [index.partition_key, index.sort_key]
        unique: dict[str, KeyAttribute] = {}
        for key in keys:
            if key is not None:
                unique.setdefault(key.name, key)
        return list(unique.values())

    def create_table_request(self, table_name: str) -> dict[str, Any]:
        """Arguments for boto3's ``create_table`` (moto, DynamoDB Local, or AWS for tooling)."""
        request: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": key.name, "AttributeType": key.type} for key in self.key_attributes()
            ],
            "KeySchema": _key_schema(self.partition_key, self.sort_key),
        }
        if self.global_indexes:
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": _key_schema(index.partition_key, index.sort_key),
                    "Projection": projection(index.projected_attributes),
                }
                for index in self.global_indexes
            ]
        return request


def _key_schema(partition_key: KeyAttribute, sort_key: KeyAttribute | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key.name, "KeyType": "HASH"}]
    if sort_key is not None:
        schema.append({"AttributeName": sort_key.name, "KeyType": "RANGE"})
    return schema


def projection(attributes: tuple[str, ...] | None) -> dict[str, Any]:
    """An index's projection as DynamoDB (and the CDK) name it."""
    if attributes is None:
        return {"ProjectionType": "ALL"}
    if not attributes:
        return {"ProjectionType": "KEYS_ONLY"}
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(attributes)}


# Orders and their items share one table: the partition key is the client and the order identifier,
# the sort key tells the order record ("ORDER") from each item record ("I#<identifier>"), so one
# Query returns an order with all its items, items sorted by identifier.
ORDERS_PARTITION_KEY = KeyAttribute("pk")
ORDERS_SORT_KEY = KeyAttribute("sk")

# Lookup by tracking number (docs/tracking.md): one sparse index per tracking field of an item. Its
# partition key is a normalised copy of the number (surrounding whitespace removed, case folded),
# written next to the field the client sent; its sort key is the item's client id, so a client's
# lookup is one key condition and an operations lookup reads every client's matches. Only item
# records with that number carry both attributes, so order records and items without the number are
# not in the index. Projection KEYS_ONLY: an index entry is written only when the item enters or
# leaves the index or its number changes, where with ALL every write of an indexed item rewrote it
# (``last_received_at`` changes on every write); the lookup then reads the few matched items from
# the table (docs/tracking.md, "Projection"; the write units are measured in bench/cost.py).
TRACKING_CLIENT_KEY = KeyAttribute("client_id")
TRACKING_NUMBER_INDEX = GlobalIndex(
    name="by_tracking_number",
    partition_key=KeyAttribute("tracking_number_key"),
    sort_key=TRACKING_CLIENT_KEY,
    projected_attributes=(),
)
REVERSE_TRACKING_NUMBER_INDEX = GlobalIndex(
    name="by_reverse_tracking_number",
    partition_key=KeyAttribute("reverse_tracking_number_key"),
    sort_key=TRACKING_CLIENT_KEY,
    projected_attributes=(),
)
# Item field -> the index that finds items by it.
TRACKING_INDEXES: dict[str, GlobalIndex] = {
    "tracking_number": TRACKING_NUMBER_INDEX,
    "reverse_tracking_number": REVERSE_TRACKING_NUMBER_INDEX,
}

ORDERS_TABLE = TableSchema(
    logical_name="orders",
    partition_key=ORDERS_PARTITION_KEY,
    sort_key=ORDERS_SORT_KEY,
    global_indexes=(TRACKING_NUMBER_INDEX, REVERSE_TRACKING_NUMBER_INDEX),
)

# API keys, stored only as the SHA-256 hash of the key.
API_KEYS_TABLE = TableSchema(
    logical_name="api_keys",
    partition_key=KeyAttribute("key_hash"),
)
