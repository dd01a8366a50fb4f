"""Shared fixtures: moto's DynamoDB with the tables built from the stack's key schemas, API Gateway
proxy events shaped like the ones AWS sends, and a tiny LambdaContext."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from common.tables import API_KEYS_TABLE, ORDERS_TABLE

# The SAM run (tests/sam) needs Docker and minutes under qemu: only `make sam` collects it.
collect_ignore = [] if os.environ.get("FORWARD_ORDERS_SAM") == "1" else ["sam"]

ORDERS_TABLE_NAME = "test-orders"
API_KEYS_TABLE_NAME = "test-api-keys"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with fake credentials, so nothing can ever reach a real AWS account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "ORDERS_TABLE_NAME": ORDERS_TABLE_NAME,
        "API_KEYS_TABLE_NAME": API_KEYS_TABLE_NAME,
        "POWERTOOLS_SERVICE_NAME": "forward-orders",
        "POWERTOOLS_METRICS_NAMESPACE": "ForwardOrdersTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    _reset_process_caches()
    yield
    _reset_process_caches()


def _reset_process_caches() -> None:
    """Settings and clients are built once per process in Lambda; tests rebuild them per test."""
    from authorizer import handler as authorizer_handler
    from authorizer import settings as authorizer_settings
    from forward_orders import handler as api_handler
    from forward_orders import settings as api_settings

    api_settings.get_settings.cache_clear()
    authorizer_settings.get_settings.cache_clear()
    api_handler.orders_table.cache_clear()
    authorizer_handler.key_store.cache_clear()


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """moto's in-process DynamoDB with both tables created from their schema definitions."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**ORDERS_TABLE.create_table_request(ORDERS_TABLE_NAME))
        client.create_table(**API_KEYS_TABLE.create_table_request(API_KEYS_TABLE_NAME))
        yield client


@dataclass
class LambdaContext:
    function_name: str = "forward-orders-api"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:forward-orders-api"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | bytes | None = None,
    base64_body: bool = False,
    client_id: str | None = "acme",
    headers: dict[str, str] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1 proxy) event as the stage would send it after the authorizer."""
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    body_text: str | None
    if isinstance(raw_body, bytes) or (base64_body and raw_body is not None):
        data = raw_body if isinstance(raw_body, bytes) else raw_body.encode()
        body_text, base64_body = base64.b64encode(data).decode(), True
    else:
        body_text = raw_body
    request_id = str(uuid.uuid4())
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    authorizer = {"principalId": client_id, "client_id": client_id} if client_id else None
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": request_id,
            "accountId": "123456789012",
            "apiId": "abc123",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "pytest"},
            "authorizer": authorizer,
        },
        "body": body_text,
        "isBase64Encoded": base64_body,
    }


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def call_api(event: dict[str, Any]) -> ApiResponse:
    from forward_orders.handler import lambda_handler

    result = lambda_handler(event, LambdaContext())
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {name.lower(): values[-1] for name, values in (result.get("multiValueHeaders") or {}).items()}
    headers.update({name.lower(): value for name, value in (result.get("headers") or {}).items()})
    return ApiResponse(result["statusCode"], headers, body)


def post_orders(body: Any = None, **kwargs: Any) -> ApiResponse:
    return call_api(api_event("POST", "/forward_orders", body=body, **kwargs))


def get_order(identifier: str, **kwargs: Any) -> ApiResponse:
    from urllib.parse import quote

    return call_api(
        api_event(
            "GET",
            f"/forward_orders/{quote(identifier, safe='')}",
            resource="/forward_orders/{identifier}",
            path_parameters={"identifier": identifier},
            **kwargs,
        )
    )
