"""Calling the functions in-process, with the events ``make run`` sends (forward_orders_cli's
``lambda_events``, the local server's own builders) and the tables of tests/conftest.py."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

from aws_lambda_powertools.utilities.typing import LambdaContext

from common.api_routes import match_request
from forward_orders_cli.lambda_events import LocalLambdaContext, Stage, proxy_event

ORDERS_TABLE_NAME = "test-orders"
API_KEYS_TABLE_NAME = "test-api-keys"
REGION = "us-east-1"
STAGE = Stage(name="v1", api_id="abc123", region=REGION)
API_FUNCTION = "forward-orders-api"


def lambda_context(function_name: str = API_FUNCTION) -> LambdaContext:
    """The context the runtime passes (the local server's stand-in, as Powertools' type)."""
    return cast(LambdaContext, LocalLambdaContext(function_name=function_name))


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | bytes | None = None,
    base64_body: bool = True,
    client_id: str | None = "acme",
    headers: dict[str, str] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event the stage sends the API function after the authorizer allowed ``client_id``
    (None: no authorizer context). ``body`` is sent as JSON, ``raw_body`` as given; the resource
    and path parameters are the route table's unless given; ``query`` is the query string (each
    value as its text)."""
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    route = match_request(method, path)
    return proxy_event(
        method,
        path,
        resource=resource or route.resource,
        path_parameters=path_parameters if path_parameters is not None or resource else route.path_parameters,
        headers={
            name: [value] for name, value in {"Content-Type": "application/json", **(headers or {})}.items()
        },
        query={name: [str(value)] for name, value in (query or {}).items()},
        body=raw_body,
        base64_body=base64_body,
        stage=STAGE,
        source_ip="203.0.113.10",
        authorizer={"principalId": client_id, "client_id": client_id} if client_id else None,
    )


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def call_api(event: dict[str, Any]) -> ApiResponse:
    from forward_orders.handler import lambda_handler

    result = lambda_handler(event, lambda_context())
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {name.lower(): values[-1] for name, values in (result.get("multiValueHeaders") or {}).items()}
    headers.update({name.lower(): value for name, value in (result.get("headers") or {}).items()})
    return ApiResponse(result["statusCode"], headers, body)


def post_event(body: Any = None, **kwargs: Any) -> dict[str, Any]:
    return api_event("POST", "/forward_orders", body=body, **kwargs)


def get_event(identifier: str, **kwargs: Any) -> dict[str, Any]:
    return api_event(
        "GET",
        f"/forward_orders/{quote(identifier, safe='')}",
        resource="/forward_orders/{identifier}",
        path_parameters={"identifier": identifier},
        **kwargs,
    )


def post_orders(body: Any = None, **kwargs: Any) -> ApiResponse:
    return call_api(post_event(body, **kwargs))


def get_order(identifier: str, **kwargs: Any) -> ApiResponse:
    return call_api(get_event(identifier, **kwargs))


# -- what a response must be -------------------------------------------------------------------------

# The server's timestamps: ISO 8601 UTC with milliseconds.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def request_id_of(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["requestId"])


def assert_json_error(
    response: ApiResponse, status: int, message: str, event: dict[str, Any]
) -> dict[str, Any]:
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["message"] == message
    assert body["request_id"] == request_id_of(event) == response.headers["x-request-id"]
    return body
