"""One synthesis of the stack per test session (the slow part: jsii, the CDK library, the assets),
shared by every infrastructure test."""

from __future__ import annotations

import json

import pytest

from tests.infrastructure.synthesis import Synthesis, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The stack as ``make synth`` builds it, with cdk.json's context and cdk-nag attached."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def synthesized_custom(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The stack with every optional setting turned the other way (cache, e-mails, concurrency,
    logs, sampling, batching, billing)."""
    return synthesize(
        tmp_path_factory.mktemp("cdk.out.custom"),
        stackName="ForwardOrdersCustom",
        stageName="prod",
        authorizerCacheTtlSeconds="300",
        alarmEmails="ops@example.com, oncall@example.com",
        snapStart="false",
        apiProvisionedConcurrency="2",
        apiReservedConcurrency="50",
        createApiGatewayCloudWatchRole="false",
        logRetentionDays="90",
        systemLogLevel="INFO",
        tracingReservoirPerSecond="1",
        tracingSamplingRate="0.25",
        orderEventsBatchingWindowSeconds="5",
        ordersTableBilling="provisioned",
        ordersTableTargetUtilizationPercent="60",
        # As `-c usagePlans='...'` passes it: a string. One tier earns a request every 5 s.
        usagePlans=json.dumps(
            {
                "standard": {"rate": 10, "burst": 20},
                "slow": {"rate": 0.2, "burst": 1, "dailyQuota": 1000},
                "operations": {"rate": 20, "burst": 40},
            }
        ),
    )
