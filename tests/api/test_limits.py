"""The request limits end to end through the Lambda handler, changed by environment variables as an
operator would change them.
"""

from __future__ import annotations

import base64
import json

import pytest

from forward_orders.batch_reader import decode_body
from forward_orders.errors import PayloadTooLarge
from forward_orders.settings import Limits
from tests.api_calls import post_orders
from tests.factories import (
    batch,
    item,
    order,
    problems,
)
from tests.unit.request_reading import (
    label,
)

# -- limits through the handler, configured by environment variables ---------------------------------


@pytest.mark.usefixtures("dynamodb")
def test_max_orders_per_request_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ORDERS_PER_REQUEST", "2")
    assert post_orders(batch(order("a"), order("b"))).status == 200
    response = post_orders(batch(order("a"), order("b"), order("c")))
    assert response.status == 422
    assert problems(response.json()) == [("orders", "invalid")]
    assert response.json()["errors"][0]["message"] == "orders must hold at most 2 orders"


@pytest.mark.usefixtures("dynamodb")
def test_max_items_per_order_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ITEMS_PER_ORDER", "3")
    assert post_orders(batch(order("a", [item(str(i)) for i in range(3)]))).status == 200
    response = post_orders(
        batch(order("a", [item(str(i)) for i in range(3)]), order("b", [item(str(i)) for i in range(4)]))
    )
    assert response.status == 422
    assert problems(response.json()) == [("orders/1/items", "invalid")]


@pytest.mark.usefixtures("dynamodb")
def test_max_labels_per_item_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_LABELS_PER_ITEM", "1")
    assert post_orders(batch(order("a", [item("1", labels=[label()])]))).status == 200
    response = post_orders(batch(order("a", [item("1", labels=[label(), label(type="text")])])))
    assert response.status == 422
    assert problems(response.json()) == [("orders/0/items/0/labels", "invalid")]


@pytest.mark.usefixtures("dynamodb")
def test_max_body_bytes_is_configurable_and_answers_413(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(batch(order("a")))
    monkeypatch.setenv("MAX_BODY_BYTES", str(len(text.encode())))
    assert post_orders(raw_body=text).status == 200
    response = post_orders(raw_body=text + " ")
    assert response.status == 413
    assert response.json()["message"] == "Payload Too Large"


@pytest.mark.usefixtures("dynamodb")
def test_the_body_limit_counts_bytes_not_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(batch(order("a", concept="é" * 10)), ensure_ascii=False)
    monkeypatch.setenv("MAX_BODY_BYTES", str(len(text) + 5))  # fewer than its 10 extra UTF-8 bytes
    assert post_orders(raw_body=text).status == 413
    assert post_orders(raw_body=text, base64_body=True).status == 413


def test_the_body_limit_applies_before_json_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_body("{" * 11, is_base64=False, limits=Limits(max_body_bytes=10))
    with pytest.raises(PayloadTooLarge):
        decode_body(base64.b64encode(b"[" * 11).decode(), is_base64=True, limits=Limits(max_body_bytes=10))
