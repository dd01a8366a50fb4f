"""The CDK context settings: defaults, parsing of command-line strings, and refused values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from infra.config import ServiceConfig
from pydantic import ValidationError

from common.usage_plans import UsagePlan, load_usage_plans
from forward_orders.settings import Limits, Settings
from tests.infrastructure.synthesis import CDK_JSON, REPOSITORY_ROOT, cdk_json_context

DEPLOYMENT_DOC = REPOSITORY_ROOT / "docs" / "deployment.md"


def test_cdk_json_sets_every_key_to_its_default() -> None:
    ours = {key: value for key, value in cdk_json_context().items() if key in ServiceConfig.context_keys()}
    assert set(ours) == set(ServiceConfig.context_keys())
    assert ServiceConfig.from_context(ours) == ServiceConfig()


def test_every_key_is_documented() -> None:
    text = Path(DEPLOYMENT_DOC).read_text()
    missing = [key for key in ServiceConfig.context_keys() if f"`{key}`" not in text]
    assert missing == []


def test_limits_default_to_the_functions_own_defaults() -> None:
    config = ServiceConfig()
    for name, field in Limits.model_fields.items():
        assert getattr(config, name) == field.default
    for name in (
        "write_concurrency",
        "storage_max_attempts",
        "request_deadline_seconds",
        "retry_after_seconds",
    ):
        assert getattr(config, name) == Settings.model_fields[name].default


def test_command_line_strings_are_parsed() -> None:
    config = ServiceConfig.from_context(
        {
            "apiMemoryMb": "2048",
            "snapStart": "false",
            "throttlingRateLimit": "120.5",
            "alarmEmails": "ops@example.com, oncall@example.com",
            "apiReservedConcurrency": "",
        }
    )
    assert config.api_memory_mb == 2048
    assert config.snap_start is False
    assert config.throttling_rate_limit == 120.5
    assert config.alarm_emails == ["ops@example.com", "oncall@example.com"]
    assert config.api_reserved_concurrency is None


def test_cdk_own_context_keys_are_ignored() -> None:
    config = ServiceConfig.from_context(
        {
            "@aws-cdk/core:checkSecretUsage": True,
            "aws:cdk:enable-asset-metadata": True,
            "acknowledged-issue-numbers": [1],
            "availability-zones:account=1:region=x": ["a"],
        }
    )
    assert config == ServiceConfig()


def test_environment_names_come_from_the_functions_settings() -> None:
    # The limit keys are made at run time from the function's settings, so mypy cannot see them.
    config = ServiceConfig.model_validate({"request_deadline_seconds": 12.5, "api_timeout_seconds": 20})
    environment = config.api_environment()
    assert environment["REQUEST_DEADLINE_SECONDS"] == "12.5"
    assert environment["MAX_BODY_BYTES"] == str(Limits().max_body_bytes)
    assert "ORDERS_TABLE_NAME" not in environment


TIERS = {"standard": {"rate": 10, "burst": 20}, "operations": {"rate": 20, "burst": 40}}


def test_tiers_from_the_command_line_are_json_text() -> None:
    config = ServiceConfig.from_context(
        {
            "usagePlans": '{"small": {"rate": 0.5, "burst": 1}, '
            '"big": {"rate": 50, "burst": 100, "dailyQuota": 9}}',
            "defaultPlan": "small",
            "operationsPlan": "small",
        }
    )
    assert config.tiers.plan("small") == UsagePlan(rate=0.5, burst=1)
    assert config.tiers.plan("big").daily_quota == 9
    assert config.tiers.default_plan == config.tiers.operations_plan == "small"


def test_the_stack_and_the_tooling_read_the_same_tiers_from_cdk_json() -> None:
    """One definition: the CDK context's tiers are what load_usage_plans gives the local server
    and the keys CLI."""
    assert ServiceConfig.from_context(cdk_json_context()).tiers == load_usage_plans(CDK_JSON)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"apiMemroyMb": 2048}, "Extra inputs are not permitted"),
        ({"requestDeadlineSeconds": 24}, "must exceed requestDeadlineSeconds"),
        ({"apiTimeoutSeconds": 30}, "less than or equal to 29"),
        ({"apiProvisionedConcurrency": 2}, "SnapStart and provisioned concurrency"),
        ({"logRetentionDays": 31}, "logRetentionDays must be one of"),
        ({"alarmEmails": ["not-an-address"]}, "is not an email address"),
        ({"authorizerCacheTtlSeconds": 3601}, "less than or equal to 3600"),
        ({"stageName": "v1/beta"}, "should match pattern"),
        ({"applicationLogLevel": "TRACE"}, "Input should be"),
        # The tiers: a misspelt tier or key, a tier that is not there, values out of range.
        ({"defaultPlan": "standrad"}, "defaultPlan 'standrad' is not one of the usagePlans"),
        ({"operationsPlan": "ops"}, "operationsPlan 'ops' is not one of the usagePlans"),
        ({"usagePlans": {**TIERS, "bulk": {"rate": 50, "brust": 100}}}, "usagePlans.bulk.brust"),
        ({"usagePlans": {**TIERS, "bulk": {"rate": 50}}}, "usagePlans.bulk.burst\n  Field required"),
        ({"usagePlans": {**TIERS, "bulk": {"rate": 0, "burst": 1}}}, "greater than 0"),
        ({"usagePlans": {**TIERS, "bulk": {"rate": 1, "burst": 0}}}, "greater than or equal to 1"),
        (
            {"usagePlans": {**TIERS, "bulk": {"rate": 1, "burst": 1, "dailyQuota": 0}}},
            "greater than or equal",
        ),
        ({"usagePlans": {**TIERS, "Gold Plus": {"rate": 1, "burst": 1}}}, "should match pattern"),
        ({"usagePlans": {}}, "at least 1 item"),
        ({"usagePlans": "{not json"}, "Invalid JSON|Expecting property name"),
        ({"usagePlans": {**TIERS, "bulk": {"rate": 150, "burst": 100}}}, "above the stage's throttle"),
        ({"throttlingBurstLimit": 50}, "usagePlans.bulk .* is above the stage's throttle"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceConfig.from_context(context)
