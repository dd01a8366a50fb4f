"""Reading a POST /forward_orders body: bytes to a validated ``OrdersBatch`` or a domain error.

The steps, each with its own error: base64 (when API Gateway encoded the body), the size limit
(413), UTF-8 and JSON syntax (400), the count limits (422 on the array, reported alone so that an
oversized batch costs no model validation), then the models and the duplicate rule (422 with every
problem found, in document order, at most ``MAX_PROBLEMS``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from common.api_responses import MAX_PROBLEMS, Problem, ProblemCode
from common.api_routes import PARTIAL_SUCCESS_PARAMETER
from common.order_records import MAX_IDENTIFIER_LENGTH
from forward_orders.errors import MalformedBody, PayloadTooLarge, ValidationFailed
from forward_orders.models import ACTIVE_LIMITS, JsonInteger, Order, OrdersBatch, OrdersEnvelope
from forward_orders.settings import Limits

# Messages for pydantic's own error types (our validators raise the contract's codes directly).
_BUILTIN_ERRORS: dict[str, tuple[ProblemCode, str]] = {
    "missing": (ProblemCode.MISSING_FIELD, "is required"),
    "model_type": (ProblemCode.INVALID_TYPE, "must be an object"),
    "model_attributes_type": (ProblemCode.INVALID_TYPE, "must be an object"),
    "dict_type": (ProblemCode.INVALID_TYPE, "must be an object"),
    "list_type": (ProblemCode.INVALID_TYPE, "must be an array"),
    "string_type": (ProblemCode.INVALID_TYPE, "must be a string"),
    "too_short": (ProblemCode.INVALID, "must not be empty"),
    "literal_error": (ProblemCode.INVALID, "is not an allowed value"),
}
_CONTRACT_CODES = frozenset(ProblemCode)


def decode_body(body: str | None, *, is_base64: bool, limits: Limits) -> Any:
    """The parsed JSON value of a request body."""
    if body is None or body == "":
        raise MalformedBody("the request body is empty; send a JSON object with an orders array")
    if is_base64:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedBody("the request body is not valid base64") from exc
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > limits.max_body_bytes:
        raise PayloadTooLarge()
    if not raw.strip():
        raise MalformedBody("the request body is empty; send a JSON object with an orders array")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"the request body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text, parse_int=_parse_int, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedBody(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise MalformedBody("the request body is not valid JSON: nested too deeply") from exc


def _parse_int(digits: str) -> JsonInteger:
    # Kept as written: a string field stores the client's exact digits, and an integer too long
    # for Python's int() (4,300 digits) reaches validation and fails there, at its own field.
    return JsonInteger(digits)


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which are not JSON.
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def read_batch(data: Any, limits: Limits) -> OrdersBatch:
    """Validate parsed JSON against the contract; raises ``ValidationFailed`` with every problem."""
    over_limit = _count_limit_problems(data, limits)
    if over_limit:
        raise ValidationFailed(over_limit[:MAX_PROBLEMS])
    problems = _duplicate_problems(data)
    active = ACTIVE_LIMITS.set(limits)
    try:
        # Powertools' parse() re-reads a str as JSON text, so a JSON string holding a batch
        # (double-encoded JSON) would pass as the batch: any top-level value other than an object or
        # an array goes straight to the model, which rejects it as the wrong type.
        if isinstance(data, dict | list):
            batch = parse(event=data, model=OrdersBatch)  # type: ignore[arg-type]  # a list is valid too
        else:
            batch = OrdersBatch.model_validate(data)
    except ValidationError as exc:
        problems += _problems(exc)
    finally:
        ACTIVE_LIMITS.reset(active)
    if problems:
        problems.sort(key=_document_order)
        raise ValidationFailed(problems[:MAX_PROBLEMS])
    return batch


def per_order_results(query: Mapping[str, str] | None) -> bool:
    """Whether a POST asks for per-order results (``?partial_success=true``); ``false`` or no
    parameter is v1's all-or-nothing; anything else is 422 ``invalid`` on the parameter."""
    value = (query or {}).get(PARTIAL_SUCCESS_PARAMETER)
    if value is None or value.strip().lower() == "false":
        return False
    if value.strip().lower() == "true":
        return True
    raise ValidationFailed(
        [
            Problem(
                field=PARTIAL_SUCCESS_PARAMETER,
                code=ProblemCode.INVALID,
                message="partial_success must be true or false",
            )
        ]
    )


@dataclass(frozen=True)
class Rejected:
    """An order of a per-order read that breaks the contract: where, its identifier as sent (None
    when it has no valid one), and every problem (field paths from the body root)."""

    index: int
    identifier: str | None
    problems: list[Problem]


@dataclass(frozen=True)
class OrdersReading:
    """A body read order by order (``?partial_success=true``): the valid orders with their index
    in the body, and the refused ones."""

    accepted: list[tuple[int, Order]]
    rejected: list[Rejected]


def read_orders(data: Any, limits: Limits) -> OrdersReading:
    """Validate each order of parsed JSON on its own. The body's envelope and its count limits are
    still the whole request's (``ValidationFailed``); a duplicate order is refused, the first one
    kept, as v1 reports the later one."""
    over_limit = _count_limit_problems(data, limits)
    if over_limit:
        raise ValidationFailed(over_limit[:MAX_PROBLEMS])
    active = ACTIVE_LIMITS.set(limits)
    try:
        try:
            envelope = OrdersEnvelope.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed(_problems(exc)[:MAX_PROBLEMS]) from None
        orders: list[Any] = envelope.orders
        duplicates = {problem["field"]: problem for problem in _duplicates(orders, "orders", "order")}
        accepted: list[tuple[int, Order]] = []
        rejected: list[Rejected] = []
        for index, raw in enumerate(orders):
            problems = _order_problems(raw, index)
            duplicate = duplicates.get(f"orders/{index}/identifier")
            if duplicate is not None:
                problems.insert(0, duplicate)
            if problems or duplicate is not None:
                problems.sort(key=_document_order)
                identity = _identity(raw)
                # Shown back only when it could be an identifier (not some 200 KB string).
                shown = identity if identity is not None and len(identity) <= MAX_IDENTIFIER_LENGTH else None
                rejected.append(Rejected(index, shown, problems[:MAX_PROBLEMS]))
            else:
                accepted.append((index, _validated_order(raw)))
    finally:
        ACTIVE_LIMITS.reset(active)
    return OrdersReading(accepted=accepted, rejected=rejected)


def _order_problems(raw: Any, index: int) -> list[Problem]:
    """Every problem of one order, its paths from the body root."""
    items = raw.get("items") if isinstance(raw, dict) else None
    problems = _duplicates(items if isinstance(items, list) else [], f"orders/{index}/items", "item")
    try:
        _validated_order(raw)
    except ValidationError as exc:
        problems += _problems(exc, prefix=("orders", index))
    return problems


def _validated_order(raw: Any) -> Order:
    # As read_batch does: parse() would read a str as JSON text, so only objects go through it.
    if isinstance(raw, dict):
        return parse(event=raw, model=Order)
    return Order.model_validate(raw)


def _problems(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[Problem]:
    return [_problem(error, prefix) for error in exc.errors(include_url=False, include_input=False)]


def _orders_of(data: Any) -> list[Any]:
    orders = data if isinstance(data, list) else data.get("orders") if isinstance(data, dict) else None
    return orders if isinstance(orders, list) else []


def _count_limit_problems(data: Any, limits: Limits) -> list[Problem]:
    orders = _orders_of(data)
    if len(orders) > limits.max_orders_per_request:
        return [
            Problem(
                field="orders",
                code=ProblemCode.INVALID,
                message=f"orders must hold at most {limits.max_orders_per_request} orders",
            )
        ]
    problems = []
    for i, order in enumerate(orders):
        items = order.get("items") if isinstance(order, dict) else None
        if not isinstance(items, list):
            continue
        if len(items) > limits.max_items_per_order:
            problems.append(
                Problem(
                    field=f"orders/{i}/items",
                    code=ProblemCode.INVALID,
                    message=f"items must hold at most {limits.max_items_per_order} items",
                )
            )
            continue
        for j, item in enumerate(items):
            labels = item.get("labels") if isinstance(item, dict) else None
            if isinstance(labels, list) and len(labels) > limits.max_labels_per_item:
                problems.append(
                    Problem(
                        field=f"orders/{i}/items/{j}/labels",
                        code=ProblemCode.INVALID,
                        message=f"labels must hold at most {limits.max_labels_per_item} labels",
                    )
                )
    return problems


def _identity(entry: Any) -> str | None:
    """The identifier an order or item will be stored under, or None if it has no valid one."""
    value = entry.get("identifier") if isinstance(entry, dict) else None
    if type(value) is str:
        return value.strip() or None
    if type(value) in (JsonInteger, int):
        return str(value)
    return None


def _duplicate_problems(data: Any) -> list[Problem]:
    orders = _orders_of(data)
    problems = _duplicates(orders, "orders", "order")
    for i, order in enumerate(orders):
        items = order.get("items") if isinstance(order, dict) else None
        problems += _duplicates(items if isinstance(items, list) else [], f"orders/{i}/items", "item")
    return problems


def _duplicates(entries: list[Any], path: str, kind: str) -> list[Problem]:
    """A ``duplicate`` on each entry (order or item) whose identifier an earlier one has."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for position, entry in enumerate(entries):
        identity = _identity(entry)
        if identity is None:
            continue
        if identity in seen:
            problems.append(
                Problem(
                    field=f"{path}/{position}/identifier",
                    code=ProblemCode.DUPLICATE,
                    message=f"identifier repeats the {kind} at {path}/{seen[identity]}",
                )
            )
        else:
            seen[identity] = position
    return problems


def _problem(error: Any, prefix: tuple[Any, ...] = ()) -> Problem:
    loc = (*prefix, *error["loc"])
    error_type = error["type"]
    if error_type in _CONTRACT_CODES:
        code, text = ProblemCode(error_type), error["msg"]
    else:
        code, text = _BUILTIN_ERRORS.get(error_type, (ProblemCode.INVALID, "is invalid"))
    path = "/".join(str(part) for part in loc)
    subject = loc[-1] if loc and isinstance(loc[-1], str) else (path or "the body")
    return Problem(field=path, code=code, message=f"{subject} {text}")


def _document_order(problem: Problem) -> tuple[int, ...]:
    return tuple(int(part) for part in problem["field"].split("/") if part.isdigit())
