"""The API function through its Lambda entry point, with the events the stage sends after the
authorizer: what a stored batch answers and reads back (200), base64 bodies included.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.api_calls import TIMESTAMP, call_api, get_event, get_order, post_event, post_orders, request_id_of
from tests.factories import batch, full_item, item, order, problems

pytestmark = pytest.mark.usefixtures("dynamodb")

# -- 200 ---------------------------------------------------------------------------------------------


def test_post_answers_200_success() -> None:
    event = post_event(batch(order("o-1", [item("a"), item("b")]), order("o-2", [])))
    response = call_api(event)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == request_id_of(event)
    body = response.json()
    assert body["message"] == "Success"
    assert body.get("orders_upserted", 2) == 2
    assert body.get("items_upserted", 2) == 2


def test_a_bare_array_body_is_accepted() -> None:
    assert post_orders([order("o-1")]).status == 200
    assert get_order("o-1").status == 200


def test_get_answers_the_stored_order_with_every_field_and_the_server_timestamps() -> None:
    assert (
        post_orders(
            batch(
                order(
                    "o-1",
                    [full_item("b"), item("a")],
                    concept="Brand",
                    postal_code=2134,
                    created_at="2025-01-01",
                )
            )
        ).status
        == 200
    )
    event = get_event("o-1")
    response = call_api(event)
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == request_id_of(event)
    body = response.json()
    for record in [body, *body["items"]]:
        assert TIMESTAMP.fullmatch(record.pop("first_received_at"))
        assert TIMESTAMP.fullmatch(record.pop("last_received_at"))
    assert body == {
        "identifier": "o-1",
        "concept": "Brand",
        "postal_code": "2134",
        "created_at": "2025-01-01",
        # Sorted by identifier; every field as sent (the factories send canonical values).
        "items": [item("a"), full_item("b")],
    }


def test_get_sorts_items_by_identifier() -> None:
    identifiers = ["b", "10", "a", "9", "B", "é", "1", "a-2"]
    assert post_orders(batch(order("o", [item(i) for i in identifiers]))).status == 200
    body = get_order("o").json()
    assert [entry["identifier"] for entry in body["items"]] == sorted(identifiers)
    assert [entry["identifier"] for entry in body["items"]] == ["1", "10", "9", "B", "a", "a-2", "b", "é"]


def test_get_of_an_order_without_items() -> None:
    assert post_orders(batch(order("o", []))).status == 200
    body = get_order("o").json()
    assert body["identifier"] == "o"
    assert body["items"] == []


@pytest.mark.parametrize(
    "identifier",
    [
        "a/b",
        "/leading/and/trailing/",
        "with space",
        "ünïcødé-✓",
        "emoji 😀 order",
        "100%",
        "%2F",
        "a?b#c&d=e",
        "plus+sign",
        "quote\"and'apostrophe",
        "back\\slash",
        "日本語の注文",
    ],
)
def test_get_of_an_identifier_that_needs_percent_encoding(identifier: str) -> None:
    assert post_orders(batch(order(identifier, [item("i")]))).status == 200
    response = get_order(identifier)
    assert response.status == 200, response.body
    assert response.json()["identifier"] == identifier
    assert [entry["identifier"] for entry in response.json()["items"]] == ["i"]


def test_get_without_path_parameters_decodes_the_path() -> None:
    assert post_orders(batch(order("a/b c", []))).status == 200
    event = get_event("a/b c")
    event["pathParameters"] = None
    response = call_api(event)
    assert response.status == 200
    assert response.json()["identifier"] == "a/b c"


def test_get_trims_the_identifier_like_post_does() -> None:
    assert post_orders(batch(order("  padded  ", []))).status == 200
    assert get_order("padded").json()["identifier"] == "padded"
    assert get_order(" padded ").json()["identifier"] == "padded"


def test_a_numeric_identifier_is_read_back_by_its_digits() -> None:
    assert post_orders(batch(order(12345678901234567890, [item(98765432109876543210)]))).status == 200
    body = get_order("12345678901234567890").json()
    assert body["identifier"] == "12345678901234567890"
    assert body["items"][0]["identifier"] == "98765432109876543210"


@pytest.mark.parametrize("character", ["x", "é", "✓", "😀"])
def test_identifiers_of_the_maximum_length_are_stored_and_read_back(character: str) -> None:
    # 255 characters of up to 4 UTF-8 bytes each must fit DynamoDB's key size limits.
    identifier = character * 255
    assert post_orders(batch(order(identifier, [item(identifier)]))).status == 200
    body = get_order(identifier).json()
    assert body["identifier"] == identifier
    assert body["items"][0]["identifier"] == identifier


# -- base64 bodies -----------------------------------------------------------------------------------


def test_a_base64_encoded_body_is_decoded() -> None:
    event = post_event(batch(order("b64", [item("i")], postal_code="02134")), base64_body=True)
    assert event["isBase64Encoded"] is True
    assert json.loads(base64.b64decode(event["body"]))["orders"][0]["identifier"] == "b64"
    assert call_api(event).status == 200
    assert get_order("b64").json()["postal_code"] == "02134"


def test_a_base64_encoded_utf8_body_keeps_its_characters() -> None:
    text = json.dumps(batch(order("ü-1", [item("✓")], concept="Zoë")), ensure_ascii=False)
    assert post_orders(raw_body=text.encode("utf-8")).status == 200
    body = get_order("ü-1").json()
    assert (body["concept"], body["items"][0]["identifier"]) == ("Zoë", "✓")


def test_a_base64_encoded_invalid_body_is_422() -> None:
    response = post_orders(raw_body=json.dumps(batch(order("o", [item("i", sku="")]))).encode())
    assert response.status == 422
    assert problems(response.json()) == [("orders/0/items/0/sku", "missing_field")]
