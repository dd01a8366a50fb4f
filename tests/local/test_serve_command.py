"""``forward-orders serve`` in-process: its options, the keys it registers or issues, its banner,
and the real functions it wires."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.test import Client

from common.api_keys import ApiKeyStore
from common.api_routes import ApiRoute
from forward_orders_cli import serve as serve_command
from forward_orders_cli.errors import CliError
from forward_orders_cli.main import main
from forward_orders_cli.server import LocalApiGateway
from tests.api_calls import API_KEYS_TABLE_NAME, REGION
from tests.local.gateway_calls import ORDER, RecordingFunction, allow_all, assert_empty_401, bearer

pytestmark = pytest.mark.usefixtures("keep_boto3_session")


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
