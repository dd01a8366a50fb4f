"""The API function from the synthesized template, run by ``sam local invoke`` on arm64 and Python
3.14 against moto's DynamoDB: a v1 batch is stored with its exact digits, read back, refused with
every problem listed, and found by tracking number."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from common.order_records import partition_key, sort_key
from tests.api_calls import api_event
from tests.sam.conftest import (
    CLIENT_ID,
    ORDER_IDENTIFIER,
    ORDERS_TABLE_NAME,
    TRACKING_NUMBER,
    invoke_api,
)
from tests.sam.harness import Invocation, LocalAws, Sam


def _body(invocation: Invocation) -> Any:
    response = invocation.payload
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)


def _headers(invocation: Invocation) -> dict[str, str]:
    response = invocation.payload
    headers = {name.lower(): values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update({name.lower(): value for name, value in (response.get("headers") or {}).items()})
    return headers


def _get_event(resource: str, value: str) -> dict[str, Any]:
    """A GET of ``resource`` (one path parameter) with ``value``, as API Gateway sends it."""
    name = resource[resource.index("{") + 1 : resource.index("}")]
    path = resource.replace("{" + name + "}", quote(value, safe=""))
    return api_event("GET", path, resource=resource, path_parameters={name: value}, client_id=CLIENT_ID)


def test_a_v1_batch_is_upserted(posted_order: Invocation, local_aws: LocalAws) -> None:
    assert posted_order.payload["statusCode"] == 200, posted_order.payload
    assert _body(posted_order) == {"message": "Success", "orders_upserted": 1, "items_upserted": 2}
    assert _headers(posted_order)["x-request-id"]
    # What it wrote, read straight from the table: the client's order and items, exact digits kept.
    records = local_aws.client("dynamodb").scan(TableName=ORDERS_TABLE_NAME)["Items"]
    by_sort_key = {record["sk"]["S"]: record for record in records}
    assert set(by_sort_key) == {sort_key(None), sort_key("1"), sort_key("2")}
    assert {record["pk"]["S"] for record in records} == {partition_key(CLIENT_ID, ORDER_IDENTIFIER)}
    assert by_sort_key[sort_key(None)]["identifier"] == {"S": ORDER_IDENTIFIER}
    assert by_sort_key[sort_key("1")]["upc"] == {"S": "12345678905"}
    assert by_sort_key[sort_key("1")]["order_identifier"] == {"S": ORDER_IDENTIFIER}


def test_the_order_reads_back_as_stored(
    posted_order: Invocation, sam: Sam, function_ids: dict[str, str]
) -> None:
    event = _get_event("/forward_orders/{identifier}", ORDER_IDENTIFIER)
    result = invoke_api(sam, function_ids, event, "GET /forward_orders/{identifier}")
    assert result.payload["statusCode"] == 200, result.payload
    order = _body(result)
    assert order["identifier"] == ORDER_IDENTIFIER
    assert (order["concept"], order["postal_code"], order["created_at"]) == (
        "outlet", "02134", "2026-11-30T09:15:00Z",
    )  # fmt: skip
    assert [item["identifier"] for item in order["items"]] == ["1", "2"]
    first, second = order["items"]
    assert (first["upc"], first["sku"], first["quantity"]) == ("12345678905", "SKU-1", 2)
    assert first["tracking_number"] == TRACKING_NUMBER
    assert first["labels"] == [{"type": "barcode", "name": "RMA", "value": "RMA-77"}]
    assert (second["upc"], second["quantity"]) == ("036000291452", 1)
    assert order["first_received_at"] and order["last_received_at"]


def test_an_invalid_batch_is_422_with_every_problem(sam: Sam, function_ids: dict[str, str]) -> None:
    body = '{"orders": [{"identifier": "A-1", "items": [{"identifier": "1", "upc": "1", "quantity": 0}]}]}'
    event = api_event("POST", "/forward_orders", raw_body=body, base64_body=True, client_id=CLIENT_ID)
    result = invoke_api(sam, function_ids, event, "POST /forward_orders (422)")
    assert result.payload["statusCode"] == 422, result.payload
    answer = _body(result)
    assert answer["message"] == "Validation Failed"
    problems = {(error["field"], error["code"]) for error in answer["errors"]}
    assert problems == {("orders/0/items/0/sku", "missing_field"), ("orders/0/items/0/quantity", "invalid")}
    assert answer["request_id"] == _headers(result)["x-request-id"]


def test_the_item_is_found_by_tracking_number(
    posted_order: Invocation, sam: Sam, function_ids: dict[str, str]
) -> None:
    scanned = f" {TRACKING_NUMBER.lower()} "  # as a scanner might send it
    event = _get_event("/tracking/{tracking_number}", scanned)
    result = invoke_api(sam, function_ids, event, "GET /tracking/{tracking_number}")
    assert result.payload["statusCode"] == 200, result.payload
    answer = _body(result)
    assert answer["truncated"] is False
    [match] = answer["matches"]
    assert (match["order_identifier"], match["concept"], match["matched"]) == (
        ORDER_IDENTIFIER, "outlet", "tracking_number",
    )  # fmt: skip
    assert match["item"]["identifier"] == "1"
    assert match["item"]["tracking_number"] == TRACKING_NUMBER
