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
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from common.api_responses import MAX_PROBLEMS, Problem, ProblemCode
from forward_orders.errors import MalformedBody, PayloadTooLarge, ValidationFailed
from forward_orders.models import ACTIVE_LIMITS, JsonInteger, OrdersBatch
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
        problems += [_problem(error) for error in exc.errors(include_url=False, include_input=False)]
    finally:
        ACTIVE_LIMITS.reset(active)
    if problems:
        problems.sort(key=_document_order)
        raise ValidationFailed(problems[:MAX_PROBLEMS])
    return batch


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


def _problem(error: Any) -> Problem:
    loc = tuple(error["loc"])
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
