"""Fixtures of the storage adapter's tests: a fake clock for storage.py, a table on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from forward_orders import storage
from forward_orders.storage import OrdersTable
from tests.api_calls import REGION
from tests.unit.clocks import FakeClock as Clock
from tests.unit.storage.tables import make_table


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A fake ``time`` module for storage.py."""
    fake = Clock()
    monkeypatch.setattr(storage, "time", fake)
    return fake


@pytest.fixture
def table(dynamodb: Any) -> Iterator[OrdersTable]:
    orders_table = make_table(boto3.client("dynamodb", region_name=REGION), concurrency=16)
    yield orders_table
    orders_table._pool.shutdown()
