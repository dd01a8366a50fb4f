"""The returns desk console's function in-process, and the local gateway routing to it: the page and
its two assets with their security headers, 304s, 404s for anything else, relative references that
resolve under a stage prefix, no inline code, and no authorizer on its routes (and only on them)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from werkzeug.test import Client

from common.api_routes import (
    API_FUNCTION,
    CONSOLE_ASSET_RESOURCE,
    CONSOLE_FUNCTION,
    CONSOLE_PAGE_RESOURCE,
    ROUTES,
    ApiRoute,
    match_request,
    served_by,
)
from console.site import CONTENT_SECURITY_POLICY, CONTENT_TYPES, PAGE, STATIC_DIR
from forward_orders_cli.lambda_events import proxy_event
from forward_orders_cli.server import LocalApiGateway
from tests.api_calls import STAGE, lambda_context

CSP_REQUIRED = {
    "default-src": {"'none'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "connect-src": {"'self'"},
    "base-uri": {"'none'"},
    "form-action": {"'none'"},
    "frame-ancestors": {"'none'"},
    "require-trusted-types-for": {"'script'"},
    "trusted-types": {"'none'"},
}
ASSETS = sorted(name for name in CONTENT_TYPES if name != PAGE)


def console_event(
    resource: str,
    asset: str | None = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The proxy event API Gateway sends a method without authorization: no authorizer context."""
    return proxy_event(
        method,
        resource.replace("{asset}", asset or ""),
        resource=resource,
        path_parameters={"asset": asset} if asset is not None else None,
        headers={name: [value] for name, value in (headers or {}).items()},
        request_id="req-123",
        stage=STAGE,
    )


def call(event: dict[str, Any]) -> dict[str, Any]:
    from console.handler import lambda_handler

    result = lambda_handler(event, lambda_context("forward-orders-console"))
    assert result["isBase64Encoded"] is False
    assert result["headers"]["x-request-id"] == "req-123"
    return result


def directives(policy: str) -> dict[str, set[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        parsed[name] = set(values)
    return parsed


def assert_security_headers(headers: dict[str, str]) -> None:
    policy = directives(headers["Content-Security-Policy"])
    for name, values in CSP_REQUIRED.items():
        assert policy[name] == values, name
    assert not any("unsafe" in value for values in policy.values() for value in values)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"


# -- the function ----------------------------------------------------------------------------------------


def test_the_page_is_html_with_a_strict_policy_and_revalidated_caching() -> None:
    result = call(console_event(CONSOLE_PAGE_RESOURCE))

    assert result["statusCode"] == 200
    headers = result["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}"', headers["ETag"])
    assert_security_headers(headers)
    assert result["body"] == (STATIC_DIR / PAGE).read_text(encoding="utf-8")
    assert "<title>Returns desk" in result["body"]


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [("console.js", "text/javascript; charset=utf-8"), ("console.css", "text/css; charset=utf-8")],
)
def test_each_asset_is_served_with_its_content_type(asset: str, content_type: str) -> None:
    result = call(console_event(CONSOLE_ASSET_RESOURCE, asset))

    assert result["statusCode"] == 200
    assert result["headers"]["Content-Type"] == content_type
    assert result["body"] == (STATIC_DIR / asset).read_text(encoding="utf-8")
    assert_security_headers(result["headers"])


@pytest.mark.parametrize(
    "resource_and_asset", [(CONSOLE_PAGE_RESOURCE, None), (CONSOLE_ASSET_RESOURCE, "console.js")]
)
def test_an_unchanged_file_is_a_304_without_a_body(resource_and_asset: tuple[str, str | None]) -> None:
    resource, asset = resource_and_asset
    etag = call(console_event(resource, asset))["headers"]["ETag"]

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        result = call(console_event(resource, asset, headers={"if-none-match": header}))
        assert (result["statusCode"], result["body"]) == (304, ""), header
        assert result["headers"]["ETag"] == etag
    changed = call(console_event(resource, asset, headers={"If-None-Match": '"stale"'}))
    assert changed["statusCode"] == 200 and changed["body"]


@pytest.mark.parametrize(
    "asset",
    ["index.html", "handler.py", "../handler.py", "site.py", "static", "", "CONSOLE.JS", "console.js/"],
)
def test_any_other_name_is_a_404_in_the_apis_shape(asset: str) -> None:
    result = call(console_event(CONSOLE_ASSET_RESOURCE, asset))

    assert result["statusCode"] == 404
    assert json.loads(result["body"]) == {"message": "Not Found", "request_id": "req-123"}
    assert result["headers"]["Content-Type"] == "application/json"
    assert result["headers"]["Cache-Control"] == "no-store"
    assert_security_headers(result["headers"])


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_only_get_is_answered(method: str) -> None:
    assert call(console_event(CONSOLE_PAGE_RESOURCE, method=method))["statusCode"] == 404


def test_a_bug_is_a_json_500_without_a_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    from console import handler

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(handler, "respond", broken)
    result = call(console_event(CONSOLE_PAGE_RESOURCE))
    assert result["statusCode"] == 500
    assert json.loads(result["body"]) == {"message": "Internal Server Error", "request_id": "req-123"}
    assert "secret" not in result["body"]


# -- the page's own rules ---------------------------------------------------------------------------------


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self.handlers: list[str] = []
        self.named_inputs: list[str] = []
        self.tags: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        self.handlers += [name for name in values if name.startswith("on")]
        if "style" in values:
            self.inline_styles += 1
        if tag == "style":
            self.inline_styles += 1
        if tag == "script":
            if values.get("src"):
                self.references.append(str(values["src"]))
            else:
                self.inline_scripts += 1
        if tag == "link" and values.get("rel") == "stylesheet":
            self.references.append(str(values["href"]))
        if tag in ("input", "select", "textarea") and "name" in values:
            self.named_inputs.append(str(values["name"]))


def _page() -> _References:
    parser = _References()
    parser.feed((STATIC_DIR / PAGE).read_text(encoding="utf-8"))
    return parser


def test_the_page_has_no_inline_code_no_handlers_and_no_named_inputs() -> None:
    page = _page()
    assert (page.inline_scripts, page.inline_styles, page.handlers) == (0, 0, [])
    # Nothing a form could ever serialise into a URL.
    assert page.named_inputs == []
    assert "base" not in page.tags


@pytest.mark.parametrize(
    ("page_url", "stage_prefix"),
    [
        ("http://127.0.0.1:3000/console", ""),
        ("https://abc123.execute-api.eu-west-1.amazonaws.com/v1/console", "/v1"),
    ],
)
def test_the_assets_resolve_to_the_console_routes_with_and_without_a_stage(
    page_url: str, stage_prefix: str
) -> None:
    page = _page()
    assert sorted(page.references) == [f"console/{name}" for name in ASSETS]
    resolved = [urlsplit(urljoin(page_url, reference)).path for reference in page.references]
    assert sorted(resolved) == sorted(f"{stage_prefix}/console/{name}" for name in ASSETS)
    for path in resolved:
        match = match_request("GET", path.removeprefix(stage_prefix))
        assert match.route is not None and match.route.function == CONSOLE_FUNCTION, path
        assert match.path_parameters and match.path_parameters["asset"] in ASSETS
    # The API calls are relative to the page too: tracking/<n> beside console.
    lookup = urlsplit(urljoin(page_url, "tracking/1Z999")).path
    assert match_request("GET", lookup.removeprefix(stage_prefix)).route == next(
        route for route in ROUTES if route.resource == "/tracking/{tracking_number}"
    )


def test_the_script_never_parses_html_stores_outside_the_session_or_touches_cookies() -> None:
    script = (STATIC_DIR / "console.js").read_text(encoding="utf-8")
    code = "\n".join(line for line in script.splitlines() if not line.strip().startswith("//"))
    for forbidden in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        "localStorage",
        "document.cookie",
        "console.log",
        "location.search",
        "?key",
        "&key",
    ):
        assert forbidden not in code, forbidden
    assert "sessionStorage" in code
    assert "Authorization" in code


# -- the route table and the local gateway ----------------------------------------------------------------


def test_the_console_routes_need_no_credential_and_every_other_route_needs_a_key() -> None:
    console = served_by(CONSOLE_FUNCTION)
    assert [(route.method, route.resource, route.public) for route in console] == [
        ("GET", CONSOLE_PAGE_RESOURCE, True),
        ("GET", CONSOLE_ASSET_RESOURCE, True),
    ]
    assert all(not route.public for route in served_by(API_FUNCTION))
    assert set(ROUTES) == set(console) | set(served_by(API_FUNCTION))


def test_a_route_of_the_api_function_cannot_be_declared_without_a_key() -> None:
    with pytest.raises(ValueError, match="need a key"):
        ApiRoute("GET", "/orders", "listOrders", "Every order", success=dict, errors=(), kinds=())


class Recorder:
    def __init__(self, result: dict[str, Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.result = result or {"statusCode": 200, "headers": {}, "body": "ok"}

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        return self.result


def refuse(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # What an authorizer raises to have API Gateway answer 401.
    raise Exception("Unauthorized")


@pytest.fixture
def gateway() -> tuple[Client, Recorder, Recorder, list[dict[str, Any]]]:
    authorizer_calls: list[dict[str, Any]] = []

    def authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        authorizer_calls.append(event)
        return refuse(event, context)

    api, console = Recorder(), Recorder()
    return (
        Client(LocalApiGateway(authorizer=authorizer, api=api, console=console)),
        api,
        console,
        authorizer_calls,
    )


@pytest.mark.parametrize(
    ("path", "resource", "parameters"),
    [
        ("/console", CONSOLE_PAGE_RESOURCE, None),
        ("/console/console.js", CONSOLE_ASSET_RESOURCE, {"asset": "console.js"}),
        ("/console/console.css", CONSOLE_ASSET_RESOURCE, {"asset": "console.css"}),
        ("/console/..%2Fhandler.py", CONSOLE_ASSET_RESOURCE, {"asset": "../handler.py"}),
    ],
)
def test_the_local_gateway_sends_the_console_routes_to_the_console_function_without_the_authorizer(
    gateway: tuple[Client, Recorder, Recorder, list[dict[str, Any]]],
    path: str,
    resource: str,
    parameters: dict[str, str] | None,
) -> None:
    client, api, console, authorizer_calls = gateway

    response = client.get(path, headers={"Authorization": "Bearer some-key"})

    assert response.status_code == 200
    assert response.headers["x-request-id"]
    [event] = console.events
    assert (event["resource"], event["pathParameters"]) == (resource, parameters)
    assert "authorizer" not in event["requestContext"]
    assert (api.events, authorizer_calls) == ([], [])


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/console"), ("DELETE", "/console/console.js"), ("GET", "/console/"), ("GET", "/console/a/b")],
)
def test_anything_else_under_console_goes_through_the_authorizer_like_any_unknown_route(
    gateway: tuple[Client, Recorder, Recorder, list[dict[str, Any]]], method: str, path: str
) -> None:
    client, api, console, authorizer_calls = gateway

    response = client.open(path, method=method)

    assert (response.status_code, response.data) == (401, b"")
    assert len(authorizer_calls) == 1
    assert (api.events, console.events) == ([], [])


def test_the_real_console_function_behind_the_local_gateway() -> None:
    from console.handler import lambda_handler as console_handler

    client = Client(LocalApiGateway(authorizer=refuse, api=Recorder(), console=console_handler))
    page = client.get("/console")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-request-id"]
    script = client.get("/console/console.js")
    assert (script.status_code, script.headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    missing = client.get("/console/nothing.js")
    assert missing.status_code == 404
    assert missing.json == {"message": "Not Found", "request_id": missing.headers["x-request-id"]}
