"""Fixtures of the order events tests: the function's environment, the stream, a consumer, and
the events client the function uses (tests/api/order_events/streams.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from order_events import handler
from order_events.settings import get_settings
from tests.api.order_events.streams import (
    BUS_NAME,
    SOURCE,
    Consumer,
    FlakyEventBridge,
    StreamRecorder,
)
from tests.api_calls import REGION


@pytest.fixture(autouse=True)
def events_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EVENT_BUS_NAME", BUS_NAME)
    monkeypatch.setenv("EVENT_SOURCE", SOURCE)
    get_settings.cache_clear()
    handler.event_bus.cache_clear()
    yield
    get_settings.cache_clear()
    handler.event_bus.cache_clear()


@pytest.fixture
def stream(dynamodb: Any) -> StreamRecorder:
    return StreamRecorder(dynamodb)


@pytest.fixture
def consumer(dynamodb: Any) -> Consumer:
    """Call with moto active (inside the ``dynamodb`` fixture)."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=BUS_NAME)
    queue_url = sqs.create_queue(QueueName="order-events-consumer")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all-order-events", EventBusName=BUS_NAME, EventPattern=json.dumps({"source": [SOURCE]})
    )
    events.put_targets(
        Rule="all-order-events", EventBusName=BUS_NAME, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    return Consumer(sqs, queue_url)


@pytest.fixture
def eventbridge(consumer: Consumer, monkeypatch: pytest.MonkeyPatch) -> FlakyEventBridge:
    """The client the function uses from now on (refuses nothing until told to)."""
    flaky = FlakyEventBridge(boto3.client("events", region_name=REGION))
    monkeypatch.setattr(handler, "events_client", lambda: flaky)
    return flaky
