"""The DynamoDB tables, created from the key schemas the code and the tests use (common/tables.py).

Both tables are on demand (no capacity to plan for a bursty feed; the orders table can be
provisioned with auto scaling instead, ``ordersTableBilling``), with point-in-time recovery,
deletion protection and RemovalPolicy.RETAIN: orders and client keys are the service's data, and
neither a mistaken ``cdk destroy`` nor a replacement caused by a changed key schema may delete them.

Encryption at rest uses the AWS managed key (``aws/dynamodb``): every read and write of the key is
in CloudTrail, there is no key policy to maintain or to lock ourselves out with, and no monthly key
fee. A customer managed key would only add value for cross-account access or a key we must rotate
or revoke on our own schedule, and this service needs neither.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from common.tables import API_KEYS_TABLE, ORDERS_TABLE, KeyAttribute, TableSchema, projection
from infra.config import ServiceConfig
from order_events.changes import STREAM_VIEW_TYPE as ORDERS_STREAM_VIEW_TYPE

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


_PROJECTION_TYPES = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def _attribute(key: KeyAttribute) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


def key_schema_props(schema: TableSchema) -> dict[str, Any]:
    """The keys and global indexes of ``schema`` as TableV2 properties."""
    props: dict[str, Any] = {"partition_key": _attribute(schema.partition_key)}
    if schema.sort_key is not None:
        props["sort_key"] = _attribute(schema.sort_key)
    if schema.global_indexes:
        props["global_secondary_indexes"] = [
            dynamodb.GlobalSecondaryIndexPropsV2(
                index_name=index.name,
                partition_key=_attribute(index.partition_key),
                sort_key=_attribute(index.sort_key) if index.sort_key is not None else None,
                projection_type=_PROJECTION_TYPES[projection(index.projected_attributes)["ProjectionType"]],
                non_key_attributes=list(index.projected_attributes) if index.projected_attributes else None,
            )
            for index in schema.global_indexes
        ]
    return props


def orders_billing(config: ServiceConfig) -> dynamodb.Billing:
    """On demand (the default: nothing to plan for a bursty feed), or, for steady traffic,
    provisioned capacity that auto scaling keeps near the target utilisation; the indexes inherit
    the table's. docs/deployment.md, "What it costs", prices both."""
    if config.orders_table_billing == "onDemand":
        return dynamodb.Billing.on_demand()
    target = config.orders_table_target_utilization_percent
    return dynamodb.Billing.provisioned(
        read_capacity=dynamodb.Capacity.autoscaled(
            min_capacity=config.orders_table_min_read_capacity,
            max_capacity=config.orders_table_max_read_capacity,
            target_utilization_percent=target,
        ),
        write_capacity=dynamodb.Capacity.autoscaled(
            min_capacity=config.orders_table_min_write_capacity,
            max_capacity=config.orders_table_max_write_capacity,
            target_utilization_percent=target,
        ),
    )


def service_table(
    scope: Construct,
    construct_id: str,
    schema: TableSchema,
    *,
    stream: dynamodb.StreamViewType | None = None,
    billing: dynamodb.Billing | None = None,
) -> dynamodb.TableV2:
    return dynamodb.TableV2(
        scope,
        construct_id,
        **key_schema_props(schema),
        billing=billing or dynamodb.Billing.on_demand(),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
        encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
        dynamo_stream=stream,
    )


class Storage(Construct):
    """The orders table (orders and their items) and the API keys table.

    The orders table has a stream with the view its reader, the order events function, needs
    (both images, to tell which fields changed; see infra/events.py).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: ServiceConfig) -> None:
        super().__init__(scope, construct_id)
        self.orders = service_table(
            self,
            "Orders",
            ORDERS_TABLE,
            stream=dynamodb.StreamViewType[ORDERS_STREAM_VIEW_TYPE],
            billing=orders_billing(config),
        )
        self.api_keys = service_table(self, "ApiKeys", API_KEYS_TABLE)
