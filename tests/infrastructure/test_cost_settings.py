"""The stack settings that change the bill (docs/deployment.md, "What it costs"; bench/cost.py prices
them): X-Ray's sampling of the stage, Lambda's own log lines, the order events' batching window,
the orders table's billing, and the key id in the access log. Each by default and turned the other
way (``synthesized_custom``)."""

from __future__ import annotations

import json
from typing import Any

from infra.access_log import access_log_format
from infra.api import sampling_rule_name

from common.tables import ORDERS_TABLE
from tests.infrastructure.synthesis import Synthesis


def _rule(synthesis: Synthesis) -> dict[str, Any]:
    _, rule = synthesis.one("AWS::XRay::SamplingRule")
    sampling: dict[str, Any] = rule["Properties"]["SamplingRule"]
    return sampling


def test_the_stage_samples_five_percent_of_requests_with_no_reservoir(synthesized: Synthesis) -> None:
    rule = _rule(synthesized)
    assert (rule["ReservoirSize"], rule["FixedRate"]) == (0, 0.05)
    # The stage's own service (API Gateway names it "<api name>/<stage>"), ahead of the default rule.
    assert (rule["ServiceName"], rule["ServiceType"]) == ("forward-orders/v1", "AWS::ApiGateway::Stage")
    assert (rule["Host"], rule["HTTPMethod"], rule["URLPath"], rule["ResourceARN"]) == ("*", "*", "*", "*")
    assert rule["Priority"] < 10000
    assert rule["RuleName"] == "ForwardOrders-api"
    _, stage = synthesized.one("AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] is True


def test_the_sampling_follows_the_context(synthesized_custom: Synthesis) -> None:
    rule = _rule(synthesized_custom)
    assert (rule["ReservoirSize"], rule["FixedRate"]) == (1, 0.25)
    assert rule["ServiceName"] == "forward-orders/prod"
    assert rule["RuleName"] == "ForwardOrdersCustom-api"


def test_a_long_stack_name_still_makes_a_valid_and_distinct_rule_name() -> None:
    long, other = "A" * 128, "A" * 127 + "B"
    assert len(sampling_rule_name(long)) == 32
    assert sampling_rule_name(long) != sampling_rule_name(other)


def _functions(synthesis: Synthesis) -> list[dict[str, Any]]:
    return [function["Properties"] for function in synthesis.of_type("AWS::Lambda::Function").values()]


def test_lambda_writes_no_start_and_report_lines_by_default(synthesized: Synthesis) -> None:
    for properties in _functions(synthesized):
        assert properties["LoggingConfig"]["SystemLogLevel"] == "WARN"
        # Application lines stay at INFO: the EMF metric lines have no level, which Lambda reads as INFO.
        assert properties["LoggingConfig"]["ApplicationLogLevel"] == "INFO"


def test_system_log_level_info_brings_them_back(synthesized_custom: Synthesis) -> None:
    for properties in _functions(synthesized_custom):
        assert properties["LoggingConfig"]["SystemLogLevel"] == "INFO"


def _mapping(synthesis: Synthesis) -> dict[str, Any]:
    _, mapping = synthesis.one("AWS::Lambda::EventSourceMapping")
    properties: dict[str, Any] = mapping["Properties"]
    return properties


def test_order_events_are_batched_without_waiting_by_default(synthesized: Synthesis) -> None:
    assert "MaximumBatchingWindowInSeconds" not in _mapping(synthesized)


def test_a_batching_window_lets_the_mapping_fill_batches(synthesized_custom: Synthesis) -> None:
    assert _mapping(synthesized_custom)["MaximumBatchingWindowInSeconds"] == 5


def test_the_orders_table_is_on_demand_by_default(synthesized: Synthesis) -> None:
    _, table = synthesized.table(ORDERS_TABLE)
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"


def test_provisioned_billing_auto_scales_the_table_and_its_indexes(synthesized_custom: Synthesis) -> None:
    _, table = synthesized_custom.table(ORDERS_TABLE)
    properties = table["Properties"]
    assert properties["BillingMode"] == "PROVISIONED"
    scaling = properties["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]
    assert (scaling["MinCapacity"], scaling["MaxCapacity"]) == (5, 1000)
    assert scaling["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 60
    [replica] = properties["Replicas"]
    reads = replica["ReadProvisionedThroughputSettings"]["ReadCapacityAutoScalingSettings"]
    assert (reads["MinCapacity"], reads["MaxCapacity"]) == (5, 500)
    # Every index has capacity of its own, scaled the same way (inherited from the table's).
    for index in properties["GlobalSecondaryIndexes"]:
        assert "WriteCapacityAutoScalingSettings" in index["WriteProvisionedThroughputSettings"]
    # The keys table stays on demand: a few reads a second at most, nothing to plan.
    keys = [t for t in synthesized_custom.of_type("AWS::DynamoDB::GlobalTable").values() if t is not table]
    assert [t["Properties"]["BillingMode"] for t in keys] == ["PAY_PER_REQUEST"]


def test_the_access_log_names_the_key_the_authorizer_allowed(synthesized: Synthesis) -> None:
    fields = json.loads(access_log_format())
    assert fields["keyId"] == "$context.authorizer.key_id"
    _, stage = synthesized.one("AWS::ApiGateway::Stage")
    assert stage["Properties"]["AccessLogSetting"]["Format"] == access_log_format()
