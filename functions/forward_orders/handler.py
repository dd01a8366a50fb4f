"""Lambda entry point of the Forward Orders API: routes, Powertools, and the one error-to-HTTP map."""

from __future__ import annotations

import gc

# Cold start: the imports below (Powertools, X-Ray, pydantic and the models) build some 100,000
# long-lived objects and almost no garbage, yet the cyclic collector would scan them again and again,
# about a tenth of init. It is paused until the module's objects exist, which are then frozen so that
# later collections skip them (docs/performance.md).
gc.disable()

import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.api_keys import CLIENT_KEY, OPERATIONS_KEY
from common.api_responses import (
    INVALID_JSON,
    REQUEST_ID_HEADER,
    RETRY_AFTER_HEADER,
    JsonProblem,
    message,
)
from common.api_routes import API_FUNCTION, FIND_BY_TRACKING_NUMBER, GET_ORDER, UPSERT_ORDERS, served_by
from common.dynamodb_client import dynamodb_client
from forward_orders import batch_reader, orders, paging, tracking
from forward_orders.errors import (
    MalformedBody,
    NotAuthenticated,
    OrderNotFound,
    PayloadTooLarge,
    StorageUnavailable,
    TrackingNumberNotFound,
    ValidationFailed,
)
from forward_orders.settings import get_settings
from forward_orders.storage import OrdersTable, RetryPolicy

# A GET publishes no metrics, which is expected, not worth a warning on every read.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics()
# Only botocore is patched (every DynamoDB call is a subsegment): the default patches every library
# X-Ray supports that happens to be installed (requests, sqlite3, httplib, ...), importing each one at
# cold start although this function calls none of them (docs/performance.md).
tracer = Tracer(patch_modules=("botocore",))
app = APIGatewayRestResolver()
# Validated as the module loads: a missing or malformed variable fails the cold start, not each request.
get_settings()
gc.freeze()
gc.enable()

JSON = "application/json"


@cache
def orders_table() -> OrdersTable:
    """The storage adapter, built on the first request and reused by every later one."""
    settings = get_settings()
    client = dynamodb_client(
        # Retries are the adapter's (bounded by the request deadline), not botocore's.
        max_attempts=1,
        max_pool_connections=settings.write_concurrency,
        # The adapter builds every request itself, well-formed by construction (docs/performance.md).
        parameter_validation=False,
    )
    return OrdersTable(
        client,
        settings.orders_table_name,
        concurrency=settings.write_concurrency,
        retry=RetryPolicy(max_attempts=settings.storage_max_attempts),
    )


def request_time() -> datetime:
    """The clock the API judges return windows by (UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Credential:
    kind: str
    client_id: str | None  # None for an operations key: no client of its own


def credential() -> Credential:
    """Who calls, taken only from the authorizer's context, never from the request itself."""
    authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    # A context without a kind comes from an authorizer result cached before keys had kinds: those
    # were all client keys.
    kind = authorizer.get("kind") or CLIENT_KEY
    if kind == OPERATIONS_KEY:
        return Credential(OPERATIONS_KEY, None)
    tenant = authorizer.get("client_id")
    if kind != CLIENT_KEY or not isinstance(tenant, str) or not tenant:
        raise NotAuthenticated()
    return Credential(CLIENT_KEY, tenant)


def client_id() -> str:
    """The tenant of a client key. Any other credential is not valid on a client's routes (401, as
    API Gateway answers when the authorizer's policy does not allow the route; docs/tracking.md)."""
    caller = credential()
    if caller.client_id is None:
        logger.info("credential not valid on this route", extra={"kind": caller.kind})
        raise NotAuthenticated()
    return caller.client_id


# The routes are deliberately not wrapped in tracer.capture_method: on any exception, including the
# domain errors every 4xx is made of, it logs the full traceback with the exception's message
# (which can quote request values) and records it in the trace. The function's segment and the
# DynamoDB calls are still traced (capture_lambda_handler, botocore auto-patching).
def upsert_forward_orders() -> Response:
    tenant = client_id()
    settings = get_settings()
    event = app.current_event
    data = batch_reader.decode_body(
        event.raw_event.get("body"), is_base64=event.is_base64_encoded or False, limits=settings.limits
    )
    reply = orders.upsert_body(
        tenant,
        data,
        orders_table(),
        per_order=batch_reader.per_order_results(event.query_string_parameters),
        limits=settings.limits,
        deadline_seconds=settings.request_deadline_seconds,
    )
    outcome = reply.outcome
    metrics.add_metric(name="OrdersUpserted", unit=MetricUnit.Count, value=outcome.orders)
    metrics.add_metric(name="ItemsUpserted", unit=MetricUnit.Count, value=outcome.items)
    metrics.add_metric(name="StaleRecords", unit=MetricUnit.Count, value=len(outcome.stale))
    # Debug only: the metrics above count them, the access log has the request.
    logger.debug(
        "orders upserted",
        extra={
            "orders": outcome.orders,
            "items": outcome.items,
            "stale": len(outcome.stale),
            "rejected": reply.rejected,
        },
    )
    # Multi-Status: some orders of a per-order request were refused (each result says which).
    return _json(HTTPStatus.MULTI_STATUS if reply.rejected else HTTPStatus.OK, reply.body)


def get_forward_order(identifier: str) -> Response:
    tenant = client_id()
    order_id = _path_parameter("identifier", identifier).strip()
    settings = get_settings()
    order = orders.get_order(
        tenant,
        order_id,
        orders_table(),
        page=paging.page_request(app.current_event.query_string_parameters, settings.limits),
        limits=settings.limits,
        deadline_seconds=settings.request_deadline_seconds,
    )
    return _json(HTTPStatus.OK, order)


def find_by_tracking_number(tracking_number: str) -> Response:
    # A client key sees its own items; an operations key every client's, each labelled.
    caller = credential()
    scanned = _path_parameter("tracking_number", tracking_number)
    result = tracking.lookup(
        caller.client_id,
        scanned,
        orders_table(),
        deadline_seconds=get_settings().request_deadline_seconds,
        # One clock reading per request: every match's eligibility is judged at the same instant.
        now=request_time(),
        max_response_bytes=get_settings().limits.max_response_bytes,
    )
    logger.info("tracking lookup", extra={"kind": caller.kind, "matches": len(result["matches"])})
    return _json(HTTPStatus.OK, result)


def _path_parameter(name: str, from_rule: str) -> str:
    # API Gateway gives the decoded value in pathParameters; the resolver's argument is still
    # percent-encoded (REST APIs keep `path` encoded), so it is only the fallback.
    path_parameters = app.current_event.path_parameters or {}
    return path_parameters.get(name) or unquote(from_rule)


# Each route of the route table (common/api_routes.py) and the function that answers it.
ROUTE_HANDLERS: dict[str, Callable[..., Response]] = {
    UPSERT_ORDERS.operation_id: upsert_forward_orders,
    GET_ORDER.operation_id: get_forward_order,
    FIND_BY_TRACKING_NUMBER.operation_id: find_by_tracking_number,
}
if set(ROUTE_HANDLERS) != {route.operation_id for route in served_by(API_FUNCTION)}:
    raise RuntimeError("every route of this function (common.api_routes) needs exactly one handler here")
for _route in served_by(API_FUNCTION):
    app.route(_route.rule, method=_route.method)(ROUTE_HANDLERS[_route.operation_id])


# -- errors: the only place where a domain error becomes an HTTP response ------------------------


def _request_id() -> str:
    return app.current_event.request_context.request_id or ""


def _json(status: HTTPStatus, body: Mapping[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status.value, content_type=JSON, body=body, headers=headers)


def _error(
    status: HTTPStatus, *, headers: dict[str, str] | None = None, errors: Sequence[Any] | None = None
) -> Response:
    body: dict[str, Any] = {"message": message(status)}
    if errors is not None:
        body["errors"] = list(errors)
    body["request_id"] = _request_id()
    return _json(status, body, headers)


@app.exception_handler(NotAuthenticated)
def handle_not_authenticated(_: NotAuthenticated) -> Response:
    # The contract's 401 has no body at all, not even JSON.
    return Response(status_code=HTTPStatus.UNAUTHORIZED.value, body="")


@app.exception_handler(MalformedBody)
def handle_malformed_body(error: MalformedBody) -> Response:
    metrics.add_metric(name="ValidationFailures", unit=MetricUnit.Count, value=1)
    problem: JsonProblem = {"code": INVALID_JSON, "message": error.reason}
    return _error(HTTPStatus.BAD_REQUEST, errors=[problem])


@app.exception_handler(PayloadTooLarge)
def handle_payload_too_large(_: PayloadTooLarge) -> Response:
    return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)


@app.exception_handler(ValidationFailed)
def handle_validation_failed(error: ValidationFailed) -> Response:
    metrics.add_metric(name="ValidationFailures", unit=MetricUnit.Count, value=1)
    # Codes are logged, never values, so operators see what clients get wrong without the payload.
    logger.info(
        "validation failed",
        extra={"problems": len(error.problems), "codes": sorted({p["code"] for p in error.problems})},
    )
    return _error(HTTPStatus.UNPROCESSABLE_ENTITY, errors=error.problems)


@app.exception_handler(OrderNotFound)
def handle_order_not_found(_: OrderNotFound) -> Response:
    return _error(HTTPStatus.NOT_FOUND)


@app.exception_handler(TrackingNumberNotFound)
def handle_tracking_number_not_found(_: TrackingNumberNotFound) -> Response:
    return _error(HTTPStatus.NOT_FOUND)


@app.exception_handler(StorageUnavailable)
def handle_storage_unavailable(error: StorageUnavailable) -> Response:
    logger.warning("storage unavailable", extra={"reason": str(error)})
    retry_after = str(get_settings().retry_after_seconds)
    return _error(HTTPStatus.BAD_GATEWAY, headers={RETRY_AFTER_HEADER: retry_after})


@app.not_found
def handle_unknown_route(_: NotFoundError) -> Response:
    # An unknown route answers 401, like every known one, when the request has no client.
    try:
        client_id()
    except NotAuthenticated as error:
        return handle_not_authenticated(error)
    return _error(HTTPStatus.NOT_FOUND)


@app.exception_handler(Exception)
def handle_unexpected_error(error: Exception) -> Response:
    # The traceback is logged as frames only: exception messages can quote request values.
    frames = [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(error.__traceback__)
    ]
    logger.error("unhandled error", extra={"error_type": type(error).__name__, "frames": frames})
    return _error(HTTPStatus.INTERNAL_SERVER_ERROR)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    request_id = (event.get("requestContext") or {}).get("requestId") or ""
    response.setdefault("headers", {})[REQUEST_ID_HEADER] = request_id
    if response.get("multiValueHeaders") is not None:
        response["multiValueHeaders"][REQUEST_ID_HEADER] = [request_id]
    return response
