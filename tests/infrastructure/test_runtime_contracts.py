"""What the stack assumes about the function code, checked by running the code.

- Least privilege is only right if the roles allow every DynamoDB call the code makes on a real
  request, and nothing more: the handlers run here against moto, and every call is recorded.
- The authorizer alarm subtracts refused credentials, counted by a metric filter on the line the
  authorizer logs for them: that line must exist, shaped as the filter expects.
- ``*/*`` as a binary media type only works if the function reads base64 bodies and answers text.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from infra.api import API_INDEX_ACTIONS, API_TABLE_ACTIONS, AUTHORIZER_TABLE_ACTIONS
from infra.monitoring import DENIED_LOG_MESSAGE

from common.api_keys import ApiKeyStore
from common.tables import TRACKING_INDEXES
from tests.api_calls import (
    API_KEYS_TABLE_NAME,
    REGION,
    api_event,
    call_api,
    get_order,
    lambda_context,
    post_orders,
)

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/POST/forward_orders"


@pytest.fixture
def dynamodb_calls(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The DynamoDB operations called through any boto3 client the code creates from now on."""
    calls: list[str] = []
    session = boto3.Session(region_name=REGION)
    session.events.register("before-call.dynamodb", lambda model, **_: calls.append(f"dynamodb:{model.name}"))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    yield calls


@pytest.fixture
def dynamodb_targets(dynamodb_calls: list[str]) -> list[tuple[str, str | None]]:
    """As ``dynamodb_calls``, each operation with the index it read (None: the table itself)."""
    targets: list[tuple[str, str | None]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        targets.append((f"dynamodb:{model.name}", params.get("IndexName")))

    session = boto3.DEFAULT_SESSION
    assert session is not None, "boto3's default session is made by the first client"
    session.events.register("before-parameter-build.dynamodb", record)
    return targets


def _authorize(headers: dict[str, str]) -> dict[str, Any]:
    from authorizer.handler import lambda_handler

    event = {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers}
    result: dict[str, Any] = lambda_handler(event, lambda_context("forward-orders-authorizer"))
    return result


def test_authorizer_calls_only_what_its_role_allows(dynamodb: Any, dynamodb_calls: list[str]) -> None:
    key, _ = ApiKeyStore(dynamodb, API_KEYS_TABLE_NAME).create("acme")
    assert _authorize({"Authorization": f"Bearer {key}"})["principalId"] == "acme"
    assert _authorize({"x-api-key": key})["principalId"] == "acme"
    assert set(dynamodb_calls) == set(AUTHORIZER_TABLE_ACTIONS)


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_api_function_calls_only_what_its_role_allows(
    dynamodb_targets: list[tuple[str, str | None]],
) -> None:
    """Every route, a tracking lookup by a client key and by an operations key included: the table
    actions are the role's on the table, the index actions the role's on exactly the tracking indexes."""
    item = {"identifier": "item-1", "upc": "012345678905", "sku": "SKU-1", "quantity": 1}
    item |= {"tracking_number": "1Z-A", "reverse_tracking_number": "1Z-B"}
    order = {"identifier": "order-1", "concept": "Outlet", "items": [item]}
    assert post_orders({"orders": [order]}).status == 200
    assert get_order("order-1").status == 200
    assert get_order("no-such-order").status == 404
    for context in ({"kind": "client", "client_id": "acme"}, {"kind": "operations", "key_name": "ops"}):
        for number, status in (("1z-a", 200), ("1Z-B", 200), ("nothing", 404)):
            event = api_event(
                "GET",
                f"/tracking/{number}",
                resource="/tracking/{tracking_number}",
                path_parameters={"tracking_number": number},
            )
            event["requestContext"]["authorizer"] = {"principalId": "p", **context}
            assert call_api(event).status == status
    table_actions = {action for action, index in dynamodb_targets if index is None}
    index_actions = {action for action, index in dynamodb_targets if index is not None}
    assert table_actions == set(API_TABLE_ACTIONS)
    assert index_actions == set(API_INDEX_ACTIONS)
    assert {index for _, index in dynamodb_targets if index is not None} == {
        index.name for index in TRACKING_INDEXES.values()
    }


def test_a_refused_credential_logs_the_line_the_denials_metric_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from authorizer import handler

    output = io.StringIO()
    monkeypatch.setattr(handler.logger.registered_handler, "stream", output)
    with pytest.raises(handler.Unauthorized):
        _authorize({})
    records = [json.loads(line) for line in output.getvalue().splitlines() if line.startswith("{")]
    # The metric filter is { $.message = "request denied" } on the authorizer's log group.
    assert [r for r in records if r.get("message") == DENIED_LOG_MESSAGE]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_bodies_arrive_base64_encoded_and_responses_leave_as_text(dynamodb: Any) -> None:
    """``*/*`` is a binary media type, so API Gateway base64-encodes every request body; the
    function must read those, and answer with text (isBase64Encoded false), which API Gateway
    passes through as is instead of decoding it."""
    from forward_orders.handler import lambda_handler

    order = {
        "identifier": "order-1",
        "items": [{"identifier": "item-1", "upc": "012345678905", "sku": "SKU-1", "quantity": 1}],
    }
    events = [
        api_event("POST", "/forward_orders", body={"orders": [order]}, base64_body=True),
        api_event("POST", "/forward_orders", raw_body=b"\xff\xfe not UTF-8"),
        api_event("POST", "/forward_orders", body={"orders": [{}]}, base64_body=True),
        api_event("GET", "/no/such/route", resource="/{proxy+}", path_parameters={"proxy": "no/such/route"}),
    ]
    statuses = []
    for event in events:
        assert event["isBase64Encoded"] is (event["body"] is not None)
        response = lambda_handler(event, lambda_context())
        assert not response.get("isBase64Encoded"), response
        json.loads(response["body"])
        statuses.append(response["statusCode"])
    assert statuses == [200, 400, 422, 404]
