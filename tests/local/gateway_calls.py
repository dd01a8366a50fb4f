"""What the local gateway's tests call it with: a recording Lambda handler, a bearer header, an
order, an authorizer that allows everything, and what an empty 401 is."""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.test import TestResponse

ORDER = {
    "orders": [
        {
            "identifier": "A 1/2",
            "items": [{"identifier": "1", "upc": "012345678905", "sku": "SKU-1", "quantity": 1}],
        }
    ]
}


class RecordingFunction:
    """A Lambda handler that records its events and answers with a fixed result."""

    def __init__(self, result: dict[str, Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.result = result or {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": "{}",
        }

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.contexts.append(context)
        return self.result


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_empty_401(response: TestResponse) -> None:
    assert response.status_code == 401
    assert response.data == b""
    assert "Content-Type" not in response.headers
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert uuid.UUID(response.headers["x-request-id"])


def allow_all(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "principalId": "acme",
        "policyDocument": {"Statement": [{"Action": "execute-api:*", "Effect": "Allow", "Resource": "*"}]},
        "context": {"client_id": "acme"},
    }
