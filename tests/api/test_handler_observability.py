"""What the API function logs: never a payload value, a key or a stack trace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from forward_orders import orders
from tests.api_calls import (
    get_order,
    post_orders,
)
from tests.factories import (
    batch,
    break_storage,
    item,
    order,
)

pytestmark = pytest.mark.usefixtures("dynamodb")

# -- logging: no payload, no stack trace ---------------------------------------------------------------

PAYLOAD = {
    "order": "SECRET-ORDER-19",
    "item": "SECRET-ITEM-28",
    "postal": "SECRET-POSTAL-37",
    "tracking": "SECRET-TRACK-46",
    "reverse": "SECRET-REVERSE-55",
    "label": "SECRET-LABEL-64",
    "date": "SECRET-DATE-73",
}


def _payload_body(**changes: Any) -> dict[str, Any]:
    return batch(
        order(
            PAYLOAD["order"],
            [
                item(
                    PAYLOAD["item"],
                    tracking_number=PAYLOAD["tracking"],
                    reverse_tracking_number=PAYLOAD["reverse"],
                    labels=[{"type": "barcode", "name": "RMA", "value": PAYLOAD["label"]}],
                    **changes,
                )
            ],
            postal_code=PAYLOAD["postal"],
        )
    )


def _assert_clean(text: str) -> None:
    for value in PAYLOAD.values():
        assert value not in text
    assert "SECRET" not in text
    assert "Traceback" not in text


def test_the_log_capture_sees_the_function_logs(logged: Any) -> None:
    assert post_orders(_payload_body()).status == 200
    text = logged()
    assert '"OrdersUpserted"' in text  # its metrics (the line itself is at debug level)
    _assert_clean(text)


def test_a_422_logs_no_payload_and_no_stack_trace(logged: Any) -> None:
    response = post_orders(_payload_body(quantity=0, shipped_date=PAYLOAD["date"], upc=""))
    assert response.status == 422
    text = logged()
    assert "validation failed" in text
    _assert_clean(text)


def test_a_400_logs_no_payload_and_no_stack_trace(logged: Any) -> None:
    response = post_orders(raw_body=json.dumps(_payload_body())[:-3])
    assert response.status == 400
    _assert_clean(logged())


def test_a_500_logs_no_payload_and_no_stack_trace(logged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"cannot write {PAYLOAD['postal']} / {PAYLOAD['tracking']}")

    monkeypatch.setattr(orders, "record_writes", buggy)
    assert post_orders(_payload_body()).status == 500
    text = logged()
    assert "unhandled error" in text
    assert "ValueError" in text  # the error type is logged, its message is not
    _assert_clean(text)


def test_a_404_logs_no_identifier(logged: Any) -> None:
    assert get_order(PAYLOAD["order"]).status == 404
    _assert_clean(logged())


def test_a_502_logs_no_payload_and_no_stack_trace(logged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    break_storage(monkeypatch, "ProvisionedThroughputExceededException")
    assert post_orders(_payload_body()).status == 502
    text = logged()
    assert "storage unavailable" in text
    _assert_clean(text)


def test_a_storage_bug_logs_no_payload(logged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    break_storage(monkeypatch, "ValidationException")
    assert post_orders(_payload_body()).status == 500
    _assert_clean(logged())
