"""The local API Gateway in-process: the route table, the events it builds (encoded path, decoded
path parameters, base64 body, headers, authorizer context), 401/403/404/413 and how Lambda results
become HTTP responses. HTTP goes through werkzeug's test client; DynamoDB is moto's mock."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from werkzeug.test import Client, TestResponse

from common.api_keys import ApiKeyStore
from common.api_routes import API_FUNCTION, CATCH_ALL_RESOURCE, ApiRoute, match_request, served_by
from forward_orders_cli import serve as serve_command
from forward_orders_cli.errors import CliError
from forward_orders_cli.lambda_events import Stage
from forward_orders_cli.main import main
from forward_orders_cli.server import GatewayConfig, LocalApiGateway, lambda_response
from tests.api_calls import API_KEYS_TABLE_NAME, REGION

# A GET publishes no metrics; the handler silences that warning at import, pytest restores filters.

# The functions are imported inside fixtures and tests, never at collection: their Powertools objects
# read the environment when they are created, and conftest sets it per test.

ORDER = {
    "orders": [
        {
            "identifier": "A 1/2",
            "items": [{"identifier": "1", "upc": "012345678905", "sku": "SKU-1", "quantity": 1}],
        }
    ]
}


@pytest.fixture(autouse=True)
def keep_boto3_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed only: moto's mock otherwise rebuilds boto3's default session (and reloads botocore's
    models) for every test; the fake credentials and region are the same in every test."""
    from moto.core.config import default_user_config

    monkeypatch.setitem(default_user_config["core"], "reset_boto3_session", False)


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


@pytest.fixture
def keys(dynamodb: Any) -> dict[str, str]:
    store = ApiKeyStore(boto3.client("dynamodb", region_name=REGION), API_KEYS_TABLE_NAME)
    return {client: store.create(client)[0] for client in ("acme", "globex")}


@pytest.fixture
def recorder() -> RecordingFunction:
    return RecordingFunction()


@pytest.fixture
def recording_client(keys: dict[str, str], recorder: RecordingFunction) -> Client:
    """The real authorizer in front of a recording API function."""
    from authorizer.handler import lambda_handler as authorizer_handler

    return Client(LocalApiGateway(authorizer=authorizer_handler, api=recorder))


@pytest.fixture
def api(keys: dict[str, str]) -> Client:
    """The real authorizer and API function, as ``forward-orders serve`` wires them."""
    from authorizer.handler import lambda_handler as authorizer_handler
    from forward_orders.handler import lambda_handler as api_handler

    return Client(LocalApiGateway(authorizer=authorizer_handler, api=api_handler))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


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


def assert_empty_401(response: TestResponse) -> None:
    assert response.status_code == 401
    assert response.data == b""
    assert "Content-Type" not in response.headers
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert uuid.UUID(response.headers["x-request-id"])


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


# -- what the functions return ---------------------------------------------------------------------


def allow_all(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "principalId": "acme",
        "policyDocument": {"Statement": [{"Action": "execute-api:*", "Effect": "Allow", "Resource": "*"}]},
        "context": {"client_id": "acme"},
    }


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


# -- serve's own pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--client", "acme"],
        ["--client", "=KEY"],
        ["--client", "acme="],
        ["--client", "bad name=KEY"],
        ["--client", "#x=KEY"],
        ["--port", "70000"],
        ["--port=-1"],
        ["--port", "http"],
    ],
)
def test_serve_rejects_malformed_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", *argv])
    assert exit_info.value.code == 2
    assert f"argument {argv[0].split('=')[0]}:" in capsys.readouterr().err


def test_serve_registers_given_keys_once_and_refuses_a_key_of_another_client(dynamodb: Any) -> None:
    store = ApiKeyStore(dynamodb, API_KEYS_TABLE_NAME)
    first = serve_command.register_clients(store, [("acme", "KEY1"), ("globex", "KEY2")])
    again = serve_command.register_clients(store, [("acme", "KEY1")])

    assert [(c.client_id, c.key) for c in first] == [("acme", "KEY1"), ("globex", "KEY2")]
    assert again[0].key_id == first[0].key_id
    assert len(store.list()) == 2
    with pytest.raises(CliError, match="already registered to another client"):
        serve_command.register_clients(store, [("initech", "KEY1")])


def test_serve_issues_a_key_for_the_local_client_when_none_is_given(dynamodb: Any) -> None:
    store = ApiKeyStore(dynamodb, API_KEYS_TABLE_NAME)
    (client,) = serve_command.register_clients(store, [])
    assert client.client_id == "local"
    assert store.find_active(client.key) is not None


def test_the_banner_has_the_url_a_working_key_and_curl_examples() -> None:
    environment = serve_command.LocalEnvironment("us-east-1", "orders", "keys")
    clients = [serve_command.RegisteredClient("acme", "fo_abc", "0123456789ab")]
    text = serve_command.banner("http://127.0.0.1:3000", "http://127.0.0.1:5000", True, environment, clients)
    assert "http://127.0.0.1:3000" in text
    assert "fo_abc" in text
    assert "curl -i -X POST http://127.0.0.1:3000/forward_orders" in text
    assert "console   http://127.0.0.1:3000/console  " in text
    assert "curl -i http://127.0.0.1:3000/forward_orders/1001 -H 'Authorization: Bearer fo_abc'" in text
    example = text.split("-d '", 1)[1].split("'", 1)[0]
    assert json.loads(example)["orders"][0]["identifier"] == "1001"


def test_a_bug_in_the_gateway_itself_is_a_json_500_not_an_html_page() -> None:
    class BrokenRoute(ApiRoute):
        def match(self, path: str) -> dict[str, str] | None:
            raise RuntimeError("bug")

    gateway = LocalApiGateway(
        authorizer=allow_all,
        api=RecordingFunction(),
        routes=(BrokenRoute("GET", "/x", "broken", "broken", dict, ()),),
    )
    response = Client(gateway).get("/x")
    assert response.status_code == 500
    assert response.json == {
        "message": "Internal Server Error",
        "request_id": response.headers["x-request-id"],
    }


def test_serve_wires_the_real_authorizer_and_api_function(keys: dict[str, str]) -> None:
    client = Client(serve_command.build_gateway(REGION))
    assert client.post("/forward_orders", json=ORDER, headers=bearer(keys["acme"])).status_code == 200
    assert client.get("/forward_orders/A%201%2F2", headers=bearer(keys["acme"])).status_code == 200
    assert_empty_401(client.get("/forward_orders/A%201%2F2"))


def test_serve_refuses_to_start_with_an_invalid_api_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "lots")
    with pytest.raises(CliError, match="invalid API configuration in the environment"):
        serve_command.build_gateway(REGION)
