"""The local API Gateway in-process: the route table, the events it builds (encoded path, decoded
path parameters, base64 body, headers, authorizer context), 401/403/404/413. HTTP goes through
werkzeug's test client; DynamoDB is moto's mock."""

from __future__ import annotations

import base64
import uuid

import boto3
import pytest
from werkzeug.test import Client

from common.api_keys import ApiKeyStore
from common.api_routes import API_FUNCTION, CATCH_ALL_RESOURCE, match_request, served_by
from forward_orders_cli.lambda_events import Stage
from forward_orders_cli.server import GatewayConfig, LocalApiGateway
from tests.api_calls import API_KEYS_TABLE_NAME, REGION
from tests.local.gateway_calls import ORDER, RecordingFunction, assert_empty_401, bearer

pytestmark = pytest.mark.usefixtures("keep_boto3_session")

# A GET publishes no metrics; the handler silences that warning at import, pytest restores filters.


# -- the route table --------------------------------------------------------------------------------


def test_the_route_table_is_exactly_what_the_api_function_implements() -> None:
    from forward_orders.handler import app as api_resolver

    implemented = {
        (route.method, route.path) for route in api_resolver._static_routes + api_resolver._dynamic_routes
    }
    declared = {
        (route.method, route.resource.replace("{", "<").replace("}", ">"))
        for route in served_by(API_FUNCTION)
    }
    assert implemented == declared


@pytest.mark.parametrize(
    ("method", "path", "resource", "parameters", "routed"),
    [
        ("POST", "/forward_orders", "/forward_orders", None, True),
        ("GET", "/forward_orders/123", "/forward_orders/{identifier}", {"identifier": "123"}, True),
        ("get", "/forward_orders/a%20b%2Fc", "/forward_orders/{identifier}", {"identifier": "a b/c"}, True),
        ("GET", "/forward_orders", "/forward_orders", None, False),
        ("DELETE", "/forward_orders/1", "/forward_orders/{identifier}", {"identifier": "1"}, False),
        ("GET", "/forward_orders/", CATCH_ALL_RESOURCE, {"proxy": "forward_orders/"}, False),
        ("GET", "/forward_orders/1/items", CATCH_ALL_RESOURCE, {"proxy": "forward_orders/1/items"}, False),
        ("GET", "/orders%20x", CATCH_ALL_RESOURCE, {"proxy": "orders x"}, False),
        ("GET", "/", "/", None, False),
    ],
)
def test_requests_are_matched_to_the_resource_api_gateway_would_pick(
    method: str, path: str, resource: str, parameters: dict[str, str] | None, routed: bool
) -> None:
    match = match_request(method, path)
    assert (match.resource, match.path_parameters, match.route is not None) == (resource, parameters, routed)


# -- the proxy event --------------------------------------------------------------------------------


def test_a_get_becomes_the_rest_proxy_event_with_the_path_encoded_and_parameters_decoded(
    recording_client: Client, recorder: RecordingFunction, keys: dict[str, str]
) -> None:
    response = recording_client.get(
        "/forward_orders/a%20b%2Fc?x=1&x=2&y=%C3%A9",
        headers={**bearer(keys["acme"]), "X-Custom": "yes"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )

    assert response.status_code == 200
    (event,) = recorder.events
    assert event["resource"] == "/forward_orders/{identifier}"
    assert event["path"] == "/forward_orders/a%20b%2Fc"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"identifier": "a b/c"}
    assert event["queryStringParameters"] == {"x": "2", "y": "é"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["é"]}
    assert event["headers"]["X-Custom"] == "yes"
    assert event["headers"]["Authorization"] == f"Bearer {keys['acme']}"
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert event["headers"]["X-Forwarded-For"] == "192.0.2.7"
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/forward_orders/{identifier}"
    assert context["httpMethod"] == "GET"
    assert context["stage"] == "local"
    assert context["path"] == "/local/forward_orders/a%20b%2Fc"
    assert context["identity"]["sourceIp"] == "192.0.2.7"
    assert uuid.UUID(context["requestId"])
    assert response.headers["x-request-id"] == context["requestId"]
    assert context["authorizer"]["principalId"] == "acme"
    assert context["authorizer"]["client_id"] == "acme"
    assert recorder.contexts[0].get_remaining_time_in_millis() > 0


def test_a_raw_non_ascii_path_is_percent_encoded_in_the_event(
    recording_client: Client, recorder: RecordingFunction, keys: dict[str, str]
) -> None:
    recording_client.get(
        "/forward_orders/x",
        headers=bearer(keys["acme"]),
        # What the server puts in the environ when a client sends raw UTF-8 bytes: latin-1 text.
        environ_overrides={"RAW_URI": "/forward_orders/é".encode().decode("latin-1")},
    )
    (event,) = recorder.events
    assert event["path"] == "/forward_orders/%C3%A9"
    assert event["pathParameters"] == {"identifier": "é"}


def test_a_post_body_reaches_the_function_base64_encoded_byte_for_byte(
    recording_client: Client, recorder: RecordingFunction, keys: dict[str, str]
) -> None:
    body = b'{"orders": []}\xff\x00'
    recording_client.post(
        "/forward_orders", data=body, headers={**bearer(keys["acme"]), "Content-Type": "application/json"}
    )
    (event,) = recorder.events
    assert event["resource"] == "/forward_orders"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    assert event["headers"]["Content-Type"] == "application/json"


def test_the_authorizer_gets_a_request_authorizer_event_without_the_body(keys: dict[str, str]) -> None:
    authorizer = RecordingFunction(
        {
            "principalId": "acme",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:*"}],
            },
            "context": {"client_id": "acme", "tier": 2, "beta": True},
        }
    )
    api_function = RecordingFunction()
    client = Client(
        LocalApiGateway(
            authorizer=authorizer, api=api_function, config=GatewayConfig(stage=Stage(api_id="api1"))
        )
    )

    client.post("/forward_orders?dry=1", data=b"{}", headers={"x-api-key": "k"})

    (event,) = authorizer.events
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:api1/local/POST/forward_orders"
    assert event["resource"] == "/forward_orders"
    assert event["path"] == "/forward_orders"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["X-Api-Key"] == "k"
    assert event["queryStringParameters"] == {"dry": "1"}
    assert "body" not in event
    assert "authorizer" not in event["requestContext"]
    # API Gateway flattens the context next to principalId, every value a string.
    passed = api_function.events[0]["requestContext"]["authorizer"]
    assert {k: passed[k] for k in ("principalId", "client_id", "tier", "beta")} == {
        "principalId": "acme",
        "client_id": "acme",
        "tier": "2",
        "beta": "true",
    }


# -- credentials -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer fo_not-a-key"},
        {"x-api-key": "fo_not-a-key"},
        {"Authorization": "Basic YWNtZTpzZWNyZXQ="},
        {"Authorization": "Bearer "},
    ],
    ids=["no-key", "unknown-bearer", "unknown-x-api-key", "basic-scheme", "empty-bearer"],
)
def test_without_a_valid_key_the_answer_is_401_with_an_empty_body(
    recording_client: Client, recorder: RecordingFunction, headers: dict[str, str]
) -> None:
    assert_empty_401(recording_client.post("/forward_orders", json=ORDER, headers=headers))
    assert_empty_401(recording_client.get("/forward_orders/1", headers=headers))
    assert recorder.events == []


def test_a_revoked_key_is_401(
    recording_client: Client, recorder: RecordingFunction, keys: dict[str, str]
) -> None:
    store = ApiKeyStore(boto3.client("dynamodb", region_name=REGION), API_KEYS_TABLE_NAME)
    (record,) = store.list("acme")
    store.revoke(record.key_id)
    assert_empty_401(recording_client.get("/forward_orders/1", headers=bearer(keys["acme"])))
    assert recorder.events == []


@pytest.mark.parametrize("scheme", ["bearer", "x-api-key"])
def test_bearer_and_x_api_key_both_work_end_to_end(api: Client, keys: dict[str, str], scheme: str) -> None:
    headers = bearer(keys["acme"]) if scheme == "bearer" else {"x-api-key": keys["acme"]}

    posted = api.post("/forward_orders", json=ORDER, headers=headers)
    read = api.get("/forward_orders/A%201%2F2", headers=headers)

    assert posted.status_code == 200, posted.text
    assert posted.json is not None and posted.json["message"] == "Success"
    assert posted.headers["Content-Type"] == "application/json"
    assert read.status_code == 200, read.text
    assert read.json is not None
    assert read.json["identifier"] == "A 1/2"
    assert [item["sku"] for item in read.json["items"]] == ["SKU-1"]
    assert read.headers["x-request-id"] != posted.headers["x-request-id"]


def test_another_client_reads_404_not_the_order(api: Client, keys: dict[str, str]) -> None:
    api.post("/forward_orders", json=ORDER, headers=bearer(keys["acme"]))
    response = api.get("/forward_orders/A%201%2F2", headers=bearer(keys["globex"]))
    assert response.status_code == 404
    assert response.json == {"message": "Not Found", "request_id": response.headers["x-request-id"]}


# -- unknown routes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/"),
        ("GET", "/forward_orders"),
        ("PUT", "/forward_orders/1"),
        ("GET", "/forward_orders/1/x"),
    ],
)
def test_unknown_routes_are_401_without_a_key_and_404_with_one(
    api: Client, keys: dict[str, str], method: str, path: str
) -> None:
    assert_empty_401(api.open(path, method=method))
    response = api.open(path, method=method, headers=bearer(keys["acme"]))
    assert response.status_code == 404
    assert response.json == {"message": "Not Found", "request_id": response.headers["x-request-id"]}


def test_an_unknown_path_reaches_the_function_through_the_catch_all_resource(
    recording_client: Client, recorder: RecordingFunction, keys: dict[str, str]
) -> None:
    recording_client.get("/v2/orders", headers=bearer(keys["acme"]))
    (event,) = recorder.events
    assert (event["resource"], event["path"], event["pathParameters"]) == (
        CATCH_ALL_RESOURCE,
        "/v2/orders",
        {"proxy": "v2/orders"},
    )


# -- sizes -----------------------------------------------------------------------------------------


def test_a_body_over_the_functions_limit_reaches_it_and_it_answers_413(
    api: Client, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "100")
    response = api.post("/forward_orders", data=b"x" * 101, headers=bearer(keys["acme"]))
    assert response.status_code == 413
    assert response.json is not None and response.json["message"] == "Payload Too Large"


def test_a_body_over_api_gateways_quota_is_413_before_the_authorizer(keys: dict[str, str]) -> None:
    authorizer, api_function = RecordingFunction(), RecordingFunction()
    client = Client(
        LocalApiGateway(authorizer=authorizer, api=api_function, config=GatewayConfig(max_body_bytes=1000))
    )

    response = client.post("/forward_orders", data=b"x" * 1001, headers=bearer(keys["acme"]))

    assert response.status_code == 413
    assert response.json == {"message": "Payload Too Large", "request_id": response.headers["x-request-id"]}
    assert authorizer.events == [] and api_function.events == []
    assert client.post("/forward_orders", data=b"x" * 1000).status_code != 413
