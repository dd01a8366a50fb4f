"""Builders of request bodies and small readers of the moto tables, shared by the API tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.api_keys import hash_api_key
from common.usage_plans import UsagePlan, UsagePlans
from tests.api_calls import API_KEYS_TABLE_NAME, ORDERS_TABLE_NAME


def item(identifier: Any = "item-1", **fields: Any) -> dict[str, Any]:
    """A valid item; keyword arguments add or override fields (``None`` values are kept)."""
    return {"identifier": identifier, "upc": "012345678905", "sku": "SKU-1", "quantity": 1, **fields}


def full_item(identifier: Any = "item-1", **fields: Any) -> dict[str, Any]:
    """An item with every optional field set; keyword arguments override any of them."""
    return {
        **item(identifier),
        "tracking_number": "1Z999AA10123456784",
        "reverse_tracking_number": "1Z999AA10123456785",
        "dropship_identifier": "DS-1",
        "shipped_date": "2025-01-02",
        "return_policy_end_date": "2025-02-01T00:00:00Z",
        "labels": [{"type": "barcode", "name": "RMA", "value": "RMA-1"}],
        **fields,
    }


# The widest characters (docs/design.md, "The size arithmetic"): an emoji is 4 bytes of UTF-8 (12
# in a response's escaped JSON); U+1FF7 is 3 bytes and folds (casefold) to 6, the most a tracking
# number and its index copy can take together; U+0001 is 1 byte and 6 in an event's JSON.
WIDEST = "\U0001f600"
WIDEST_FOLDED = "\u1ff7"
WIDEST_IN_JSON = "\u0001"


def longest_date(limits: Any, zone: str = "") -> str:
    """A date-time of exactly ``limits.max_date_length`` characters (its fraction padded), ending in
    ``zone`` (an updated_at needs one)."""
    start = "2025-01-31T10:20:30."
    return start + "1" * (limits.max_date_length - len(start) - len(zone)) + zone


def worst_case_item(
    identifier: str, limits: Any, char: str = WIDEST, *, tracking_char: str | None = None
) -> dict[str, Any]:
    """An item with every field at its maximum length in ``char`` (tracking numbers in
    ``tracking_char``), every label there is room for, and the largest quantity. ``identifier``
    is padded to the longest identifier with ``char``; dates are the longest of their format."""
    from common.order_records import MAX_IDENTIFIER_LENGTH, MAX_QUANTITY

    def text(bound: int, fill: str = char) -> str:
        # Letters at both ends: trimming must not shorten it (U+0001 is no whitespace anyway).
        return fill * bound

    date = longest_date(limits)
    tracking = tracking_char or char
    return {
        "identifier": identifier + char * (MAX_IDENTIFIER_LENGTH - len(identifier)),
        "upc": text(limits.max_upc_length),
        "sku": text(limits.max_sku_length),
        "quantity": MAX_QUANTITY,
        "tracking_number": text(limits.max_tracking_number_length, tracking),
        "reverse_tracking_number": text(limits.max_tracking_number_length, tracking),
        "dropship_identifier": text(limits.max_dropship_identifier_length),
        "shipped_date": date,
        "return_policy_end_date": date,
        "labels": [
            {
                "type": "barcode",
                "name": text(limits.max_label_name_length),
                "value": text(limits.max_label_value_length),
            }
            for _ in range(limits.max_labels_per_item)
        ],
        "updated_at": longest_date(limits, "+05:30"),
    }


def order(identifier: Any = "order-1", items: list[Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A valid order holding ``items`` (one default item when not given)."""
    return {"identifier": identifier, "items": [item()] if items is None else items, **fields}


def batch(*orders: dict[str, Any]) -> dict[str, Any]:
    return {"orders": list(orders) or [order()]}


def scan(client: Any, table_name: str = ORDERS_TABLE_NAME) -> list[dict[str, Any]]:
    """Every raw item of a moto table (paginated)."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        items += page["Items"]
    return items


def put_old_key(client: Any, key: str, client_id: str = "acme") -> None:
    """A client key's record as the first version wrote it: a hash, a client, a date, no kind, tier
    or metering key."""
    client.put_item(
        TableName=API_KEYS_TABLE_NAME,
        Item={
            "key_hash": {"S": hash_api_key(key)},
            "client_id": {"S": client_id},
            "created_at": {"S": "2025-01-01T00:00:00.000Z"},
        },
    )


def single_tier(rate: float, burst: int, daily_quota: int | None = None, name: str = "tier") -> UsagePlans:
    """Tiers of one tier, the default of every kind of key."""
    plan = UsagePlan(rate=rate, burst=burst, daily_quota=daily_quota)
    return UsagePlans(usage_plans={name: plan}, default_plan=name, operations_plan=name)


def scan_text(client: Any, table_name: str = API_KEYS_TABLE_NAME) -> str:
    """The whole table as one JSON text, for "this value appears nowhere" assertions."""
    return json.dumps(scan(client, table_name), sort_keys=True)


def problems(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The (field, code) pairs of a 422 body, in order."""
    return [(error["field"], error["code"]) for error in body["errors"]]


def client_error(code: str, operation: str = "UpdateItem", status: int = 400) -> Any:
    """The botocore ``ClientError`` DynamoDB answers with ``code``."""
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": code, "Message": f"simulated {code}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(
        response,
        operation,
    )


class FlakyCalls:
    """Wraps one client method: the first ``failures`` calls raise ``error`` (all of them when
    ``failures`` is None), later ones go through. Thread-safe; counts every call."""

    def __init__(self, method: Any, error: BaseException, failures: int | None = None) -> None:
        import threading

        self._method = method
        self._error = error
        self._failures = failures
        self._lock = threading.Lock()
        self.calls = 0

    def __call__(self, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
            fail = self._failures is None or self.calls <= self._failures
        if fail:
            raise self._error
        return self._method(**kwargs)


def api_orders_table(monkeypatch: Any) -> tuple[Any, list[float]]:
    """The handler's own OrdersTable (built as in Lambda), with its backoff sleeps recorded instead
    of slept. Call inside the ``dynamodb`` fixture."""
    from forward_orders import handler

    table = handler.orders_table()
    sleeps: list[float] = []
    monkeypatch.setattr(table, "_sleep", sleeps.append)
    return table, sleeps


def break_storage(
    monkeypatch: Any,
    code: str,
    operation: str = "update_item",
    failures: int | None = None,
    status: int = 400,
) -> tuple[FlakyCalls, list[float]]:
    """Make the handler's storage answer ``code`` to ``operation`` (every time, or ``failures`` times)."""
    table, sleeps = api_orders_table(monkeypatch)
    client = table._client
    api_name = "".join(part.title() for part in operation.split("_"))
    flaky = FlakyCalls(getattr(client, operation), client_error(code, api_name, status), failures)
    monkeypatch.setattr(client, operation, flaky)
    return flaky, sleeps


_SESSIONS: list[Any] = []


@pytest.fixture(autouse=True)
def reuse_boto3_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed only: moto replaces boto3's default session on every ``mock_aws()``, so each test
    would reload botocore's service models from JSON. The tests of the folders whose conftest
    imports this (autouse: tests/unit, tests/api) share one session instead; it is safe because
    every test has the same fake credentials and region, and boto3's previous default session is
    put back after each test."""
    import boto3
    from moto.core.config import default_user_config

    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", _SESSIONS[0])
    monkeypatch.setitem(default_user_config["core"], "reset_boto3_session", False)
