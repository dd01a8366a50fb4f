"""The API's routes, each defined once and completely: the API function registers its handlers from
them, the CDK stack creates their methods, the authorizer builds its policies, ``forward-orders
serve`` routes its HTTP requests, and the OpenAPI document describes them, from this table.

A route is an HTTP method and an API Gateway resource template (``{name}`` is one path segment,
``{name+}`` the rest of the path), with its operation id, the shape of its 200 body and the error
statuses it answers (``common.api_responses``), its parameters and who may call it.

Requests that match no route must still reach the API function *behind the authorizer*, so that
they answer 401 without a valid key and the function's own 404 with one (the contract: unknown
routes are 404, never 403/5xx). The stack does that with an ``ANY`` method on every route's resource
(another method on a known path) and on each resource above one (``fallback_resources``), on
``/{proxy+}`` (an unknown path) and on ``/`` (the root); the local server reproduces the resource API
Gateway would pick for each (``match_request``).

Each route also names the kinds of API key that may call it (``kinds``): client keys call every
route, operations keys only the tracking lookup. The authorizer turns that into the policy it
returns (``policy_path``), so API Gateway refuses an operations key elsewhere (401, like a key
that is not valid there; see docs/tracking.md).

And each route names the function that answers it (``function``, its package under functions/).
The returns desk console's page and assets (docs/console.md) need no credential at all
(``kinds=()``: no authorizer runs) and are answered by the console function, which holds no
permission to any data; a route of the API function always needs a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from common.api_keys import CLIENT_KEY, OPERATIONS_KEY
from common.api_responses import StoredOrder, TrackingLookup, UpsertResult
from common.console_resources import CONSOLE_ASSET_RESOURCE, CONSOLE_PAGE_RESOURCE

# The functions that answer routes: their packages under functions/.
API_FUNCTION = "forward_orders"
CONSOLE_FUNCTION = "console"
FALLBACK_METHOD = "ANY"
ROOT_RESOURCE = "/"
CATCH_ALL_RESOURCE = "/{proxy+}"


# -- resource templates ----------------------------------------------------------------------------


def _segments(path: str) -> list[str]:
    return path.split("/")[1:] if path.startswith("/") else path.split("/")


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _parameter_name(segment: str) -> str:
    return segment[1:-1].rstrip("+")


def _match_resource(resource: str, path: str) -> dict[str, str] | None:
    template = _segments(resource)
    actual = _segments(path)
    parameters: dict[str, str] = {}
    for position, segment in enumerate(template):
        if _is_parameter(segment) and segment.endswith("+}"):
            rest = actual[position:]
            if not rest or not rest[0]:
                return None
            parameters[_parameter_name(segment)] = unquote("/".join(rest))
            return parameters
        if position >= len(actual):
            return None
        if _is_parameter(segment):
            if not actual[position]:
                return None
            parameters[_parameter_name(segment)] = unquote(actual[position])
        elif segment != actual[position]:
            return None
    return parameters if len(actual) == len(template) else None


# The query parameters the routes read (each route's query_parameters describes its own).
PARTIAL_SUCCESS_PARAMETER = "partial_success"
LIMIT_PARAMETER = "limit"
CURSOR_PARAMETER = "cursor"


@dataclass(frozen=True)
class ApiRoute:
    """One operation of the API, complete: everything the function, the stack, the authorizer, the
    local server and the OpenAPI document need to know about it."""

    method: str
    resource: str
    operation_id: str
    summary: str
    # The shape of the 200 body (common.api_responses); None for what is not JSON (the console).
    success: type[Any] | None
    # The error statuses it can answer (common.api_responses.ERROR_STATUSES has each one's body).
    errors: tuple[HTTPStatus, ...]
    # Statuses besides 200 it answers with the success shape, and when.
    other_successes: dict[HTTPStatus, str] = field(default_factory=dict, hash=False)
    # Each path parameter's description, for people.
    parameter_descriptions: dict[str, str] = field(default_factory=dict, hash=False)
    # The query parameters it reads, and each one's description.
    query_parameters: dict[str, str] = field(default_factory=dict, hash=False)
    # The kinds of API key that may call the route (common/api_keys.py): the authorizer allows an
    # operations key exactly the routes that list it, and the API function checks it again.
    kinds: tuple[str, ...] = (CLIENT_KEY,)
    # The function that answers it. Only a function that holds no data may answer without a key.
    function: str = API_FUNCTION

    def __post_init__(self) -> None:
        if set(self.parameter_descriptions) != set(self.parameters):
            raise ValueError(f"{self.operation_id}: describe exactly its path parameters {self.parameters}")
        if self.public and self.function == API_FUNCTION:
            raise ValueError(f"{self.method} {self.resource}: the API function's routes need a key")

    @property
    def public(self) -> bool:
        """Answered without any credential: no authorizer runs."""
        return not self.kinds

    @property
    def policy_path(self) -> str:
        """The route as the tail of an execute-api ARN pattern: ``GET/tracking/*``."""
        segments = ["*" if _is_parameter(segment) else segment for segment in _segments(self.resource)]
        return "/".join([self.method, *segments])

    @property
    def rule(self) -> str:
        """The route as a Powertools resolver rule: ``/tracking/<tracking_number>``."""
        segments = [
            f"<{_parameter_name(segment)}>" if _is_parameter(segment) else segment
            for segment in _segments(self.resource)
        ]
        return "/" + "/".join(segments)

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the path parameters, in path order."""
        return tuple(
            _parameter_name(segment) for segment in _segments(self.resource) if _is_parameter(segment)
        )

    def match(self, path: str) -> dict[str, str] | None:
        """The decoded path parameters when the percent-encoded ``path`` fits this resource.

        Segments are split on the encoded path, so ``%2F`` inside an identifier stays part of it.
        """
        return _match_resource(self.resource, path)


# What every route can answer besides its own errors: no credential, an unknown route or record,
# over the rate, a bug, storage unavailable, API Gateway's timeout.
_COMMON_ERRORS = (
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.TOO_MANY_REQUESTS,
    HTTPStatus.INTERNAL_SERVER_ERROR,
    HTTPStatus.BAD_GATEWAY,
    HTTPStatus.GATEWAY_TIMEOUT,
)

UPSERT_ORDERS = ApiRoute(
    "POST",
    "/forward_orders",
    operation_id="upsertForwardOrders",
    summary="Create or update (upsert) a batch of orders and their items",
    success=UpsertResult,
    other_successes={
        HTTPStatus.MULTI_STATUS: "Per-order mode (?partial_success=true) when any order was rejected: "
        "the valid ones are stored, results says what became of each."
    },
    query_parameters={
        PARTIAL_SUCCESS_PARAMETER: "true: each order is validated on its own, the valid ones stored, the "
        "answer 200, or 207 when any was rejected, with results for every order. false or absent: "
        "v1's all-or-nothing 422. Anything else is 422 invalid on partial_success.",
    },
    errors=(
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        HTTPStatus.UNPROCESSABLE_ENTITY,
        *_COMMON_ERRORS,
    ),
)
GET_ORDER = ApiRoute(
    "GET",
    "/forward_orders/{identifier}",
    operation_id="getForwardOrder",
    summary="Read back one order with a page of its items (all of them unless next_cursor says more follow)",
    success=StoredOrder,
    errors=(HTTPStatus.UNPROCESSABLE_ENTITY, *_COMMON_ERRORS),
    parameter_descriptions={
        "identifier": "The order's identifier, percent-encoded as needed; trimmed like a posted one. "
        "One that no POST could have stored (over 255 characters once trimmed) is simply not found."
    },
    query_parameters={
        LIMIT_PARAMETER: "Items a page holds at most (configurable, with its default); a page also ends "
        "before its body would exceed the response bound. Anything else is 422 invalid on limit.",
        CURSOR_PARAMETER: "The next_cursor of the previous page, as it was (opaque; bound to this order and "
        "this key's client: any other is 422 invalid on cursor).",
    },
)
FIND_BY_TRACKING_NUMBER = ApiRoute(
    "GET",
    "/tracking/{tracking_number}",
    operation_id="findByTrackingNumber",
    summary="Find the items whose tracking number or reverse tracking number is this one",
    success=TrackingLookup,
    errors=_COMMON_ERRORS,
    parameter_descriptions={
        "tracking_number": "A tracking number or reverse tracking number, percent-encoded as needed; "
        "compared after normalisation (docs/tracking.md)."
    },
    kinds=(CLIENT_KEY, OPERATIONS_KEY),
)


def _console_route(resource: str, operation_id: str, summary: str, **parameters: str) -> ApiRoute:
    """A file of the console: public (the console function holds no data), not found when there is
    no such file."""
    return ApiRoute(
        "GET",
        resource,
        operation_id=operation_id,
        summary=summary,
        success=None,
        errors=(HTTPStatus.NOT_FOUND,),
        parameter_descriptions=parameters,
        kinds=(),
        function=CONSOLE_FUNCTION,
    )


CONSOLE_PAGE = _console_route(CONSOLE_PAGE_RESOURCE, "getConsole", "The returns desk console (an HTML page)")
CONSOLE_ASSET = _console_route(
    CONSOLE_ASSET_RESOURCE,
    "getConsoleAsset",
    "The console's script and style sheet",
    asset="console.js or console.css; any other name is not found.",
)

ROUTES: tuple[ApiRoute, ...] = (
    UPSERT_ORDERS,
    GET_ORDER,
    FIND_BY_TRACKING_NUMBER,
    CONSOLE_PAGE,
    CONSOLE_ASSET,
)


def served_by(function: str, routes: tuple[ApiRoute, ...] = ROUTES) -> tuple[ApiRoute, ...]:
    """The routes that ``function`` answers."""
    return tuple(route for route in routes if route.function == function)


def fallback_resources(routes: tuple[ApiRoute, ...] = ROUTES) -> list[str]:
    """Where the stack puts an ``ANY`` method: the root, every route's resource and each resource
    above it (``/tracking`` above ``/tracking/{tracking_number}``: API Gateway would answer a
    resource without methods itself, before the authorizer), and ``/{proxy+}``."""
    resources = [ROOT_RESOURCE]
    for route in routes:
        segments = _segments(route.resource)
        for depth in range(1, len(segments) + 1):
            resource = "/" + "/".join(segments[:depth])
            if resource not in resources:
                resources.append(resource)
    resources.append(CATCH_ALL_RESOURCE)
    return resources


@dataclass(frozen=True)
class RouteMatch:
    """What API Gateway would put in the proxy event for one request."""

    resource: str
    path_parameters: dict[str, str] | None
    route: ApiRoute | None  # None: only a fallback (ANY) method matched, the function answers 404


def match_request(method: str, path: str, routes: tuple[ApiRoute, ...] = ROUTES) -> RouteMatch:
    """The resource and path parameters API Gateway would choose for ``method`` and the encoded ``path``."""
    resource_matched: tuple[str, dict[str, str]] | None = None
    for route in routes:
        parameters = route.match(path)
        if parameters is None:
            continue
        if route.method == method.upper():
            return RouteMatch(route.resource, parameters or None, route)
        resource_matched = resource_matched or (route.resource, parameters)
    if resource_matched is not None:
        resource, parameters = resource_matched
        return RouteMatch(resource, parameters or None, None)
    if path in ("", "/"):
        return RouteMatch(ROOT_RESOURCE, None, None)
    for resource in fallback_resources(routes):
        if resource in (ROOT_RESOURCE, CATCH_ALL_RESOURCE):
            continue
        parameters = _match_resource(resource, path)
        if parameters is not None:
            return RouteMatch(resource, parameters or None, None)
    return RouteMatch(CATCH_ALL_RESOURCE, {"proxy": unquote(path.lstrip("/"))}, None)
