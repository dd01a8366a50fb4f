"""The local API Gateway: each HTTP request becomes the REST (v1) proxy event AWS would send.

For every request, as the deployed stage does it:

1. ``http_front.py`` reads it whole and refuses what API Gateway would never pass on (malformed,
   incomplete, over its quotas: bodies over 10 MB are 413; smaller ones reach the function, which
   applies its configured limit), with ``refusal`` below;
2. the route table (``common.api_routes``) picks the resource and the path parameters: ``path``
   stays percent-encoded, as REST APIs send it, ``pathParameters`` are decoded;
3. the REQUEST authorizer runs first, except on the routes that need no credential (the console's
   page and assets, answered by the console function). Raising "Unauthorized", or a policy that
   does not allow the method, is 401 with an empty body; raising anything else is 502 with
   Retry-After, a result that is not an authorizer response 500;
4. with rate limits on (``meter``: ``forward-orders serve`` without ``--no-rate-limits``), the
   metering key the authorizer returned is counted against its tier (throttling.py): over the
   tier's rate THROTTLED, over its daily quota QUOTA_EXCEEDED (both 429 with Retry-After), no
   metering key or no such tier INVALID_API_KEY (502), exactly as the stage's gateway responses;
5. its ``principalId`` and context (values as strings, as API Gateway flattens them) go into
   ``requestContext.authorizer``, and the API function gets the event with the body base64-encoded
   (the stack declares ``*/*`` a binary media type, so API Gateway always encodes it);
6. its statusCode, headers, multiValueHeaders and body (base64-decoded when flagged) are the
   HTTP response; a function that raises or returns no proxy response is 502.

The answers the gateway gives itself (401, 413, 5xx) are the stack's gateway responses, from the
same table (``common.api_responses.GATEWAY_RESPONSES``). Every response carries ``x-request-id``.

Each function is invoked one request at a time, like one Lambda execution environment: the handlers
keep per-invocation state in module globals (the resolver's current event, the logger's keys), which
concurrent threads would mix up. The HTTP server itself is threaded, so a slow client uploading a
body does not hold up the others.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request

from common.api_responses import (
    ERROR_STATUSES,
    GATEWAY_RESPONSES,
    INTEGRATION_FAILURE,
    REQUEST_ID_HEADER,
    RETRY_AFTER_HEADER,
    UNAUTHORIZED_MESSAGE,
    message,
)
from common.api_routes import API_FUNCTION, CONSOLE_FUNCTION, ROUTES, ApiRoute, RouteMatch, match_request
from forward_orders_cli.http_front import RAW_HEADERS, FrontEndHandler
from forward_orders_cli.lambda_events import (
    LocalLambdaContext,
    Stage,
    authorizer_context,
    authorizer_event,
    proxy_event,
)
from forward_orders_cli.throttling import UsageMeter

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

logger = logging.getLogger(__name__)

# API Gateway's payload quota; the function's own (smaller, configurable) limit answers 413 itself.
API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
JSON = "application/json"
# _policy_denial's verdict on a result that is not an authorizer response at all.
MALFORMED = "malformed"
# Recomputed for the HTTP response, never copied from a Lambda's.
_HOP_BY_HOP = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding", "upgrade"})
# Characters left as they are when a raw request path is percent-encoded for the event.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


@dataclass(frozen=True)
class GatewayConfig:
    stage: Stage = field(default_factory=Stage)
    max_body_bytes: int = API_GATEWAY_MAX_BODY_BYTES
    # Retry-After of the gateway's own 502 (the API function's default, RETRY_AFTER_SECONDS).
    retry_after_seconds: int = 1
    api_function_name: str = "forward-orders-api"
    authorizer_function_name: str = "forward-orders-authorizer"
    console_function_name: str = "forward-orders-console"
    # No read from a client waits longer (http_front.py): a stalled body is 400, an idle connection closed.
    read_timeout_seconds: float = 30.0


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


class _LocalFunction:
    """One Lambda function: its handler, invoked one request at a time."""

    def __init__(self, name: str, handler: LambdaHandler) -> None:
        self.name = name
        self._handler = handler
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        with self._lock:
            context = LocalLambdaContext(function_name=self.name, timeout_seconds=timeout_seconds)
            return self._handler(event, context)


class LocalApiGateway:
    """A WSGI application standing in for the API's REST stage."""

    def __init__(
        self,
        *,
        authorizer: LambdaHandler,
        api: LambdaHandler,
        console: LambdaHandler | None = None,
        routes: tuple[ApiRoute, ...] = ROUTES,
        config: GatewayConfig | None = None,
        meter: UsageMeter | None = None,
    ) -> None:
        self.config = config or GatewayConfig()
        # None: no usage plans, as on a REST API whose methods require no API key.
        self.meter = meter
        self._authorizer = _LocalFunction(self.config.authorizer_function_name, authorizer)
        # The functions that answer routes, by the name ApiRoute.function gives them.
        self._functions = {API_FUNCTION: _LocalFunction(self.config.api_function_name, api)}
        if console is not None:
            self._functions[CONSOLE_FUNCTION] = _LocalFunction(self.config.console_function_name, console)
        self._routes = routes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            response, client_id = self.handle(request, request_id)
        except Exception as error:  # a bug here; never werkzeug's HTML error page
            _log_failure("the local gateway failed", error)
            response = _json_response(HTTPStatus.INTERNAL_SERVER_ERROR, request_id)
            client_id = None
        _ensure_header(response, REQUEST_ID_HEADER, request_id)
        logger.info(
            "%s %s -> %d (%d ms) client=%s request_id=%s",
            request.method,
            _raw_path(environ),
            response.status,
            (time.monotonic() - started) * 1000,
            client_id or "-",
            request_id,
        )
        body = response.body
        headers = [*response.headers, ("Content-Length", str(len(body)))]
        start_response(_status_line(response.status), headers)
        return [b"" if request.method == "HEAD" else body]

    # -- one request ----------------------------------------------------------------------------

    def handle(self, request: Request, request_id: str) -> tuple[HttpResponse, str | None]:
        """The response to one request, and the client the authorizer found (None if it did not)."""
        body = self._read_body(request)
        if body is None:
            return self.gateway_response("REQUEST_TOO_LARGE", request_id), None
        path = _raw_path(request.environ)
        route = match_request(request.method, path, self._routes)
        event = self.proxy_event(request, path, route, body, request_id)
        if route.route is not None and route.route.public:
            # A method without authorization: the stage calls its function directly.
            return self._integrate(route.route.function, event, request_id), None

        authorization = self._authorize(event, request_id)
        if isinstance(authorization, HttpResponse):
            return authorization, None
        principal = str(authorization["principalId"])
        refusal = self.meter.admit(authorization) if self.meter is not None else None
        if refusal is not None:
            if refusal.response_type == "INVALID_API_KEY":
                logger.warning(
                    "%s: no metering key, or a tier this server does not know (`forward-orders keys "
                    "set-plan` gives a key both)",
                    principal,
                )
            return self.gateway_response(refusal.response_type, request_id, refusal.retry_after), principal
        event["requestContext"]["authorizer"] = authorizer_context(authorization)
        return self._integrate(API_FUNCTION, event, request_id), principal

    def _authorize(self, event: dict[str, Any], request_id: str) -> dict[str, Any] | HttpResponse:
        """The authorizer's result when it allows the request, else the gateway's response."""
        try:
            authorization = self._authorizer.invoke(self.authorizer_event(event), timeout_seconds=5.0)
        except Exception as error:
            if str(error) == UNAUTHORIZED_MESSAGE:
                return self.gateway_response("UNAUTHORIZED", request_id)
            # Not the client's fault, worth a retry.
            _log_failure("the authorizer failed", error)
            return self.gateway_response("AUTHORIZER_FAILURE", request_id)
        denied = _policy_denial(authorization, self._method_arn(event))
        if denied == MALFORMED:
            # AUTHORIZER_CONFIGURATION_ERROR
            logger.error("the authorizer returned no principalId or no policyDocument")
            return self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", request_id)
        if denied is not None:
            logger.info("the authorizer's policy denied the request: %s", denied)
            return self.gateway_response("ACCESS_DENIED", request_id)
        return authorization

    def _integrate(self, function: str, event: dict[str, Any], request_id: str) -> HttpResponse:
        try:
            return lambda_response(self._functions[function].invoke(event, timeout_seconds=29.0))
        except Exception as error:
            # What API Gateway answers when the integration fails (the function raised, or returned
            # something that is not a proxy response).
            _log_failure("the API function failed", error)
            status, text = INTEGRATION_FAILURE
            return _json_response(status, request_id, text)

    @property
    def max_body_bytes(self) -> int:
        return self.config.max_body_bytes

    def refusal(self, status: HTTPStatus, request_id: str) -> HttpResponse:
        """What the stage answers for a request it does not pass on (http_front.py): 413 is its
        REQUEST_TOO_LARGE response; any other status its DEFAULT_4XX or DEFAULT_5XX response, JSON
        with the status's message (the HTTP reason phrase for a status the contract does not list,
        as API Gateway's own message stands there) and the request id."""
        if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            answer = self.gateway_response("REQUEST_TOO_LARGE", request_id)
        else:
            server_side = status >= HTTPStatus.INTERNAL_SERVER_ERROR
            default = GATEWAY_RESPONSES["DEFAULT_5XX" if server_side else "DEFAULT_4XX"]
            known = ERROR_STATUSES.get(status)
            text = known.message if known is not None and known.message is not None else status.phrase
            answer = _json_response(status, request_id, text)
            answer.headers.extend(default.headers.items())
        _ensure_header(answer, REQUEST_ID_HEADER, request_id)
        return answer

    def gateway_response(
        self, response_type: str, request_id: str, retry_after: int | None = None
    ) -> HttpResponse:
        """What the stage answers itself for one of API Gateway's response types, as the stack
        deploys it (``common.api_responses.GATEWAY_RESPONSES``); ``retry_after`` replaces the
        stack's fixed Retry-After where this server knows the actual wait."""
        response = GATEWAY_RESPONSES[response_type]
        if response.status is None:
            raise ValueError(f"{response_type} has no status of its own")
        headers = list(response.headers.items())
        if response.retry_after:
            seconds = retry_after if retry_after is not None else self.config.retry_after_seconds
            headers.append((RETRY_AFTER_HEADER, str(seconds)))
        if not response.has_body:
            return HttpResponse(response.status.value, headers)
        answer = _json_response(response.status, request_id)
        answer.headers.extend(headers)
        return answer

    def _read_body(self, request: Request) -> bytes | None:
        """The request body, or None when it is over API Gateway's quota."""
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return None
        body = request.stream.read(limit + 1)
        return None if len(body) > limit else body

    # -- events ---------------------------------------------------------------------------------

    def proxy_event(
        self, request: Request, path: str, route: RouteMatch, body: bytes, request_id: str
    ) -> dict[str, Any]:
        """The Lambda proxy integration event, before the authorizer's context is added."""
        return proxy_event(
            request.method,
            path,
            resource=route.resource,
            path_parameters=route.path_parameters,
            headers=_event_headers(request),
            query=dict(request.args.lists()),
            body=body,
            request_id=request_id,
            stage=self.config.stage,
            source_ip=request.remote_addr or "127.0.0.1",
            host=request.host,
            protocol=request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        )

    def authorizer_event(self, proxy: dict[str, Any]) -> dict[str, Any]:
        """The REQUEST authorizer's event: the request's parts, without the body."""
        return authorizer_event(proxy, self.config.stage)

    def _method_arn(self, event: dict[str, Any]) -> str:
        return self.config.stage.method_arn(event["httpMethod"], event["path"])


def serve(app: LocalApiGateway, host: str, port: int) -> BaseWSGIServer:
    """A threaded HTTP server for ``app``, bound (``port`` 0 picks a free one), not yet serving.
    Requests are read by ``http_front.FrontEndHandler``, which refuses what API Gateway would."""
    handler = type("GatewayRequestHandler", (FrontEndHandler,), {"timeout": app.config.read_timeout_seconds})
    return make_server(host, port, app, threaded=True, request_handler=handler)


# -- authorizer results ---------------------------------------------------------------------------


def _policy_denial(authorization: Any, method_arn: str) -> str | None:
    """None when the policy allows invoking ``method_arn``; else why not ("malformed", or a message)."""
    if not isinstance(authorization, dict) or not authorization.get("principalId"):
        return MALFORMED
    policy = authorization.get("policyDocument")
    if not isinstance(policy, dict):
        return MALFORMED
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict) or not _covers(statement, method_arn):
            continue
        effect = str(statement.get("Effect", "")).lower()
        if effect == "deny":
            return "User is not authorized to access this resource with an explicit deny"
        allowed = allowed or effect == "allow"
    return None if allowed else "User is not authorized to access this resource"


def _covers(statement: dict[str, Any], method_arn: str) -> bool:
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    action_ok = any(_wildcard_match(pattern, "execute-api:Invoke") for pattern in actions)
    return action_ok and any(_wildcard_match(pattern, method_arn) for pattern in resources)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [entry for entry in value if isinstance(entry, str)] if isinstance(value, list) else []


def _wildcard_match(pattern: str, value: str) -> bool:
    """IAM matching: ``*`` is any run of characters, ``?`` any one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


# -- HTTP <-> event -------------------------------------------------------------------------------


def lambda_response(result: Any) -> HttpResponse:
    """The HTTP response API Gateway makes of a proxy integration's result."""
    if not isinstance(result, dict):
        raise TypeError("the function returned no proxy response object")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise TypeError("the function's response has no valid statusCode")
    # API Gateway merges headers and multiValueHeaders; a pair present in both appears once.
    merged: dict[str, list[str]] = {}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        merged.setdefault(name, []).extend(str(value) for value in values)
    for name, value in (result.get("headers") or {}).items():
        existing = next((key for key in merged if key.lower() == name.lower()), name)
        values = merged.setdefault(existing, [])
        if str(value) not in values:
            values.append(str(value))
    headers = [
        (name, value)
        for name, values in merged.items()
        if name.lower() not in _HOP_BY_HOP
        for value in values
    ]
    body = result.get("body")
    if body is None:
        data = b""
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = str(body).encode("utf-8")
    return HttpResponse(status, headers, data)


def _raw_path(environ: WSGIEnvironment) -> str:
    """The request path as the client sent it, percent-encoded (no query string)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        # WSGI strings carry the raw bytes as latin-1.
        target = raw.encode("latin-1").split(b"?", 1)[0]
        if b"://" in target:  # an absolute-form request target
            target = b"/" + target.split(b"://", 1)[1].partition(b"/")[2]
    else:
        target = environ.get("PATH_INFO", "/").encode("latin-1")
        target = quote(target, safe="/").encode("ascii")
    path = quote(target, safe=_PATH_SAFE)
    return path if path.startswith("/") else "/" + path


def _event_headers(request: Request) -> dict[str, list[str]]:
    """Every header field as sent: repeated ones in order under one name (its first spelling, as
    names are case-insensitive), then the ones API Gateway sets for the integration."""
    sent = request.environ.get(RAW_HEADERS)
    pairs: list[tuple[str, str]] = list(request.headers.items()) if sent is None else sent
    multi: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in pairs:
        multi.setdefault(spelling.setdefault(name.lower(), name), []).append(value)
    source_ip = request.remote_addr or "127.0.0.1"
    forwarded = multi.pop(spelling.get("x-forwarded-for", "X-Forwarded-For"), None)
    for name in ("x-forwarded-port", "x-forwarded-proto"):
        multi.pop(spelling.get(name, ""), None)
    multi["X-Forwarded-For"] = [f"{forwarded[-1]}, {source_ip}" if forwarded else source_ip]
    multi["X-Forwarded-Port"] = [str(request.environ.get("SERVER_PORT", ""))]
    multi["X-Forwarded-Proto"] = [request.scheme]
    return multi


def _json_response(status: HTTPStatus, request_id: str, text: str | None = None) -> HttpResponse:
    """A JSON error body: the message of ``status`` unless told otherwise, and the request id."""
    body = json.dumps({"message": text or message(status), "request_id": request_id}).encode()
    return HttpResponse(status.value, [("Content-Type", JSON)], body)


def _ensure_header(response: HttpResponse, name: str, value: str) -> None:
    if response.header(name) is None:
        response.headers.append((name, value))


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _log_failure(what: str, error: BaseException) -> None:
    # A developer's console: the frames help, and no Lambda log line is involved.
    frames = "".join(traceback.format_exception(error)).rstrip()
    logger.error("%s: %s\n%s", what, type(error).__name__, frames)
