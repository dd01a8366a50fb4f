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
    parameter_validation: bool = True,
) -> DynamoDBClient:
    # parameter_validation=False skips botocore's client-side check of each request against the
    # service model (about a quarter of botocore's CPU per call, docs/performance.md); only for
    # callers whose requests are well-formed by construction. DynamoDB still validates them.
    config = Config(
        # total_max_attempts counts the first attempt; botocore's "max_attempts" key counts retries
        # only, so max_attempts=1 would still retry once, with botocore's own backoff.
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
        tcp_keepalive=True,
        parameter_validation=parameter_validation,
    )
    return boto3.client("dynamodb", region_name=region_name, endpoint_url=endpoint_url, config=config)
