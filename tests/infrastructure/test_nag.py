"""cdk-nag: the stack synthesizes clean under AwsSolutionsChecks, an unacknowledged finding fails the
synthesis, and every acknowledgement says why in a sentence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sns as sns
from infra.checks import acknowledge, attach_checks

from tests.infrastructure.synthesis import Synthesis


def _validation_report(outdir: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    return report


def test_stack_passes_aws_solutions_checks(synthesized: Synthesis) -> None:
    # Synthesis itself would have raised on a finding; the report says which pack ran and passed.
    [report] = _validation_report(synthesized.outdir)["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
    assert report["conclusion"] == "success"
    assert report["violations"] == []


def test_every_acknowledged_finding_has_a_reason(synthesized: Synthesis) -> None:
    [report] = _validation_report(synthesized.outdir)["pluginReports"]
    acknowledged = {
        violation["ruleName"]: violation["reason"] for violation in report["suppressedViolations"]
    }
    # The key administration policy deletes API keys and usage plan keys by ids made at run time.
    metering = {
        name
        for name in acknowledged
        if name.startswith("AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway")
    }
    assert {name.split("<AWS::Region>::", 1)[1].removesuffix("]") for name in metering} == {
        "/apikeys/*",
        *(
            f"/usageplans/<{logical_id}>/keys/*"
            for logical_id in synthesized.of_type("AWS::ApiGateway::UsagePlan")
        ),
    }
    assert set(acknowledged) - metering == {
        "AwsSolutions-APIG2",
        "AwsSolutions-APIG3",
        "AwsSolutions-APIG4",  # the console's public methods (test_console_stack.py)
        "AwsSolutions-COG4",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-SQS3",  # order events' dead-letter queue (test_events_stack.py)
    }
    for reason in acknowledged.values():
        assert reason.endswith(".") and len(reason.split()) >= 10


def test_an_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Unchecked")
    sns.Topic(stack, "PlainTopic")  # no encryption, no TLS-only policy
    attach_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    [report] = _validation_report(tmp_path)["pluginReports"]
    assert report["conclusion"] == "failure"
    assert {violation["ruleName"] for violation in report["violations"]} >= {"AwsSolutions-SNS3"}


def test_an_acknowledged_finding_does_not(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Acknowledged")
    topic = sns.Topic(stack, "PlainTopic")
    acknowledge(
        topic, "AwsSolutions-SNS2", "This topic exists only to test that acknowledgements are honoured."
    )
    acknowledge(
        topic, "AwsSolutions-SNS3", "This topic exists only to test that acknowledgements are honoured."
    )
    attach_checks(app)
    app.synth()
    [report] = _validation_report(tmp_path)["pluginReports"]
    assert report["conclusion"] == "success"


@pytest.mark.parametrize("reason", ["", "ok", "Not needed", "lowercase start and no full stop at the end"])
def test_an_acknowledgement_without_a_real_reason_is_refused(tmp_path: Path, reason: str) -> None:
    app = App(outdir=str(tmp_path))
    topic = sns.Topic(Stack(app, "Refused"), "PlainTopic")
    with pytest.raises(ValueError, match="must be a sentence"):
        acknowledge(topic, "AwsSolutions-SNS2", reason)
