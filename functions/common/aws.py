"""How the service talks to DynamoDB: one client per process, bounded retries and timeouts.

Retries use botocore's "standard" mode: throttling, 5xx and connection errors are retried with
exponential backoff and full jitter, up to ``max_attempts`` attempts in all. Timeouts are short
because a DynamoDB single-item call normally answers in milliseconds; together with the attempt
count they bound how long one call can take, which is what keeps a request inside the Lambda
timeout. The endpoint comes from boto3's own ``AWS_ENDPOINT_URL_DYNAMODB`` variable when set (the
local server and DynamoDB Local use it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def dynamodb_client(
    *,
    max_attempts: int = 4,
    connect_timeout: float = 1.0,
    read_timeout: float = 2.0,
    max_pool_connections: int = 10,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> DynamoDBClient:
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
        tcp_keepalive=True,
    )
    return boto3.client("dynamodb", region_name=region_name, endpoint_url=endpoint_url, config=config)
