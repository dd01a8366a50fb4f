"""The returns desk console as HTTP responses: the page, its two assets, and the headers they carry.

The files are the project's own (``static/``: plain HTML, CSS and JavaScript, no build step), read
once per cold start. Every response carries the same strict Content-Security-Policy (scripts and
styles only from this origin, no inline code, no DOM sink that parses HTML: Trusted Types with no
policy), ``nosniff``, ``no-referrer`` and a frame ban. The page holds no data: the tracking lookups
it makes go to the API, behind the authorizer, with the operator's key. See docs/console.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

from common.console_resources import CONSOLE_ASSET_RESOURCE, CONSOLE_PAGE_RESOURCE

STATIC_DIR = Path(__file__).with_name("static")
PAGE = "index.html"
# The assets by the name the page asks for them by (console/<name>), and their content types.
CONTENT_TYPES = {
    PAGE: "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        # innerHTML and every other sink that parses a string as HTML or script throws.
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# The files change only with a deployment: a browser may keep them but asks each time whether they
# changed (ETag), so a new deployment is picked up at the next load and an unchanged one costs a 304.
CACHE_CONTROL = "no-cache"
JSON = "application/json"


@dataclass(frozen=True)
class Asset:
    name: str
    content_type: str
    body: str
    etag: str


@dataclass(frozen=True)
class Reply:
    status: HTTPStatus
    headers: dict[str, str]
    body: str


def load_assets(directory: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every file the console serves, by name; a missing one fails the cold start, not a request."""
    assets = {}
    for name, content_type in CONTENT_TYPES.items():
        data = (directory / name).read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        assets[name] = Asset(name, content_type, data.decode("utf-8"), etag)
    return assets


def respond(
    assets: Mapping[str, Asset],
    *,
    method: str,
    resource: str,
    asset_name: str | None,
    if_none_match: str | None,
    request_id: str,
) -> Reply:
    """The answer to one request the stage routed to the console."""
    asset = _asset_for(assets, method, resource, asset_name)
    if asset is None:
        return error_reply(HTTPStatus.NOT_FOUND, "Not Found", request_id)
    headers = {
        **SECURITY_HEADERS,
        "Content-Type": asset.content_type,
        "Cache-Control": CACHE_CONTROL,
        "ETag": asset.etag,
    }
    if if_none_match is not None and _matches(asset.etag, if_none_match):
        return Reply(HTTPStatus.NOT_MODIFIED, headers, "")
    return Reply(HTTPStatus.OK, headers, asset.body)


def error_reply(status: HTTPStatus, message: str, request_id: str) -> Reply:
    """An error in the API's shape: JSON with the message and the request id."""
    headers = {**SECURITY_HEADERS, "Content-Type": JSON, "Cache-Control": "no-store"}
    return Reply(status, headers, json.dumps({"message": message, "request_id": request_id}))


def _asset_for(
    assets: Mapping[str, Asset], method: str, resource: str, asset_name: str | None
) -> Asset | None:
    if method.upper() != "GET":
        return None
    if resource == CONSOLE_PAGE_RESOURCE:
        return assets.get(PAGE)
    if resource == CONSOLE_ASSET_RESOURCE and asset_name != PAGE:
        # Only the named files: never a path, never the page under a second name.
        return assets.get(asset_name or "")
    return None


def _matches(etag: str, if_none_match: str) -> bool:
    """RFC 9110's weak comparison, as If-None-Match uses it."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags
