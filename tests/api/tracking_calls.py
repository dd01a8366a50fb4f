"""Calling GET /tracking/{tracking_number} in-process, with a client key's or an operations key's
authorizer context, and reading what it answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api_calls import (
    ApiResponse,
    api_event,
    call_api,
    post_orders,
)

CLIENT = {"kind": "client"}
OPERATIONS = {"kind": "operations", "key_name": "warehouse"}
SERVER_FIELDS = {"first_received_at", "last_received_at"}


def context_of(client_id: str | None) -> dict[str, str]:
    """The authorizer context of a client key (``client_id``) or of an operations key (None)."""
    if client_id is None:
        return {"principalId": "operations:warehouse", **OPERATIONS}
    return {"principalId": client_id, **CLIENT, "client_id": client_id}


def track(
    number: str, client_id: str | None = "acme", *, encoded: str | None = None, decoded: bool = True
) -> ApiResponse:
    """GET /tracking/<number> as API Gateway sends it: the path encoded, the parameter decoded
    (``decoded`` False: no path parameters at all, only the encoded path)."""
    event = api_event(
        "GET",
        f"/tracking/{encoded if encoded is not None else quote(number, safe='')}",
        resource="/tracking/{tracking_number}",
        path_parameters={"tracking_number": number} if decoded else None,
    )
    event["requestContext"]["authorizer"] = context_of(client_id)
    return call_api(event)


def post(body: dict[str, Any], client_id: str = "acme") -> None:
    response = post_orders(body, client_id=client_id)
    assert response.status == 200, response.body


def matches(response: ApiResponse) -> list[dict[str, Any]]:
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"tracking_number", "matches", "truncated"}
    result: list[dict[str, Any]] = body["matches"]
    return result


def summary(response: ApiResponse) -> list[tuple[Any, ...]]:
    """(client, order, item, matched) of each match; client is None when not labelled."""
    return [
        (m.get("client_id"), m["order_identifier"], m["item"]["identifier"], m["matched"])
        for m in matches(response)
    ]


def assert_not_found(response: ApiResponse) -> None:
    assert response.status == 404, response.body
    assert response.json() == {"message": "Not Found", "request_id": response.headers["x-request-id"]}
