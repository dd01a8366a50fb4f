"""The SAM run's shared pieces (tests/sam/harness.py): images, the synthesized template, moto with the
tables, bus and queue the functions use, the invoke image, and one POST whose writes the events
test then publishes. Every invocation's wall time is printed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from infra.api import API_HANDLER, AUTHORIZER_HANDLER, CONSOLE_HANDLER
from infra.events import HANDLER as ORDER_EVENTS_HANDLER

from common.api_keys import ApiKeyStore
from common.tables import API_KEYS_TABLE, ORDERS_TABLE
from order_events.changes import STREAM_VIEW_TYPE
from tests.api_calls import api_event
from tests.sam.harness import (
    Invocation,
    LocalAws,
    Sam,
    SynthesizedTemplate,
    invoke_image,
    sam_executable,
)
from tests.sam.images import build_lambda_image, build_python_image

ORDERS_TABLE_NAME = "sam-orders"
API_KEYS_TABLE_NAME = "sam-api-keys"
EVENT_BUS_NAME = "sam-order-events"
EVENTS_QUEUE_NAME = "sam-order-events-recorder"
EVENT_SOURCE = "forward-orders"  # the stack's serviceName (cdk.json), the events' source
CLIENT_ID = "acme"

# A v1-shaped batch as a retailer's system sends it: an integer identifier longer than 64 bits, a UPC
# as a number, a quantity as a digit string, labels, and a tracking number the lookup finds.
ORDER_IDENTIFIER = "12345678901234567890"
TRACKING_NUMBER = "1Z999AA10123456784"
V1_BATCH_TEXT = (
    '{"orders": [{"identifier": 12345678901234567890, "concept": "outlet", "postal_code": "02134", '
    '"created_at": "2026-11-30T09:15:00Z", "items": ['
    '{"identifier": "1", "upc": 12345678905, "sku": "SKU-1", "quantity": "2", '
    '"tracking_number": "1Z999AA10123456784", "shipped_date": "2026-11-30", '
    '"labels": [{"type": "barcode", "name": "RMA", "value": "RMA-77"}]}, '
    '{"identifier": "2", "upc": "036000291452", "sku": "SKU-2", "quantity": 1}]}]}'
)

_timings: list[tuple[str, float]] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _timings:
        terminalreporter.section("sam local invoke: wall time per invocation")
        for label, seconds in _timings:
            terminalreporter.write_line(f"{seconds:7.1f} s  {label}")


@pytest.fixture(scope="session")
def template() -> SynthesizedTemplate:
    return SynthesizedTemplate.load()


@pytest.fixture(scope="session")
def function_ids(template: SynthesizedTemplate) -> dict[str, str]:
    return {
        "api": template.function_id(API_HANDLER),
        "authorizer": template.function_id(AUTHORIZER_HANDLER),
        "events": template.function_id(ORDER_EVENTS_HANDLER),
        "console": template.function_id(CONSOLE_HANDLER),
    }


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    build_python_image()  # moto runs in it; cached after the first run
    with LocalAws.running() as aws:
        dynamodb = aws.client("dynamodb")
        orders = ORDERS_TABLE.create_table_request(ORDERS_TABLE_NAME)
        # The stream as the stack configures it (infra/storage.py), read by the events test.
        orders["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE}
        dynamodb.create_table(**orders)
        dynamodb.create_table(**API_KEYS_TABLE.create_table_request(API_KEYS_TABLE_NAME))
        # EventBridge: the bus, and a rule that copies every event of the service into a queue the
        # test reads.
        events, sqs = aws.client("events"), aws.client("sqs")
        events.create_event_bus(Name=EVENT_BUS_NAME)
        queue_url = sqs.create_queue(QueueName=EVENTS_QUEUE_NAME)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="record-everything",
            EventBusName=EVENT_BUS_NAME,
            EventPattern=f'{{"source": ["{EVENT_SOURCE}"]}}',
        )
        events.put_targets(
            Rule="record-everything", EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )
        yield aws


@pytest.fixture(scope="session")
def sam(template: SynthesizedTemplate, function_ids: dict[str, str], local_aws: LocalAws) -> Sam:
    image = invoke_image(build_lambda_image(), template, list(function_ids.values()))
    return Sam(
        executable=sam_executable(),
        template=template.for_sam(),
        image=image,
        aws=local_aws,
        environment={
            # Only what the template sets from other resources (CloudFormation references); every
            # other variable is the template's own value.
            function_ids["api"]: {"ORDERS_TABLE_NAME": ORDERS_TABLE_NAME},
            function_ids["authorizer"]: {"API_KEYS_TABLE_NAME": API_KEYS_TABLE_NAME},
            function_ids["events"]: {"EVENT_BUS_NAME": EVENT_BUS_NAME},
        },
        timings=_timings,
    )


@pytest.fixture(scope="session")
def client_key(local_aws: LocalAws) -> str:
    key, _ = ApiKeyStore(local_aws.client("dynamodb"), API_KEYS_TABLE_NAME).create(CLIENT_ID)
    return key


def invoke_api(sam: Sam, function_ids: dict[str, str], event: dict[str, Any], label: str) -> Invocation:
    return sam.invoke(function_ids["api"], event, label=f"api: {label}")


@pytest.fixture(scope="session")
def posted_order(sam: Sam, function_ids: dict[str, str]) -> Invocation:
    """The v1 batch POSTed once through the API function; later tests read what it wrote."""
    # base64, as API Gateway sends every body to this API (`*/*` is a binary media type).
    event = api_event(
        "POST", "/forward_orders", raw_body=V1_BATCH_TEXT, base64_body=True, client_id=CLIENT_ID
    )
    return invoke_api(sam, function_ids, event, "POST /forward_orders")
