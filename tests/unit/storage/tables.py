"""The storage adapter as its tests build it: an OrdersTable with injected sleep and jitter, a
scripted storage call, and readers and writers of one order."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from forward_orders.storage import OrdersTable, RecordWrite, RetryPolicy
from tests.api_calls import ORDERS_TABLE_NAME


def make_table(
    client: Any = None,
    *,
    retry: RetryPolicy | None = None,
    sleep: Any = None,
    jitter: Any = None,
    concurrency: int = 8,
) -> OrdersTable:
    return OrdersTable(
        client,
        ORDERS_TABLE_NAME,
        concurrency=concurrency,
        retry=retry or RetryPolicy(),
        sleep=sleep or (lambda _: None),
        jitter=jitter or (lambda: 1.0),
    )


class Script:
    """A storage call that raises the given errors in turn, then returns ``result``."""

    def __init__(self, *errors: BaseException, result: Any = "stored") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


FAR = float("inf")  # a deadline that never matters


def read_back(table: OrdersTable, order_id: str, *, after: str | None = None, deadline: float = FAR) -> Any:
    """The order and every item after ``after``, as lists (the adapter reads items as consumed)."""
    stored = table.read_order("acme", order_id, after=after, deadline=deadline)
    if stored is None:
        return None
    return SimpleNamespace(order=stored.order, items=list(stored.items))


def write(order_id: str, item_id: str | None = None, client: str = "acme", **fields: Any) -> RecordWrite:
    return RecordWrite(client, order_id, item_id, {"identifier": item_id or order_id, **fields})
