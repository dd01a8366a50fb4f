"""Shared by the in-process tests of the dev commands (``forward-orders keys``, ``serve``): running
them, keeping them away from the developer's own local server, and the local gateway with its keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from werkzeug.test import Client

from common.api_keys import ApiKeyStore
from forward_orders_cli.local_state import STATE_FILE_ENV
from forward_orders_cli.main import main
from forward_orders_cli.server import LocalApiGateway
from tests.api_calls import API_KEYS_TABLE_NAME, REGION
from tests.local.gateway_calls import RecordingFunction


@pytest.fixture
def keep_boto3_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed only: moto's mock otherwise rebuilds boto3's default session (and reloads botocore's
    models) for every test; the fake credentials and region are the same in every test."""
    from moto.core.config import default_user_config

    monkeypatch.setitem(default_user_config["core"], "reset_boto3_session", False)


@dataclass
class Run:
    status: int
    out: str
    err: str


@pytest.fixture
def own_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never the developer's own state file (a `make run` may be going on in this checkout)."""
    path = tmp_path / "state" / "local.json"
    monkeypatch.setenv(STATE_FILE_ENV, str(path))
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``forward-orders`` dev commands in-process: their exit status, stdout and stderr."""

    def run(*argv: str) -> Run:
        try:
            status = main(list(argv))
        except SystemExit as exit_:  # argparse's usage errors
            status = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    return run


# -- the local gateway in-process ------------------------------------------------------------------

# The functions are imported inside these fixtures and the tests, never at collection: their
# Powertools objects read the environment when they are created, and tests/conftest.py sets it per
# test.


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
