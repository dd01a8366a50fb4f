"""The API's routes as API Gateway sees them: one definition for the stack and the local server.

A route is an HTTP method and an API Gateway resource template (``{name}`` is one path segment,
``{name+}`` the rest of the path). The API function implements exactly these routes; the CDK stack
creates a resource and method for each, behind the REQUEST authorizer; ``forward-orders serve``
routes its HTTP requests with them, so the local server and the deployed API cannot disagree.

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

from dataclasses import dataclass
from urllib.parse import unquote

from common.api_keys import CLIENT_KEY, OPERATIONS_KEY

# The functions that answer routes: their packages under functions/.
API_FUNCTION = "forward_orders"
CONSOLE_FUNCTION = "console"
# The console's resources (console/handler.py answers them): the page, and its assets by name.
CONSOLE_PAGE_RESOURCE = "/console"
CONSOLE_ASSET_RESOURCE = "/console/{asset}"
FALLBACK_METHOD = "ANY"
ROOT_RESOURCE = "/"
CATCH_ALL_RESOURCE = "/{proxy+}"


@dataclass(frozen=True)
class ApiRoute:
    method: str
    resource: str
    summary: str
    # The kinds of API key that may call the route (common/api_keys.py): the authorizer allows an
    # operations key exactly the routes that list it, and the API function checks it again.
    kinds: tuple[str, ...] = (CLIENT_KEY,)
    # The function that answers it. Only a function that holds no data may answer without a key.
    function: str = API_FUNCTION

    def __post_init__(self) -> None:
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


ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("POST", "/forward_orders", "Create or update (upsert) a batch of orders and their items"),
    ApiRoute("GET", "/forward_orders/{identifier}", "Read back one order with all its items"),
    ApiRoute(
        "GET",
        "/tracking/{tracking_number}",
        "Find the items whose tracking number or reverse tracking number is this one",
        kinds=(CLIENT_KEY, OPERATIONS_KEY),
    ),
    ApiRoute(
        "GET",
        CONSOLE_PAGE_RESOURCE,
        "The returns desk console (an HTML page)",
        kinds=(),
        function=CONSOLE_FUNCTION,
    ),
    ApiRoute(
        "GET",
        CONSOLE_ASSET_RESOURCE,
        "The console's script and style sheet",
        kinds=(),
        function=CONSOLE_FUNCTION,
    ),
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
