"""Lambda entry point of the returns desk console: GET /console and its assets, no credential.

The function reads no table and calls no AWS service; its role can only write its own logs and
traces. Standard library only, so it needs no dependency layer. See docs/console.md.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from console.site import error_reply, load_assets, respond

REQUEST_ID_HEADER = "x-request-id"

logger = logging.getLogger(__name__)
ASSETS = load_assets()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_id = str((event.get("requestContext") or {}).get("requestId") or "")
    try:
        reply = respond(
            ASSETS,
            method=str(event.get("httpMethod") or ""),
            resource=str(event.get("resource") or ""),
            asset_name=(event.get("pathParameters") or {}).get("asset"),
            if_none_match=_header(event, "If-None-Match"),
            request_id=request_id,
        )
    except Exception as error:  # a bug: the contract's 500, never a stack trace
        logger.error("unhandled error", extra={"error_type": type(error).__name__})
        reply = error_reply(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error", request_id)
    return {
        "statusCode": reply.status.value,
        "headers": {**reply.headers, REQUEST_ID_HEADER: request_id},
        "body": reply.body,
        "isBase64Encoded": False,
    }


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower() and isinstance(value, str):
            return value
    return None
