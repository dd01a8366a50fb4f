"""checkov, a second rules engine independent of cdk-nag, over the synthesized template: every failed
check is one listed here with the reason it does not apply, and every listed check still fails (a
skip that no longer matches anything is removed, not kept as a blanket exemption).

checkov runs from its own venv (``make checkov-install``; its pins conflict with the dev lock), found
through the ``CHECKOV`` variable that ``make test`` sets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest

from common.api_routes import ROUTES
from tests.infrastructure.synthesis import Synthesis


@dataclass(frozen=True)
class Skip:
    resource_type: str  # the only resource type the check is skipped on
    reason: str


SKIPPED = {
    "CKV_AWS_27": Skip(
        "AWS::SQS::Queue",
        "The dead-letter queue is encrypted with SQS-managed keys (SqsManagedSseEnabled), which this "
        "check does not recognise; test_the_queue_it_skips_is_encrypted checks the property.",
    ),
    "CKV_AWS_158": Skip(
        "AWS::Logs::LogGroup",
        "CloudWatch Logs encrypts every log group at rest, and these hold no payload, key or secret "
        "(tests/reliability/test_security.py), so a customer managed key would add a key policy and a "
        "monthly fee without protecting anything more.",
    ),
    "CKV_AWS_116": Skip(
        "AWS::Lambda::Function",
        "A function dead-letter queue only receives failed asynchronous invocations, and none of these "
        "is invoked asynchronously: API Gateway calls two synchronously and the stream mapping, which "
        "has its own on-failure queue, calls the third.",
    ),
    "CKV_AWS_117": Skip(
        "AWS::Lambda::Function",
        "The functions reach only DynamoDB, EventBridge and X-Ray through their public endpoints, so a "
        "VPC would add NAT or interface endpoints and cold-start latency while isolating nothing.",
    ),
    "CKV_AWS_115": Skip(
        "AWS::Lambda::Function",
        "Concurrency is bounded by the stage's throttling for the API and its authorizer and by the "
        "stream's shards for the events function, and reserving it is a deployment choice "
        "(apiReservedConcurrency, authorizerReservedConcurrency) rather than a default.",
    ),
    "CKV_AWS_173": Skip(
        "AWS::Lambda::Function",
        "The environment holds table and bus names and request limits, never a secret, and Lambda "
        "already encrypts it at rest with its AWS managed key.",
    ),
    "CKV_AWS_59": Skip(
        "AWS::ApiGateway::Method",
        "The only methods without authorization are the returns desk console's page and its two static "
        "files, which hold no data (the page asks the operator for a key and sends it to the lookup); "
        "test_the_open_methods_it_skips_are_the_consoles_public_routes checks which methods those are.",
    ),
    "CKV_AWS_120": Skip(
        "AWS::ApiGateway::Stage",
        "Answers depend on the caller's key and must show an upsert at once, so a stage cache could "
        "only serve stale orders, and it bills a cache cluster by the hour.",
    ),
}
_SENTENCE = re.compile(r"[A-Z].{40,}\.")


def _checkov() -> str:
    found = os.environ.get("CHECKOV") or shutil.which("checkov")
    if not found:
        raise FileNotFoundError("checkov not found: run make test, which installs it and sets CHECKOV")
    return found


@pytest.fixture(scope="module")
def report(synthesized: Synthesis) -> dict[str, Any]:
    done = subprocess.run(
        [_checkov(), "--file", str(synthesized.template_file), "--framework", "cloudformation",
         "--output", "json", "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    # Exit status 1 means "some check failed", which the tests below judge; anything else is an error.
    assert done.returncode in (0, 1), done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _failed(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(check id, resource type, logical id) of every failed check."""
    failed = []
    for check in report["results"]["failed_checks"]:
        resource_type, _, logical_id = check["resource"].rpartition(".")
        failed.append((check["check_id"], resource_type, logical_id))
    return failed


def test_checkov_ran_the_cloudformation_checks(report: dict[str, Any], synthesized: Synthesis) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] == len(synthesized.resources)
    assert summary["passed"] >= 80  # 92 with checkov 3.3.30: a version that checks nothing fails here


def test_every_failed_check_is_a_listed_skip_on_its_resource_type(report: dict[str, Any]) -> None:
    unexplained = [
        failure
        for failure in _failed(report)
        if failure[0] not in SKIPPED or SKIPPED[failure[0]].resource_type != failure[1]
    ]
    assert unexplained == []


def test_every_listed_skip_still_matches_a_finding(report: dict[str, Any]) -> None:
    assert {check_id for check_id, _, _ in _failed(report)} == set(SKIPPED)


def test_every_skip_has_a_reason(report: dict[str, Any]) -> None:
    for check_id, skip in SKIPPED.items():
        assert _SENTENCE.fullmatch(skip.reason), check_id


def test_the_queue_it_skips_is_encrypted(report: dict[str, Any], synthesized: Synthesis) -> None:
    queues = {logical_id for check_id, _, logical_id in _failed(report) if check_id == "CKV_AWS_27"}
    assert queues
    for logical_id in queues:
        assert synthesized.resources[logical_id]["Properties"]["SqsManagedSseEnabled"] is True


def test_the_open_methods_it_skips_are_the_consoles_public_routes(
    report: dict[str, Any], synthesized: Synthesis
) -> None:
    """Exactly the public routes' methods (test_console_stack.py checks they call the console)."""
    open_methods = {logical_id for check_id, _, logical_id in _failed(report) if check_id == "CKV_AWS_59"}
    routes = synthesized.method_routes()
    public = {(route.resource, route.method) for route in ROUTES if route.public}
    assert {routes[logical_id] for logical_id in open_methods} == public
