"""Shared fixtures: a Lambda-like environment that cannot reach AWS, and moto's DynamoDB with the
tables built from the stack's key schemas. Calling the functions: tests/api_calls.py."""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from common.tables import API_KEYS_TABLE, ORDERS_TABLE
from tests.api_calls import API_KEYS_TABLE_NAME, ORDERS_TABLE_NAME, REGION

# Fake credentials, so nothing can ever reach a real AWS account, and the variables the functions
# need: each handler validates its settings as it loads, which for some test modules is collection.
TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "ORDERS_TABLE_NAME": ORDERS_TABLE_NAME,
    "API_KEYS_TABLE_NAME": API_KEYS_TABLE_NAME,
    "EVENT_BUS_NAME": "test-order-events",
    "POWERTOOLS_SERVICE_NAME": "forward-orders",
    "POWERTOOLS_METRICS_NAMESPACE": "ForwardOrdersTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
os.environ.update(TEST_ENVIRONMENT)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from ``TEST_ENVIRONMENT``, whatever an earlier test changed."""
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    _reset_process_caches()
    yield
    _reset_process_caches()


def _reset_process_caches() -> None:
    """Settings and clients are built once per process in Lambda; tests rebuild them per test."""
    from authorizer import handler as authorizer_handler
    from authorizer import settings as authorizer_settings
    from forward_orders import handler as api_handler
    from forward_orders import settings as api_settings

    api_settings.get_settings.cache_clear()
    authorizer_settings.get_settings.cache_clear()
    api_handler.orders_table.cache_clear()
    authorizer_handler.key_store.cache_clear()


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's in-process DynamoDB with both tables created from their schema definitions.

    Each call is made atomic, as DynamoDB's are: moto's backend is not thread-safe (two threads
    updating one item can fail with "dictionary changed size during iteration"), and the storage
    module calls it from a thread pool. The callers stay concurrent; only moto's work is serialized
    (tests/reliability/atomic_moto.py does the same for the moto server)."""
    monkeypatch.setattr(BotocoreStubber, "process_request", _atomic(BotocoreStubber.process_request))
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**ORDERS_TABLE.create_table_request(ORDERS_TABLE_NAME))
        client.create_table(**API_KEYS_TABLE.create_table_request(API_KEYS_TABLE_NAME))
        yield client


def _atomic(process_request: Callable[..., Any]) -> Callable[..., Any]:
    lock = threading.Lock()

    def atomic(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return process_request(self, request)

    return atomic


@pytest.fixture
def logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[], str]:
    """Everything the functions write during the test: their Powertools JSON logs, every Python
    log record (with formatted tracebacks, as Lambda's root handler would write them) and
    stdout/stderr. Call the result for the text so far."""
    from authorizer import handler as authorizer_handler
    from forward_orders import handler as api_handler

    stream = io.StringIO()
    for handler in (authorizer_handler, api_handler):
        monkeypatch.setattr(handler.logger.registered_handler, "stream", stream)
    caplog.set_level(logging.INFO)

    def text() -> str:
        captured = capsys.readouterr()
        return "\n".join([stream.getvalue(), caplog.text, captured.out, captured.err])

    return text
