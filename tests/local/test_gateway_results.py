"""The local API Gateway in-process: how Lambda results (and failures) of the authorizer and the
API function become HTTP responses, one invocation at a time per function."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import Client

from forward_orders_cli.server import LocalApiGateway, lambda_response
from tests.local.gateway_calls import RecordingFunction, allow_all, assert_empty_401

pytestmark = pytest.mark.usefixtures("keep_boto3_session")


def test_status_headers_multi_value_headers_and_a_base64_body_are_written_back() -> None:
    api_function = RecordingFunction(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "Set-Cookie": "b=2", "Content-Length": "999"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Many": ["x", "y"]},
            "body": base64.b64encode(b"\x00binary\xff").decode(),
            "isBase64Encoded": True,
        }
    )
    client = Client(LocalApiGateway(authorizer=allow_all, api=api_function))

    response = client.get("/forward_orders/1")

    assert response.status_code == 201
    assert response.data == b"\x00binary\xff"
    assert response.headers["X-One"] == "1"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers.getlist("X-Many") == ["x", "y"]
    assert response.headers["Content-Length"] == "8"
    assert "x-request-id" in response.headers


def test_head_answers_headers_without_a_body() -> None:
    client = Client(
        LocalApiGateway(authorizer=allow_all, api=RecordingFunction({"statusCode": 200, "body": "abc"}))
    )
    response = client.head("/forward_orders/1")
    assert response.status_code == 200
    assert response.data == b""


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"}],
            "User is not authorized to access this resource with an explicit deny",
        ),
        (
            [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": "arn:aws:execute-api:*:*:*/local/POST/*",
                }
            ],
            "User is not authorized to access this resource",
        ),
    ],
    ids=["explicit-deny", "not-allowed"],
)
def test_a_policy_that_does_not_allow_the_method_is_an_empty_401(
    policy: list[dict[str, str]], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    def authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"principalId": "acme", "policyDocument": {"Version": "2012-10-17", "Statement": policy}}

    api_function = RecordingFunction()
    caplog.set_level("INFO", logger="forward_orders_cli")
    response = Client(LocalApiGateway(authorizer=authorizer, api=api_function)).get("/forward_orders/1")
    # The stack's ACCESS_DENIED gateway response is the contract's 401, like a missing key.
    assert_empty_401(response)
    assert message in caplog.text
    assert api_function.events == []


def raises(error: Exception) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise error

    return handler


def test_an_authorizer_failure_other_than_unauthorized_is_502_with_retry_after() -> None:
    client = Client(LocalApiGateway(authorizer=raises(RuntimeError("boom")), api=RecordingFunction()))
    response = client.get("/forward_orders/1")
    assert response.status_code == 502
    assert response.json == {"message": "Bad Gateway", "request_id": response.headers["x-request-id"]}
    assert response.headers["Retry-After"] == "1"


def test_an_authorizer_result_without_a_policy_is_500() -> None:
    def authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"principalId": "acme", "context": {"client_id": "acme"}}

    response = Client(LocalApiGateway(authorizer=authorizer, api=RecordingFunction())).get(
        "/forward_orders/1"
    )
    assert response.status_code == 500
    assert response.json is not None and response.json["message"] == "Internal Server Error"


@pytest.mark.parametrize(
    "api_function",
    [raises(RuntimeError("boom")), RecordingFunction({"body": "no status"})],
    ids=["raises", "no-status-code"],
)
def test_a_failing_api_function_is_502(api_function: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
    response = Client(LocalApiGateway(authorizer=allow_all, api=api_function)).get("/forward_orders/1")
    assert response.status_code == 502
    assert response.json is not None and response.json["message"] == "Internal server error"


def test_lambda_response_accepts_a_numeric_string_status_and_a_missing_body() -> None:
    response = lambda_response({"statusCode": "204"})
    assert (response.status, response.body) == (204, b"")


def test_each_function_runs_one_invocation_at_a_time_like_a_lambda_environment() -> None:
    """The handlers keep per-invocation state in module globals; overlapping calls would mix it."""
    running, overlaps = 0, 0
    lock = threading.Lock()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        nonlocal running, overlaps
        with lock:
            running += 1
            overlaps += running > 1
        time.sleep(0.02)
        with lock:
            running -= 1
        return {"statusCode": 200, "body": ""}

    gateway = LocalApiGateway(authorizer=allow_all, api=slow)
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(Client(gateway).get("/forward_orders/1").status_code))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert overlaps == 0
