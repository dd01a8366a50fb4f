"""Orders into batches within the API's limits, and a batch's outcome from the API's answers.

A batch never exceeds ``max_orders_per_request`` orders or ``max_body_bytes`` bytes (the envelope
is counted exactly), never holds two orders with the same identifier (the API would refuse the
second as a duplicate), and covers a contiguous run of its file's orders, so that the batches
acknowledged in order are a prefix of the file (see push.py). An order that no request could carry
(over the body limit alone, too many items or labels) is rejected here, before any request.

``settle`` sends one batch until every order in it has an outcome:

- per-order mode (a 200/207 with ``results``): each order is stored, stale or rejected as the
  server says; an order the answer leaves out is sent again;
- a v1 server (a 422 without ``results``): the orders named by the errors' ``orders/<i>/...``
  paths are rejected and the rest sent again, until the batch is stored (the server lists at most
  100 problems, so a batch with many bad orders takes several rounds);
- anything else that refuses the whole batch (400, 413, 500, a 422 naming no order) splits it in
  halves; an order refused alone is rejected with what the server said.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from forward_orders_client.client import ApiError, ForwardOrdersClient, UnexpectedResponse, UpsertResult
from forward_orders_client.limits import BatchLimits, body_size, encode_body
from forward_orders_client.sources import Position, SourceOrder, UnreadableInput

_ORDER_PATH = re.compile(r"orders/(\d+)(?:/(.*))?")
# Rounds of "the answer left orders out" tolerated for one batch before giving up.
_MAX_UNANSWERED_ROUNDS = 3


@dataclass
class Outcome:
    status: str  # "stored", "stale" or "rejected"
    errors: list[dict[str, Any]] = field(default_factory=list)
    refused_by: str | None = None  # "client" or "api" for a rejected order
    request_id: str | None = None


@dataclass
class Batch:
    seq: int
    file_index: int
    entries: list[SourceOrder] = field(default_factory=list)
    identifiers: set[str] = field(default_factory=set)
    size: int = 0  # bytes of the orders to send, envelope excluded
    sendable: int = 0
    end: Position = field(default_factory=Position)
    last_of_file: bool = False

    def to_send(self) -> list[int]:
        return [i for i, entry in enumerate(self.entries) if entry.problem is None]


@dataclass
class Settled:
    outcomes: list[Outcome]
    requests: int = 0
    stale_records: int = 0


def local_problem(order: SourceOrder, limits: BatchLimits) -> tuple[str, str] | None:
    if order.problem is not None:
        return order.problem
    if order.items > limits.max_items_per_order:
        return (
            "invalid",
            f"the order has {order.items} items; a request allows {limits.max_items_per_order}",
        )
    if order.most_labels > limits.max_labels_per_item:
        return (
            "invalid",
            f"an item has {order.most_labels} labels; a request allows {limits.max_labels_per_item}",
        )
    size = body_size(len(order.body or b""), 1)
    if size > limits.max_body_bytes:
        return (
            "too_large",
            f"the order alone makes a {size}-byte body; a request allows {limits.max_body_bytes}",
        )
    return None


def plan_batches(
    orders: Iterator[SourceOrder], limits: BatchLimits, file_index: int, next_seq: Callable[[], int]
) -> Iterator[Batch]:
    """Batches of one file's orders; the last one (possibly empty) has ``last_of_file``. When the
    file cannot be read on, the batch in progress is yielded before the error is raised."""
    batch = Batch(next_seq(), file_index)
    try:
        for order in orders:
            order.problem = local_problem(order, limits)
            if order.problem is None:
                size = len(order.body or b"")
                full = (
                    batch.sendable >= limits.max_orders_per_request
                    or body_size(batch.size + size, batch.sendable + 1) > limits.max_body_bytes
                    or (order.identifier is not None and order.identifier in batch.identifiers)
                )
                if full:
                    yield batch
                    batch = Batch(next_seq(), file_index)
                batch.sendable += 1
                batch.size += size
                if order.identifier is not None:
                    batch.identifiers.add(order.identifier)
            batch.entries.append(order)
            batch.end = order.position
    except UnreadableInput:
        if batch.entries:
            yield batch
        raise
    batch.last_of_file = True
    yield batch


def settle(client: ForwardOrdersClient, batch: Batch, *, partial_success: bool) -> Settled:
    outcomes: dict[int, Outcome] = {}
    for i, entry in enumerate(batch.entries):
        if entry.problem is not None:
            code, message = entry.problem
            outcomes[i] = Outcome("rejected", [{"field": "", "code": code, "message": message}], "client")
    settled = Settled([])
    queue: deque[list[int]] = deque([batch.to_send()] if batch.sendable else [])
    unanswered_rounds = 0
    while queue:
        group = queue.popleft()
        body = encode_body([batch.entries[i].body or b"" for i in group])
        result = client.upsert_body(body, partial_success=partial_success)
        settled.requests += 1
        if result.accepted:
            settled.stale_records += len(result.stale)
            left_out = _accepted(result, group, outcomes)
            if left_out:
                unanswered_rounds += 1
                if unanswered_rounds > _MAX_UNANSWERED_ROUNDS:
                    raise UnexpectedResponse(
                        result.status_code, "the per-order results keep leaving orders out"
                    )
                queue.append(left_out)
            continue
        if result.status_code == 422:
            named = _errors_by_order(result.errors, len(group))
            if named:
                for position, errors in named.items():
                    outcomes[group[position]] = Outcome("rejected", errors, "api", result.request_id)
                rest = [i for position, i in enumerate(group) if position not in named]
                if rest:
                    queue.append(rest)
                continue
        if len(group) == 1:
            outcomes[group[0]] = Outcome("rejected", _refusal(result), "api", result.request_id)
        else:
            middle = len(group) // 2
            queue.append(group[:middle])
            queue.append(group[middle:])
    settled.outcomes = [outcomes[i] for i in range(len(batch.entries))]
    return settled


def _accepted(result: UpsertResult, group: list[int], outcomes: dict[int, Outcome]) -> list[int]:
    """Record an accepted answer's outcomes; the orders it did not answer for."""
    if result.results is None:  # a v1 server: the whole batch is stored
        for i in group:
            outcomes[i] = Outcome("stored")
        return []
    answered: set[int] = set()
    for entry in result.results:
        if not 0 <= entry.index < len(group) or entry.index in answered:
            continue
        answered.add(entry.index)
        if entry.status == "rejected":
            errors = [_relative(error, entry.index) for error in entry.errors]
            outcomes[group[entry.index]] = Outcome("rejected", errors, "api", result.request_id)
        else:
            outcomes[group[entry.index]] = Outcome(entry.status)
    return [i for position, i in enumerate(group) if position not in answered]


def _errors_by_order(errors: tuple[ApiError, ...], orders: int) -> dict[int, list[dict[str, Any]]]:
    named: dict[int, list[dict[str, Any]]] = {}
    for error in errors:
        match = _ORDER_PATH.fullmatch(error.field)
        if match is None or int(match[1]) >= orders:
            continue
        named.setdefault(int(match[1]), []).append(_relative(error, int(match[1])))
    return named


def _relative(error: ApiError, position: int) -> dict[str, Any]:
    """The error with its field relative to the order (``items/0/sku``); the request's path kept."""
    match = _ORDER_PATH.fullmatch(error.field)
    relative = (match[2] or "") if match is not None and int(match[1]) == position else error.field
    return {"field": relative, "request_field": error.field, "code": error.code, "message": error.message}


def _refusal(result: UpsertResult) -> list[dict[str, Any]]:
    if result.errors:
        return [
            {"field": "", "request_field": error.field, "code": error.code, "message": error.message}
            for error in result.errors
        ]
    codes = {413: "too_large", 500: "server_error"}
    message = result.message or "refused"
    return [
        {
            "field": "",
            "code": codes.get(result.status_code, "refused"),
            "message": f"the API answered {result.status_code} ({message}) to this order alone",
        }
    ]
