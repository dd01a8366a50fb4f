"""The order events part of the stack (infra/events.py): the table's stream, the bus, the function
and its event source mapping, the dead-letter queue, least privilege, alarms and nag findings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from infra.events import (
    BATCH_SIZE,
    BUS_ACTIONS,
    DEAD_LETTER_ACTIONS,
    HANDLER,
    LIST_STREAMS_ACTIONS,
    MAX_RECORD_AGE,
    RETRY_ATTEMPTS,
    STREAM_ACTIONS,
)

from common.tables import API_KEYS_TABLE, ORDERS_TABLE
from order_events.changes import STREAM_VIEW_TYPE
from order_events.settings import Settings as PublisherSettings
from tests.infrastructure.synthesis import Synthesis, actions_of, arn_of, ref

# -- helpers ---------------------------------------------------------------------------------------


def _stream_arn(synthesized: Synthesis) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [synthesized.table(ORDERS_TABLE)[0], "StreamArn"]}


def actions(statement: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(actions_of(statement)))


# -- the stream and the bus ------------------------------------------------------------------------


def test_only_the_orders_table_has_a_stream_with_both_images(synthesized: Synthesis) -> None:
    orders_id = synthesized.table(ORDERS_TABLE)[0]
    keys_id = synthesized.table(API_KEYS_TABLE)[0]
    tables = synthesized.of_type("AWS::DynamoDB::GlobalTable")
    assert tables[orders_id]["Properties"]["StreamSpecification"] == {"StreamViewType": STREAM_VIEW_TYPE}
    assert STREAM_VIEW_TYPE == "NEW_AND_OLD_IMAGES"
    assert "StreamSpecification" not in tables[keys_id]["Properties"]


def test_one_custom_bus_named_after_the_stack(synthesized: Synthesis, synthesized_custom: Synthesis) -> None:
    _, bus = synthesized.one("AWS::Events::EventBus")
    assert bus["Properties"]["Name"] == "ForwardOrders-order-events"
    _, custom_bus = synthesized_custom.one("AWS::Events::EventBus")
    assert custom_bus["Properties"]["Name"] == "ForwardOrdersCustom-order-events"


# -- the function and its mapping ------------------------------------------------------------------


def test_the_function_is_deployed_like_the_others_and_told_its_bus_and_source(synthesized: Synthesis) -> None:
    _, function = synthesized.function_with_handler(HANDLER)
    properties = function["Properties"]
    layer_id, _ = synthesized.one("AWS::Lambda::LayerVersion")
    assert properties["Runtime"] == "python3.14"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Layers"] == [ref(layer_id)]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["LoggingConfig"]["LogFormat"] == "JSON"
    # A stream consumer's rare cold start costs less than a snapshot held all month (infra/config.py).
    assert "SnapStart" not in properties
    variables = properties["Environment"]["Variables"]
    bus_id, _ = synthesized.one("AWS::Events::EventBus")
    assert set(PublisherSettings.variables().values()) <= set(variables)
    assert variables["EVENT_BUS_NAME"] == ref(bus_id)  # Ref of a bus is its name
    assert variables["EVENT_SOURCE"] == "forward-orders"


def test_the_stream_feeds_the_live_alias_in_order_with_partial_failures_and_a_dead_letter_queue(
    synthesized: Synthesis,
) -> None:
    function_id, _ = synthesized.function_with_handler(HANDLER)
    [(alias_id, _)] = [
        (name, alias)
        for name, alias in synthesized.of_type("AWS::Lambda::Alias").items()
        if alias["Properties"]["FunctionName"] == ref(function_id)
    ]
    queue_id, _ = synthesized.one("AWS::SQS::Queue")
    _, mapping = synthesized.one("AWS::Lambda::EventSourceMapping")
    properties = mapping["Properties"]
    assert properties["EventSourceArn"] == _stream_arn(synthesized)
    assert json.dumps(ref(alias_id)) in json.dumps(properties["FunctionName"])
    assert ":live" in json.dumps(properties["FunctionName"])
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    assert properties["BatchSize"] == BATCH_SIZE
    assert properties["ParallelizationFactor"] == 1
    assert properties["BisectBatchOnFunctionError"] is True
    assert properties["MaximumRetryAttempts"] == RETRY_ATTEMPTS
    assert properties["MaximumRecordAgeInSeconds"] == MAX_RECORD_AGE.to_seconds()
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["DestinationConfig"] == {"OnFailure": {"Destination": arn_of(queue_id)}}


def test_the_function_has_time_for_a_batch_and_the_record_age_fits_the_stream(synthesized: Synthesis) -> None:
    from order_events.event_bus import CALL_WORST_CASE_SECONDS, MAX_ENTRIES_PER_CALL

    _, function = synthesized.function_with_handler(HANDLER)
    # Time for at least one call of the worst case after a slow start; a batch of 100 records is ten
    # calls normally taking milliseconds, and the function stops starting calls in time.
    assert function["Properties"]["Timeout"] >= 2 * CALL_WORST_CASE_SECONDS
    assert BATCH_SIZE <= 10 * MAX_ENTRIES_PER_CALL
    # A record given up on by age is still in the stream (24 hours) to be replayed.
    assert MAX_RECORD_AGE.to_seconds() < 24 * 3600


def test_the_dead_letter_queue_is_encrypted_tls_only_and_keeps_messages_14_days(
    synthesized: Synthesis,
) -> None:
    queue_id, queue = synthesized.one("AWS::SQS::Queue")
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    _, policy = synthesized.one("AWS::SQS::QueuePolicy")
    assert policy["Properties"]["Queues"] == [ref(queue_id)]
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# -- least privilege -------------------------------------------------------------------------------


def test_the_function_may_publish_to_its_bus_read_its_stream_and_send_to_its_queue_only(
    synthesized: Synthesis,
) -> None:
    _, function = synthesized.function_with_handler(HANDLER)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    bus_id, _ = synthesized.one("AWS::Events::EventBus")
    queue_id, _ = synthesized.one("AWS::SQS::Queue")
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    statements = synthesized.statements_of_role(role_id)
    assert all(statement["Effect"] == "Allow" for statement in statements)
    by_actions = {actions(statement): statement["Resource"] for statement in statements}
    assert len(by_actions) == len(statements)
    assert by_actions == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): arn_of(log_group_id),
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"): "*",
        tuple(BUS_ACTIONS): arn_of(bus_id),
        tuple(sorted(STREAM_ACTIONS)): _stream_arn(synthesized),
        tuple(DEAD_LETTER_ACTIONS): arn_of(queue_id),
        # ListStreams has no resource-level permissions (acknowledged, see the nag test below).
        tuple(LIST_STREAMS_ACTIONS): "*",
    }
    assert "ManagedPolicyArns" not in synthesized.resources[role_id]["Properties"]


def test_no_other_role_may_publish_read_the_stream_or_send_to_the_queue(synthesized: Synthesis) -> None:
    _, function = synthesized.function_with_handler(HANDLER)
    publisher_role = ref(function["Properties"]["Role"]["Fn::GetAtt"][0])
    ours = set(BUS_ACTIONS + STREAM_ACTIONS + LIST_STREAMS_ACTIONS + DEAD_LETTER_ACTIONS)
    for policy in synthesized.of_type("AWS::IAM::Policy").values():
        if policy["Properties"]["Roles"] == [publisher_role]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert not set(actions(statement)) & ours, statement


def test_the_mapping_is_created_after_every_permission_lambda_checks(synthesized: Synthesis) -> None:
    _, function = synthesized.function_with_handler(HANDLER)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policy_ids = {
        name
        for name, policy in synthesized.of_type("AWS::IAM::Policy").items()
        if policy["Properties"]["Roles"] == [ref(role_id)]
    }
    _, mapping = synthesized.one("AWS::Lambda::EventSourceMapping")
    # The default policy through the function (the alias needs its version, the version the
    # function, which depends on its role's policy); the ListStreams policy directly.
    depends = set(mapping.get("DependsOn", [])) | set(function.get("DependsOn", []))
    assert policy_ids <= depends


# -- alarms, outputs, nag ----------------------------------------------------------------------------


def _alarms_on(synthesized: Synthesis, metric_name: str) -> list[dict[str, Any]]:
    return [
        alarm["Properties"]
        for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == metric_name
    ]


def test_alarms_on_dead_letters_function_errors_and_late_events_notify_the_topic(
    synthesized: Synthesis,
) -> None:
    topic_id, _ = synthesized.one("AWS::SNS::Topic")
    queue_id, _ = synthesized.one("AWS::SQS::Queue")
    function_id, _ = synthesized.function_with_handler(HANDLER)

    [dead_letters] = _alarms_on(synthesized, "ApproximateNumberOfMessagesVisible")
    assert dead_letters["Namespace"] == "AWS/SQS"
    assert dead_letters["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    ]
    assert (dead_letters["ComparisonOperator"], dead_letters["Threshold"]) == ("GreaterThanThreshold", 0)

    errors = [a for a in _alarms_on(synthesized, "Errors") if a["Dimensions"][0]["Value"] == ref(function_id)]
    assert len(errors) == 1
    assert (errors[0]["ComparisonOperator"], errors[0]["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)

    [iterator_age] = _alarms_on(synthesized, "IteratorAge")
    assert iterator_age["Dimensions"] == [{"Name": "FunctionName", "Value": ref(function_id)}]

    for alarm in (dead_letters, errors[0], iterator_age):
        assert alarm["AlarmActions"] == [ref(topic_id)]
        assert alarm["OKActions"] == [ref(topic_id)]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_outputs_name_the_bus_and_the_dead_letter_queue(synthesized: Synthesis) -> None:
    bus_id, _ = synthesized.one("AWS::Events::EventBus")
    queue_id, _ = synthesized.one("AWS::SQS::Queue")
    outputs = synthesized.template["Outputs"]
    assert outputs["EventBusName"]["Value"] == ref(bus_id)
    assert outputs["EventBusArn"]["Value"] == arn_of(bus_id)
    assert outputs["OrderEventsDeadLetterQueueUrl"]["Value"] == ref(queue_id)


def test_nag_findings_of_order_events_are_acknowledged_with_their_own_reasons(synthesized: Synthesis) -> None:
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    [plugin] = report["pluginReports"]
    ours = {
        (violation["ruleName"], construct["constructPath"], violation["reason"])
        for violation in plugin["suppressedViolations"]
        for construct in violation["violatingConstructs"]
        if "/OrderEvents/" in construct["constructPath"]
    }
    paths = {(rule, path.removeprefix("ForwardOrders/")) for rule, path, _ in ours}
    assert paths == {
        ("AwsSolutions-SQS3", "OrderEvents/DeadLetterQueue/Resource"),
        ("AwsSolutions-IAM5[Resource::*]", "OrderEvents/ListStreams/Resource"),
        # X-Ray, as on every function (infra/functions.py).
        ("AwsSolutions-IAM5[Resource::*]", "OrderEvents/Publisher/Role/DefaultPolicy/Resource"),
    }
    reasons = {path: reason for _, path, reason in ours}
    assert "ListStreams" in reasons["ForwardOrders/OrderEvents/ListStreams/Resource"]
    assert "dead-letter" in reasons["ForwardOrders/OrderEvents/DeadLetterQueue/Resource"]


# -- what the code calls is what the role allows -----------------------------------------------------


@pytest.fixture
def aws_calls(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every AWS operation called through any boto3 client the code creates from now on."""
    calls: list[str] = []
    session = boto3.Session(region_name="us-east-1")
    session.events.register(
        "before-call", lambda model, **_: calls.append(f"{model.service_model.signing_name}:{model.name}")
    )
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    yield calls


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_function_calls_only_what_its_role_allows(
    dynamodb: Any, aws_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from order_events import handler
    from order_events.settings import get_settings
    from tests.api.order_events.streams import StreamRecorder
    from tests.api_calls import lambda_context, post_orders

    monkeypatch.setenv("EVENT_BUS_NAME", "order-events")
    get_settings.cache_clear()
    handler.event_bus.cache_clear()
    try:
        boto3.client("events", region_name="us-east-1").create_event_bus(Name="order-events")
        stream = StreamRecorder(dynamodb)
        assert post_orders({"orders": [{"identifier": "o", "items": []}]}).status == 200
        records = stream.records()
        aws_calls.clear()  # only the function's own calls from here
        response = handler.lambda_handler({"Records": records}, lambda_context())
    finally:
        get_settings.cache_clear()
        handler.event_bus.cache_clear()
    assert response == {"batchItemFailures": []}
    assert set(aws_calls) == set(BUS_ACTIONS)
